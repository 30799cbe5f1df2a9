"""Seeded synthetic series and a tiny strategy for the research tests: a random walk (no edge) and an AR(1)
return series (a planted momentum edge), traded by a lag-momentum rule with a lookback and a direction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategies.algos.base import DefaultSizing, ParamSpec, Strategy, make_signal_frame
from trading.engine.backtest import BacktestConfig
from trading.engine.fees import FeeSchedule
from trading.engine.instruments import BTCUSDT
from trading.research.evaluate import Problem


class LagMomentum(Strategy):
    """Long when close is above the close ``lookback`` bars ago, short when below (reversed with ``invert``)."""

    name = "lagmom"
    label = "Lag momentum (test)"
    timeframe = "1h"
    default_sizing = DefaultSizing(leverage=5, mode="fixed", allocation=0.5)
    PARAMS = (ParamSpec("lookback", "int", 4, 1, 64), ParamSpec("invert", "bool", False))

    def warmup_bars(self) -> int:
        return int(self.params["lookback"]) + 1

    def _compute(self, candles, context):
        c = candles["close"]
        sig = np.sign((c - c.shift(self.params["lookback"])).fillna(0.0)).astype(int)
        if self.params["invert"]:
            sig = -sig
        return make_signal_frame(candles.index, signal=sig.to_numpy())


def series(n: int, *, seed: int, phi: float = 0.0, vol: float = 0.004) -> pd.DataFrame:
    """Hourly bars whose log returns follow r_t = phi r_{t-1} + e_t (phi = 0: a random walk)."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, vol, n)
    r = np.empty(n)
    prev = 0.0
    for i in range(n):
        prev = phi * prev + e[i]
        r[i] = prev
    close = 60_000.0 * np.exp(np.cumsum(r))
    open_ = np.r_[60_000.0, close[:-1]]
    wick = np.abs(rng.normal(0.0, vol / 4, (2, n)))
    idx = pd.date_range("2025-01-01", periods=n, freq="1h", tz="UTC")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * (1 + wick[0]),
                         "low": np.minimum(open_, close) * (1 - wick[1]), "close": close, "volume": 1.0}, index=idx)


def problem(candles: pd.DataFrame) -> Problem:
    config = BacktestConfig(leverage=5, sizing="fixed", allocation=0.5, initial_capital=500.0,
                            fees=FeeSchedule(maker=0.0, taker=0.0), funding=False)
    return Problem(LagMomentum, candles, BTCUSDT, config, symbol="BTCUSDT", timeframe="1h", period_bars=24)


SPACE_RAW = {"params": {"lookback": {"low": 1, "high": 48}, "invert": {"values": [False, True]}}}
