"""Funding payments: size * mark * rate, longs pay when the rate is positive, and only positions open
at the funding timestamp pay or receive.

``funding_events`` maps a funding-rate series (plus an optional mark series) or a constant rate per
interval onto bar open times: the bars whose open pays funding, with the rate and mark to apply.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import rules
from .margin import side_sign

NS_PER_MINUTE = 60 * 1_000_000_000


def funding_payment(side, qty: float, mark: float, rate: float) -> float:
    """What the position pays (negative: receives)."""
    return float(rules.funding_payment(side_sign(side), qty, mark, rate))


def funding_events(
    bar_times: np.ndarray,
    *,
    rates: pd.Series | None = None,
    mark: pd.DataFrame | pd.Series | None = None,
    constant_rate: float | None = None,
    interval_minutes: int = 480,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Funding as sparse events (bar index, rate, mark), sorted by bar. Funding happens at the open of the
    bar whose open time equals the funding time (a funding time between bar opens is charged at the next
    bar open). The mark is the mark series' open at that time (as-of); NaN when absent (the kernel then
    uses the bar's open). ``bar_times`` are int64 nanoseconds since the epoch."""
    n = bar_times.shape[0]
    empty = (np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))
    if n == 0:
        return empty
    if rates is not None and len(rates):
        f_times = _ns(rates.index)
        f_vals = rates.to_numpy(np.float64)
    elif constant_rate is not None:
        step = interval_minutes * NS_PER_MINUTE
        first = -(-bar_times[0] // step) * step
        f_times = np.arange(first, bar_times[-1] + 1, step, dtype=np.int64)
        f_vals = np.full(f_times.shape[0], float(constant_rate))
    else:
        return empty
    pos = np.searchsorted(bar_times, f_times, side="left")
    keep = (pos < n) & (f_times >= bar_times[0])
    bars, vals, times = pos[keep].astype(np.int64), f_vals[keep], f_times[keep]
    marks = np.full(bars.shape[0], np.nan)
    if mark is not None and len(mark):
        m_series = mark["open"] if isinstance(mark, pd.DataFrame) else mark
        idx = np.searchsorted(_ns(m_series.index), times, side="right") - 1
        ok = idx >= 0
        marks[ok] = m_series.to_numpy(np.float64)[idx[ok]]
    return bars, vals, marks


def funding_per_bar(bar_times_ns: np.ndarray, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """The same events as dense (rate, mark) arrays aligned to bars, NaN where there is no funding."""
    n = bar_times_ns.shape[0]
    bars, vals, marks = funding_events(bar_times_ns, **kwargs)
    rate_arr = np.full(n, np.nan)
    mark_arr = np.full(n, np.nan)
    rate_arr[bars] = vals
    mark_arr[bars] = marks
    return rate_arr, mark_arr


_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _ns(index: pd.Index) -> np.ndarray:
    """Index of timestamps as int64 nanoseconds since the epoch (UTC)."""
    idx = index if isinstance(index, pd.DatetimeIndex) else pd.DatetimeIndex(index)
    scale = _NS_PER_UNIT[idx.unit]  # pandas 3 reads and builds microsecond indexes: scale, do not re-box
    # (as_unit("ns") took 10 ms a million bars, a fifth of a backtest's own time; every stored stamp fits)
    return idx.asi8 if scale == 1 else idx.asi8 * np.int64(scale)  # tz-aware: UTC epoch values already
