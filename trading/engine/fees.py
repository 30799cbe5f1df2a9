"""Trading fees: a per-account maker/taker schedule (defaults maker 0.02 %, taker 0.06 % of notional).

Market orders and triggered stops (TP/SL) pay taker; resting limit orders that are crossed pay maker;
a liquidation pays the taker fee to close at the bankruptcy price.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import rules

MAKER_DEFAULT = 0.0002
TAKER_DEFAULT = 0.0006


@dataclass(frozen=True)
class FeeSchedule:
    """Fee rates as fractions of notional."""

    maker: float = MAKER_DEFAULT
    taker: float = TAKER_DEFAULT

    def __post_init__(self) -> None:
        for name in ("maker", "taker"):
            value = getattr(self, name)
            if not 0.0 <= value < 0.01:
                raise ValueError(f"{name}: {value} is outside 0..0.01 (a fraction of notional)")

    def rate(self, liquidity: str) -> float:
        """'maker' or 'taker' rate."""
        if liquidity == "maker":
            return self.maker
        if liquidity == "taker":
            return self.taker
        raise ValueError(f"liquidity: {liquidity!r} is not 'maker' or 'taker'")

    def fee(self, qty: float, price: float, liquidity: str) -> float:
        """Fee on one fill: qty * price * rate."""
        return float(rules.fee_for(qty, price, self.rate(liquidity)))


def liquidity_for(order_type: str, triggered_stop: bool = False) -> str:
    """Market orders and triggered stops take liquidity; resting limits make it."""
    if triggered_stop or order_type == "Market":
        return "taker"
    if order_type == "Limit":
        return "maker"
    raise ValueError(f"order_type: {order_type!r} is not Market or Limit")
