"""Lorentzian feature series (MLExtensions v2): n_rsi, n_wt, n_cci and the nz()-quirk n_adx, Pine-exact.

``normalize`` with no window keeps an all-time running min/max from bar 0 (spec 1.2), so feature values depend on
where the data starts; that quirk is kept for parity (``pine`` mode). With ``window`` it scales by the min/max of
the last ``window`` bars (``rolling`` mode), so after ``feature_settle_bars`` a feature no longer depends on the
data's start.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import pine
from ..warmup import decay_bars, ema_bars, rma_bars

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


@njit(cache=True)
def _window_normalize(x, lo, hi, window):
    # monotonic deques of indices: the min and max of the non-NaN values among the last `window` bars
    n = len(x)
    out = np.empty(n)
    qmin = np.empty(n, dtype=np.int64)
    qmax = np.empty(n, dtype=np.int64)
    h_min = t_min = h_max = t_max = 0
    for t in range(n):
        v = x[t]
        if not np.isnan(v):
            while t_min > h_min and x[qmin[t_min - 1]] >= v:
                t_min -= 1
            qmin[t_min] = t
            t_min += 1
            while t_max > h_max and x[qmax[t_max - 1]] <= v:
                t_max -= 1
            qmax[t_max] = t
            t_max += 1
        while t_min > h_min and qmin[h_min] <= t - window:
            h_min += 1
        while t_max > h_max and qmax[h_max] <= t - window:
            h_max += 1
        if np.isnan(v) or t_min == h_min:
            out[t] = np.nan
            continue
        mn = x[qmin[h_min]]
        mx = x[qmax[h_max]]
        out[t] = lo + (hi - lo) * (v - mn) / max(mx - mn, 10e-10)
    return out


def normalize(x, lo: float = 0.0, hi: float = 1.0, window: int | None = None) -> np.ndarray:
    """MLExtensions ``normalize``: scale by the all-time running min/max (``window`` None, Pine) or by the min/max
    of the last ``window`` bars; NaN stays NaN and leaves the min/max unchanged."""
    if window is None:
        return _running_normalize(pine.as_float(x), float(lo), float(hi))
    return _window_normalize(pine.as_float(x), float(lo), float(hi), int(window))


def n_rsi(close, n1: int, n2: int) -> np.ndarray:
    """rescale(ema(rsi(close, n1), n2), 0, 100, 0, 1)."""
    return pine.rescale(pine.ema(pine.rsi(close, n1), n2), 0.0, 100.0, 0.0, 1.0)


def n_cci(close, n1: int, n2: int, window: int | None = None) -> np.ndarray:
    """normalize(ema(cci(close, n1), n2)); CCI on close, as in the Pine script."""
    return normalize(pine.ema(pine.cci(close, n1), n2), window=window)


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


def n_wt(hlc3, n1: int, n2: int, window: int | None = None) -> np.ndarray:
    """normalize(wt1 - wt2)."""
    wt1, wt2 = wavetrend(hlc3, n1, n2)
    return normalize(wt1 - wt2, window=window)


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


def feature_series(kind: str, open_, high, low, close, param_a: int, param_b: int,
                   normalize_window: int | None = None) -> np.ndarray:
    """One feature by name (the script's ``series_from``); paramB is unused for ADX."""
    if kind == "RSI":
        return n_rsi(close, param_a, param_b)
    if kind == "WT":
        return n_wt(pine.hlc3(high, low, close), param_a, param_b, normalize_window)
    if kind == "CCI":
        return n_cci(close, param_a, param_b, normalize_window)
    if kind == "ADX":
        return n_adx(high, low, close, param_a)
    raise ValueError(f"unknown feature kind {kind!r}; expected one of {FEATURE_KINDS}")


def quirk_adx_settle_bars(n: int) -> int:
    """Settle time of ``quirk_adx(n)``: its running sums decay by (1 - 1/n) a bar, but nz() makes the first bar's
    true range the whole price (up to ~1e6 times a bar's range), so they need 1e-22, then rma(DX, n)."""
    return decay_bars(1.0 - 1.0 / n, 1e-22) + rma_bars(n)


def feature_settle_bars(kind: str, param_a: int, param_b: int, normalize_window: int) -> int:
    """Bars from the data's start until a rolling-mode feature equals its full-history value to round-off:
    chained recursive averages add their settle times (``warmup``), finite look-backs their length."""
    if kind == "RSI":
        return 1 + rma_bars(param_a) + ema_bars(param_b)
    if kind == "WT":  # ema(src), ema(|src - ema|), ema(ci), sma(., 4), then the normalize window
        return 2 * ema_bars(param_a) + ema_bars(param_b) + 4 + normalize_window
    if kind == "CCI":
        return param_a + ema_bars(param_b) + normalize_window
    if kind == "ADX":
        return quirk_adx_settle_bars(param_a)
    raise ValueError(f"unknown feature kind {kind!r}; expected one of {FEATURE_KINDS}")


def build_features(candles, specs, normalize_window: int | None = None) -> np.ndarray:
    """A (features, bars) float64 matrix from ``specs`` = [(kind, paramA, paramB), ...] over OHLC candles;
    ``normalize_window`` None is Pine's running normalize."""
    cols = [candles[c].to_numpy(np.float64) for c in ("open", "high", "low", "close")]
    return np.ascontiguousarray(np.vstack([feature_series(k, *cols, a, b, normalize_window) for k, a, b in specs]))
