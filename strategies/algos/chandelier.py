"""Chandelier Exit (everget, spec 3.2 and 5.3): ratcheted ATR stops, direction flips, and the strategy wrapper.

As a strategy it is always in the market after the first flip: ``signal`` = direction once the first buy or
sell has fired (0 before), ``exit_long`` on a sell flip, ``exit_short`` on a buy flip.

Window independence: the ATR (a Wilder average) forgets its start after ``warmup.rma_bars(length)``; the
ratchets and the direction remember their last reset or flip, which on real data every start reaches within
``STATE_SYNC_BARS`` (measured: at most 204 bars from the data's start over 300 random starts of BTCUSDT 5m).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from . import pine
from .base import DefaultSizing, ParamSpec, Strategy, StrategyContext, make_signal_frame
from .warmup import rma_bars

#: bars after the ATR has settled for the ratcheted stops and the direction to meet the full history's
STATE_SYNC_BARS = 300


def raw_stops(high, low, close, length: int = 22, mult: float = 3.0, use_close: bool = True):
    """Unratcheted bands: (highest - mult*atr, lowest + mult*atr) over close (use_close) or high/low."""
    a = mult * pine.atr(high, low, close, length)
    hi = pine.highest(close if use_close else high, length)
    lo = pine.lowest(close if use_close else low, length)
    return hi - a, lo + a


@njit(cache=True)
def _ratchet(close, ls_raw, ss_raw):
    n = len(close)
    ls = np.empty(n)
    ss = np.empty(n)
    direction = np.empty(n, dtype=np.int8)
    buy = np.zeros(n, dtype=np.bool_)
    sell = np.zeros(n, dtype=np.bool_)
    d = 1
    for t in range(n):
        ls_prev = ls[t - 1] if t > 0 and not np.isnan(ls[t - 1]) else ls_raw[t]  # nz(LS[1], LSraw)
        ss_prev = ss[t - 1] if t > 0 and not np.isnan(ss[t - 1]) else ss_raw[t]
        c1 = close[t - 1] if t > 0 else np.nan
        ls[t] = max(ls_raw[t], ls_prev) if c1 > ls_prev else ls_raw[t]
        ss[t] = min(ss_raw[t], ss_prev) if c1 < ss_prev else ss_raw[t]
        prev_d = d
        if close[t] > ss_prev:
            d = 1
        elif close[t] < ls_prev:
            d = -1
        direction[t] = d
        if t > 0:
            buy[t] = d == 1 and prev_d == -1
            sell[t] = d == -1 and prev_d == 1
    return ls, ss, direction, buy, sell


def chandelier_exit(high, low, close, length: int = 22, mult: float = 3.0, use_close: bool = True) -> dict:
    """everget's Chandelier Exit: long_stop, short_stop (ratcheted), raw bands, direction, buy, sell."""
    close = pine.as_float(close)
    ls_raw, ss_raw = raw_stops(high, low, close, length, mult, use_close)
    ls, ss, direction, buy, sell = _ratchet(close, ls_raw, ss_raw)
    return {"long_stop": ls, "short_stop": ss, "long_stop_raw": ls_raw, "short_stop_raw": ss_raw,
            "direction": direction, "buy": buy, "sell": sell}


def always_in_market(direction: np.ndarray, buy: np.ndarray, sell: np.ndarray) -> np.ndarray:
    """direction from the first flip on, 0 before it."""
    flips = np.flatnonzero(buy | sell)
    out = np.zeros(len(direction), dtype=np.int8)
    if len(flips):
        out[flips[0]:] = direction[flips[0]:]
    return out


class ChandelierStrategy(Strategy):
    """Chandelier Exit (everget) traded as a stop-and-reverse system."""

    name = "chandelier"
    label = "Chandelier Exit"
    timeframe = "5m"
    default_sizing = DefaultSizing(leverage=100, mode="fixed", allocation=0.03)
    PARAMS = (
        ParamSpec("length", "int", 22, 1, 1000, help="ATR period and extremum window"),
        ParamSpec("mult", "float", 3.0, 0.1, 50.0, help="ATR multiplier"),
        ParamSpec("use_close", "bool", True, help="Extremes of close (true) or of high/low (false)"),
    )

    def warmup_bars(self) -> int:
        """ATR settle + the extremum window + ``STATE_SYNC_BARS`` for the ratchets and the direction."""
        return rma_bars(self.params["length"]) + self.params["length"] + STATE_SYNC_BARS

    def _compute(self, candles: pd.DataFrame, context: StrategyContext) -> pd.DataFrame:
        p = self.params
        h, lo, c = (candles[k].to_numpy(np.float64) for k in ("high", "low", "close"))
        ce = chandelier_exit(h, lo, c, p["length"], p["mult"], p["use_close"])
        signal = always_in_market(ce["direction"], ce["buy"], ce["sell"])
        stop = np.where(ce["direction"] == 1, ce["long_stop"], ce["short_stop"])
        return make_signal_frame(candles.index, signal, exit_long=ce["sell"], exit_short=ce["buy"],
                                 layers={**ce, "stop": stop})
