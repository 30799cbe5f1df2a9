"""The approximate-nearest-neighbour vote of Lorentzian Classification, compiled with numba (spec 1.3, 1.4, 5.1).

Two modes share the distance, the backward 4-bar label, the ``% 4`` sampling and the 75th-percentile admission:
- ``pine_predictions``: bit-for-bit the published loop: candidates are the oldest maxBarsBack bars of the data
  (plus bar t while t < maxBarsBack), predictions start at mbbi = N-1-maxBarsBack, and the neighbour lists persist
  across bars.
- ``rolling_predictions``: candidates are the maxBarsBack bars strictly before t, skipping those whose distance
  in bars from t is a multiple of 4, and the lists start empty at every bar, so the vote at t depends only on
  bars [t - maxBarsBack, t]: causal and independent of where the data starts. Bars are independent, so the
  loop runs in parallel over t. Bars before ``first`` (the caller's warm-up: features settled at every candidate)
  get no vote (0), in every run, so the vote never depends on unsettled features.

Speed (both modes, results bit-identical): most candidates fail ``d >= last`` once the list has filled, and the
distance costs one log per feature. A candidate is first screened by the product of its terms,
P = prod(1 + |x_f|) (d = log P up to rounding): P < exp(last) * (1 - 1e-10) proves d < last with a margin about a
million times the rounding of either side (the sum of nf logs and the product of nf factors are each within
(nf + 1) ulp of exact for any d below 700; exp(last) is within 1 ulp), so that candidate is skipped; any other one
(and every NaN or infinite one) goes through the exact sum of logs as before. Only the near ones pay for logs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


def admission_index(k: int) -> int:
    """Pine ``math.round(k * 3 / 4)``: rounds half away from zero (Python's round would go to even)."""
    return int(math.floor(k * 3 / 4 + 0.5))


def training_labels(src) -> np.ndarray:
    """y[t] = -1 if src[t-4] < src[t], +1 if src[t-4] > src[t], else 0 (0 on bars 0..3): backward, inverted."""
    src = np.asarray(src, dtype=np.float64)
    y = np.zeros(len(src), dtype=np.int64)
    past = np.full(len(src), np.nan)
    past[4:] = src[:-4]
    y[past < src] = -1
    y[past > src] = 1
    return y


@njit(cache=True, inline="always")
def _distance(feats, t, i):
    d = 0.0
    for f in range(feats.shape[0]):
        d += np.log(1.0 + abs(feats[f, t] - feats[f, i]))
    return d


_SCREEN = 1.0 - 1e-10  # the screen's margin, far wider than its rounding (docstring)


@njit(cache=True, inline="always")
def _product(feats, t, i):
    p = 1.0
    for f in range(feats.shape[0]):
        p *= 1.0 + abs(feats[f, t] - feats[f, i])
    return p


@njit(cache=True, inline="always")
def _screen(last):
    """The product bound below which a candidate's distance is certainly < last (0: screen nothing)."""
    if last < 0.0 or last > 700.0:
        return 0.0
    return math.exp(last) * _SCREEN


@njit(cache=True)
def _admit(d, label, dists, preds, count, k, idx):
    # append, and past k entries drop the oldest; returns (count, last)
    dists[count] = d
    preds[count] = label
    count += 1
    last = d
    if count > k:
        last = dists[idx]  # taken before the pop, as in Pine
        for j in range(count - 1):
            dists[j] = dists[j + 1]
            preds[j] = preds[j + 1]
        count -= 1
    return count, last


@njit(cache=True)
def pine_predictions(feats, labels, k, max_bars_back, idx, start=-1):
    # start < 0: Pine's mbbi; the oracle test passes advanced-ta's later start (its deviation 6)
    n = feats.shape[1]
    last_bar = n - 1
    mbbi = last_bar - max_bars_back if last_bar >= max_bars_back else 0
    if start >= 0:
        mbbi = start
    out = np.zeros(n, dtype=np.int64)
    dists = np.empty(k + 1)
    preds = np.zeros(k + 1, dtype=np.int64)
    count = 0
    for t in range(mbbi, n):
        last = -1.0
        bound = 0.0
        for i in range(min(max_bars_back - 1, t) + 1):
            if i % 4 == 0 or _product(feats, t, i) < bound:
                continue
            d = _distance(feats, t, i)
            if d >= last:
                count, last = _admit(d, labels[i], dists, preds, count, k, idx)
                bound = _screen(last)
        s = 0
        for j in range(count):
            s += preds[j]
        out[t] = s
    return out


@njit(cache=True, parallel=True)
def rolling_predictions(feats, labels, k, max_bars_back, idx, first=0):
    n = feats.shape[1]
    nf = feats.shape[0]
    out = np.zeros(n, dtype=np.int64)
    for t in prange(first, n):
        warm = True
        for f in range(nf):
            if np.isnan(feats[f, t]):
                warm = False
        if not warm:
            continue
        dists = np.empty(k + 1)
        preds = np.zeros(k + 1, dtype=np.int64)
        count = 0
        last = -1.0
        bound = 0.0
        for i in range(max(0, t - max_bars_back), t):
            if (t - i) % 4 == 0 or _product(feats, t, i) < bound:
                continue
            d = _distance(feats, t, i)
            if d >= last:
                count, last = _admit(d, labels[i], dists, preds, count, k, idx)
                bound = _screen(last)
        s = 0
        for j in range(count):
            s += preds[j]
        out[t] = s
    return out


def predict(feats, labels, k: int = 8, max_bars_back: int = 2000, mode: str = "rolling",
            first: int = 0) -> np.ndarray:
    """Integer votes in [-k, k] per bar for a (features, bars) matrix and the training labels; in rolling mode
    bars before ``first`` get 0."""
    feats = np.ascontiguousarray(feats, dtype=np.float64)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    args = (feats, labels, int(k), int(max_bars_back), admission_index(int(k)))
    if mode == "pine":
        return pine_predictions(*args)
    if mode == "rolling":
        return rolling_predictions(*args, int(max(first, 0)))
    raise ValueError(f"unknown neighbour mode {mode!r}; expected 'rolling' or 'pine'")
