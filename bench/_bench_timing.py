"""Bench helper: the wall times of repeated calls, and their median (ms) or best (s)."""

from __future__ import annotations

import statistics
import time


def timings(fn, repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` calls of ``fn``."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median_ms(fn, repeat: int) -> float:
    return statistics.median(timings(fn, repeat)) * 1000


def best_of(fn, repeat: int) -> float:
    return min(timings(fn, repeat))
