"""Instruments and their maintenance-margin risk tiers (Bybit USDT perpetuals, isolated margin).

mmDeduction follows specs/bybit.md §4: mmDeduction_n = RL_{n-1} * (MMR_n - MMR_{n-1}) + mmDeduction_{n-1}.
A tier is chosen by position value (notional): the first tier whose risk_limit_value >= notional.
The default tier tables are the two BTC tiers the spec documents; live code should load tiers from
``/v5/market/risk-limit`` and build instruments with :func:`build_tiers`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .rounding import floor_to_step, on_step, snap_to_tick, to_decimal_str
from .rules import select_tier


@dataclass(frozen=True)
class RiskTier:
    """One risk-limit tier: positions with value <= risk_limit_value use this MMR/IMR."""

    risk_limit_value: float
    mmr: float
    imr: float
    max_leverage: float
    mm_deduction: float = 0.0


def build_tiers(rows) -> tuple[RiskTier, ...]:
    """Tiers from ascending rows (risk_limit_value, mmr, imr[, max_leverage]), computing each mmDeduction.

    ``max_leverage`` is the tier's own cap as the exchange publishes it (Bybit's ``maxLeverage``: BTCUSDT tier 2
    is 90x while its IMR is shown rounded as 0.0111, whose inverse 90.09 would wrongly admit 90.05x). A row
    without it (old stored rows) falls back to 1/IMR truncated, never rounded up, to 0.01x.
    """
    tiers: list[RiskTier] = []
    prev_rl, prev_mmr, prev_ded = 0.0, None, 0.0
    for row in rows:
        rl, mmr, imr = row[:3]
        cap = float(row[3]) if len(row) > 3 and row[3] is not None else math.floor(100.0 / imr + 1e-9) / 100.0
        ded = 0.0 if prev_mmr is None else prev_rl * (mmr - prev_mmr) + prev_ded
        tiers.append(RiskTier(float(rl), float(mmr), float(imr), cap, round(ded, 8)))
        prev_rl, prev_mmr, prev_ded = rl, mmr, ded
    return tuple(tiers)


def parse_risk_tiers(rows) -> tuple[RiskTier, ...]:
    """Tiers from config/exchange rows ``{risk_limit_value, mmr, imr[, max_leverage]}`` (numbers or numeric
    strings).

    ValueError names the row and field: at least one tier, risk limits strictly ascending,
    0 < mmr < imr <= 1, mmr not falling from one tier to the next, and a tier's max_leverage (when given)
    within 1..1/imr.
    """
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError("at least one tier {risk_limit_value, mmr, imr} is required")
    parsed: list[tuple[float, float, float]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"[{i}]: expected a mapping with risk_limit_value, mmr, imr")
        values = []
        for key in ("risk_limit_value", "mmr", "imr"):
            try:
                values.append(float(row[key]))
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"[{i}].{key}: {row.get(key)!r} is not a number") from None
        rl, mmr, imr = values
        if not rl > 0:
            raise ValueError(f"[{i}].risk_limit_value: {row['risk_limit_value']} must be greater than 0")
        if not 0 < mmr < imr <= 1:
            raise ValueError(f"[{i}].mmr: {row['mmr']} must be above 0 and below imr {row['imr']} (imr <= 1)")
        if parsed and rl <= parsed[-1][0]:
            raise ValueError(f"[{i}].risk_limit_value: {row['risk_limit_value']} must exceed the previous tier's")
        if parsed and mmr < parsed[-1][1]:
            raise ValueError(f"[{i}].mmr: {row['mmr']} is below the previous tier's {parsed[-1][1]:g}")
        cap = None
        if row.get("max_leverage") not in (None, ""):
            try:
                cap = float(row["max_leverage"])
            except (TypeError, ValueError):
                raise ValueError(f"[{i}].max_leverage: {row['max_leverage']!r} is not a number") from None
            if not 1.0 <= cap <= 1.0 / imr + 0.01:
                raise ValueError(f"[{i}].max_leverage: {row['max_leverage']} is outside 1..{1.0 / imr:.2f} "
                                 f"(1/imr)")
        parsed.append((rl, mmr, imr, cap))
    return build_tiers(parsed)


@dataclass(frozen=True)
class Instrument:
    """A linear USDT perpetual: price/qty filters, leverage cap and maintenance-margin tiers."""

    symbol: str
    tick_size: float
    qty_step: float
    min_qty: float
    max_leverage: float
    tiers: tuple[RiskTier, ...]
    min_notional: float = 5.0
    funding_interval_minutes: int = 480
    tier_arrays: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError(f"tiers: {self.symbol} needs at least one risk tier")
        arrays = tuple(
            np.array([getattr(t, name) for t in self.tiers], dtype=np.float64)
            for name in ("risk_limit_value", "mmr", "mm_deduction", "max_leverage")
        )
        object.__setattr__(self, "tier_arrays", arrays)

    def tier_index(self, notional: float) -> int:
        """Index of the tier for this position value; -1 when it exceeds the last risk limit."""
        return int(select_tier(float(notional), self.tier_arrays[0]))

    def tier_for(self, notional: float) -> RiskTier:
        """The risk tier for a position value; ValueError when it exceeds the highest risk limit."""
        idx = self.tier_index(notional)
        if idx < 0:
            raise ValueError(
                f"notional: {notional:.2f} exceeds the highest risk limit "
                f"{self.tiers[-1].risk_limit_value:.0f} of {self.symbol}"
            )
        return self.tiers[idx]

    def round_qty(self, qty: float) -> float:
        """Quantity rounded DOWN to qty_step."""
        return float(floor_to_step(float(qty), self.qty_step))

    def snap_price(self, price: float) -> float:
        """Price snapped to the nearest tick."""
        return float(snap_to_tick(float(price), self.tick_size))

    def qty_on_step(self, qty: float) -> bool:
        return bool(on_step(float(qty), self.qty_step))

    def price_on_tick(self, price: float) -> bool:
        return bool(on_step(float(price), self.tick_size))

    def qty_str(self, qty: float) -> str:
        """Exchange string for a quantity (rounded down to the step, never exponent notation)."""
        return to_decimal_str(qty, repr(self.qty_step), down=True)

    def price_str(self, price: float) -> str:
        """Exchange string for a price (snapped to the tick, never exponent notation)."""
        return to_decimal_str(price, repr(self.tick_size))


# BTCUSDT tiers from specs/bybit.md §4: tier 1 <= 2,000,000 MMR 0.5 % IMR 1 % (100x);
# tier 2 <= 2,600,000 MMR 0.56 % (90x) -> mmDeduction 2,000,000 * 0.0006 = 1,200.
# These built-in tables must equal configs/instruments.yaml (a test compares them).
BTC_TIERS = build_tiers([(2_000_000, 0.005, 0.01, 100), (2_600_000, 0.0056, 0.0111, 90)])
# ETHUSDT: assumed tiers in the same shape (load the real table from /v5/market/risk-limit).
ETH_TIERS = build_tiers([(1_000_000, 0.005, 0.01, 100), (1_600_000, 0.0056, 0.0111, 90)])

BTCUSDT = Instrument("BTCUSDT", tick_size=0.1, qty_step=0.001, min_qty=0.001, max_leverage=100.0, tiers=BTC_TIERS)
ETHUSDT = Instrument("ETHUSDT", tick_size=0.01, qty_step=0.01, min_qty=0.01, max_leverage=100.0, tiers=ETH_TIERS)
# The DESIGN.md worked sizing example (qty 0.00651) needs qtyStep 0.00001.
BTCUSDT_FINE = Instrument(
    "BTCUSDT", tick_size=0.1, qty_step=0.00001, min_qty=0.00001, max_leverage=100.0, tiers=BTC_TIERS
)

DEFAULT_INSTRUMENTS: dict[str, Instrument] = {"BTCUSDT": BTCUSDT, "ETHUSDT": ETHUSDT}
