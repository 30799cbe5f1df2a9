"""Lorentzian feature series (MLExtensions v2): n_rsi, n_wt, n_cci and the nz()-quirk n_adx, Pine-exact.

``normalize`` keeps an all-time running min/max from bar 0 (spec 1.2), so feature values depend on where the
data starts; that quirk is kept for parity.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import pine

FEATURE_KINDS = ("RSI", "WT", "CCI", "ADX")


@njit(cache=True)
def _running_normalize(x, lo, hi):
    out = np.empty(len(x))
    run_min = 10e10
    run_max = -10e10
    for t in range(len(x)):
        v = x[t]
        if not np.isnan(v):
            run_min = min(v, run_min)
            run_max = max(v, run_max)
        out[t] = lo + (hi - lo) * (v - run_min) / max(run_max - run_min, 10e-10)
    return out


def normalize(x, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """MLExtensions ``normalize``: scale by the all-time running min/max; NaN stays NaN and leaves them unchanged."""
    return _running_normalize(pine.as_float(x), float(lo), float(hi))


def n_rsi(close, n1: int, n2: int) -> np.ndarray:
    """rescale(ema(rsi(close, n1), n2), 0, 100, 0, 1)."""
    return pine.rescale(pine.ema(pine.rsi(close, n1), n2), 0.0, 100.0, 0.0, 1.0)


def n_cci(close, n1: int, n2: int) -> np.ndarray:
    """normalize(ema(cci(close, n1), n2)); CCI on close, as in the Pine script."""
    return normalize(pine.ema(pine.cci(close, n1), n2))


def wavetrend(src, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """WaveTrend Classic parts: wt1 = ema(ci, n2) with ci = (src - ema)/(0.015 ema|src - ema|), wt2 = sma(wt1, 4)."""
    src = pine.as_float(src)
    e1 = pine.ema(src, n1)
    e2 = pine.ema(np.abs(src - e1), n1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = (src - e1) / (0.015 * e2)
    ci[e2 == 0.0] = np.nan
    wt1 = pine.ema(ci, n2)
    return wt1, pine.sma(wt1, 4)


def n_wt(hlc3, n1: int, n2: int) -> np.ndarray:
    """normalize(wt1 - wt2)."""
    wt1, wt2 = wavetrend(hlc3, n1, n2)
    return normalize(wt1 - wt2)


@njit(cache=True)
def _quirk_sums(high, low, close, n):
    m = len(high)
    s_tr = np.empty(m)
    s_plus = np.empty(m)
    s_minus = np.empty(m)
    a, b, c = 0.0, 0.0, 0.0
    for t in range(m):
        h1 = high[t - 1] if t > 0 else 0.0  # nz(high[1])
        l1 = low[t - 1] if t > 0 else 0.0
        c1 = close[t - 1] if t > 0 else 0.0
        tr = max(max(high[t] - low[t], abs(high[t] - c1)), abs(low[t] - c1))
        up = high[t] - h1
        dn = l1 - low[t]
        plus = max(up, 0.0) if up > dn else 0.0
        minus = max(dn, 0.0) if dn > up else 0.0
        a = a - a / n + tr
        b = b - b / n + plus
        c = c - c / n + minus
        s_tr[t], s_plus[t], s_minus[t] = a, b, c
    return s_tr, s_plus, s_minus


def quirk_adx(high, low, close, n: int) -> np.ndarray:
    """The custom ADX of MLExtensions (spec 1.2): nz() on previous values, running sums from 0, rma(DX, n)."""
    s_tr, s_plus, s_minus = _quirk_sums(pine.as_float(high), pine.as_float(low), pine.as_float(close), float(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        di_plus = s_plus / s_tr * 100.0
        di_minus = s_minus / s_tr * 100.0
        dx = np.abs(di_plus - di_minus) / (di_plus + di_minus) * 100.0
    dx[~np.isfinite(dx)] = np.nan
    return pine.rma(dx, n)


def n_adx(high, low, close, n: int) -> np.ndarray:
    """rescale(quirk_adx(n), 0, 100, 0, 1)."""
    return pine.rescale(quirk_adx(high, low, close, n), 0.0, 100.0, 0.0, 1.0)


def feature_series(kind: str, open_, high, low, close, param_a: int, param_b: int) -> np.ndarray:
    """One feature by name (the script's ``series_from``); paramB is unused for ADX."""
    if kind == "RSI":
        return n_rsi(close, param_a, param_b)
    if kind == "WT":
        return n_wt(pine.hlc3(high, low, close), param_a, param_b)
    if kind == "CCI":
        return n_cci(close, param_a, param_b)
    if kind == "ADX":
        return n_adx(high, low, close, param_a)
    raise ValueError(f"unknown feature kind {kind!r}; expected one of {FEATURE_KINDS}")


def build_features(candles, specs) -> np.ndarray:
    """A (features, bars) float64 matrix from ``specs`` = [(kind, paramA, paramB), ...] over OHLC candles."""
    cols = [candles[c].to_numpy(np.float64) for c in ("open", "high", "low", "close")]
    return np.ascontiguousarray(np.vstack([feature_series(k, *cols, a, b) for k, a, b in specs]))
