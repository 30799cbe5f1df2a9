"""Lorentzian prediction filters (spec 1.5): volatility, regime (Kalman-like slope) and ADX; off means pass."""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import pine
from .features import quirk_adx


def volatility_filter(high, low, close, min_length: int = 1, max_length: int = 10) -> np.ndarray:
    """atr(min_length) > atr(max_length); false while either is NaN."""
    return pine.atr(high, low, close, min_length) > pine.atr(high, low, close, max_length)


@njit(cache=True)
def _regime_klmf(src, high, low):
    m = len(src)
    klmf = np.empty(m)
    v1 = np.nan
    v2 = np.nan
    k = np.nan
    for t in range(m):
        prev_src = src[t - 1] if t > 0 else np.nan
        v1 = 0.2 * (src[t] - prev_src) + 0.8 * (0.0 if np.isnan(v1) else v1)
        v2 = 0.1 * (high[t] - low[t]) + 0.8 * (0.0 if np.isnan(v2) else v2)
        omega = abs(v1 / v2) if v2 != 0.0 else np.nan  # Pine: x / 0 is na
        alpha = (-omega ** 2 + np.sqrt(omega ** 4 + 16.0 * omega ** 2)) / 8.0
        k = alpha * src[t] + (1.0 - alpha) * (0.0 if np.isnan(k) else k)
        klmf[t] = k
    return klmf


def regime_slope(ohlc4, high, low) -> np.ndarray:
    """Normalised slope decline (s - ema(s, 200)) / ema(s, 200) of the regime filter's smoothed curve."""
    klmf = _regime_klmf(pine.as_float(ohlc4), pine.as_float(high), pine.as_float(low))
    slope = np.abs(pine.change(klmf))
    avg = pine.ema(slope, 200)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (slope - avg) / avg


def regime_filter(ohlc4, high, low, threshold: float = -0.1) -> np.ndarray:
    """Pass when the normalised slope decline is >= threshold (false while NaN)."""
    return regime_slope(ohlc4, high, low) >= threshold


def adx_filter(high, low, close, threshold: float = 20.0, length: int = 14) -> np.ndarray:
    """Custom (nz-quirk) ADX(length) > threshold."""
    return quirk_adx(high, low, close, length) > threshold
