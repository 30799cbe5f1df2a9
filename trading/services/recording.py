"""Bring the local record in line with what an exchange says: new executions become Fill rows (linked to their
Order and Position), orders get their fill status, positions their size, prices and stops; positions the
exchange no longer has are closed with its fill prices, ones it has that we do not are adopted. Every change
is broadcast to the account's group, and after any change an equity snapshot (balance, equity, unrealised,
margin in use) is taken from the same exchange, so the account card agrees with the positions. The exchange
is the truth."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from trading.choices import ExecType, OrderStatus, PositionStatus
from trading.exchanges.types import Exchange, ExchangeFill, ExchangePosition
from trading.marketdata.clock import desk_now
from trading.models import Account, Fill, Order, Position
from trading.services.alerts import on_fill
from trading.services.broadcast import broadcast_fill, broadcast_order, broadcast_position

log = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=5)  # re-read a little history each time; exec ids make it idempotent


@dataclass
class SyncReport:
    new_fills: int = 0
    updated: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


def sync_account(*, account: Account, exchange: Exchange) -> SyncReport:
    """Positions the exchange holds first (so their fills can be linked), then new executions, then the
    local positions the exchange no longer holds (closed with the reason of their last fill)."""
    report = SyncReport()
    remote = {p.symbol: p for p in exchange.positions()}
    last = Fill.objects.filter(account=account).aggregate(t=Max("executed_at"))["t"]
    fills = exchange.executions(since=None if last is None else last - OVERLAP)
    _update_or_adopt(account, remote, report, reversed_ok=False)
    known = set(Fill.objects.filter(account=account, exec_id__in=[f.exec_id for f in fills])
                .values_list("exec_id", flat=True))
    for f in sorted((f for f in fills if f.exec_id not in known), key=lambda f: f.executed_at):
        _record_fill(account, f)
        report.new_fills += 1
    for pos in Position.objects.filter(account=account, status=PositionStatus.OPEN):
        rp = remote.get(pos.symbol)
        if rp is None or rp.side != pos.side:
            _close_local(pos)
            report.closed.append(pos.symbol)
    _update_or_adopt(account, remote, report, reversed_ok=True)
    if report.new_fills or report.updated or report.adopted or report.closed:
        # the account card's figures from the same exchange state as the positions, after every change
        from trading.services.equity import snapshot_equity

        snapshot_equity(account_id=account.pk, exchange=exchange)
    return report


@transaction.atomic
def _record_fill(account: Account, f: ExchangeFill) -> Fill:
    order = None
    if f.client_order_id:
        order = Order.objects.filter(client_order_id=f.client_order_id).first()
    if order is None and f.order_id:
        order = Order.objects.filter(account=account, exchange_order_id=f.order_id).first()
    position = (Position.objects.select_for_update()
                .filter(account=account, symbol=f.symbol, status=PositionStatus.OPEN).first())
    fill = Fill.objects.create(
        account=account, order=order, position=position, exec_id=f.exec_id, exec_type=f.exec_type,
        symbol=f.symbol, side=f.side, qty=f.qty, price=f.price, fee=f.fee, fee_rate=f.fee_rate,
        is_maker=f.is_maker, realised_pnl=f.realised_pnl, funding=f.funding,
        exit_reason=f.exit_reason or (order.exit_reason if order is not None else ""),
        executed_at=f.executed_at)
    if order is not None and f.exec_type == ExecType.TRADE:
        filled = order.filled_qty + f.qty
        order.avg_fill_price = ((order.avg_fill_price or Decimal(0)) * order.filled_qty + f.price * f.qty) / filled
        order.filled_qty = filled
        if not order.exchange_order_id:
            order.exchange_order_id = f.order_id
        if filled >= order.qty and order.status != OrderStatus.FILLED:
            order.record_status(OrderStatus.FILLED, at=f.executed_at)
        order.save()
        broadcast_order(order=order)
    if position is not None:
        position.realised_pnl += f.realised_pnl - f.fee - f.funding
        position.fees_paid += f.fee
        position.funding_paid += f.funding
        position.save(update_fields=["realised_pnl", "fees_paid", "funding_paid"])
    broadcast_fill(fill=fill)
    if f.exec_type != ExecType.FUNDING:
        on_fill(fill=fill)  # the owner's alert channels (sent after commit, once per fill)
    return fill


def _update_or_adopt(account: Account, remote: dict[str, ExchangePosition], report: SyncReport, *,
                     reversed_ok: bool) -> None:
    local = {p.symbol: p for p in Position.objects.filter(account=account, status=PositionStatus.OPEN)}
    for symbol, rp in remote.items():
        pos = local.get(symbol)
        if pos is not None and pos.side != rp.side:
            continue  # reversed on the exchange: the old one is closed first, then adopted anew
        if pos is None:
            pos = Position(account=account, symbol=symbol, side=rp.side, opened_at=desk_now())
            _claim(pos)
            report.adopted.append(symbol)
            log.info("account %s: recording %s %s %s held on the exchange", account.pk, rp.side, rp.qty, symbol)
        if _apply_remote(pos, rp) or pos._state.adding:
            pos.save()
            report.updated.append(symbol)
            broadcast_position(position=pos)


def _claim(pos: Position) -> None:
    """A new exchange position that one of our open orders made (e.g. its reply was lost) belongs to that
    order's config, with the baselines of the config's latest signal."""
    from trading.models import Signal

    order = (Order.objects.filter(account=pos.account, symbol=pos.symbol, action="open",
                                  status__in=[OrderStatus.PENDING, OrderStatus.NEW, OrderStatus.FILLED],
                                  position__isnull=True, config__isnull=False)
             .order_by("-created_at").first())
    if order is None:
        return
    pos.config = order.config
    sig = Signal.objects.filter(config=order.config, symbol=pos.symbol).order_by("-bar_time").first()
    if sig is not None:
        pos.entry_drift = pos.drift_baseline = sig.drift
        pos.entry_confidence = pos.confidence_baseline = sig.confidence
        pos.half_life_seconds = sig.half_life_seconds


def _apply_remote(pos: Position, rp: ExchangePosition) -> bool:
    fields = {"qty": rp.qty, "entry_price": rp.entry_price, "leverage": rp.leverage, "margin": rp.margin,
              "liquidation_price": rp.liquidation_price, "bankruptcy_price": rp.bankruptcy_price,
              "take_profit": rp.take_profit, "stop_loss": rp.stop_loss}
    changed = False
    for name, value in fields.items():
        if getattr(pos, name) != value:
            setattr(pos, name, value)
            changed = True
    return changed


def _close_local(pos: Position) -> None:
    """The exchange is flat: close with the reason and time of the last fill that reduced it."""
    last = (Fill.objects.filter(position=pos, exec_type__in=[ExecType.TRADE, ExecType.BUST])
            .exclude(exit_reason="").order_by("-executed_at").first())
    pos.status = PositionStatus.CLOSED
    pos.closed_at = last.executed_at if last else desk_now()
    pos.exit_reason = (last.exit_reason if last else "") or "reconcile"
    pos.save(update_fields=["status", "closed_at", "exit_reason"])
    broadcast_position(position=pos)
