"""Rounding to an instrument's qtyStep / tickSize, in float (hot loops) and Decimal (the edges).

`floor_to_step` and `snap_to_tick` are numba functions so the backtest kernel, the simulator and the
sizing code share one rounding rule. `to_decimal_str` never produces exponent notation ('1e-05').
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from numba import njit


@njit(cache=True)
def step_decimals(step: float) -> int:
    """Number of decimals a step such as 0.001 or 0.5 needs (3, 1); 0 for steps >= 1."""
    if step >= 1.0:
        return 0
    return int(math.ceil(-math.log10(step) - 1e-9))


@njit(cache=True)
def _units_to_price(n: float, step: float) -> float:
    """n * step as the double nearest the decimal value (651 * 0.00001 -> 0.00651, not 0.006510000000000001).
    Steps with an integral inverse (0.1, 0.001, 0.5) divide by it, which is correctly rounded; others round."""
    inv = math.floor(1.0 / step + 0.5)
    if inv >= 1.0 and abs(inv * step - 1.0) < 1e-12:
        return n / inv
    return round(n * step, step_decimals(step))


@njit(cache=True)
def floor_to_step(x: float, step: float) -> float:
    """Round ``x`` DOWN to a multiple of ``step`` (a tiny epsilon absorbs float noise like 2.9999999)."""
    return _units_to_price(math.floor(x / step + 1e-9), step)


@njit(cache=True)
def snap_to_tick(price: float, tick: float) -> float:
    """Round ``price`` to the nearest multiple of ``tick``."""
    return _units_to_price(math.floor(price / tick + 0.5), tick)


@njit(cache=True)
def on_step(x: float, step: float) -> bool:
    """True when ``x`` is (within float noise) a whole multiple of ``step``."""
    n = x / step
    return abs(n - math.floor(n + 0.5)) < 1e-6


def to_decimal(x: float | str | Decimal, step: float | str | Decimal | None = None, *, down: bool = False) -> Decimal:
    """``x`` as a Decimal, quantised to ``step`` (half-up, or down when ``down``) when a step is given."""
    d = x if isinstance(x, Decimal) else Decimal(repr(x) if isinstance(x, float) else str(x))
    if step is None:
        return d
    s = step if isinstance(step, Decimal) else Decimal(repr(step) if isinstance(step, float) else str(step))
    units = (d / s).quantize(Decimal(1), rounding=ROUND_DOWN if down else ROUND_HALF_UP)
    return (units * s).quantize(s.normalize() if s < 1 else Decimal(1))


def to_decimal_str(x: float | str | Decimal, step: float | str | Decimal | None = None, *, down: bool = False) -> str:
    """Plain decimal string for the exchange: ``to_decimal_str(0.00001) == '0.00001'``, never '1e-05'."""
    d = to_decimal(x, step, down=down)
    text = format(d, "f")
    if "." in text and step is None:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
