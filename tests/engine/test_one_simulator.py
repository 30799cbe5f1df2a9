"""The object Simulator (driven bar by bar through its public API) and run_backtest's numba kernel
produce identical fills and equity on the same scenarios: one set of rules, not two."""

import numpy as np
import pandas as pd
import pytest

from tests.engine.sim_driver import drive
from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.funding import _ns, funding_per_bar
from trading.engine.instruments import BTCUSDT


def scenario(seed: int, n: int = 3000, with_drift: bool = True):
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 0.002, n)
    steps[rng.random(n) < 0.01] *= 12  # occasional 2-3 % jumps: liquidations at 50-100x
    close = 60_000 * np.exp(np.cumsum(steps))
    close = np.round(close, 1)
    open_ = np.r_[60_000.0, close[:-1]]
    wick = np.abs(rng.normal(0, 0.0015, (2, n)))
    high = np.round(np.maximum(open_, close) * (1 + wick[0]), 1)
    low = np.round(np.minimum(open_, close) * (1 - wick[1]), 1)
    idx = pd.date_range("2025-03-01", periods=n, freq="1min", tz="UTC")
    candles = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=idx)
    regime = np.sign(np.sin(np.cumsum(rng.normal(0, 0.15, n))))
    signal = np.where(rng.random(n) < 0.7, regime, 0).astype(np.int8)
    signals = pd.DataFrame({"signal": signal, "exit_long": rng.random(n) < 0.01,
                            "exit_short": rng.random(n) < 0.01}, index=idx)
    if with_drift:
        signals["drift"] = regime * 0.0012 + rng.normal(0, 0.0006, n)
        signals["confidence"] = rng.uniform(0.25, 0.6, n)
        signals["half_life"] = rng.uniform(300, 3600, n)
    return candles, signals


CONFIGS = [
    BacktestConfig(leverage=50, sizing="kelly", kelly_fraction=0.5, take_profit_pct=0.01, stop_loss_pct=0.01,
                   funding_rate=0.0001, initial_capital=500),
    BacktestConfig(leverage=100, sizing="fixed", allocation=0.03, initial_capital=500, take_profit_pct=0.004,
                   funding_rate=-0.0003),
    BacktestConfig(leverage=20, sizing="fixed", allocation=0.15, initial_capital=500, stop_loss_pct=0.02,
                   funding_rate=0.0002),
]


@pytest.mark.parametrize(("seed", "config", "with_drift"), [(1, CONFIGS[0], True), (2, CONFIGS[1], False),
                                                             (3, CONFIGS[2], True), (4, CONFIGS[1], True)])
def test_simulator_and_backtest_fill_identically(seed, config, with_drift):
    candles, signals = scenario(seed, with_drift=with_drift)
    result = run_backtest(candles, signals, instrument=BTCUSDT, config=config)
    frate, fmark = funding_per_bar(_ns(candles.index), constant_rate=config.funding_rate)
    sim_fills, sim_equity = drive(candles, signals, BTCUSDT, config, config.initial_capital, frate, fmark)
    bt = result.fills
    bt_fills = list(zip(bt["bar"], bt["kind"], bt["qty"], bt["price"], bt["fee"], bt["pnl"], bt["reason"],
                        strict=True))
    assert len(bt_fills) == len(sim_fills)
    assert len(bt_fills) > 50
    for a, b in zip(bt_fills, sim_fills, strict=True):
        assert (a[0], a[1], a[6]) == (b[0], b[1], b[6])
        assert a[2:6] == pytest.approx(b[2:6], rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(result.equity.to_numpy(), sim_equity, rtol=1e-12)


def test_scenarios_exercise_every_rule():
    reasons = set()
    for seed, config, with_drift in [(1, CONFIGS[0], True), (2, CONFIGS[1], False), (3, CONFIGS[2], True)]:
        candles, signals = scenario(seed, with_drift=with_drift)
        reasons |= set(run_backtest(candles, signals, instrument=BTCUSDT, config=config).fills["reason"])
    assert {"entry", "signal", "tp", "sl", "liquidation", "funding", "monitor-drift-flip", "monitor-decay",
            "monitor-timeout", "monitor-confidence"} <= reasons
