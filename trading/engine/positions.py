"""An isolated-margin position and its bookkeeping (open/add, partial close, re-derived liq price)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from . import rules
from .instruments import Instrument


@dataclass
class Position:
    """side +1 long / -1 short; margin is the isolated initial margin PV/leverage."""

    symbol: str
    side: int
    qty: float
    entry_price: float
    leverage: float
    margin: float
    liq_price: float
    bankruptcy_price: float
    take_profit: float | None = None
    stop_loss: float | None = None
    realised_pnl: float = 0.0
    opened_ts: int = 0

    @property
    def side_name(self) -> str:
        return "Buy" if self.side > 0 else "Sell"

    def unrealised_pnl(self, price: float) -> float:
        return float(rules.price_pnl(self.side, self.qty, self.entry_price, price))

    def rederive(self, instrument: Instrument) -> None:
        """Recompute liquidation and bankruptcy prices from qty, entry and leverage (one rule: rules.py)."""
        k = instrument.tier_index(self.qty * self.entry_price)
        tier = instrument.tiers[k if k >= 0 else -1]
        self.liq_price = float(rules.liquidation_price(self.side, self.qty, self.entry_price, self.leverage,
                                                       tier.mmr, tier.mm_deduction, 0.0))
        self.bankruptcy_price = float(rules.bankruptcy_price(self.side, self.entry_price, self.leverage))

    def add(self, qty: float, price: float, instrument: Instrument) -> None:
        """Increase the position at ``price``: average entry, add margin."""
        total = self.qty + qty
        self.entry_price = (self.entry_price * self.qty + price * qty) / total
        self.qty = total
        self.margin += float(rules.initial_margin(qty, price, self.leverage))
        self.rederive(instrument)

    def reduce(self, qty: float, instrument: Instrument) -> float:
        """Close ``qty``; frees margin pro rata and returns the freed margin."""
        share = qty / self.qty
        freed = self.margin * share
        self.margin -= freed
        self.qty -= qty
        if self.qty > 1e-12:
            self.rederive(instrument)
        return freed

    def protective(self) -> tuple[float, float]:
        """(tp, sl) as floats with NaN for unset, the form the njit rules take."""
        tp = math.nan if self.take_profit is None else self.take_profit
        sl = math.nan if self.stop_loss is None else self.stop_loss
        return tp, sl

    def to_dict(self) -> dict:
        return asdict(self)


def open_position(symbol: str, side: int, qty: float, price: float, leverage: float, instrument: Instrument,
                  ts: int) -> Position:
    pos = Position(symbol, side, qty, price, leverage, float(rules.initial_margin(qty, price, leverage)),
                   0.0, 0.0, opened_ts=ts)
    pos.rederive(instrument)
    return pos
