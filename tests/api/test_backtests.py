"""Backtests and sweeps: input validation (400 naming field and limit), the service's stored results equal
the engine's on the same candles, equity downsampling, failures stored with a clear error, and the whole
path through a real Celery worker on the real Redis broker (202 -> done, sweep study -> ranked table)."""

from __future__ import annotations

import time
from datetime import timedelta

import pandas as pd
import pytest

from strategies.algos import registry
from tests.desk_fixtures import T0, celery_worker, seed_candles
from trading.engine.backtest import run_backtest
from trading.engine_adapters import engine_instrument
from trading.models import BacktestRun, Candle, Instrument
from trading.services.backtest_settings import to_engine_config
from trading.services.backtests import create_backtest, downsample_equity, load_candle_frame, run_backtest_job

END = T0 + timedelta(minutes=5 * 1199)
SETTINGS = {"symbol": "BTCUSDT", "timeframe": "5m", "start": T0.isoformat(), "end": END.isoformat(),
            "leverage": "10", "sizing_mode": "kelly", "kelly_fraction": "0.5", "take_profit_pct": "1.5",
            "stop_loss_pct": "2", "funding": False}
BODY = {"strategy": "chandelier", "params": {"length": 14}, "settings": SETTINGS}


def wait_for(predicate, *, timeout: float = 180.0):
    """Poll until predicate() is truthy (a deadline, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"strategy": "nope"}, "strategy", ["nope", "chandelier"]),
    ({"params": {"length": 0}}, "params", ["length", "0"]),
    ({"settings": {"leverage": "101"}}, "leverage", ["101", "100"]),          # BTCUSDT's maximum is 100x
    ({"settings": {"sizing_mode": "fixed", "leverage": "75", "allocation": "0.15"}}, "allocation",
     ["0.15", "0.01", "0.10", "75"]),                                          # 50-125x band: 1-10 %
    ({"settings": {"sizing_mode": "kelly", "kelly_fraction": None}}, "kelly_fraction", ["required"]),
    ({"settings": {"end": T0.isoformat()}}, "end", ["after"]),
    ({"settings": {"symbol": "DOGEUSDT"}}, "symbol", ["DOGEUSDT"]),
    ({"settings": {"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"}}, "start", ["0", "candle"]),
    # at 10x with MMR 0.5 % liquidation sits 1/10 - 0.005 = 9.5 % away: a 9.6 % stop is beyond it
    ({"settings": {"stop_loss_pct": "9.6"}}, "stop_loss_pct", ["0.096", "0.095"]),
    ({"settings": {"taker_fee": "0.02"}}, "taker_fee", ["0.0099"]),
])
def test_bad_backtest_bodies_are_400_naming_field_and_limit(desk, api, change, field, words):
    seed_candles(1200)
    body = {**BODY, **{k: v for k, v in change.items() if k != "settings"}}
    body["settings"] = {**SETTINGS, **change.get("settings", {})}
    api.login(desk["alice"])
    resp = api.post("/api/backtests/", body)
    assert resp.status_code == 400, resp.content
    errors = resp.json()
    flat = {k: v for k, v in errors.items()}
    if "settings" in flat and isinstance(flat["settings"], dict):
        flat.update(flat.pop("settings"))
    assert field in flat, errors
    message = " ".join(flat[field]) if isinstance(flat[field], list) else str(flat[field])
    for word in words:
        assert word in message, (word, message)
    assert not BacktestRun.objects.exists()


def test_settings_become_the_engine_config(desk):
    seed_candles(1200)
    run = create_backtest(owner=desk["alice"], strategy="chandelier", params={}, settings=SETTINGS)
    cfg = to_engine_config(run.settings, Instrument.objects.get(symbol="BTCUSDT"))
    # percent inputs become fractions; fees default to the desk's 0.02 % / 0.06 %
    assert (cfg.leverage, cfg.sizing, cfg.kelly_fraction) == (10.0, "kelly", 0.5)
    assert cfg.take_profit_pct == pytest.approx(0.015) and cfg.stop_loss_pct == pytest.approx(0.02)
    assert (cfg.fees.maker, cfg.fees.taker, cfg.funding) == (0.0002, 0.0006, False)
    assert run.params == {"length": 22, "mult": 3.0, "use_close": True}  # defaults filled by the schema


def test_service_stores_what_the_engine_computes(desk):
    seed_candles(1200)
    run = create_backtest(owner=desk["alice"], strategy="chandelier", params={"length": 14}, settings=SETTINGS)
    run = run_backtest_job(run_id=run.pk)
    assert run.status == "done" and run.progress == 1.0 and run.error == ""
    # the same computation straight through the engine
    inst = Instrument.objects.get(symbol="BTCUSDT")
    frame = load_candle_frame(symbol="BTCUSDT", interval="5m", start=T0, end=END)
    signals = registry.get("chandelier")(length=14).compute(frame)
    result = run_backtest(frame, signals, instrument=engine_instrument(inst), config=to_engine_config(run.settings, inst))
    expected = result.metrics()
    assert len(frame) == 1200 and run.metrics["bars"] == 1200
    assert run.metrics["trade_count"] == expected["trade_count"] == len(run.trades) > 0
    assert run.metrics["final_equity"] == pytest.approx(expected["final_equity"])
    assert run.metrics["total_return"] == pytest.approx(expected["total_return"])
    assert run.trades[0]["pnl"] == pytest.approx(float(result.trades["pnl"].iloc[0]))
    assert len(run.equity_curve) == 1200  # under the 5,000-point cap nothing is dropped
    assert run.equity_curve[-1][1] == pytest.approx(float(result.equity.iloc[-1]))
    assert set(run.metrics["by_exit_reason"]) <= {"signal", "tp", "sl", "liquidation"}


def test_equity_downsampling_keeps_extremes_and_ends():
    idx = pd.date_range(T0, periods=10, freq="5min")
    eq = pd.Series([100, 103, 99, 104, 101, 102, 90, 105, 98, 100], index=idx, dtype=float)
    # max 6 points -> 2 buckets [0, 5) and [5, 10): keep each bucket's min and max, plus both ends
    # bucket 1: min 99 @2, max 104 @3; bucket 2: min 90 @6, max 105 @7; ends @0 and @9
    points = downsample_equity(eq, max_points=6)
    assert [p[1] for p in points] == [100, 99, 104, 90, 105, 100]
    assert points[0][0] == idx[0].isoformat() and points[-1][0] == idx[9].isoformat()
    big = pd.Series(range(20_000), index=pd.date_range(T0, periods=20_000, freq="5min"), dtype=float)
    assert len(downsample_equity(big, max_points=5000)) <= 5000


def test_a_failing_run_is_marked_failed_with_the_reason(desk):
    seed_candles(1200)
    run = create_backtest(owner=desk["alice"], strategy="chandelier", params={}, settings=SETTINGS)
    Candle.objects.all().delete()  # the data went away between the request and the worker
    run = run_backtest_job(run_id=run.pk)
    assert run.status == "failed" and "only 0 candle(s)" in run.error and run.finished_at is not None


def test_a_run_deleted_before_the_worker_starts_is_skipped(desk):
    seed_candles(1200)
    run = create_backtest(owner=desk["alice"], strategy="chandelier", params={}, settings=SETTINGS)
    run_id = run.pk
    run.delete()
    assert run_backtest_job(run_id=run_id) is None


@pytest.mark.django_db(transaction=True)
def test_backtest_runs_in_a_real_celery_worker(api):
    from tests.factories import make_instrument, make_user

    make_instrument("BTCUSDT")
    alice = make_user("alice")
    seed_candles(1200)
    api.login(alice)
    with celery_worker():
        resp = api.post("/api/backtests/", {**BODY, "name": "from the API"})
        assert resp.status_code == 202, resp.content
        run_id = resp.json()["id"]
        assert resp.json()["url"] == f"/api/backtests/{run_id}/"
        wait_for(lambda: BacktestRun.objects.get(pk=run_id).status in ("done", "failed"))
    body = api.get(f"/api/backtests/{run_id}/").json()
    assert body["status"] == "done", body["error"]
    assert body["progress"] == 1.0 and body["metrics"]["bars"] == 1200
    assert len(body["trades"]) == body["metrics"]["trade_count"] > 0
    assert len(body["equity_curve"]) == 1200 and body["name"] == "from the API"
    assert BacktestRun.objects.get(pk=run_id).task_id  # the Celery task id is kept


@pytest.mark.django_db(transaction=True)
def test_sweep_fans_out_and_ranks_by_the_chosen_metric(api):
    from tests.factories import make_instrument, make_user

    make_instrument("BTCUSDT")
    alice = make_user("alice")
    seed_candles(1200)
    api.login(alice)
    with celery_worker():
        resp = api.post("/api/sweeps/", {**BODY, "grid": {"length": [10, 22], "mult": [2, 3]},
                                         "metric": "total_return"})
        assert resp.status_code == 202, resp.content
        key = resp.json()["sweep_key"]
        assert resp.json()["points"] == 4
        wait_for(lambda: api.get(f"/api/sweeps/{key}/").json()["status"] == "done")
    table = api.get(f"/api/sweeps/{key}/").json()
    rows = table["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4] and table["finished"] == 4
    assert sorted((r["params"]["length"], r["params"]["mult"]) for r in rows) == [(10, 2), (10, 3), (22, 2), (22, 3)]
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)
    runs = {r.pk: r for r in BacktestRun.objects.filter(sweep_key=key)}
    for row in rows:  # each row's value is its run's stored metric
        assert row["value"] == pytest.approx(runs[row["run"]].metrics["total_return"])
        assert runs[row["run"]].params["length"] == row["params"]["length"]
    from trading.models import ResearchStudy

    study = ResearchStudy.objects.get(sweep_key=key)  # the points ran as the grid study's trials
    assert (study.kind, study.status, study.trials_done) == ("sweep", "done", 4)
    assert study.best_value == pytest.approx(max(values))


def test_sweep_grid_is_validated(desk, api):
    seed_candles(1200)
    api.login(desk["alice"])
    resp = api.post("/api/sweeps/", {**BODY, "grid": {"length": [10, 0]}})
    assert resp.status_code == 400 and "grid point 1" in str(resp.json()) and "length" in str(resp.json())
    resp = api.post("/api/sweeps/", {**BODY, "grid": {"length": list(range(1, 21)), "mult": list(range(1, 12))}})
    assert resp.status_code == 400 and "220" in resp.json()["grid"][0] and "200" in resp.json()["grid"][0]
    resp = api.post("/api/sweeps/", {**BODY, "grid": {"length": [10]}, "metric": "luck"})
    assert resp.status_code == 400 and "metric" in resp.json()
    assert not BacktestRun.objects.exists()


def test_funding_and_mark_are_loaded_from_the_store_when_funding_is_on(desk):
    """Funding rates and mark candles stored in the DB reach the engine: the service's result equals the
    engine run given the same series, funding is charged, and with funding off nothing is charged."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from trading.models import FundingRate
    from trading.services.backtests import load_funding, load_mark_frames

    trade = seed_candles(1200)
    Candle.objects.bulk_create([Candle(symbol=c.symbol, interval="1h", kind="mark", open_time=c.open_time,
                                       open=c.open, high=c.high, low=c.low, close=c.close)
                                for c in trade if c.open_time.minute == 0])
    # every 8 h from 2025-03-01 08:00 (funding times inside the 100-hour range): 12 of them
    times = [datetime(2025, 3, 1, 8, tzinfo=UTC) + timedelta(hours=8 * i) for i in range(12)]
    FundingRate.objects.bulk_create([FundingRate(symbol="BTCUSDT", funding_time=t, rate=Decimal("0.0001"))
                                     for t in times])
    on = {**SETTINGS, "funding": True}
    run = run_backtest_job(run_id=create_backtest(owner=desk["alice"], strategy="chandelier",
                                                  params={"length": 14}, settings=on).pk)
    assert run.status == "done", run.error
    inst = Instrument.objects.get(symbol="BTCUSDT")
    frame = load_candle_frame(symbol="BTCUSDT", interval="5m", start=T0, end=END)
    funding = load_funding(symbol="BTCUSDT", start=T0, end=END)
    mark = load_mark_frames(symbol="BTCUSDT", start=T0, end=END)
    assert len(funding) == 12 and [len(m) for m in mark] == [100]  # 1200 five-minute bars span 100 hours
    signals = registry.get("chandelier")(length=14).compute(frame)
    direct = run_backtest(frame, signals, instrument=engine_instrument(inst), config=to_engine_config(run.settings, inst),
                          funding=funding, mark=mark)
    expected = direct.metrics()
    # the hourly mark is coarser than the 5m bars: the run says which series triggered liquidation
    assert run.metrics["trigger_series"] == {"BTCUSDT": direct.trigger_series} and direct.trigger_series != "mark"
    assert run.metrics["funding_paid"] == pytest.approx(expected["funding_paid"])
    assert run.metrics["final_equity"] == pytest.approx(expected["final_equity"])
    assert run.metrics["funding_paid"] != 0  # positions were held over funding times
    off = run_backtest_job(run_id=create_backtest(owner=desk["alice"], strategy="chandelier",
                                                  params={"length": 14}, settings=SETTINGS).pk)
    assert off.metrics["funding_paid"] == 0
