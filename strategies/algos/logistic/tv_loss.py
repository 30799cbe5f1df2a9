"""The TradingView "Machine Learning: Logistic Regression" loss in closed form (spec 2.2) and its scaled_loss.

The script's gradient loop never changes h = sigmoid(0) = 0.5, so the loss depends only on Y (= price with
easteregg on): with L = ln 0.5, inner_t = sum_{j<p} Y_{t-j}(L + 1 - Y_{t-j}), loss_t = -(L/p) sum_{k<p} inner_{t-k}.
"""

from __future__ import annotations

import numpy as np

from .. import pine

LN_HALF = float(np.log(0.5))


def rolling_sum(x, p: int) -> np.ndarray:
    """Pine ``math.sum(x, p)`` (the script's ``dot``): NaN until p values exist."""
    return pine.sma(x, p) * p if p > 0 else np.full(len(x), np.nan)


def tv_loss(y, p: int) -> np.ndarray:
    """Closed-form loss of the script; defined from bar 2(p-1)."""
    y = pine.as_float(y)
    inner = _exact_rolling_sum(y * (LN_HALF + 1.0 - y), p)
    return -(LN_HALF / p) * _exact_rolling_sum(inner, p)


def _exact_rolling_sum(x: np.ndarray, p: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    if p <= len(x):
        acc = np.zeros(len(x) - p + 1)
        for j in range(p):  # Pine's loop order, j = 0 .. p-1 on x[t-j]
            acc = acc + x[p - 1 - j: len(x) - j]
        out[p - 1:] = acc
    return out


def minimax(v, n: int, lo, hi) -> np.ndarray:
    """(hi - lo) * (v - lowest(v, n)) / (highest(v, n) - lowest(v, n)) + lo; a flat window gives NaN."""
    v = pine.as_float(v)
    vmin, vmax = pine.lowest(v, n), pine.highest(v, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (hi - lo) * (v - vmin) / (vmax - vmin) + lo
    out[vmax == vmin] = np.nan
    return out


def scaled_loss(base, p: int = 3, nlbk: int = 2) -> np.ndarray:
    """minimax(loss, nlbk, lowest(base, nlbk), highest(base, nlbk)) with easteregg on (Y = base)."""
    base = pine.as_float(base)
    return minimax(tv_loss(base, p), nlbk, pine.lowest(base, nlbk), pine.highest(base, nlbk))
