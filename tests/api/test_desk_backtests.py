"""Backtest the desk: ``POST /api/backtests/`` with ``configs`` or ``account`` runs those configs as ONE portfolio
(``run_portfolio``) with the account's capital and position cap. Validation names the field and the limit; a
config or account of someone else is refused exactly like one that does not exist; configs of two accounts
(two wallets) are refused. A run's stored result equals ``run_portfolio`` called directly on the same data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.desk_fixtures import T0, seed_candles
from tests.factories import make_account, make_config, make_instrument, make_strategy
from trading.models import BacktestRun
from trading.services.desk_backtests import create_desk_backtest

STEP = timedelta(minutes=5)
END = T0 + 599 * STEP


@pytest.fixture
def two_symbols(desk):
    """Alice's account A: a chandelier config on BTCUSDT (20x fixed 15 %) and one on ETHUSDT (10x kelly 0.5),
    both enabled; the fixture's own a-cfg (BTCUSDT) is disabled here. 600 five-minute bars of each symbol."""
    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"))
    acc = desk["acc_a"]
    acc.starting_capital, acc.max_open_positions = Decimal("1000"), 2
    acc.save()
    desk["cfg_a"].enabled = False
    desk["cfg_a"].save()
    btc = make_config(acc, desk["strategy"], name="btc", leverage=Decimal("20"), sizing_mode="fixed",
                      allocation=Decimal("0.15"), stop_loss_pct=Decimal("2"), params={"length": 14}, enabled=True)
    eth = make_config(acc, desk["strategy"], name="eth", symbols=["ETHUSDT"], leverage=Decimal("10"),
                      sizing_mode="kelly", allocation=None, kelly_fraction=Decimal("0.5"),
                      take_profit_pct=Decimal("1"), stop_loss_pct=Decimal("3"), params={"length": 10}, enabled=True)
    seed_candles(600)
    seed_candles(600, seed=11, symbol="ETHUSDT", price=3000.0)
    return {**desk, "btc": btc, "eth": eth}


def _flat(errors: dict) -> str:
    return " ".join(" ".join(v) if isinstance(v, list) else str(v) for v in errors.values())


def test_desk_run_stores_a_snapshot_of_each_config_and_the_accounts_wallet(two_symbols, api):
    d = two_symbols
    api.login(d["alice"])
    resp = api.post("/api/backtests/", {"configs": [d["eth"].pk, d["btc"].pk],
                                        "settings": {"start": T0.isoformat(), "end": END.isoformat()}})
    assert resp.status_code == 202, resp.content
    run = BacktestRun.objects.get(pk=resp.json()["id"])
    s = run.settings
    assert run.strategy == "portfolio" and s["kind"] == "portfolio"
    assert (s["initial_capital"], s["max_open_positions"], s["funding"]) == (1000.0, 2, True)
    assert s["account"] == {"id": d["acc_a"].pk, "name": d["acc_a"].name}
    # slots in the order given, each with its own config's sizing and stops (percent as stored)
    assert [x["key"] for x in s["slots"]] == [str(d["eth"].pk), str(d["btc"].pk)]
    eth, btc = s["slots"]
    assert (eth["symbol"], eth["leverage"], eth["sizing_mode"], eth["kelly_fraction"]) == ("ETHUSDT", 10.0, "kelly", 0.5)
    assert (eth["take_profit_pct"], eth["stop_loss_pct"], eth["params"]["length"]) == (1.0, 3.0, 10)
    assert (btc["symbol"], btc["leverage"], btc["sizing_mode"], btc["allocation"]) == ("BTCUSDT", 20.0, "fixed", 0.15)
    assert btc["initial_capital"] == 1000.0 and btc["taker_fee"] == 0.0006
    # the account's enabled configs, by id, with the stored span as the default range
    resp = api.post("/api/backtests/", {"account": d["acc_a"].pk})
    assert resp.status_code == 202, resp.content
    s = BacktestRun.objects.get(pk=resp.json()["id"]).settings
    assert [x["config_id"] for x in s["slots"]] == [d["btc"].pk, d["eth"].pk]
    assert (s["start"], s["end"]) == (T0.isoformat(), END.isoformat())


def test_foreign_configs_and_accounts_are_refused_like_missing_ones(two_symbols, api):
    d = two_symbols
    api.login(d["alice"])
    foreign = api.post("/api/backtests/", {"configs": [d["btc"].pk, d["cfg_b"].pk]})
    missing = api.post("/api/backtests/", {"configs": [d["btc"].pk, 99999]})
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == {"configs": [f"configs: no config with id {d['cfg_b'].pk}"]}
    assert missing.json() == {"configs": ["configs: no config with id 99999"]}
    foreign = api.post("/api/backtests/", {"account": d["acc_b"].pk})
    missing = api.post("/api/backtests/", {"account": 99999})
    assert foreign.json() == {"account": [f"account: no account with id {d['acc_b'].pk}"]}
    assert missing.json() == {"account": ["account: no account with id 99999"]}
    assert not BacktestRun.objects.exists()


def test_configs_of_two_wallets_and_other_bad_bodies_are_refused_naming_the_field(two_symbols, api):
    d = two_symbols
    second = make_account(d["alice"], "A2")
    other = make_config(second, d["strategy"], name="a2-cfg")
    empty = make_account(d["alice"], "A3")
    api.login(d["alice"])
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk, other.pk]})
    assert resp.status_code == 400 and "one account" in _flat(resp.json()) and "A2" in _flat(resp.json())
    resp = api.post("/api/backtests/", {"account": empty.pk})
    assert resp.status_code == 400 and "no enabled configs" in resp.json()["account"][0]
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk, d["btc"].pk]})
    assert resp.status_code == 400 and "more than once" in resp.json()["configs"][0]
    resp = api.post("/api/backtests/", {"configs": list(range(1, 22))})
    assert resp.status_code == 400 and "20" in _flat(resp.json())
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk], "settings": {"symbol": "BTCUSDT"}})
    assert resp.status_code == 400 and "symbol" in resp.json()
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk], "settings": {"start": "2024-01-01T00:00:00Z",
                                                                                "end": "2024-01-02T00:00:00Z"}})
    assert resp.status_code == 400 and f"config {d['btc'].pk} (btc) BTCUSDT" in _flat(resp.json())
    assert "0" in _flat(resp.json()) and "candle" in _flat(resp.json())
    # a config whose stored parameters went bad since it was saved: named with the config and the limit
    type(d["eth"]).objects.filter(pk=d["eth"].pk).update(params={"length": 0})
    resp = api.post("/api/backtests/", {"account": d["acc_a"].pk})
    assert resp.status_code == 400
    message = " ".join(resp.json()["account"])
    assert f"config {d['eth'].pk} (eth) ETHUSDT" in message and "length" in message
    assert not BacktestRun.objects.exists()


def test_mixed_owners_are_refused_even_for_staff(two_symbols):
    """Staff may see every config, but configs of two owners are two wallets: refused, nothing stored."""
    from django.core.exceptions import ValidationError

    d = two_symbols
    with pytest.raises(ValidationError) as err:
        create_desk_backtest(owner=d["staff"], config_ids=[d["btc"].pk, d["cfg_b"].pk])
    assert "one account" in str(err.value)
    run = create_desk_backtest(owner=d["staff"], config_ids=[d["btc"].pk],
                               settings={"start": T0.isoformat(), "end": END.isoformat()})
    assert run.owner == d["staff"] and run.settings["slots"][0]["config_id"] == d["btc"].pk


def _seed_minutes(symbol: str, n5: int, *, seed: int, price: float) -> None:
    """``n5`` five-minute bars that ARE the aggregation of 5 x n5 stored one-minute bars (both stored), so the
    1m series is the detail under the 5m signals."""
    from tests.desk_fixtures import synthetic_candles
    from trading.marketdata.resample import resample_frame
    from trading.models import Candle

    rows = synthetic_candles(5 * n5, seed=seed, symbol=symbol, interval="1m", price=price)
    for i, c in enumerate(rows):
        c.open_time = T0 + timedelta(minutes=i)
    Candle.objects.bulk_create(rows)
    from trading.services.backtests import load_candle_frame

    minutes = load_candle_frame(symbol=symbol, interval="1m", start=T0, end=T0 + timedelta(minutes=5 * n5))
    five = resample_frame(minutes, source="1m", target="5m")
    Candle.objects.bulk_create([Candle(symbol=symbol, interval="5m", kind="trade", open_time=t.to_pydatetime(),
                                       open=r.open, high=r.high, low=r.low, close=r.close, volume=r.volume)
                                for t, r in five.iterrows()])


@pytest.fixture
def minute_desk(desk):
    """Account A (1,000 USDT, at most ONE open position) with a BTCUSDT and an ETHUSDT chandelier config;
    400 five-minute bars of each symbol built from 2,000 stored one-minute bars; funding stored for ETHUSDT."""
    from datetime import UTC, datetime

    from trading.models import FundingRate

    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"))
    acc = desk["acc_a"]
    acc.starting_capital, acc.max_open_positions = Decimal("1000"), 1
    acc.save()
    btc = make_config(acc, desk["strategy"], name="btc", leverage=Decimal("20"), sizing_mode="fixed",
                      allocation=Decimal("0.15"), stop_loss_pct=Decimal("2"), params={"length": 10}, enabled=True)
    eth = make_config(acc, desk["strategy"], name="eth", symbols=["ETHUSDT"], leverage=Decimal("10"),
                      sizing_mode="kelly", allocation=None, kelly_fraction=Decimal("0.5"),
                      take_profit_pct=Decimal("1"), stop_loss_pct=Decimal("3"), params={"length": 8}, enabled=True)
    _seed_minutes("BTCUSDT", 400, seed=7, price=90_000.0)
    _seed_minutes("ETHUSDT", 400, seed=11, price=3_000.0)
    FundingRate.objects.bulk_create([FundingRate(symbol="ETHUSDT", rate=Decimal("0.0005"),
                                                 funding_time=datetime(2025, 3, 1, 8 * h, tzinfo=UTC))
                                     for h in (1, 2)])
    return {**desk, "btc": btc, "eth": eth}


def test_a_desk_run_equals_run_portfolio_called_directly(minute_desk, api, monkeypatch):
    """Two configs through the API as one run == ``run_portfolio`` on the same stored data, built here by hand:
    1m detail under 5m signals, ETH's funding, the account's 1,000 USDT and max ONE open position (so the
    second symbol's entries are refused while the first is held), each config's own sizing and stops."""
    from strategies.algos import registry
    from trading.engine.backtest import BacktestConfig
    from trading.engine.fees import FeeSchedule
    from trading.engine.portfolio import PortfolioSlot, PortfolioSpec, run_portfolio
    from trading.engine_adapters import engine_instrument
    from trading.models import Instrument
    from trading.services.backtests import load_candle_frame, load_funding, run_backtest_job

    monkeypatch.setattr(registry.get("chandelier"), "warmup_bars_at", lambda self, timeframe: 0)
    d = minute_desk
    last5 = T0 + 399 * STEP
    api.login(d["alice"])
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk, d["eth"].pk]})
    assert resp.status_code == 202, resp.content
    run = run_backtest_job(run_id=resp.json()["id"])
    assert run.status == "done", run.error

    def slot(cfg, symbol, bt):
        frame = load_candle_frame(symbol=symbol, interval="5m", start=T0, end=last5)
        signals = registry.get("chandelier")(**cfg.params).compute(frame)
        return PortfolioSlot(key=str(cfg.pk), symbol=symbol, instrument=engine_instrument(
            Instrument.objects.get(symbol=symbol)), config=bt, signals=signals, timeframe_seconds=300)

    fees = FeeSchedule(maker=0.0002, taker=0.0006)
    slots = [slot(d["btc"], "BTCUSDT", BacktestConfig(leverage=20.0, sizing="fixed", allocation=0.15,
                                                      initial_capital=1000.0, stop_loss_pct=0.02, fees=fees)),
             slot(d["eth"], "ETHUSDT", BacktestConfig(leverage=10.0, sizing="kelly", kelly_fraction=0.5,
                                                      initial_capital=1000.0, take_profit_pct=0.01,
                                                      stop_loss_pct=0.03, fees=fees))]
    end_detail = T0 + timedelta(minutes=1999)
    detail = {s: load_candle_frame(symbol=s, interval="1m", start=T0, end=end_detail) for s in ("BTCUSDT", "ETHUSDT")}
    assert len(detail["BTCUSDT"]) == len(detail["ETHUSDT"]) == 2000
    funding = {"ETHUSDT": load_funding(symbol="ETHUSDT", start=T0, end=end_detail)}
    direct = run_portfolio(slots=slots, detail=detail, funding=funding,
                           spec=PortfolioSpec(initial_capital=1000.0, max_open_positions=1))
    expected = direct.metrics()
    m = run.metrics
    assert m["trade_count"] == expected["trade_count"] == len(run.trades) > 0
    assert m["final_equity"] == pytest.approx(expected["final_equity"])
    assert m["funding_paid"] == pytest.approx(expected["funding_paid"])
    assert [(t["slot"], t["symbol"], t["side"], t["exit_reason"]) for t in run.trades] == [
        (str(r.slot), str(r.symbol), str(r.side), str(r.exit_reason)) for r in direct.trades.itertuples()]
    assert [t["pnl"] for t in run.trades] == pytest.approx(list(direct.trades["pnl"]))
    assert run.equity_curve[-1][1] == pytest.approx(float(direct.equity.iloc[-1]))
    # the account's cap of one position reached the run: the other symbol's entries were refused
    counts = direct.refusals["reason"].value_counts().to_dict()
    assert m["refusals_by_reason"] == counts and counts.get("max-open-positions", 0) > 0
    assert {k: v["detail_interval"] for k, v in m["symbols"].items()} == {"BTCUSDT": "1m", "ETHUSDT": "1m"}
    assert m["bars"] == 4000 and m["slots"][str(d["eth"].pk)]["bars"] == 400
    assert set(m["trigger_series"]) == {"BTCUSDT", "ETHUSDT"}


def test_real_data_desk_run_with_drift_configs_funding_and_mark(desk, monkeypatch):
    """Real Bybit data (../shared/data): the drift forecaster on BTCUSDT and ETHUSDT, 3,000 warm-up bars read from
    before the start, 1,000 bars in the range, the stored 1h mark and 8h funding reaching the run: the service's
    result equals ``run_portfolio`` on the same frames (trades with their partial closes, funding, equity), and
    the run says which series triggered liquidation (the hourly mark is coarser than the 5m detail)."""
    from strategies.algos import registry
    from strategies.algos.base import ContextNeeds
    from tests import shared_data
    from trading.engine.backtest import BacktestConfig
    from trading.engine.fees import FeeSchedule
    from trading.engine.portfolio import PortfolioSlot, PortfolioSpec, run_portfolio
    from trading.engine_adapters import engine_instrument
    from trading.models import Candle, FundingRate, Instrument
    from trading.services.backtests import run_backtest_job

    cls = registry.get("drift")
    monkeypatch.setattr(cls, "warmup_bars_at", lambda self, timeframe: 3000)
    monkeypatch.setattr(cls, "context_needs", lambda self, *, symbol: ContextNeeds())
    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"))
    drift = make_strategy("drift")
    acc = desk["acc_a"]
    frames, marks, rates = {}, {}, {}
    for symbol in ("BTCUSDT", "ETHUSDT"):
        frames[symbol] = shared_data.load_candles(symbol, nrows=4000)
        marks[symbol] = shared_data.load_mark(symbol, nrows=400)
        rates[symbol] = shared_data.load_funding(symbol)
        Candle.objects.bulk_create([Candle(symbol=symbol, interval="5m", kind="trade", open_time=t.to_pydatetime(),
                                           open=r.open, high=r.high, low=r.low, close=r.close, volume=r.volume)
                                    for t, r in frames[symbol].iterrows()])
        Candle.objects.bulk_create([Candle(symbol=symbol, interval="1h", kind="mark", open_time=t.to_pydatetime(),
                                           open=r.open, high=r.high, low=r.low, close=r.close, volume=0)
                                    for t, r in marks[symbol].iterrows()])
        FundingRate.objects.bulk_create([FundingRate(symbol=symbol, funding_time=t.to_pydatetime(),
                                                     rate=Decimal(str(v))) for t, v in rates[symbol].iloc[:60].items()])
    configs = [make_config(acc, drift, name=f"drift-{s[:3].lower()}", symbols=[s], leverage=Decimal("50"),
                           sizing_mode="kelly", allocation=None, kelly_fraction=Decimal("0.5"),
                           stop_loss_pct=Decimal("0.5"), enabled=True) for s in ("BTCUSDT", "ETHUSDT")]
    index = frames["BTCUSDT"].index
    start, end = index[3000], index[3999]
    run = run_backtest_job(run_id=create_desk_backtest(
        owner=desk["alice"], config_ids=[c.pk for c in configs],
        settings={"start": start.isoformat(), "end": end.isoformat()}).pk)
    assert run.status == "done", run.error

    fees = FeeSchedule(maker=0.0002, taker=0.0006)
    slots, detail, funding, mark = [], {}, {}, {}
    last = end + timedelta(minutes=5)
    for cfg in configs:
        symbol = cfg.symbols[0]
        candles = frames[symbol]
        signals = cls().compute(candles).iloc[3000:]  # all 4,000 bars feed the indicators; the run is the last 1,000
        slots.append(PortfolioSlot(key=str(cfg.pk), symbol=symbol, timeframe_seconds=300, signals=signals,
                                   instrument=engine_instrument(Instrument.objects.get(symbol=symbol)),
                                   config=BacktestConfig(leverage=50.0, kelly_fraction=0.5, initial_capital=500.0,
                                                         stop_loss_pct=0.005, fees=fees)))
        detail[symbol] = candles.iloc[3000:]
        f = rates[symbol].iloc[:60]
        funding[symbol] = f[(f.index >= start) & (f.index < last)]
        m = marks[symbol]
        mark[symbol] = m[(m.index >= start) & (m.index < last)]
    direct = run_portfolio(slots=slots, detail=detail, mark=mark, funding=funding,
                           spec=PortfolioSpec(initial_capital=500.0, max_open_positions=2))
    expected = direct.metrics()
    got = run.metrics
    print(f"\nreal data desk run: {len(run.trades)} round trips, "
          f"{sum(len(t.get('partials', [])) for t in run.trades)} partial closes, funding {got['funding_paid']:.4f}, "
          f"final equity {got['final_equity']:.4f} (direct {expected['final_equity']:.4f}), "
          f"trigger {got['trigger_series']}")
    assert got["trade_count"] == expected["trade_count"] == len(run.trades) > 0
    assert got["final_equity"] == pytest.approx(expected["final_equity"], rel=1e-12)
    assert got["funding_paid"] == pytest.approx(expected["funding_paid"]) and got["funding_paid"] != 0
    assert [len(t.get("partials", [])) for t in run.trades] == [len(p) for p in direct.trades["partials"]]
    assert [t["pnl"] for t in run.trades] == pytest.approx(list(direct.trades["pnl"]))
    assert got["trigger_series"] == {k: str(v) for k, v in direct.trigger_series.items()}
    assert got["slots"][str(configs[0].pk)]["warmup_bars"] == 3000


def test_fifteen_minute_configs_run_on_the_stored_five_minute_bars(two_symbols, monkeypatch):
    """Only 5m is stored: 15m configs get their signals from 15m bars resampled from it (as the live cycle reads
    them) and the 5m bars are the detail series: equal to ``run_portfolio`` on those frames built here."""
    from strategies.algos import registry
    from trading.engine.backtest import BacktestConfig
    from trading.engine.fees import FeeSchedule
    from trading.engine.portfolio import PortfolioSlot, PortfolioSpec, run_portfolio
    from trading.engine_adapters import engine_instrument
    from trading.marketdata.resample import resample_frame
    from trading.models import Instrument
    from trading.services.backtests import load_candle_frame, run_backtest_job

    d = two_symbols
    monkeypatch.setattr(registry.get("chandelier"), "warmup_bars_at", lambda self, timeframe: 0)
    type(d["btc"]).objects.filter(pk__in=[d["btc"].pk, d["eth"].pk]).update(timeframe="15m")
    run = run_backtest_job(run_id=create_desk_backtest(owner=d["alice"], config_ids=[d["btc"].pk, d["eth"].pk],
                                                       settings={"funding": False}).pk)
    assert run.status == "done", run.error
    # the default range is the stored 5m range: 00:00 on the 1st .. 01:55 on the 3rd (599 x 5 min later), i.e.
    # 600 five-minute bars = 200 whole fifteen-minute bars, the last opening at 01:45 (01:45, 01:50, 01:55)
    assert (run.settings["start"], run.settings["end"]) == (T0.isoformat(), END.isoformat())
    fees = FeeSchedule(maker=0.0002, taker=0.0006)
    cfgs = {"BTCUSDT": BacktestConfig(leverage=20.0, sizing="fixed", allocation=0.15, initial_capital=1000.0,
                                      stop_loss_pct=0.02, fees=fees, funding=False),
            "ETHUSDT": BacktestConfig(leverage=10.0, kelly_fraction=0.5, initial_capital=1000.0,
                                      take_profit_pct=0.01, stop_loss_pct=0.03, fees=fees, funding=False)}
    slots, detail = [], {}
    for cfg in (d["btc"], d["eth"]):
        symbol = cfg.symbols[0]
        five = load_candle_frame(symbol=symbol, interval="5m", start=T0, end=END)
        fifteen = resample_frame(five, source="5m", target="15m")
        assert len(fifteen) == 200
        signals = registry.get("chandelier")(**cfg.params).compute(fifteen)
        slots.append(PortfolioSlot(key=str(cfg.pk), symbol=symbol, config=cfgs[symbol], signals=signals,
                                   instrument=engine_instrument(Instrument.objects.get(symbol=symbol)),
                                   timeframe_seconds=900))
        detail[symbol] = five
    direct = run_portfolio(slots=slots, detail=detail, spec=PortfolioSpec(initial_capital=1000.0, max_open_positions=2,
                                                                          funding=False))
    expected = direct.metrics()
    assert run.metrics["slots"][str(d["btc"].pk)]["bars"] == 200
    assert {k: v["detail_interval"] for k, v in run.metrics["symbols"].items()} == {"BTCUSDT": "5m", "ETHUSDT": "5m"}
    assert run.metrics["trade_count"] == expected["trade_count"] > 0
    assert run.metrics["final_equity"] == pytest.approx(expected["final_equity"])


def test_unknown_or_misspelt_fields_are_refused_not_dropped(two_symbols, api):
    d = two_symbols
    api.login(d["alice"])
    resp = api.post("/api/backtests/", {"configs": [d["btc"].pk], "settings": {"leverage": "5"}})
    assert resp.status_code == 400 and "leverage: unknown field" in str(resp.json())
    assert "start" in str(resp.json()) and "funding" in str(resp.json())  # the allowed ones are named
    resp = api.post("/api/backtests/", {"account": d["acc_a"].pk, "params": {"length": 3}})
    assert resp.status_code == 400 and "params: unknown field" in str(resp.json())
    body = {"strategy": "chandelier", "settings": {"symbol": "BTCUSDT", "leverage": "10", "kelly_fraction": "0.5",
                                                   "stop_los_pct": "1"}}
    resp = api.post("/api/backtests/", body)
    assert resp.status_code == 400 and "stop_los_pct: unknown field" in str(resp.json())
    assert not BacktestRun.objects.exists()
