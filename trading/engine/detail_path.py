"""The one path through a detail bar that the backtest and the replayed desk both walk between signal closes.

The live monitor checks every open position every 30 seconds; a backtest only has OHLC bars. So each detail
bar (the finest stored series: 1m under 5m signals, 5m under 15m signals) is cut into ``n`` checkpoints of
``monitor_seconds`` each (``n = bar_seconds // monitor_seconds``: 2 for a 1m bar, 10 for a 5m bar) along one
documented path through the bar's prices:

- a bar that closes at or above its open made its low first:  O -> L -> H -> C;
- a bar that closes below its open made its high first:        O -> H -> L -> C;
- the three legs take a third of the bar's time each; prices move linearly within a leg.

Sub-bar ``j`` (0-based) covers the bar's time from ``j/n`` to ``(j+1)/n``. Its open and close are the path's
prices at those times; its high and low are the extremes of the path inside it (a vertex, the bar's high or
low, that falls inside the sub-bar is included). So the first sub-bar opens at O, the last closes at C and the
sub-bars together reach exactly the bar's high and low.

Events inside one sub-bar follow ``rules.step_bar`` (adverse side first: a sub-bar touching both TP and SL
exits at the SL). The monitor is evaluated at each sub-bar's close, after that sub-bar's TP/SL/liquidation.
Every simulator that runs between signal closes (the portfolio backtest, the replay feeding the paper
exchange) takes its sub-bars from ``subbars`` and nowhere else.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MONITOR_SECONDS = 30


@njit(cache=True)
def path_price(o: float, h: float, low: float, c: float, t: float) -> float:
    """The path's price at time fraction ``t`` in [0, 1] of the bar."""
    if c >= o:
        a, b = low, h
    else:
        a, b = h, low
    if t <= 1.0 / 3.0:
        return o + (a - o) * (t * 3.0)
    if t <= 2.0 / 3.0:
        return a + (b - a) * (t * 3.0 - 1.0)
    return b + (c - b) * (t * 3.0 - 2.0)


@njit(cache=True, inline="always")
def subbar(o: float, h: float, low: float, c: float, n: int, j: int):
    """(open, high, low, close) of sub-bar ``j`` of ``n`` along the path (see the module docstring)."""
    t0 = j / n
    t1 = (j + 1) / n
    so = path_price(o, h, low, c, t0)
    sc = path_price(o, h, low, c, t1)
    sh = max(so, sc)
    sl = min(so, sc)
    # the two inner vertices sit at t = 1/3 and t = 2/3
    for tv in (1.0 / 3.0, 2.0 / 3.0):
        if t0 < tv < t1:
            pv = path_price(o, h, low, c, tv)
            sh = max(sh, pv)
            sl = min(sl, pv)
    return so, sh, sl, sc


def checkpoints(bar_seconds: int, monitor_seconds: int = MONITOR_SECONDS) -> int:
    """How many monitor checkpoints a detail bar of ``bar_seconds`` holds (at least one)."""
    if bar_seconds <= 0 or monitor_seconds <= 0:
        raise ValueError(f"bar_seconds and monitor_seconds must be positive, got {bar_seconds}, {monitor_seconds}")
    return max(1, bar_seconds // monitor_seconds)


def subbars(o: float, h: float, low: float, c: float, n: int) -> np.ndarray:
    """All ``n`` sub-bars of one bar as an (n, 4) array of open, high, low, close."""
    out = np.empty((n, 4))
    for j in range(n):
        out[j] = subbar(float(o), float(h), float(low), float(c), n, j)
    return out
