"""Nadaraya-Watson kernel estimates (KernelFunctions v2, spec 1.6): rational quadratic and Gaussian, no repaint."""

from __future__ import annotations

import numpy as np

from .. import pine


def _kernel_sum(src: np.ndarray, weights: np.ndarray) -> np.ndarray:
    out = np.full(len(src), np.nan)
    m = len(weights)
    if len(src) >= m:
        acc = np.zeros(len(src) - m + 1)
        total = 0.0
        for i, w in enumerate(weights):  # src[t - i] * w_i, summed in Pine's order i = 0, 1, ...
            acc += src[m - 1 - i: len(src) - i] * w
            total += float(w)
        out[m - 1:] = acc / total
    return out


def rational_quadratic(src, lookback: float, relative_weight: float, start_at_bar: int) -> np.ndarray:
    """yhat1: sum_{i=0..x+1} src[t-i] w_i / sum w_i, w_i = (1 + i^2 / (2 r h^2))^-r; NaN for t < x+1."""
    i = np.arange(start_at_bar + 2, dtype=np.float64)
    w = (1.0 + i ** 2 / (lookback ** 2 * 2.0 * relative_weight)) ** (-relative_weight)
    return _kernel_sum(pine.as_float(src), w)


def gaussian(src, lookback: float, start_at_bar: int) -> np.ndarray:
    """yhat2: the same sum with w_i = exp(-i^2 / (2 h^2))."""
    i = np.arange(start_at_bar + 2, dtype=np.float64)
    w = np.exp(-(i ** 2) / (2.0 * lookback ** 2))
    return _kernel_sum(pine.as_float(src), w)
