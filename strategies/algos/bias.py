"""Bias checks for any strategy (shipped or user-written): lookahead, window independence, determinism, speed.

Pure functions (no Django), reused by the strategy tests and by the user-strategy loader, which stores their
results per strategy version. Each returns a ``CheckResult``: ``passed``, ``failures`` (a list of
``Failure(bar_time, column, full_value, window_value)``, the earliest first, capped at ``max_failures``),
``detail`` (one line a person can read) and ``stats`` (numbers: rows compared, rows failed, bars/s...).

Equality rule (both checks that compare frames): discrete columns (int, bool) exactly; float columns NaN-equal
and within ``atol + rtol * max(|a|, |b|)`` (defaults 1e-9 relative, 1e-10 absolute: float round-off passes, a
different state does not; the absolute floor is for values near zero, e.g. the drift forecaster's confidence
of 1e-4 from a velocity of 1e-9 carries the round-off of a log-price level of ~11, about 2e-12).

- ``lookahead_check``: the strategy on a prefix ``candles[:n]`` vs the full run, for each cut ``n``; row t may
  use bars <= t only, so the prefix rows must equal the full rows (the context is passed whole, on purpose: a
  strategy must not read a partner's future either).
- ``window_independence_check``: the strategy on sliding live windows (``window`` bars ending at ``positions``
  points spread over the data, context cut to the window's span as the live cycle would read it) vs the full
  run; every row after the declared ``warmup_bars()`` must be equal.
- ``determinism_check``: two runs on the same input are bit-identical.
- ``speed_check``: bars per second of one ``compute`` over ``candles`` (after one untimed warm-up call).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .base import Strategy, StrategyContext

__all__ = [
    "CheckResult", "Failure", "compare_frames", "context_window", "determinism_check", "lookahead_check",
    "speed_check", "window_independence_check", "window_positions",
]

RTOL = 1e-9
ATOL = 1e-10


class Failure(NamedTuple):
    """One unequal cell: the bar's open time, the column, the full-history value and the other run's value."""

    bar_time: pd.Timestamp
    column: str
    full_value: Any
    window_value: Any


@dataclass
class CheckResult:
    """Outcome of one check; ``to_json()`` gives plain JSON types for storage."""

    check: str
    passed: bool
    failures: list[Failure] = field(default_factory=list)
    detail: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def first_failure(self) -> Failure | None:
        return self.failures[0] if self.failures else None

    def to_json(self) -> dict:
        return {
            "check": self.check, "passed": bool(self.passed), "detail": self.detail,
            "stats": {k: _plain(v) for k, v in self.stats.items()},
            "failures": [{"bar_time": f.bar_time.isoformat() if hasattr(f.bar_time, "isoformat") else str(f.bar_time),
                          "column": f.column, "full_value": _plain(f.full_value),
                          "window_value": _plain(f.window_value)} for f in self.failures],
        }


def _plain(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


# ---------------------------------------------------------------------------------------------------- comparison

def _column_equal(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        a = a.astype(np.float64)
        b = b.astype(np.float64)
        both_nan = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            close = (a == b) | (np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b)))
        return both_nan | close
    return a == b


def compare_frames(full: pd.DataFrame, other: pd.DataFrame, *, columns: Sequence[str] | None = None,
                   rtol: float = RTOL, atol: float = ATOL) -> tuple[np.ndarray, list[Failure]]:
    """Row-wise equality of ``other`` against the same rows of ``full`` (matched by index).

    Returns (bool mask of equal rows over ``other``'s rows, failures: the first unequal column of each unequal row).
    A column missing from one side makes every row unequal.
    """
    ref = full.loc[other.index]
    cols = list(columns) if columns is not None else list(dict.fromkeys([*ref.columns, *other.columns]))
    n = len(other)
    row_ok = np.ones(n, dtype=bool)
    first_bad: dict[int, str] = {}
    for col in cols:
        if col not in ref.columns or col not in other.columns:
            ok = np.zeros(n, dtype=bool)
        else:
            ok = _column_equal(ref[col].to_numpy(), other[col].to_numpy(), rtol, atol)
        for i in np.flatnonzero(~ok & row_ok):
            first_bad[int(i)] = col
        row_ok &= ok
    failures = []
    for i in sorted(first_bad):
        col = first_bad[i]
        fv = ref[col].iloc[i] if col in ref.columns else None
        wv = other[col].iloc[i] if col in other.columns else None
        failures.append(Failure(other.index[i], col, _plain(fv), _plain(wv)))
    return row_ok, failures


# ---------------------------------------------------------------------------------------------------- context

def context_window(context: StrategyContext | None, start, end) -> StrategyContext | None:
    """The context as a live cycle reading bars ``start..end`` (open times, inclusive) would see it: other
    symbols' and higher timeframes' candles cut to the same span (higher bars by open time)."""
    if context is None:
        return None
    return replace(context, other={s: df.loc[start:end] for s, df in context.other.items()},
                   higher={tf: df.loc[start:end] for tf, df in context.higher.items()})


def window_positions(n_bars: int, window: int, positions: int) -> np.ndarray:
    """End positions (exclusive) of ``positions`` windows of ``window`` bars, spread evenly from the first full
    window to the last bar (fewer when the data has fewer distinct ends)."""
    if window > n_bars:
        raise ValueError(f"window {window} is longer than the data ({n_bars} bars)")
    return np.unique(np.linspace(window, n_bars, max(1, positions)).round().astype(np.int64))


# ---------------------------------------------------------------------------------------------------- checks

def _cap(failures: list[Failure], max_failures: int) -> list[Failure]:
    return sorted(failures, key=lambda f: f.bar_time)[:max_failures]


def lookahead_check(strategy: Strategy, candles: pd.DataFrame, context: StrategyContext | None = None, *,
                    cut_points: Iterable[int], columns: Sequence[str] | None = None, rtol: float = RTOL,
                    atol: float = ATOL, max_failures: int = 50, full: pd.DataFrame | None = None) -> CheckResult:
    """Prefix vs full: for each cut n, ``compute(candles[:n])`` must equal the first n rows of the full run.

    ``full`` may pass a full-history frame already computed. Fails on the first unequal cell of each bad row;
    ``detail`` names the earliest failing bar and column.
    """
    full = strategy.compute(candles, context) if full is None else full
    cuts = sorted({int(c) for c in cut_points})
    bad = [c for c in cuts if not 0 < c <= len(candles)]
    if bad:
        raise ValueError(f"cut_points {bad} outside 1..{len(candles)}")
    failures: list[Failure] = []
    rows = failed = 0
    for n in cuts:
        part = strategy.compute(candles.iloc[:n], context)
        ok, fails = compare_frames(full, part, columns=columns, rtol=rtol, atol=atol)
        rows += len(ok)
        failed += int((~ok).sum())
        failures.extend(fails)
    failures = _cap(list(dict.fromkeys(failures)), max_failures)
    passed = failed == 0
    if passed:
        detail = f"{len(cuts)} prefixes, {rows} rows equal to the full run"
    else:
        f = failures[0]
        detail = (f"{failed} of {rows} prefix rows differ from the full run; first at {f.bar_time} "
                  f"column {f.column!r}: full {f.full_value!r} vs prefix {f.window_value!r}")
    return CheckResult("lookahead", passed, failures, detail,
                       {"cuts": len(cuts), "rows_compared": rows, "rows_failed": failed})


def window_independence_check(strategy: Strategy, candles: pd.DataFrame, context: StrategyContext | None = None,
                              *, positions: int = 500, window: int | None = None, warmup: int | None = None,
                              columns: Sequence[str] | None = None, rtol: float = RTOL, atol: float = ATOL,
                              max_failures: int = 50, full: pd.DataFrame | None = None) -> CheckResult:
    """Sliding live windows vs the full run: rows after the warm-up must equal the full-history rows.

    ``window`` defaults to ``warmup + 1`` (what the live cycle reads), ``warmup`` to ``strategy.warmup_bars_at``
    the context's timeframe (``warmup_bars()`` without a context);
    a window of ``warmup + k`` checks its last k rows. Windows end at ``positions`` points spread over the data
    (``window_positions``), the context cut to each window's span (``context_window``).
    """
    if warmup is None:
        tf = context.timeframe if context is not None and context.timeframe else strategy.timeframe
        warmup = strategy.warmup_bars_at(tf)
    warmup = int(warmup)
    window = warmup + 1 if window is None else int(window)
    if window <= warmup:
        raise ValueError(f"window {window} must be longer than the warm-up {warmup}")
    if positions < 1:
        raise ValueError(f"positions {positions} must be at least 1")
    full = strategy.compute(candles, context) if full is None else full
    ends = window_positions(len(candles), window, positions)
    failures: list[Failure] = []
    rows = failed = bad_positions = 0
    for end in ends:
        start = end - window
        part = candles.iloc[start:end]
        ctx = context_window(context, part.index[0], part.index[-1])
        got = strategy.compute(part, ctx).iloc[warmup:]
        ok, fails = compare_frames(full, got, columns=columns, rtol=rtol, atol=atol)
        rows += len(ok)
        failed += int((~ok).sum())
        bad_positions += int(not ok.all())
        failures.extend(fails)
    failures = _cap(list(dict.fromkeys(failures)), max_failures)
    passed = failed == 0
    rate = 1.0 - failed / rows if rows else 0.0
    head = (f"{len(ends)} windows of {window} bars (warm-up {warmup}): {rows - failed} of {rows} rows "
            f"({rate:.2%}) equal to the full run")
    if passed:
        detail = head
    else:
        f = failures[0]
        detail = (f"{head}; {bad_positions} windows differ; first at {f.bar_time} column {f.column!r}: "
                  f"full {f.full_value!r} vs window {f.window_value!r}")
    if len(ends) < positions:
        detail += f" (only {len(ends)} distinct window ends in {len(candles)} bars, {positions} asked)"
    return CheckResult("window_independence", passed, failures, detail,
                       {"positions": len(ends), "window": window, "warmup": warmup, "rows_compared": rows,
                        "rows_failed": failed, "positions_failed": bad_positions, "equal_rate": rate})


def determinism_check(strategy: Strategy, candles: pd.DataFrame, context: StrategyContext | None = None, *,
                      max_failures: int = 50) -> CheckResult:
    """Two runs on the same input must be bit-identical (NaN-equal, no tolerance)."""
    first = strategy.compute(candles, context)
    second = strategy.compute(candles, context)
    ok, failures = compare_frames(first, second, rtol=0.0, atol=0.0)
    failed = int((~ok).sum())
    failures = _cap(failures, max_failures)
    if failed == 0:
        detail = f"two runs over {len(candles)} bars are identical"
    else:
        f = failures[0]
        detail = (f"{failed} of {len(ok)} rows differ between two runs; first at {f.bar_time} column "
                  f"{f.column!r}: {f.full_value!r} vs {f.window_value!r}")
    return CheckResult("determinism", failed == 0, failures, detail, {"rows_compared": len(ok), "rows_failed": failed})


def speed_check(strategy: Strategy, candles: pd.DataFrame, context: StrategyContext | None = None, *,
                min_bars_per_second: float = 1000.0, warm_bars: int = 1000) -> CheckResult:
    """Bars per second of one ``compute`` over all ``candles``, after an untimed call on the first ``warm_bars``
    (numba compilation, caches); passes at ``min_bars_per_second`` or more (1,000 bars/s: a year of 5-minute
    bars in under two minutes)."""
    strategy.compute(candles.iloc[:min(warm_bars, len(candles))], context)
    t0 = time.perf_counter()
    strategy.compute(candles, context)
    seconds = max(time.perf_counter() - t0, 1e-9)
    rate = len(candles) / seconds
    passed = rate >= min_bars_per_second
    detail = (f"{len(candles)} bars in {seconds:.3f} s = {rate:,.0f} bars/s "
              f"({'at least' if passed else 'below'} {min_bars_per_second:,.0f})")
    return CheckResult("speed", passed, [], detail,
                       {"bars": len(candles), "seconds": seconds, "bars_per_second": rate})
