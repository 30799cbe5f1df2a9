"""Layers 2-4 of the drift forecaster: Taylor forecast, velocity-SNR confidence, AR(1)/OU half-life.

The rolling statistics are summed afresh over each window (two passes, a fixed order), not updated by adding and
removing values as pandas does: the value at t is then a function of the window's values alone, bit for bit,
whatever bar the data starts at (a half-life of 800 bars has ln b ~ -0.0009, so a 1e-12 round-off difference in
b would show as 1e-9 in the half-life).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


def taylor_forecast(level, velocity, acceleration, price, horizon: float):
    """Layer 2: log forecast level + v h + a h^2 / 2 -> (forecast price, drift = (forecast - price) / price)."""
    log_fc = np.asarray(level) + np.asarray(velocity) * horizon + 0.5 * np.asarray(acceleration) * horizon ** 2
    forecast = np.exp(log_fc)
    return forecast, (forecast - price) / price


def velocity_confidence(velocity, velocity_var):
    """Layer 3: erf(SNR / sqrt 2) with SNR = |v| / sd(v): the probability mass of N(0, 1) within +-SNR, in [0, 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.abs(np.asarray(velocity)) / np.sqrt(np.asarray(velocity_var))
    erf = np.vectorize(math.erf, otypes=[float])
    out = np.full(len(snr), np.nan)
    ok = np.isfinite(snr)
    out[ok] = erf(snr[ok] / math.sqrt(2.0))
    return out, snr


@njit(cache=True)
def _ar1(x, window):
    n = len(x)
    out = np.full(n, np.nan)
    for t in range(window, n):
        ok = True
        mc = 0.0
        mp = 0.0
        for j in range(t - window + 1, t + 1):
            if np.isnan(x[j]) or np.isnan(x[j - 1]):
                ok = False
                break
            mc += x[j]
            mp += x[j - 1]
        if not ok:
            continue
        mc /= window
        mp /= window
        cov = 0.0
        var = 0.0
        for j in range(t - window + 1, t + 1):
            dp = x[j - 1] - mp
            cov += (x[j] - mc) * dp
            var += dp * dp
        out[t] = cov / var if var != 0.0 else np.nan
    return out


def ar1_coefficient(x, window: int) -> np.ndarray:
    """Rolling OLS slope b of x_t = a + b x_{t-1} over the last ``window`` pairs ending at t (NaN until then, or
    while a pair in the window has a NaN)."""
    return _ar1(np.ascontiguousarray(np.asarray(x, dtype=np.float64)), int(window))


def half_life(b) -> np.ndarray:
    """Layer 4: -ln 2 / ln b for 0 < b < 1 (mean-reverting), NaN otherwise (no reversion to time)."""
    b = np.asarray(b, dtype=np.float64)
    out = np.full(b.shape, np.nan)
    ok = (b > 0) & (b < 1)
    out[ok] = -math.log(2.0) / np.log(b[ok])
    return out


@njit(cache=True)
def _rolling_mean(x, window):
    n = len(x)
    out = np.full(n, np.nan)
    for t in range(window - 1, n):
        acc = 0.0
        for j in range(t - window + 1, t + 1):
            acc += x[j]
        out[t] = acc / window
    return out


def deviations(log_price, window: int) -> np.ndarray:
    """Deviation of log price from its rolling mean: the series whose reversion the half-life measures."""
    x = np.ascontiguousarray(np.asarray(log_price, dtype=np.float64))
    return x - _rolling_mean(x, int(window))
