"""What the dashboard sees of the trading record: each model row as the JSON payload of its typed event,
and ``broadcast_*`` helpers that publish it to the account's sockets. The execution layer (paper and
Bybit adapters, the monitor) calls these right after it has saved a row; pages render the same payloads
on first load, so a live update and a reload show the same thing."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from trading.events import publish, publish_many
from trading.models import EquitySnapshot, Fill, MonitorDecision, Order, Position, Signal


def _f(value) -> float | None:
    return None if value is None else float(value)


def position_payload(position: Position, *, last_decision: MonitorDecision | None = None) -> dict[str, Any]:
    return {
        "id": position.pk, "account": position.account_id, "config": position.config_id,
        "symbol": position.symbol, "side": position.side, "status": position.status,
        "qty": _f(position.qty), "entry_price": _f(position.entry_price), "leverage": _f(position.leverage),
        "margin": _f(position.margin), "liquidation_price": _f(position.liquidation_price),
        "take_profit": _f(position.take_profit), "stop_loss": _f(position.stop_loss),
        "half_life_seconds": position.half_life_seconds, "realised_pnl": _f(position.realised_pnl),
        "exit_reason": position.exit_reason, "opened_at": position.opened_at.isoformat(),
        "closed_at": position.closed_at.isoformat() if position.closed_at else None,
        "last_decision": decision_payload(last_decision) if last_decision else None,
    }


def fill_payload(fill: Fill) -> dict[str, Any]:
    return {"id": fill.pk, "account": fill.account_id, "position": fill.position_id, "exec_type": fill.exec_type,
            "symbol": fill.symbol, "side": fill.side, "qty": _f(fill.qty), "price": _f(fill.price),
            "fee": _f(fill.fee), "realised_pnl": _f(fill.realised_pnl), "exit_reason": fill.exit_reason,
            "executed_at": fill.executed_at.isoformat()}


def decision_payload(d: MonitorDecision) -> dict[str, Any]:
    return {"id": d.pk, "position": d.position_id, "decided_at": d.decided_at.isoformat(), "action": d.action,
            "reason": d.reason, "detail": d.detail, "drift": d.drift, "baseline_drift": d.baseline_drift,
            "confidence": d.confidence, "age_seconds": d.age_seconds}


def order_payload(o: Order) -> dict[str, Any]:
    return {"id": o.pk, "account": o.account_id, "symbol": o.symbol, "side": o.side, "action": o.action,
            "qty": _f(o.qty), "status": o.status, "filled_qty": _f(o.filled_qty),
            "avg_fill_price": _f(o.avg_fill_price), "reject_reason": o.reject_reason,
            "created_at": o.created_at.isoformat() if o.created_at else None}


def equity_payload(s: EquitySnapshot) -> dict[str, Any]:
    return {"account": s.account_id, "taken_at": s.taken_at.isoformat(), "balance": _f(s.balance),
            "equity": _f(s.equity), "unrealised_pnl": _f(s.unrealised_pnl), "margin_used": _f(s.margin_used),
            "available": _f(s.available)}


def signal_payload(s: Signal) -> dict[str, Any]:
    return {"id": s.pk, "config": s.config_id, "symbol": s.symbol, "bar_time": s.bar_time.isoformat(),
            "signal": s.signal, "price": _f(s.price), "forecast": _f(s.forecast), "drift": s.drift,
            "confidence": s.confidence, "half_life_seconds": s.half_life_seconds, "layers": s.layers,
            "note": s.note}


def _after_commit(account_id: int, event_type: str, data: dict[str, Any]) -> None:
    """Publish once the row is committed, so a page that fetches on the event sees it."""
    transaction.on_commit(lambda: publish(account_id=account_id, event_type=event_type, data=data))


def broadcast_position(*, position: Position, last_decision: MonitorDecision | None = None) -> None:
    _after_commit(position.account_id, "position", position_payload(position, last_decision=last_decision))


def broadcast_fill(*, fill: Fill) -> None:
    _after_commit(fill.account_id, "fill", fill_payload(fill))


def broadcast_decision(*, decision: MonitorDecision, account_id: int | None = None) -> None:
    if account_id is None:
        account_id = Position.objects.values_list("account_id", flat=True).get(pk=decision.position_id)
    _after_commit(account_id, "decision", decision_payload(decision))


def broadcast_tick(*, items: list[tuple[Position, MonitorDecision]]) -> None:
    """A monitor tick's decisions and positions (decision, then position with it, per position) published in one
    go once committed."""
    events = []
    for position, decision in items:
        events.append((position.account_id, "decision", decision_payload(decision)))
        events.append((position.account_id, "position", position_payload(position, last_decision=decision)))
    if events:
        transaction.on_commit(lambda: publish_many(events=events))


def broadcast_order(*, order: Order) -> None:
    _after_commit(order.account_id, "order", order_payload(order))


def broadcast_equity(*, snapshot: EquitySnapshot) -> None:
    _after_commit(snapshot.account_id, "equity", equity_payload(snapshot))


def broadcast_signal(*, signal: Signal) -> None:
    account_id = signal.config.account_id
    _after_commit(account_id, "signal", signal_payload(signal))
