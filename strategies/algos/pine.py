"""Pine Script primitives in NumPy, with TradingView's warm-up and na semantics (spec section 0).

Every function takes and returns float64 arrays of equal length; ``NaN`` plays Pine's ``na``.
Comparisons with NaN are false, as in Pine. Recursive averages are compiled with numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "as_float", "nz", "shift", "sma", "rma", "ema", "rsi", "true_range", "atr", "cci", "highest", "lowest",
    "change", "barssince", "crossover", "crossunder", "rescale", "hlc3", "ohlc4",
]


def as_float(x) -> np.ndarray:
    """A contiguous float64 copy-or-view of ``x``."""
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64))


def nz(x, value: float = 0.0) -> np.ndarray:
    """Pine ``nz``: NaN replaced by ``value``."""
    x = as_float(x)
    return np.where(np.isnan(x), value, x)


def shift(x, k: int = 1, fill: float = np.nan) -> np.ndarray:
    """Pine ``x[k]`` for k >= 0: the value k bars ago, ``fill`` before the data starts."""
    x = np.asarray(x)
    out = np.full(x.shape, fill, dtype=np.result_type(x.dtype, type(fill)))
    if k == 0:
        out[:] = x
    elif k < len(x):
        out[k:] = x[:-k]
    return out


def _window(x: np.ndarray, n: int) -> np.ndarray:
    return sliding_window_view(x, n)


def sma(x, n: int) -> np.ndarray:
    """``ta.sma``: mean of the last n values; NaN until n values exist (or while one of them is NaN)."""
    x = as_float(x)
    out = np.full(len(x), np.nan)
    if n <= len(x):
        out[n - 1:] = _window(x, n).sum(axis=1) / n
    return out


@njit(cache=True)
def _seeded_average(x, seed, alpha):
    # Pine's documented template: sum := na(sum[1]) ? sma(src, n) : alpha*src + (1-alpha)*nz(sum[1])
    out = np.empty(len(x))
    prev = np.nan
    for t in range(len(x)):
        prev = seed[t] if np.isnan(prev) else alpha * x[t] + (1.0 - alpha) * prev
        out[t] = prev
    return out


def rma(x, n: int) -> np.ndarray:
    """``ta.rma``: Wilder average, alpha = 1/n, seeded with the SMA of the first n valid values."""
    x = as_float(x)
    return _seeded_average(x, sma(x, n), 1.0 / n)


def ema(x, n: int) -> np.ndarray:
    """``ta.ema``: alpha = 2/(n+1), SMA-seeded like rma; ``ema(x, 1)`` is x itself."""
    x = as_float(x)
    return _seeded_average(x, sma(x, n), 2.0 / (n + 1))


def rsi(x, n: int) -> np.ndarray:
    """``ta.rsi``: rma of up-moves over rma of down-moves; first value at bar n; 100 if down == 0, 0 if up == 0."""
    x = as_float(x)
    d = change(x)
    up = rma(np.where(np.isnan(d), np.nan, np.maximum(d, 0.0)), n)
    down = rma(np.where(np.isnan(d), np.nan, np.maximum(-d, 0.0)), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 - 100.0 / (1.0 + up / down)
    out = np.where(down == 0.0, 100.0, np.where(up == 0.0, 0.0, out))
    return np.where(np.isnan(up) | np.isnan(down), np.nan, out)


def true_range(high, low, close, handle_na: bool = True) -> np.ndarray:
    """``ta.tr(handle_na)``: max(h-l, |h-c[1]|, |l-c[1]|); on bar 0 h-l if handle_na else NaN."""
    high, low, close = as_float(high), as_float(low), as_float(close)
    prev = shift(close, 1)
    tr = np.maximum(high - low, np.maximum(np.abs(high - prev), np.abs(low - prev)))
    if len(tr):
        tr[0] = (high[0] - low[0]) if handle_na else np.nan
    return tr


def atr(high, low, close, n: int) -> np.ndarray:
    """``ta.atr(n)`` = rma(tr(true), n); first value at bar n-1."""
    return rma(true_range(high, low, close, True), n)


def cci(x, n: int) -> np.ndarray:
    """``ta.cci``: (x - sma) / (0.015 * mean absolute deviation); a zero deviation gives NaN."""
    x = as_float(x)
    out = np.full(len(x), np.nan)
    if n <= len(x):
        win = _window(x, n)
        mean = win.sum(axis=1) / n
        dev = np.abs(win - mean[:, None]).sum(axis=1) / n
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (x[n - 1:] - mean) / (0.015 * dev)
        out[n - 1:] = np.where(dev == 0.0, np.nan, val)
    return out


def highest(x, n: int) -> np.ndarray:
    """``ta.highest(x, n)``: max of the last n values, NaN until n bars exist."""
    x = as_float(x)
    out = np.full(len(x), np.nan)
    if n <= len(x):
        out[n - 1:] = _window(x, n).max(axis=1)
    return out


def lowest(x, n: int) -> np.ndarray:
    """``ta.lowest(x, n)``: min of the last n values, NaN until n bars exist."""
    x = as_float(x)
    out = np.full(len(x), np.nan)
    if n <= len(x):
        out[n - 1:] = _window(x, n).min(axis=1)
    return out


def change(x) -> np.ndarray:
    """``ta.change(x)`` = x - x[1]; NaN on bar 0."""
    x = as_float(x)
    return x - shift(x, 1)


@njit(cache=True)
def _barssince(cond):
    out = np.empty(len(cond))
    last = -1
    for t in range(len(cond)):
        if cond[t]:
            last = t
        out[t] = np.nan if last < 0 else t - last
    return out


def barssince(cond) -> np.ndarray:
    """``ta.barssince(cond)``: bars since cond was last true (0 on a true bar); NaN before the first true."""
    return _barssince(np.asarray(cond, dtype=np.bool_))


def crossover(a, b) -> np.ndarray:
    """``ta.crossover(a, b)``: a > b and a[1] <= b[1]; false where any value is NaN."""
    a, b = as_float(a), as_float(b)
    return (a > b) & (shift(a, 1) <= shift(b, 1))


def crossunder(a, b) -> np.ndarray:
    """``ta.crossunder(a, b)``: a < b and a[1] >= b[1]."""
    a, b = as_float(a), as_float(b)
    return (a < b) & (shift(a, 1) >= shift(b, 1))


def rescale(v, old_min: float, old_max: float, new_min: float, new_max: float) -> np.ndarray:
    """MLExtensions ``rescale``: c + (d - c) * (v - a) / max(b - a, 1e-9)."""
    return new_min + (new_max - new_min) * (as_float(v) - old_min) / max(old_max - old_min, 10e-10)


def hlc3(high, low, close) -> np.ndarray:
    """(high + low + close) / 3."""
    return (as_float(high) + as_float(low) + as_float(close)) / 3.0


def ohlc4(open_, high, low, close) -> np.ndarray:
    """(open + high + low + close) / 4."""
    return (as_float(open_) + as_float(high) + as_float(low) + as_float(close)) / 4.0
