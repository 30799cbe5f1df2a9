"""Backtests of a StrategyConfig as it trades, warm-up read from before the start, the stored range as the
default range, and the context a strategy declares reaching the backtest (other symbols, higher timeframes).

Each expectation is the engine called directly on the same stored data with the inputs the test spells out
(not through the service's own conversion), so a service that dropped a setting would disagree."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from strategies.algos import registry
from strategies.algos.base import ContextNeeds, StrategyContext
from tests.desk_fixtures import T0, seed_candles
from tests.factories import make_config, make_instrument
from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.fees import FeeSchedule
from trading.engine_adapters import engine_instrument
from trading.marketdata.resample import resample_frame
from trading.models import BacktestRun, Candle, Instrument
from trading.services.backtests import create_backtest, load_candle_frame, run_backtest_job
from trading.services.strategy_context import read_strategy_context

STEP = timedelta(minutes=5)


def _run_job(run_id: int) -> BacktestRun:
    run = run_backtest_job(run_id=run_id)
    assert run.status == "done", run.error
    return run


@pytest.fixture
def fixed_cfg(desk):
    """A config far from the old form's 50x / Kelly 0.5 / no stop: 20x, fixed 15 % of capital, TP 1.5 %, SL 2 %,
    on an account with 800 USDT and a 0.05 % taker fee."""
    acc = desk["acc_a"]
    acc.starting_capital, acc.taker_fee = Decimal("800"), Decimal("0.0005")
    acc.save()
    return make_config(acc, desk["strategy"], name="fixed-20x", leverage=Decimal("20"), sizing_mode="fixed",
                       allocation=Decimal("0.15"), take_profit_pct=Decimal("1.5"), stop_loss_pct=Decimal("2"),
                       params={"length": 14})


def test_a_config_run_uses_the_configs_leverage_sizing_and_stops(desk, api, fixed_cfg):
    seed_candles(1200)
    end = T0 + 1199 * STEP
    api.login(desk["alice"])
    resp = api.post("/api/backtests/", {"config": fixed_cfg.pk, "settings": {"start": T0.isoformat(),
                                                                             "end": end.isoformat(), "funding": False}})
    assert resp.status_code == 202, resp.content
    run = _run_job(resp.json()["id"])
    assert run.strategy == "chandelier" and run.params["length"] == 14 and run.name == "fixed-20x"
    assert run.settings["config"] == {"id": fixed_cfg.pk, "name": "fixed-20x"}
    # the engine straight from the numbers above (percent -> fraction by hand: 1.5 % = 0.015, 2 % = 0.02)
    inst = engine_instrument(Instrument.objects.get(symbol="BTCUSDT"))
    frame = load_candle_frame(symbol="BTCUSDT", interval="5m", start=T0, end=end)
    signals = registry.get("chandelier")(length=14).compute(frame)
    cfg = BacktestConfig(leverage=20.0, sizing="fixed", allocation=0.15, initial_capital=800.0, take_profit_pct=0.015,
                         stop_loss_pct=0.02, fees=FeeSchedule(maker=0.0002, taker=0.0005), funding=False)
    expected = run_backtest(frame, signals, instrument=inst, config=cfg)
    assert run.metrics["trade_count"] == expected.metrics()["trade_count"] > 0
    assert run.metrics["final_equity"] == pytest.approx(expected.metrics()["final_equity"])
    # fixed sizing: margin = 800 x 0.15 = 120 USDT, notional = 120 x 20 = 2,400 USDT -> qty = 2,400 / entry price
    first = run.trades[0]
    assert first["qty"] == pytest.approx(2400.0 / first["entry_price"], abs=0.001)  # floor to the 0.001 step
    # ... and it is not what the old defaults (50x, Kelly 0.5, no stop, 500 USDT) give
    old = run_backtest(frame, signals, instrument=inst, config=BacktestConfig(funding=False))
    assert run.metrics["final_equity"] != pytest.approx(old.metrics()["final_equity"])


def test_config_runs_refuse_foreign_configs_like_missing_ones_and_settings_they_bring(desk, api, fixed_cfg):
    seed_candles(200)
    api.login(desk["alice"])
    foreign = api.post("/api/backtests/", {"config": desk["cfg_b"].pk})
    missing = api.post("/api/backtests/", {"config": 99999})
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["config"] == [f"config: no config with id {desk['cfg_b'].pk}"]
    assert missing.json()["config"] == ["config: no config with id 99999"]
    resp = api.post("/api/backtests/", {"config": fixed_cfg.pk, "settings": {"symbol": "ETHUSDT"}})
    assert resp.status_code == 400 and "ETHUSDT" in str(resp.json()["symbol"]) and "BTCUSDT" in str(resp.json())
    resp = api.post("/api/backtests/", {"config": fixed_cfg.pk, "configs": [fixed_cfg.pk]})
    assert resp.status_code == 400 and "exactly one of config, configs or account" in str(resp.json())
    assert not BacktestRun.objects.exists()


def test_warmup_is_read_from_before_the_start(desk, monkeypatch):
    """Range = bars 600..1199; the strategy declares 100 warm-up bars, so bars 500..599 feed its indicators but
    the run (trades, equity, bars) starts at bar 600."""
    cls = registry.get("chandelier")
    monkeypatch.setattr(cls, "warmup_bars_at", lambda self, timeframe: 100)
    seed_candles(1200)
    start, end = T0 + 600 * STEP, T0 + 1199 * STEP
    settings = {"symbol": "BTCUSDT", "timeframe": "5m", "start": start.isoformat(), "end": end.isoformat(),
                "leverage": "10", "sizing_mode": "kelly", "kelly_fraction": "0.5", "funding": False}
    run = _run_job(create_backtest(owner=desk["alice"], strategy="chandelier", params={"length": 14},
                                   settings=settings).pk)
    assert run.metrics["bars"] == 600 and run.metrics["warmup_bars"] == 100 == run.metrics["warmup_bars_wanted"]
    assert run.equity_curve[0][0] == pd.Timestamp(start).isoformat()
    inst = Instrument.objects.get(symbol="BTCUSDT")
    full = load_candle_frame(symbol="BTCUSDT", interval="5m", start=T0 + 500 * STEP, end=end)
    signals = cls(length=14).compute(full).iloc[100:]
    cfg = BacktestConfig(leverage=10.0, kelly_fraction=0.5, funding=False)
    expected = run_backtest(full.iloc[100:], signals, instrument=engine_instrument(inst), config=cfg).metrics()
    assert run.metrics["trade_count"] == expected["trade_count"] > 0
    assert run.metrics["final_equity"] == pytest.approx(expected["final_equity"])
    assert min(t["entry_time"] for t in run.trades) >= start.isoformat()
    # without the warm-up the first rows differ (the ATR has no history at bar 600): the warm-up mattered
    cold = cls(length=14).compute(full.iloc[100:])
    assert not cold["signal"].equals(signals["signal"]) or not cold.iloc[:20].equals(signals.iloc[:20])


def test_the_default_range_is_the_stored_range(desk, api, fixed_cfg):
    seed_candles(300)  # T0 .. T0 + 299 x 5 min
    last = T0 + 299 * STEP
    api.login(desk["alice"])
    body = {"strategy": "chandelier", "settings": {"symbol": "BTCUSDT", "timeframe": "5m", "leverage": "10",
                                                   "sizing_mode": "kelly", "kelly_fraction": "0.5"}}
    resp = api.post("/api/backtests/", body)
    assert resp.status_code == 202, resp.content
    run = BacktestRun.objects.get(pk=resp.json()["id"])
    assert (run.settings["start"], run.settings["end"]) == (T0.isoformat(), last.isoformat())
    resp = api.post("/api/backtests/", {"config": fixed_cfg.pk})
    run = BacktestRun.objects.get(pk=resp.json()["id"])
    assert (run.settings["start"], run.settings["end"]) == (T0.isoformat(), last.isoformat())
    # 15m is resampled from the stored 5m (as the live cycle does): the same stored range
    resp = api.post("/api/backtests/", {**body, "settings": {**body["settings"], "timeframe": "15m"}})
    assert resp.status_code == 202, resp.content
    run = BacktestRun.objects.get(pk=resp.json()["id"])
    assert (run.settings["start"], run.settings["end"]) == (T0.isoformat(), last.isoformat())
    # nothing stored that 3m bars could be built from: the start is reported missing, naming the field
    resp = api.post("/api/backtests/", {**body, "settings": {**body["settings"], "timeframe": "3m"}})
    assert resp.status_code == 400 and "start" in resp.json()


def test_higher_timeframe_context_holds_only_bars_closed_by_the_last_close(db):
    """Bars 0..29 (the last opens 02:25 and closes 02:30): the 00:00 and 01:00 hours have closed, the 02:00 hour
    has not, whether the hours are stored or resampled from the 5-minute bars."""
    make_instrument("BTCUSDT")
    trade = seed_candles(40)

    class Needs(registry.get("chandelier")):
        def context_needs(self, *, symbol):
            return ContextNeeds(higher_timeframes=("1h",))

    end = T0 + 29 * STEP
    ctx = read_strategy_context(strategy=Needs(), symbol="BTCUSDT", timeframe="5m", bars=30, end=end)
    hours = ctx.higher["1h"]
    assert list(hours.index) == [pd.Timestamp(T0), pd.Timestamp(T0 + timedelta(hours=1))]
    assert hours["high"].iloc[1] == pytest.approx(max(float(c.high) for c in trade[12:24]))
    assert hours["close"].iloc[1] == pytest.approx(float(trade[23].close))
    Candle.objects.bulk_create([Candle(symbol="BTCUSDT", interval="1h", kind="trade", open_time=T0 + timedelta(hours=h),
                                       open=1, high=2, low=1, close=h + 1, volume=1) for h in range(3)])
    stored = read_strategy_context(strategy=Needs(), symbol="BTCUSDT", timeframe="5m", bars=30, end=end).higher["1h"]
    assert list(stored["close"]) == [1.0, 2.0]  # the stored rows, the 02:00 hour still left out


def test_declared_partner_and_hourly_context_reach_the_backtest(desk, monkeypatch):
    """The drift forecaster declaring ETHUSDT and 1h: the run's signals are the ones computed with ETH's candles
    and the resampled hours over the same span, and the stored result says which context it had."""
    make_instrument("ETHUSDT")
    cls = registry.get("drift")
    monkeypatch.setattr(cls, "context_needs",
                        lambda self, *, symbol: ContextNeeds(other_symbols=("ETHUSDT",), higher_timeframes=("1h",)))
    monkeypatch.setattr(cls, "warmup_bars_at", lambda self, timeframe: 0)
    seed_candles(1200)
    seed_candles(1200, seed=11, symbol="ETHUSDT", price=3000.0)
    end = T0 + 1199 * STEP
    settings = {"symbol": "BTCUSDT", "timeframe": "5m", "start": T0.isoformat(), "end": end.isoformat(),
                "leverage": "10", "sizing_mode": "kelly", "kelly_fraction": "0.5", "funding": False}
    run = _run_job(create_backtest(owner=desk["alice"], strategy="drift", params={"drift_threshold": 0.0005,
                                                                                  "min_confidence": 0.3},
                                   settings=settings).pk)
    btc = load_candle_frame(symbol="BTCUSDT", interval="5m", start=T0, end=end)
    eth = load_candle_frame(symbol="ETHUSDT", interval="5m", start=T0, end=end)
    hours = resample_frame(btc, source="5m", target="1h")  # 1200 bars = exactly 100 closed hours
    assert run.metrics["context"] == {"other": {"ETHUSDT": 1200}, "higher": {"1h": 100}}
    strategy = cls(drift_threshold=0.0005, min_confidence=0.3)
    with_ctx = strategy.compute(btc, StrategyContext("BTCUSDT", "5m", other={"ETHUSDT": eth}, higher={"1h": hours}))
    alone = strategy.compute(btc, StrategyContext("BTCUSDT", "5m"))
    assert with_ctx["cross_available"].all() and not alone["cross_available"].any()
    inst = engine_instrument(Instrument.objects.get(symbol="BTCUSDT"))
    cfg = BacktestConfig(leverage=10.0, kelly_fraction=0.5, funding=False)
    expected = run_backtest(btc, with_ctx, instrument=inst, config=cfg).metrics()
    assert run.metrics["trade_count"] == expected["trade_count"] > 0
    assert run.metrics["final_equity"] == pytest.approx(expected["final_equity"])


def test_every_sweep_point_gets_the_declared_context(desk, monkeypatch):
    """A sweep's runs go through the same loading: each point's run was given ETHUSDT's candles."""
    from trading.services.sweeps import start_sweep

    make_instrument("ETHUSDT")
    cls = registry.get("drift")
    monkeypatch.setattr(cls, "context_needs", lambda self, *, symbol: ContextNeeds(other_symbols=("ETHUSDT",)))
    monkeypatch.setattr(cls, "warmup_bars_at", lambda self, timeframe: 0)
    seed_candles(400)
    seed_candles(400, seed=11, symbol="ETHUSDT", price=3000.0)
    settings = {"symbol": "BTCUSDT", "timeframe": "5m", "leverage": "10", "sizing_mode": "kelly",
                "kelly_fraction": "0.5", "funding": False}
    key = start_sweep(owner=desk["alice"], strategy="drift", base_params={}, grid={"horizon": [6, 12]},
                      settings=settings, metric="total_return")
    runs = [_run_job(r.pk) for r in BacktestRun.objects.filter(sweep_key=key).order_by("id")]
    assert [r.params["horizon"] for r in runs] == [6, 12]
    assert [r.metrics["context"] for r in runs] == [{"other": {"ETHUSDT": 400}, "higher": {}}] * 2
