"""What the paper exchange keeps and how it answers: the stored Simulator state kept bounded (``forget_history``)
and the Simulator's orders and fills as the Exchange protocol's types (``to_order``, ``to_fill``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from trading.engine.simulator import Simulator

from .types import ExchangeFill, ExchangeOrder

HISTORY_MS = 24 * 3_600_000  # fills and finished orders kept in the stored state (desk clock)...
HISTORY_MAX = 1000  # ...and at most this many of each


def forget_history(sim: Simulator) -> None:
    """Drop fills older than ``HISTORY_MS`` before the newest fill, and orders no longer open older than that
    before the newest order (each on its own clock: fills carry their price's time, orders the desk's), or
    beyond the newest ``HISTORY_MAX`` of each; dropped orders' client ids go with them. Open orders and
    positions are never touched."""
    if sim.fills:
        cutoff = max(f.ts for f in sim.fills[-HISTORY_MAX:]) - HISTORY_MS
        if len(sim.fills) > HISTORY_MAX or sim.fills[0].ts < cutoff:
            sim.fills = [f for f in sim.fills[-HISTORY_MAX:] if f.ts >= cutoff]
    done = [o for o in sim.orders.values() if o.status != "New"]
    cutoff = max((o.created_ts for o in sim.orders.values()), default=0) - HISTORY_MS
    if len(done) > HISTORY_MAX or any(o.created_ts < cutoff for o in done):
        keep = {o.order_id for o in sorted(done, key=lambda o: o.created_ts)[-HISTORY_MAX:] if o.created_ts >= cutoff}
        for o in done:
            if o.order_id not in keep:
                del sim.orders[o.order_id]
                sim.client_ids.discard(o.client_order_id)


def dec(x: float | None, places: str = "0.00000001") -> Decimal | None:
    if x is None:
        return None
    return Decimal(repr(float(x))).quantize(Decimal(places))


def ms_to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_order(o, fills=()) -> ExchangeOrder:
    filled = sum(f.qty for f in fills)
    avg = sum(f.qty * f.price for f in fills) / filled if filled else None
    status = {"New": "New", "Filled": "Filled", "Cancelled": "Cancelled"}.get(o.status, o.status)
    return ExchangeOrder(order_id=o.order_id, client_order_id=o.client_order_id or "", symbol=o.symbol,
                         side=o.side, order_type=o.order_type, qty=dec(o.qty, "0.0000000001"),
                         price=dec(o.price), reduce_only=o.reduce_only, status=status,
                         filled_qty=dec(filled, "0.0000000001"), avg_price=dec(avg),
                         reject_reason=getattr(o, "reject_reason", ""))


def to_fill(account_id: int, f, client_order_id: str, fee_rate: float) -> ExchangeFill:
    exec_type = "Funding" if f.kind == "funding" else "BustTrade" if f.exit_reason == "liquidation" else "Trade"
    return ExchangeFill(
        exec_id=f"paper-{account_id}-{f.fill_id}", order_id=f.order_id, symbol=f.symbol, side=f.side,
        qty=dec(f.qty, "0.0000000001"), price=dec(f.price), fee=dec(f.fee), fee_rate=dec(fee_rate),
        is_maker=f.liquidity == "maker", realised_pnl=dec(f.realised_pnl), exec_type=exec_type,
        exit_reason="" if f.exit_reason in ("entry", "funding") else f.exit_reason, executed_at=ms_to_dt(f.ts),
        client_order_id=client_order_id, funding=dec(f.funding))
