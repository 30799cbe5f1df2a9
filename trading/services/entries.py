"""Post-only entries with a taker fallback (a StrategyConfig with ``entry_order="post_only"``), the desk side of the
engine's rule (rules.post_only_filled / post_only_expired; the backtest kernel models the same):

1. ``place_post_only`` (from positions.open_position, after every risk check and the sizing): a ``PostOnly``
   limit at the touch (the bid for a long, the ask for a short) with the config's TP/SL, client order id from
   the signal's bar time (action ``open``). An exchange that cancels it at once because it would cross
   (Bybit's ``EC_PostOnlyWillTakeLiquidity``) gets the market order at once.
2. ``settle_entries`` (every monitor tick and signal cycle, under the account lock): each resting entry that has
   filled is done (sync_account records the fill; the position is claimed by the order's config with its
   signal's baselines); one past ``entry_timeout_seconds`` is cancelled, and what did not fill goes out as a
   market order with a NEW client id (action ``open-taker``, same bar time: a retried tick finds it instead of
   sending another) and TP/SL at the config's distances from the price then.

Each order is sent once: both go through ``orders.submit_order`` keyed by deterministic client order ids.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from trading.choices import OrderAction, OrderStatus, OrderType, PositionStatus
from trading.engine import rules
from trading.engine.margin import liquidation_price
from trading.engine.orders import POST_ONLY_WOULD_TAKE
from trading.exchanges.types import Exchange, ExchangeError, OrderIntent
from trading.marketdata.clock import desk_now
from trading.models import Account, Order
from trading.services.client_ids import client_order_id
from trading.services.desk_events import record_event
from trading.services.orders import submit_order
from trading.services.recording import sync_account

RESTING = (OrderStatus.PENDING, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
TAKER_ACTION = "open-taker"


def resting_entries(*, account: Account, symbol: str | None = None):
    """The account's post-only entry orders still on the book (or not yet acknowledged)."""
    qs = Order.objects.filter(account=account, action=OrderAction.OPEN, order_type=OrderType.LIMIT,
                              status__in=RESTING)
    return qs if symbol is None else qs.filter(symbol=symbol)


def place_post_only(*, config, symbol: str, side: int, qty: str, price: float, take_profit: Decimal | None,
                    stop_loss: Decimal, bar_time, exchange: Exchange) -> Order:
    """The maker limit at ``price`` (the touch); the market fallback at once when the exchange cancelled it
    because it would have crossed."""
    account = config.account
    inst = exchange.instrument(symbol)
    intent = OrderIntent(
        symbol=symbol, side="Buy" if side > 0 else "Sell", qty=Decimal(qty), order_type="Limit",
        price=Decimal(inst.price_str(price)), time_in_force="PostOnly", take_profit=take_profit, stop_loss=stop_loss,
        client_order_id=client_order_id(account_id=account.pk, config_id=config.pk, symbol=symbol,
                                        bar_time=bar_time, action="open"))
    order = submit_order(account=account, exchange=exchange, intent=intent, action=OrderAction.OPEN, config=config,
                         leverage=config.leverage)
    if order.status == OrderStatus.NEW:
        found = exchange.find_order(symbol, order.client_order_id)
        if found is not None and found.status in ("Cancelled", "Rejected") and not found.filled_qty:
            note = f"post-only cancelled by the exchange: {found.reject_reason or 'would cross'}"
            taker = None
            if found.reject_reason in ("", POST_ONLY_WOULD_TAKE):
                taker = _fallback(order=order, exchange=exchange, remaining=order.qty)
            _cancelled(order, note)  # after the fallback: a crash between the two finds the same fallback id
            return taker or order
    return order


def settle_entries(*, account: Account, exchange: Exchange, now=None) -> list[Order]:
    """Finish the account's resting post-only entries (see the module doc); returns the fallback orders sent."""
    now = now or desk_now()
    sent = []
    if account.kill_switch_engaged:  # as read at the tick's start (the send path re-reads it under the row lock)
        cancel_resting(account=account, exchange=exchange, reason="kill switch engaged: cancelled, no fallback")
        return sent
    for order in resting_entries(account=account).select_related("config"):
        timeout = order.config.entry_timeout_seconds if order.config_id else 60
        if order.status == OrderStatus.PENDING or now < order.created_at + timedelta(seconds=timeout):
            continue
        try:
            exchange.cancel_order(order.symbol, order_id=order.exchange_order_id)
        except ExchangeError as exc:  # filled (or gone) meanwhile: the exchange's record says which
            found = exchange.find_order(order.symbol, order.client_order_id)
            if found is None or found.status not in ("Filled", "Cancelled"):
                raise
            if found.status == "Filled":
                sync_account(account=account, exchange=exchange)
                continue
            note = f"cancel answered {exc.code}: already cancelled"
        else:
            note = f"unfilled after {timeout} s: cancelled, replaced by a market order"
        sync_account(account=account, exchange=exchange)  # a part that filled before the cancel is recorded
        order.refresh_from_db()
        if order.status == OrderStatus.FILLED:
            continue
        remaining = order.qty - order.filled_qty
        if remaining > 0:
            sent.append(_fallback(order=order, exchange=exchange, remaining=remaining))
        _cancelled(order, note)  # after the fallback: a crash between the two finds the same fallback id
    return sent


def cancel_resting(*, account: Account, exchange: Exchange, reason: str) -> int:
    """Cancel every resting post-only entry of the account, with no fallback (the kill switch: no new exposure);
    a part filled before the cancel is recorded by the caller's sync and closed with the positions. Returns how
    many were cancelled."""
    done = 0
    for order in resting_entries(account=account).exclude(exchange_order_id=""):
        try:
            exchange.cancel_order(order.symbol, order_id=order.exchange_order_id)
        except ExchangeError:
            found = exchange.find_order(order.symbol, order.client_order_id)
            if found is None or found.status not in ("Filled", "Cancelled"):
                raise
            if found.status == "Filled":
                continue
        _cancelled(order, reason)
        done += 1
    return done


def _cancelled(order: Order, note: str) -> None:
    order.record_status(OrderStatus.CANCELLED, note=note)
    order.save(update_fields=["status", "status_history"])


def _fallback(*, order: Order, exchange: Exchange, remaining: Decimal) -> Order:
    """The market order for what the post-only entry did not fill, TP/SL at the config's distances from the
    price now (the backtest takes them from its fallback fill price before slippage, the same price). Its client
    id hangs off the entry order's own creation time, whichever path sends it: never two fallbacks."""
    config = order.config
    side = 1 if order.side == "Buy" else -1
    inst = exchange.instrument(order.symbol)
    take_profit, stop_loss = order.take_profit, order.stop_loss
    price = exchange.last_price(order.symbol)
    if price is not None and config is not None:
        px = float(price)
        liq = liquidation_price(inst, side, float(remaining), px, float(config.leverage))
        tp_pct = math.nan if config.take_profit_pct is None else float(config.take_profit_pct) / 100
        tp, sl = rules.protective_prices(float(side), px, tp_pct, float(config.stop_loss_pct) / 100,
                                         inst.tick_size, liq)
        take_profit = None if math.isnan(tp) else Decimal(inst.price_str(tp))
        stop_loss = stop_loss if math.isnan(sl) else Decimal(inst.price_str(sl))
    pos_exists = order.account.positions.filter(symbol=order.symbol, status=PositionStatus.OPEN).exists()
    intent = OrderIntent(
        symbol=order.symbol, side=order.side, qty=remaining,
        take_profit=None if pos_exists else take_profit, stop_loss=None if pos_exists else stop_loss,
        client_order_id=client_order_id(account_id=order.account_id, config_id=order.config_id, symbol=order.symbol,
                                        bar_time=order.created_at, action=TAKER_ACTION))
    taker = submit_order(account=order.account, exchange=exchange, intent=intent, action=OrderAction.OPEN,
                         config=config, leverage=order.leverage)
    record_event(account_id=order.account_id, kind="entry_fallback", level="info",
                 message=f"post-only {order.side} {order.qty} {order.symbol} not filled: market order "
                         f"{taker.client_order_id} for {remaining} ({taker.status})",
                 data={"order": order.pk, "fallback": taker.pk, "symbol": order.symbol})
    sync_account(account=order.account, exchange=exchange)
    return taker
