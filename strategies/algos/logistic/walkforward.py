"""Walk-forward training: refit at bars chosen by the caller (anchored to absolute bar times), each model trained
on a fixed-length trailing window of labels known at the refit bar's close.

At refit bar r (after its close) the training rows are the ``window`` bars t = r - horizon - window + 1 .. r - horizon
(their forward window has ended by r); a refit whose trailing window would reach before ``first_row`` (the first
bar whose features have settled) is skipped, so every model sees exactly the same rows whatever bar the data
starts at. That model predicts bars r up to the next refit bar.
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


def refit_bars(open_time_ns: np.ndarray, period_ns: int) -> np.ndarray:
    """Indices of the bars that open a new ``period_ns`` block of absolute time (open_time // period changes);
    bar 0 is not one (its block may have started before the data)."""
    block = np.asarray(open_time_ns, dtype=np.int64) // int(period_ns)
    return np.flatnonzero(np.diff(block) != 0) + 1


def walk_forward_proba(x: np.ndarray, close: np.ndarray, horizon: int, window: int, refits: np.ndarray,
                       min_train: int, l2: float, fit_intercept: bool = False,
                       first_row: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """P(up over horizon) per bar (NaN until a model exists) and the refit bar each prediction used (-1 if none).

    ``refits``: increasing bar indices (``refit_bars``); a model needs ``min_train`` valid rows (no NaN feature)
    in its full trailing window, and both classes, else its block has no prediction.
    """
    n = len(close)
    y = forward_labels(close, horizon)
    valid = ~np.isnan(x).any(axis=1)
    proba = np.full(n, np.nan)
    fitted_at = np.full(n, -1, dtype=np.int64)
    refits = np.asarray(refits, dtype=np.int64)
    for j, r in enumerate(refits):
        last = r - horizon  # newest bar whose label is known at the close of bar r
        lo = last - window + 1
        if lo < first_row:
            continue
        rows = np.flatnonzero(valid[lo:last + 1]) + lo
        if len(rows) < min_train:
            continue
        yt = y[rows]
        if yt.min() == yt.max():
            continue
        model = fit_logistic(x[rows], yt, l2=l2, fit_intercept=fit_intercept)
        seg = slice(r, int(refits[j + 1]) if j + 1 < len(refits) else n)
        ok = valid[seg]
        p = np.full(seg.stop - seg.start, np.nan)
        p[ok] = model.predict_proba(x[seg][ok])
        proba[seg] = p
        fitted_at[seg] = r
    return proba, fitted_at
