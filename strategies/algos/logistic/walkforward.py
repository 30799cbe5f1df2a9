"""Walk-forward training: refit every ``refit_every`` bars on a rolling window, using only labels known then.

At refit bar r (after its close) the training rows are the bars t with t + horizon <= r (their forward window has
ended), the newest ``window`` of them. That model predicts bars r .. r + refit_every - 1.
"""

from __future__ import annotations

import numpy as np

from .model import fit_logistic


def forward_labels(close: np.ndarray, horizon: int) -> np.ndarray:
    """1.0 if close[t + horizon] > close[t], 0.0 if not, NaN when the forward bar is beyond the data."""
    fwd = np.full(len(close), np.nan)
    fwd[:-horizon or None] = close[horizon:]
    y = (fwd > close).astype(np.float64)
    y[np.isnan(fwd)] = np.nan
    return y


def walk_forward_proba(x: np.ndarray, close: np.ndarray, horizon: int, window: int, refit_every: int,
                       min_train: int, l2: float, fit_intercept: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """P(up over horizon) per bar (NaN until a model exists) and the refit bar each prediction used (-1 if none).

    The refit schedule is anchored at bar 0 (refits at multiples of refit_every), so it does not depend on
    where the data ends.
    """
    n = len(close)
    y = forward_labels(close, horizon)
    valid = ~np.isnan(x).any(axis=1)
    proba = np.full(n, np.nan)
    fitted_at = np.full(n, -1, dtype=np.int64)
    for r in range(0, n, refit_every):
        last = r - horizon  # newest bar whose label is known at the close of bar r
        if last < 0:
            continue
        lo = max(0, last - window + 1)
        rows = np.flatnonzero(valid[lo:last + 1]) + lo
        if len(rows) < min_train:
            continue
        yt = y[rows]
        if yt.min() == yt.max():
            continue
        model = fit_logistic(x[rows], yt, l2=l2, fit_intercept=fit_intercept)
        seg = slice(r, min(n, r + refit_every))
        ok = valid[seg]
        p = np.full(seg.stop - seg.start, np.nan)
        p[ok] = model.predict_proba(x[seg][ok])
        proba[seg] = p
        fitted_at[seg] = r
    return proba, fitted_at
