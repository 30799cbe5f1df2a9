"""Lorentzian prediction filters (spec 1.5): volatility, regime (Kalman-like slope) and ADX; off means pass.

The regime filter's smoother adapts its gain to the data, so how fast it forgets its start cannot be bounded in
advance. Pine mode runs it from bar 0; rolling mode (``lookback``) restarts it ``lookback`` bars back for every
bar, which makes it a function of those bars only (on real BTCUSDT 5m data the bar-0 recursion forgets its start
to 1e-13 within 260 bars at worst, so 400 bars give the same values to round-off).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import pine
from ..warmup import ema_bars, rma_bars
from .features import quirk_adx, quirk_adx_settle_bars

#: bars of history the rolling-mode regime smoother restarts from, for every bar
REGIME_LOOKBACK = 400


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


@njit(cache=True, parallel=True)
def _regime_klmf_window(src, high, low, lookback):
    # bar t: the recursion of _regime_klmf run afresh over bars j0 = max(0, t - lookback + 1) .. t (state na at j0)
    m = len(src)
    klmf = np.empty(m)
    for t in prange(m):
        j0 = max(0, t - lookback + 1)
        v1 = np.nan
        v2 = np.nan
        k = np.nan
        for j in range(j0, t + 1):
            prev_src = src[j - 1] if j > j0 else np.nan
            v1 = 0.2 * (src[j] - prev_src) + 0.8 * (0.0 if np.isnan(v1) else v1)
            v2 = 0.1 * (high[j] - low[j]) + 0.8 * (0.0 if np.isnan(v2) else v2)
            omega = abs(v1 / v2) if v2 != 0.0 else np.nan
            alpha = (-omega ** 2 + np.sqrt(omega ** 4 + 16.0 * omega ** 2)) / 8.0
            k = alpha * src[j] + (1.0 - alpha) * (0.0 if np.isnan(k) else k)
        klmf[t] = k
    return klmf


def regime_slope(ohlc4, high, low, lookback: int | None = None) -> np.ndarray:
    """Normalised slope decline (s - ema(s, 200)) / ema(s, 200) of the regime filter's smoothed curve
    (``lookback`` None: smoother from bar 0, as Pine; else restarted ``lookback`` bars back for each bar)."""
    args = (pine.as_float(ohlc4), pine.as_float(high), pine.as_float(low))
    klmf = _regime_klmf(*args) if lookback is None else _regime_klmf_window(*args, int(lookback))
    slope = np.abs(pine.change(klmf))
    avg = pine.ema(slope, 200)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (slope - avg) / avg


def regime_filter(ohlc4, high, low, threshold: float = -0.1, lookback: int | None = None) -> np.ndarray:
    """Pass when the normalised slope decline is >= threshold (false while NaN)."""
    return regime_slope(ohlc4, high, low, lookback) >= threshold


def settle_bars(*, volatility: bool, regime: bool, adx_length: int | None) -> int:
    """Bars from the data's start until the enabled rolling-mode filters equal their full-history values:
    ATR(10) settles like rma(10); the regime filter after its smoother's lookback, one change and ema(200);
    the ADX filter like the quirk ADX."""
    out = 0
    if volatility:
        out = max(out, rma_bars(10))
    if regime:
        out = max(out, REGIME_LOOKBACK + 1 + ema_bars(200))
    if adx_length:
        out = max(out, quirk_adx_settle_bars(adx_length))
    return out


def adx_filter(high, low, close, threshold: float = 20.0, length: int = 14) -> np.ndarray:
    """Custom (nz-quirk) ADX(length) > threshold."""
    return quirk_adx(high, low, close, length) > threshold
