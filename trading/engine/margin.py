"""Margin math for one isolated position (specs/bybit.md §4), on top of the shared rules in rules.py.

Note on the spec's simplified liquidation forms: expanding entry - (IM - MM)/size with
MM = PV*MMR - mmDeduction gives ``- mmDeduction/size`` for a long (``+`` for a short); the spec's
second form prints the opposite sign. This module follows the definitional first form.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import rules
from .instruments import Instrument


def side_sign(side: str | int | float) -> float:
    """+1.0 for long ('Buy', 'long', 1), -1.0 for short ('Sell', 'short', -1)."""
    if isinstance(side, str):
        s = side.lower()
        if s in ("buy", "long"):
            return 1.0
        if s in ("sell", "short"):
            return -1.0
        raise ValueError(f"side: {side!r} is not Buy/Sell/long/short")
    if side in (1, -1):
        return float(side)
    raise ValueError(f"side: {side!r} is not +1 or -1")


@dataclass(frozen=True)
class MarginFigures:
    """Every figure of one isolated position, for display, checks and tests."""

    position_value: float
    initial_margin: float
    maintenance_margin: float
    mmr: float
    mm_deduction: float
    liquidation_price: float
    bankruptcy_price: float
    fee_to_close: float
    order_cost: float


def initial_margin(qty: float, entry: float, leverage: float) -> float:
    return float(rules.initial_margin(qty, entry, leverage))


def maintenance_margin(instrument: Instrument, qty: float, entry: float) -> float:
    """PV * MMR - mmDeduction with the tier chosen by position value."""
    tier = instrument.tier_for(qty * entry)
    return float(rules.maintenance_margin(qty, entry, tier.mmr, tier.mm_deduction))


def liquidation_price(instrument: Instrument, side, qty: float, entry: float, leverage: float,
                      extra_margin: float = 0.0) -> float:
    tier = instrument.tier_for(qty * entry)
    return float(rules.liquidation_price(side_sign(side), qty, entry, leverage, tier.mmr,
                                         tier.mm_deduction, extra_margin))


def bankruptcy_price(side, entry: float, leverage: float) -> float:
    return float(rules.bankruptcy_price(side_sign(side), entry, leverage))


def fee_to_close(side, qty: float, entry: float, leverage: float, taker: float) -> float:
    """size * bankruptcy price * taker rate."""
    return float(rules.fee_for(qty, rules.bankruptcy_price(side_sign(side), entry, leverage), taker))


def order_cost(side, qty: float, price: float, leverage: float, taker: float) -> float:
    """IM + open fee (size * price * taker) + fee to close."""
    return float(rules.order_cost(qty, price, side_sign(side), leverage, taker))


def stop_loss_before_liquidation(side, stop_loss: float, liquidation: float) -> bool:
    """True when the SL sits strictly before liquidation (long: SL > liq; short: SL < liq)."""
    return bool(rules.sl_before_liq(side_sign(side), float(stop_loss), float(liquidation)))


def figures(instrument: Instrument, side, qty: float, entry: float, leverage: float,
            taker: float = 0.0006) -> MarginFigures:
    """All margin figures of a position at once."""
    s = side_sign(side)
    tier = instrument.tier_for(qty * entry)
    return MarginFigures(
        position_value=qty * entry,
        initial_margin=float(rules.initial_margin(qty, entry, leverage)),
        maintenance_margin=float(rules.maintenance_margin(qty, entry, tier.mmr, tier.mm_deduction)),
        mmr=tier.mmr,
        mm_deduction=tier.mm_deduction,
        liquidation_price=float(rules.liquidation_price(s, qty, entry, leverage, tier.mmr,
                                                        tier.mm_deduction, 0.0)),
        bankruptcy_price=float(rules.bankruptcy_price(s, entry, leverage)),
        fee_to_close=float(rules.fee_for(qty, rules.bankruptcy_price(s, entry, leverage), taker)),
        order_cost=float(rules.order_cost(qty, entry, s, leverage, taker)),
    )
