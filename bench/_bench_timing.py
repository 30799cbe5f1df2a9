"""Bench helper: the median wall time of a call, in milliseconds."""

from __future__ import annotations

import statistics
import time


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000
