"""Placing one order exactly once: the Order row (keyed by its deterministic client order id) is written
before the exchange is asked, so a retried or crashed run finds it and asks the exchange for that id
instead of sending a second order.

The kill switch is honoured atomically here: a non-reduce-only order is sent only inside a transaction that
holds the Account row (SELECT ... FOR NO KEY UPDATE: rows referencing the account may still be written) and
has just re-read ``kill_switch_engaged`` from it. Engaging
the switch writes that row (``controls.engage_kill_switch``), so it waits for a send in flight and every
send after its commit sees it: no new exposure after the switch has answered "engaged"."""

from __future__ import annotations

import logging

from django.db import transaction

from trading.choices import OrderStatus
from trading.exchanges.types import Exchange, ExchangeError, OrderIntent
from trading.models import Account, Order
from trading.services.broadcast import broadcast_order
from trading.services.locks import ensure_held

log = logging.getLogger(__name__)
SETTLED = {OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED,
           OrderStatus.REJECTED}


def submit_order(*, account: Account, exchange: Exchange, intent: OrderIntent, action: str, config=None,
                 position=None, leverage=None) -> Order:
    """The Order for ``intent``: placed now, or found already placed (never placed twice).

    A refusal by the exchange is recorded as REJECTED with its code and message. A transport failure
    (``ExchangeError.retryable``) leaves the order PENDING and re-raises, so the caller's retry asks
    the exchange for this client order id before sending anything.
    """
    order, created = Order.objects.get_or_create(
        client_order_id=intent.client_order_id,
        defaults=dict(account=account, config=config, position=position, symbol=intent.symbol, side=intent.side,
                      order_type=intent.order_type, action=action, qty=intent.qty, price=intent.price,
                      reduce_only=intent.reduce_only, take_profit=intent.take_profit, stop_loss=intent.stop_loss,
                      leverage=leverage, exit_reason="" if action == "open" else intent.exit_reason,
                      status=OrderStatus.PENDING,
                      status_history=[]),
    )
    if created:
        order.record_status(OrderStatus.PENDING, note="written before sending")
        order.save(update_fields=["status", "status_history"])
    elif order.status in SETTLED:
        return order
    else:
        found = exchange.find_order(intent.symbol, intent.client_order_id)
        if found is not None:
            order.exchange_order_id = found.order_id
            order.record_status(OrderStatus.NEW, note="found on the exchange after an interrupted send")
            order.save(update_fields=["exchange_order_id", "status", "status_history"])
            return order
    try:
        ack = _send(account=account, exchange=exchange, intent=intent)
    except KillSwitchEngaged as exc:
        order.reject_reason = str(exc)[:300]
        order.record_status(OrderStatus.REJECTED, note=order.reject_reason)
        order.save(update_fields=["reject_reason", "status", "status_history"])
        log.warning("order %s not sent: %s", order.client_order_id, order.reject_reason)
        broadcast_order(order=order)
        return order
    except ExchangeError as exc:
        if exc.retryable:
            order.record_status(OrderStatus.PENDING, note=f"transport failure {exc.code}: {exc.message}")
            order.save(update_fields=["status", "status_history"])
            raise
        order.reject_reason = f"{exc.code}: {exc.message}"[:300]
        order.record_status(OrderStatus.REJECTED, note=order.reject_reason)
        order.save(update_fields=["reject_reason", "status", "status_history"])
        log.warning("order %s rejected: %s", order.client_order_id, order.reject_reason)
        broadcast_order(order=order)
        return order
    order.exchange_order_id = ack.order_id
    order.record_status(OrderStatus.NEW, note="already on the exchange" if ack.duplicate else "acknowledged")
    order.save(update_fields=["exchange_order_id", "status", "status_history"])
    broadcast_order(order=order)
    return order


class KillSwitchEngaged(RuntimeError):
    """The account's kill switch is engaged: no order that adds exposure may go out."""


def _send(*, account: Account, exchange: Exchange, intent: OrderIntent):
    """Send ``intent``; a non-reduce-only one only under the Account row lock, after re-reading the switch.
    Never by a run whose account lock was taken over (LockLost: the order stays pending)."""
    ensure_held(account.pk)
    if intent.reduce_only:
        return exchange.place_order(intent)
    with transaction.atomic():
        engaged = (Account.objects.select_for_update(no_key=True).filter(pk=account.pk)
                   .values_list("kill_switch_engaged", flat=True).first())
        if engaged:
            raise KillSwitchEngaged(f"kill switch engaged on account {account.pk}: new orders are refused")
        try:
            return exchange.place_order(intent)
        except ExchangeError as exc:  # leave the block normally: what the exchange did (paper's state) stays
            failure = exc
    raise failure
