"""Layers 2-4 of the drift forecaster: Taylor forecast, velocity-SNR confidence, AR(1)/OU half-life."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


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


def ar1_coefficient(x, window: int) -> np.ndarray:
    """Rolling OLS slope b of x_t = a + b x_{t-1} over the last ``window`` pairs ending at t (NaN until then)."""
    x = pd.Series(np.asarray(x, dtype=np.float64))
    prev = x.shift(1)
    cov = x.rolling(window).cov(prev)
    var = prev.rolling(window).var()
    with np.errstate(divide="ignore", invalid="ignore"):
        return (cov / var).to_numpy()


def half_life(b) -> np.ndarray:
    """Layer 4: -ln 2 / ln b for 0 < b < 1 (mean-reverting), NaN otherwise (no reversion to time)."""
    b = np.asarray(b, dtype=np.float64)
    out = np.full(b.shape, np.nan)
    ok = (b > 0) & (b < 1)
    out[ok] = -math.log(2.0) / np.log(b[ok])
    return out


def deviations(log_price, window: int) -> np.ndarray:
    """Deviation of log price from its rolling mean: the series whose reversion the half-life measures."""
    s = pd.Series(np.asarray(log_price, dtype=np.float64))
    return (s - s.rolling(window).mean()).to_numpy()
