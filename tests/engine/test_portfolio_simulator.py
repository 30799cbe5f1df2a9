"""run_portfolio's kernel and the object Simulator (the paper exchange's engine), driven through the same
portfolio with the documented order of events, give identical fills, refusals and equity: several symbols,
a second slot on a held symbol, max_open_positions binding, kelly and fixed sizing off one wallet, TP / SL /
liquidation on 30-second sub-bars, the monitor re-pricing drift from forecasts, funding per symbol."""

import numpy as np
import pandas as pd
import pytest

from tests.engine.portfolio_driver import drive_portfolio
from tests.shared_data import load_candles, load_funding, load_mark
from trading.engine.backtest import BacktestConfig
from trading.engine.instruments import BTC_TIERS, BTCUSDT, ETHUSDT, Instrument
from trading.engine.portfolio import PortfolioSlot, PortfolioSpec, run_portfolio

SOLUSDT = Instrument("SOLUSDT", tick_size=0.01, qty_step=0.1, min_qty=0.1, max_leverage=100.0, tiers=BTC_TIERS)


def walk(rng, n, start, tick):
    steps = rng.normal(0, 0.0015, n)
    steps[rng.random(n) < 0.01] *= 10  # jumps: stops and liquidations
    close = np.round(start * np.exp(np.cumsum(steps)) / tick) * tick
    open_ = np.r_[start, close[:-1]]
    wick = np.abs(rng.normal(0, 0.001, (2, n)))
    high = np.round(np.maximum(open_, close) * (1 + wick[0]) / tick) * tick
    low = np.round(np.minimum(open_, close) * (1 - wick[1]) / tick) * tick
    idx = pd.date_range("2025-03-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close}, index=idx)


def five_minute(rng, bars, with_monitor):
    five = bars["close"].resample("5min").last()
    n = len(five)
    regime = np.sign(np.sin(np.cumsum(rng.normal(0, 0.4, n))))
    sig = pd.DataFrame({"signal": np.where(rng.random(n) < 0.8, regime, 0).astype(np.int8),
                        "exit_long": rng.random(n) < 0.03, "exit_short": rng.random(n) < 0.03}, index=five.index)
    if with_monitor:
        drift = regime * 0.002 + rng.normal(0, 0.0007, n)
        sig["forecast"] = five.to_numpy() * (1 + drift)
        sig["drift"] = drift
        sig["confidence"] = rng.uniform(0.25, 0.6, n)
        sig["half_life"] = rng.uniform(300, 2400, n)
    return sig


def scenario(seed):
    rng = np.random.default_rng(seed)
    n = 1500
    detail = {"BTCUSDT": walk(rng, n, 60_000.0, 0.1), "ETHUSDT": walk(rng, n, 3_000.0, 0.01),
              "SOLUSDT": walk(rng, n, 150.0, 0.01)}
    kelly = BacktestConfig(leverage=50, sizing="kelly", kelly_fraction=0.3, take_profit_pct=0.006,
                           stop_loss_pct=0.012, funding_rate=0.0001, initial_capital=2000)
    fixed = BacktestConfig(leverage=20, sizing="fixed", allocation=0.15, stop_loss_pct=0.02, funding_rate=-0.0002,
                           initial_capital=2000)
    hundred = BacktestConfig(leverage=100, sizing="fixed", allocation=0.05, take_profit_pct=0.004,
                             initial_capital=2000)
    slots = [
        PortfolioSlot("btc-drift", "BTCUSDT", BTCUSDT, kelly, five_minute(rng, detail["BTCUSDT"], True), 300),
        PortfolioSlot("eth", "ETHUSDT", ETHUSDT, fixed, five_minute(rng, detail["ETHUSDT"], False), 300),
        PortfolioSlot("sol-100x", "SOLUSDT", SOLUSDT, hundred, five_minute(rng, detail["SOLUSDT"], True), 300),
        PortfolioSlot("btc-second", "BTCUSDT", BTCUSDT, fixed, five_minute(rng, detail["BTCUSDT"], False), 300),
    ]
    return slots, detail, PortfolioSpec(initial_capital=2000, max_open_positions=2, monitor_seconds=30)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_and_simulator_fill_identically(seed):
    slots, detail, spec = scenario(seed)
    r = run_portfolio(slots=slots, detail=detail, spec=spec)
    sim_fills, sim_refusals, sim_equity = drive_portfolio(slots, detail, spec, n_sub=2)
    f = r.fills
    ours = list(zip(f["bar"], f["symbol"], f["kind"], f["qty"], f["price"], f["fee"], f["pnl"], f["reason"],
                    strict=True))
    assert len(ours) == len(sim_fills) > 100
    for a, b in zip(ours, sim_fills, strict=True):
        assert (a[0], a[1], a[2], a[7]) == (b[0], b[1], b[2], b[7])
        assert a[3:7] == pytest.approx(b[3:7], rel=1e-12, abs=1e-9)
    sizing = {"below-min-qty": "sizing", "below-min-notional": "sizing"}
    ref = [(int(np.searchsorted(r.raw.index, t)), k, sizing.get(why, why))
           for t, k, why in zip(r.refusals["time"], r.refusals["slot"], r.refusals["reason"], strict=True)]
    assert ref == sim_refusals
    np.testing.assert_allclose(r.equity.to_numpy(), sim_equity, rtol=1e-12)


def test_the_scenarios_exercise_every_rule():
    reasons, refusals = set(), set()
    for seed in (1, 2, 3):
        slots, detail, spec = scenario(seed)
        r = run_portfolio(slots=slots, detail=detail, spec=spec)
        reasons |= set(r.fills["reason"].astype(str))
        refusals |= set(r.refusals["reason"])
    assert {"entry", "signal", "tp", "sl", "liquidation", "funding", "monitor-drift-flip", "monitor-decay",
            "monitor-timeout", "monitor-confidence"} <= reasons
    assert {"symbol-held", "max-open-positions", "insufficient-balance"} <= refusals


@pytest.mark.realdata
def test_kernel_and_simulator_agree_on_real_bybit_data():
    # 3 days of real 5-minute BTCUSDT / ETHUSDT bars (through the 10 Oct 2025 crash) as the detail series,
    # Chandelier signals on 15-minute bars resampled from them (warm-up read from before the range), real funding
    # and 1-hour mark candles (coarser than the detail: funding mark only; liquidation on the last price)
    start, end = pd.Timestamp("2025-10-09", tz="UTC"), pd.Timestamp("2025-10-12", tz="UTC")
    from strategies.algos.chandelier import ChandelierStrategy

    detail, slots, funding, mark = {}, [], {}, {}
    configs = {"BTCUSDT": BacktestConfig(leverage=50, sizing="kelly", kelly_fraction=0.3, stop_loss_pct=0.01,
                                         initial_capital=1000),
               "ETHUSDT": BacktestConfig(leverage=20, sizing="fixed", allocation=0.15, take_profit_pct=0.01,
                                         initial_capital=1000)}
    for sym, inst in (("BTCUSDT", BTCUSDT), ("ETHUSDT", ETHUSDT)):
        five = load_candles(sym).loc[start - pd.Timedelta("3D"): end - pd.Timedelta("5min")]
        fifteen = five.resample("15min").agg({"open": "first", "high": "max", "low": "min", "close": "last",
                                               "volume": "sum"})
        sig = ChandelierStrategy().compute(fifteen)
        if sym == "ETHUSDT":  # a forecast layer so the monitor re-prices drift every 30 seconds on real prices
            sig["forecast"] = fifteen["close"] * (1 + 0.004 * sig["signal"])
            sig["drift"] = 0.004 * sig["signal"]
        detail[sym] = five.loc[start:]
        slots.append(PortfolioSlot(sym, sym, inst, configs[sym], sig, 900))
        funding[sym] = load_funding(sym).loc[start:end]
        mark[sym] = load_mark(sym).loc[start - pd.Timedelta("1h"):end]
    assert detail["BTCUSDT"].index.equals(detail["ETHUSDT"].index) and len(detail["BTCUSDT"]) == 864
    spec = PortfolioSpec(initial_capital=1000, max_open_positions=2)
    r = run_portfolio(slots=slots, detail=detail, spec=spec, funding=funding, mark=mark)
    assert r.trigger_series == {"BTCUSDT": "last:bounded-by-coarser-mark", "ETHUSDT": "last:bounded-by-coarser-mark"}
    sim_fills, sim_refusals, sim_equity = drive_portfolio(slots, detail, spec, n_sub=10, funding=funding, mark=mark)
    f = r.fills
    ours = list(zip(f["bar"], f["symbol"], f["kind"], f["qty"], f["price"], f["fee"], f["pnl"], f["reason"],
                    strict=True))
    assert len(ours) == len(sim_fills) > 20
    for a, b in zip(ours, sim_fills, strict=True):
        assert (a[0], a[1], a[2], a[7]) == (b[0], b[1], b[2], b[7])
        assert a[3:7] == pytest.approx(b[3:7], rel=1e-12, abs=1e-9)
    assert {"funding", "entry", "signal"} <= set(f["reason"].astype(str))
    np.testing.assert_allclose(r.equity.to_numpy(), sim_equity, rtol=1e-12)
