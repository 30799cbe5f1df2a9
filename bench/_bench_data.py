"""Bench helpers: seeded synthetic 1-minute bars, a causal Chandelier-Exit direction flip (numba) and the
bare numba loop that is the speed floor (flip at the next open, fees, equity per bar, nothing else)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit


def make_bars(n: int, seed: int = 42) -> pd.DataFrame:
    """Random-walk 1-minute bars with fat tails, open = previous close, prices on a 0.1 tick, UTC index."""
    rng = np.random.default_rng(seed)
    steps = rng.standard_t(3, n) * 0.0006
    close = np.round(60_000.0 * np.exp(np.cumsum(steps)), 1)
    open_ = np.r_[60_000.0, close[:-1]]
    wick = np.abs(rng.normal(0.0, 0.0005, (2, n)))
    high = np.round(np.maximum(open_, close) * (1 + wick[0]), 1)
    low = np.round(np.minimum(open_, close) * (1 - wick[1]), 1)
    index = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": rng.uniform(1, 10, n)}, index=index)


@njit(cache=True)
def chandelier_signals(high, low, close, period=22, mult=3.0):
    """+1 on the bar the Chandelier direction flips to long, -1 when it flips to short, else 0 (causal)."""
    n = close.shape[0]
    sig = np.zeros(n, dtype=np.int8)
    atr = 0.0
    long_prev = short_prev = np.nan
    direction = 1
    for i in range(n):
        tr = high[i] - low[i] if i == 0 else max(high[i] - low[i], abs(high[i] - close[i - 1]),
                                                  abs(low[i] - close[i - 1]))
        atr = tr if i == 0 else atr + (tr - atr) / period
        if i < period:
            continue
        hh = high[i - period + 1]
        ll = low[i - period + 1]
        for k in range(i - period + 2, i + 1):
            hh = max(hh, high[k])
            ll = min(ll, low[k])
        long_stop = hh - mult * atr
        short_stop = ll + mult * atr
        if long_prev == long_prev and close[i - 1] > long_prev:
            long_stop = max(long_stop, long_prev)
        if short_prev == short_prev and close[i - 1] < short_prev:
            short_stop = min(short_stop, short_prev)
        new_dir = direction
        if short_prev == short_prev and close[i] > short_prev:
            new_dir = 1
        elif long_prev == long_prev and close[i] < long_prev:
            new_dir = -1
        if new_dir != direction:
            sig[i] = new_dir
        direction = new_dir
        long_prev = long_stop
        short_prev = short_stop
    return sig


@njit(cache=True)
def floor_loop(o, h, lo, c, sig, fee, notional, tp_pct, sl_pct):
    """The floor: the same signals with the same next-open flips, fees and TP/SL (gap at the open, SL first
    when both are touched) and equity at each close, but no liquidation, funding, sizing rules or records."""
    n = o.shape[0]
    equity = np.empty(n)
    cash = 0.0
    side = 0.0
    qty = 0.0
    entry = 0.0
    tp = 0.0
    sl = 0.0
    pending = 0.0
    for i in range(n):
        if pending != 0.0 and pending != side:
            if side != 0.0:
                cash += side * (o[i] - entry) * qty - qty * o[i] * fee
            side = pending
            qty = notional / o[i]
            entry = o[i]
            cash -= qty * entry * fee
            tp = entry * (1.0 + side * tp_pct)
            sl = entry * (1.0 - side * sl_pct)
        pending = 0.0
        if side > 0.0:
            if lo[i] <= sl:
                px = min(sl, o[i])
                cash += (px - entry) * qty - qty * px * fee
                side = 0.0
            elif h[i] >= tp:
                px = max(tp, o[i])
                cash += (px - entry) * qty - qty * px * fee
                side = 0.0
        elif side < 0.0:
            if h[i] >= sl:
                px = max(sl, o[i])
                cash += (entry - px) * qty - qty * px * fee
                side = 0.0
            elif lo[i] <= tp:
                px = min(tp, o[i])
                cash += (entry - px) * qty - qty * px * fee
                side = 0.0
        equity[i] = cash + side * (c[i] - entry) * qty
        if sig[i] != 0:
            pending = float(sig[i])
    return equity
