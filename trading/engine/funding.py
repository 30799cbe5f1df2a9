"""Funding payments: size * mark * rate, longs pay when the rate is positive, and only positions open
at the funding timestamp pay or receive.

``funding_per_bar`` maps a funding-rate series (plus an optional mark series) or a constant rate per
interval onto bar open times, giving the rate and mark to apply at each bar's open (NaN = no funding).
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


def funding_per_bar(
    bar_times_ns: np.ndarray,
    *,
    rates: pd.Series | None = None,
    mark: pd.DataFrame | pd.Series | None = None,
    constant_rate: float | None = None,
    interval_minutes: int = 480,
) -> tuple[np.ndarray, np.ndarray]:
    """(rate, mark) arrays aligned to bars; funding happens at the open of the bar whose open time equals
    the funding time (a funding time between bar opens is charged at the next bar open). Marks are the
    mark series' open at that time (as-of), NaN when absent (the bar open is then used)."""
    n = bar_times_ns.shape[0]
    rate_arr = np.full(n, np.nan)
    mark_arr = np.full(n, np.nan)
    if n == 0:
        return rate_arr, mark_arr
    if rates is not None and len(rates):
        f_times = _ns(rates.index)
        f_vals = rates.to_numpy(np.float64)
    elif constant_rate is not None:
        step = interval_minutes * NS_PER_MINUTE
        first = -(-bar_times_ns[0] // step) * step
        f_times = np.arange(first, bar_times_ns[-1] + 1, step, dtype=np.int64)
        f_vals = np.full(f_times.shape[0], float(constant_rate))
    else:
        return rate_arr, mark_arr
    pos = np.searchsorted(bar_times_ns, f_times, side="left")
    keep = (pos < n) & (f_times >= bar_times_ns[0])
    rate_arr[pos[keep]] = f_vals[keep]
    if mark is not None and len(mark):
        m_series = mark["open"] if isinstance(mark, pd.DataFrame) else mark
        m_times = _ns(m_series.index)
        m_vals = m_series.to_numpy(np.float64)
        idx = np.searchsorted(m_times, f_times[keep], side="right") - 1
        ok = idx >= 0
        mark_arr[pos[keep][ok]] = m_vals[idx[ok]]
    return rate_arr, mark_arr


def _ns(index: pd.Index) -> np.ndarray:
    """Index of timestamps as int64 nanoseconds since the epoch (UTC)."""
    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.as_unit("ns").asi8
