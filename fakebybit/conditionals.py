"""Bybit's view of a position's TP/SL: Full-mode conditional orders (stopOrderType TakeProfit /
StopLoss, status Untriggered -> Filled, or Deactivated when removed or the position closes). The
Simulator keeps TP/SL as prices on the position and triggers them itself; this module only gives those
prices order ids and statuses, synchronised after every Simulator call."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = {"TakeProfit": ("take_profit", "tp"), "StopLoss": ("stop_loss", "sl")}


@dataclass
class Leg:
    """One TP or SL conditional order."""

    order_id: str
    symbol: str
    kind: str
    side: str
    trigger: float
    created: int
    updated: int
    status: str = "Untriggered"
    exec_qty: float = 0.0
    exec_value: float = 0.0
    exec_fee: float = 0.0

    @property
    def active(self) -> bool:
        return self.status == "Untriggered"

    @property
    def kind_arg(self) -> str:
        return KINDS[self.kind][0]


class Conditionals:
    """All TP/SL legs ever created, and the active one per (symbol, kind)."""

    def __init__(self) -> None:
        self.legs: dict[str, Leg] = {}
        self.active: dict[tuple[str, str], str] = {}

    def find(self, order_id: str | None, link_id: str | None) -> Leg | None:
        return self.legs.get(order_id) if order_id else None

    def order_id_for_fill(self, fill_order_id: str) -> str | None:
        """The active leg behind a Simulator TP/SL fill id ('tp-BTCUSDT' / 'sl-BTCUSDT')."""
        for kind, (_, prefix) in KINDS.items():
            if fill_order_id.startswith(prefix + "-"):
                return self.active.get((fill_order_id[len(prefix) + 1:], kind))
        return None

    def sync(self, positions: dict, ts: int, triggered: dict, next_seq) -> list[Leg]:
        """Bring the legs in line with the Simulator's positions; return the legs that changed."""
        changed: list[Leg] = []
        for (symbol, kind), oid in list(self.active.items()):
            leg = self.legs[oid]
            attr, prefix = KINDS[kind]
            pos = positions.get(symbol)
            want = getattr(pos, attr) if pos is not None else None
            fill = triggered.get(f"{prefix}-{symbol}")
            if fill is not None:
                leg.status = "Filled"
                leg.exec_qty, leg.exec_value, leg.exec_fee = fill.qty, fill.qty * fill.price, fill.fee
            elif want is None:
                leg.status = "Deactivated"
            elif want != leg.trigger:
                leg.trigger = float(want)
            else:
                continue
            leg.updated = ts
            if not leg.active:
                del self.active[(symbol, kind)]
            changed.append(leg)
        for symbol, pos in positions.items():
            for kind, (attr, _) in KINDS.items():
                want = getattr(pos, attr)
                if want is not None and (symbol, kind) not in self.active:
                    leg = Leg(f"tpsl-{next_seq():08d}", symbol, kind, "Sell" if pos.side > 0 else "Buy",
                              float(want), ts, ts)
                    self.legs[leg.order_id] = leg
                    self.active[(symbol, kind)] = leg.order_id
                    changed.append(leg)
        return changed
