"""Layer 1: a constant-acceleration Kalman filter on log price -> level, velocity, acceleration (per bar).

Causal (a forward filter: the estimate at t uses observations <= t). State x = [level, velocity, acceleration],
transition F = [[1, 1, 1/2], [0, 1, 1], [0, 0, 1]], process noise from a white jerk of std ``process_noise``
(log units per bar^3), measurement noise std ``obs_noise`` (log units). Also returns the velocity variance,
which layer 3 turns into a confidence.

Window independence (``settle_bars``): the covariance recursion never sees the data, so in every run it reaches
its fixed point after the same number of steps; from then on the difference between two runs' states (a live
window's and the full history's) shrinks by the closed-loop matrix's spectral radius each bar.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from ..warmup import decay_bars


@njit(cache=True)
def _matmul3(a, b):
    out = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            acc = 0.0
            for m in range(3):
                acc += a[i, m] * b[m, j]
            out[i, j] = acc
    return out


@njit(cache=True)
def _filter(z, q, r):
    # explicit 3x3 arithmetic: numba's matrix product would need scipy's BLAS
    n = len(z)
    level = np.full(n, np.nan)
    vel = np.full(n, np.nan)
    acc = np.full(n, np.nan)
    var_v = np.full(n, np.nan)
    f = np.array([[1.0, 1.0, 0.5], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    g = np.array([1.0 / 6.0, 0.5, 1.0])
    qm = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            qm[i, j] = g[i] * g[j] * q * q
    x = np.zeros(3)
    p = np.zeros((3, 3))
    started = False
    for t in range(n):
        if np.isnan(z[t]):
            continue
        if not started:
            x[0] = z[t]
            p[0, 0] = r * r
            p[1, 1] = 1e-4
            p[2, 2] = 1e-8
            started = True
        else:
            x = np.array([x[0] + x[1] + 0.5 * x[2], x[1] + x[2], x[2]])
            p = _matmul3(_matmul3(f, p), f.T) + qm
            s = p[0, 0] + r * r
            k = p[:, 0] / s
            innov = z[t] - x[0]
            x = x + k * innov
            row = p[0, :].copy()
            for i in range(3):
                for j in range(3):
                    p[i, j] -= k[i] * row[j]
        level[t] = x[0]
        vel[t] = x[1]
        acc[t] = x[2]
        var_v[t] = p[1, 1]
    return level, vel, acc, var_v


def kalman_smoother(log_price, process_noise: float = 1e-6, obs_noise: float = 1e-3):
    """(level, velocity, acceleration, velocity variance) arrays for a log-price series."""
    z = np.ascontiguousarray(np.asarray(log_price, dtype=np.float64))
    return _filter(z, float(process_noise), float(obs_noise))


@functools.lru_cache(maxsize=64)
def settle_bars(process_noise: float, obs_noise: float) -> int:
    """Bars until two runs of the filter started at different bars agree to round-off: the steps the covariance
    takes to reach its fixed point (relative change below 1e-15, iterated as ``_filter`` does), plus
    ``decay_bars(rho, 1e-20)`` for the state, rho the spectral radius of the steady closed loop (I - K H) F
    (1e-20 rather than 1e-16 covers the start error being larger than the values and the polynomial factor of
    the filter's repeated eigenvalues)."""
    q, r = float(process_noise), float(obs_noise)
    f = np.array([[1.0, 1.0, 0.5], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    g = np.array([1.0 / 6.0, 0.5, 1.0])
    qm = np.outer(g, g) * q * q
    p = np.diag([r * r, 1e-4, 1e-8])
    steps = 0
    k = np.zeros(3)
    while steps < 1_000_000:
        steps += 1
        pp = f @ p @ f.T + qm
        k = pp[:, 0] / (pp[0, 0] + r * r)
        new = pp - np.outer(k, pp[0, :])
        done = np.max(np.abs(new - p) / np.maximum(np.abs(new), 1e-300)) < 1e-15
        p = new
        if done:
            break
    closed = (np.eye(3) - np.outer(k, [1.0, 0.0, 0.0])) @ f
    rho = float(np.max(np.abs(np.linalg.eigvals(closed))))
    return steps + decay_bars(rho, 1e-20)
