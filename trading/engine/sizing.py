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


Band = tuple[float, float, float, float]
_BAND_KEYS = ("min_leverage", "max_leverage", "min_allocation", "max_allocation")


def parse_bands(raw) -> tuple[Band, ...]:
    """Bands from config rows ``{min_leverage, max_leverage, min_allocation, max_allocation}``.

    ValueError names the row and the field: leverage ranges within 1..125 and not overlapping,
    allocations within (0, 1] with min <= max.
    """
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ValueError("a non-empty list of bands is required")
    bands: list[Band] = []
    for i, row in enumerate(raw):
        if not isinstance(row, dict):
            raise ValueError(f"[{i}]: expected a mapping with {', '.join(_BAND_KEYS)}")
        values = []
        for key in _BAND_KEYS:
            value = row.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"[{i}].{key}: {value!r} is not a number")
            values.append(float(value))
        lev_lo, lev_hi, a_lo, a_hi = values
        if not 1 <= lev_lo <= lev_hi <= 125:
            raise ValueError(f"[{i}]: leverage {lev_lo:g}..{lev_hi:g} must lie within 1..125 with min <= max")
        if not 0 < a_lo <= a_hi <= 1:
            raise ValueError(f"[{i}]: allocation {a_lo:g}..{a_hi:g} must lie within (0, 1] with min <= max")
        bands.append((lev_lo, lev_hi, a_lo, a_hi))
    ordered = sorted(bands)
    for (lo1, hi1, *_), (lo2, _hi2, *_) in zip(ordered, ordered[1:], strict=False):
        if lo2 <= hi1:
            raise ValueError(f"leverage ranges {lo1:g}..{hi1:g} and {lo2:g}.. overlap")
    return tuple(bands)


def check_band_coverage(bands: tuple[Band, ...]) -> None:
    """ValueError naming the first hole when the bands (already parsed) leave a whole leverage in 1..125
    without an allocation band: a config at that leverage could then never be sized."""
    expected = 1.0
    for lo, hi, *_ in sorted(bands):
        if lo > expected:
            raise ValueError(f"leverages from {expected:g} up to {lo:g} are in no band: the bands must cover "
                             "every whole leverage 1..125 without a hole")
        expected = max(expected, hi + 1)
    if expected <= 125:
        raise ValueError(f"leverages from {expected:g} to 125 are in no band: the bands must cover every whole "
                         "leverage 1..125 without a hole")


def allocation_band(leverage: float, bands: tuple[Band, ...] = LEVERAGE_BANDS) -> tuple[float, float]:
    """Allowed (min, max) allocation for a leverage; SizingError when no band holds it."""
    for lo, hi, a_lo, a_hi in bands:
        if lo <= leverage <= hi:
            return a_lo, a_hi
    ranges = ", ".join(f"{lo:g}..{hi:g}" for lo, hi, *_ in sorted(bands))
    raise SizingError("leverage", f"leverage: {leverage:g} is in no allocation band ({ranges})")


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
    bands=LEVERAGE_BANDS,
) -> None:
    """Raise SizingError naming the field and the limit when a sizing config is not allowed.

    ``bands`` is the desk's band table, as tuples or as config rows (see :func:`parse_bands`).
    """
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
    if bands and isinstance(bands[0], dict):
        bands = parse_bands(bands)
    lo, hi = allocation_band(leverage, bands)
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
