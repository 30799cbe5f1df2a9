"""Position sizing (DESIGN.md §3): Kelly-style and fixed-allocation, plus the config validation the
Django layer calls (``validate_sizing``), raising ``SizingError(field, message)``.

Kelly: notional = balance * kelly_fraction * leverage; margin = notional / leverage;
qty = notional / price rounded down to qtyStep. Fixed allocation: margin = initial_capital * allocation
(does not shrink with equity); notional = margin * leverage. Below minOrderQty or minNotional -> no
order, with a reason. Leverage above the instrument's maximum is rejected, never clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import rules
from .instruments import Instrument

KELLY = "kelly"
FIXED = "fixed"

# (min leverage, max leverage, min allocation, max allocation), inclusive.
LEVERAGE_BANDS: tuple[tuple[float, float, float, float], ...] = (
    (50.0, 125.0, 0.01, 0.10),
    (20.0, 49.0, 0.10, 0.20),
    (1.0, 19.0, 0.20, 1.00),
)


class SizingError(ValueError):
    """A sizing config rejected at the edge; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def allocation_band(leverage: float) -> tuple[float, float]:
    """Allowed (min, max) allocation for a leverage; SizingError when no band holds it."""
    for lo, hi, a_lo, a_hi in LEVERAGE_BANDS:
        if lo <= leverage <= hi:
            return a_lo, a_hi
    raise SizingError("leverage", f"leverage: {leverage:g} is in no allocation band (1..19, 20..49, 50..125)")


def _fmt(x: float) -> str:
    return f"{x:.2f}" if x >= 0.1 else f"{x:g}"


def validate_sizing(
    *,
    mode: str,
    leverage: float,
    instrument: Instrument | None = None,
    kelly_fraction: float | None = None,
    initial_capital: float | None = None,
    allocation: float | None = None,
) -> None:
    """Raise SizingError naming the field and the limit when a sizing config is not allowed."""
    if mode not in (KELLY, FIXED):
        raise SizingError("mode", f"mode: {mode!r} is not 'kelly' or 'fixed'")
    if not leverage >= 1:
        raise SizingError("leverage", f"leverage: {leverage:g} is below the minimum 1")
    if instrument is not None and leverage > instrument.max_leverage:
        raise SizingError(
            "leverage",
            f"leverage: {leverage:g} exceeds {instrument.symbol}'s maximum {instrument.max_leverage:g}x",
        )
    if mode == KELLY:
        if kelly_fraction is None or not 0.0 < kelly_fraction <= 1.0:
            raise SizingError("kelly_fraction", f"kelly_fraction: {kelly_fraction} is outside (0, 1]")
        return
    if initial_capital is None or not initial_capital > 0:
        raise SizingError("initial_capital", f"initial_capital: {initial_capital} must be > 0")
    if allocation is None or not 0.0 < allocation <= 1.0:
        raise SizingError("allocation", f"allocation: {allocation} is outside (0, 1]")
    lo, hi = allocation_band(leverage)
    if not lo - 1e-12 <= allocation <= hi + 1e-12:
        raise SizingError(
            "allocation",
            f"allocation: {allocation:g} is outside {_fmt(lo)}..{_fmt(hi)} allowed at {leverage:g}x leverage",
        )


@dataclass(frozen=True)
class SizingResult:
    """The order a sizing rule asks for; qty 0 and a reason when there is none."""

    qty: float
    notional: float
    margin: float
    price: float
    leverage: float
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.qty > 0


def _finish(instrument: Instrument, notional: float, price: float, leverage: float) -> SizingResult:
    qty = float(rules.sized_qty(notional, price, instrument.qty_step))
    margin = notional / leverage
    if qty < instrument.min_qty - 1e-12:
        reason = f"qty {qty:g} is below min_qty {instrument.min_qty:g} (notional {notional:.2f} at {price:g})"
        return SizingResult(0.0, notional, margin, price, leverage, reason)
    if qty * price < instrument.min_notional - 1e-9:
        reason = f"notional {qty * price:.2f} is below min_notional {instrument.min_notional:g}"
        return SizingResult(0.0, notional, margin, price, leverage, reason)
    return SizingResult(qty, notional, margin, price, leverage)


def size_kelly(*, balance: float, kelly_fraction: float, leverage: float, price: float,
               instrument: Instrument) -> SizingResult:
    """notional = balance * kelly_fraction * leverage."""
    validate_sizing(mode=KELLY, leverage=leverage, instrument=instrument, kelly_fraction=kelly_fraction)
    return _finish(instrument, balance * kelly_fraction * leverage, price, leverage)


def size_fixed(*, initial_capital: float, allocation: float, leverage: float, price: float,
               instrument: Instrument) -> SizingResult:
    """margin = initial_capital * allocation; notional = margin * leverage."""
    validate_sizing(mode=FIXED, leverage=leverage, instrument=instrument, initial_capital=initial_capital,
                    allocation=allocation)
    return _finish(instrument, initial_capital * allocation * leverage, price, leverage)
