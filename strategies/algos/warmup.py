"""Warm-up arithmetic for the window-independence contract (DESIGN section 2): how many bars a recursive
average needs before the state it started from has no visible influence.

A recursion x_t = d * x_{t-1} + (1 - d) * s_t keeps d**k of its state from k bars ago. Two runs that started at
different bars (the full history and a live window) differ by at most d**k times their initial difference, so
after ``decay_bars(d)`` bars (d**k < 1e-16, below float64 resolution relative to the values) they agree to
round-off. Strategies add these settle times to their finite look-backs to declare ``warmup_bars()``.
"""

from __future__ import annotations

import math

#: the start's remaining weight regarded as gone: under float64's relative resolution (2.2e-16)
SETTLE_TOLERANCE = 1e-16


def decay_bars(decay: float, tol: float = SETTLE_TOLERANCE) -> int:
    """Smallest k with decay**k < tol (0 for a recursion without memory, decay <= 0)."""
    if decay <= 0.0:
        return 0
    if decay >= 1.0:
        raise ValueError(f"decay {decay} has no finite settle time (must be below 1)")
    return math.ceil(math.log(tol) / math.log(decay))


def rma_bars(n: int) -> int:
    """Bars until Pine's ``ta.rma(x, n)`` (alpha 1/n, seeded by an n-bar SMA) forgets where it started."""
    return n + decay_bars(1.0 - 1.0 / n)


def ema_bars(n: int) -> int:
    """Bars until Pine's ``ta.ema(x, n)`` (alpha 2/(n+1), SMA-seeded) forgets where it started."""
    return n + decay_bars(1.0 - 2.0 / (n + 1))
