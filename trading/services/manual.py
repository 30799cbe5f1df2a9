"""Manual control: what a trader does by hand to a position or an account, through the SAME services as the
strategies (``positions.open_position`` / ``reduce_position`` / ``close_position`` -> ``orders.submit_order``:
deterministic client order ids, the kill switch re-read under the Account row lock, the account lock held).

- :func:`close_by_hand` closes a position, or reduces it by ``fraction`` (exit reason ``manual``);
- :func:`move_protection` moves its stop-loss / take-profit on the exchange, after checking them against the
  liquidation price with the engine's rule (``rules.sl_before_liq``) and against the current price;
- :func:`open_by_hand` opens a position with a config's sizing and every risk check a signal passes.

Each call writes one :class:`~trading.models.ManualAction` (the audit log: who, what, outcome) and one
``manual`` event in the desk's event log. Client order ids are derived from the action's time to the second,
so a double click within the same second sends one order. Bad input raises ``ValidationError`` naming the field
and the limit; a refusal (kill switch, the exchange, the risk checks) comes back as ``ManualResult.refused``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from trading.choices import ExitReason, OrderAction, PositionStatus
from trading.engine import rules
from trading.exchanges.factory import exchange_for
from trading.exchanges.types import Exchange, ExchangeError
from trading.models import Account, ManualAction, Order, Position
from trading.services.desk_events import record_event
from trading.services.locks import account_lock
from trading.services.positions import Outcome, close_position, open_position, reduce_position
from trading.services.recording import sync_account

LOCK_WAIT = 5.0  # seconds a click waits for a cycle or the monitor to let go of the account


@dataclass
class ManualResult:
    action_id: int
    ok: bool
    message: str
    order: Order | None = None
    position: Position | None = None

    @property
    def refused(self) -> bool:
        return not self.ok


def close_by_hand(*, position: Position, user, fraction: float = 1.0,
                  exchange: Exchange | None = None) -> ManualResult:
    """Close the position (``fraction`` 1) or reduce it by ``fraction`` in (0, 1): one reduce-only market
    order with exit reason ``manual``."""
    if not isinstance(fraction, (int, float)) or math.isnan(fraction) or not 0 < fraction <= 1:
        raise ValidationError({"fraction": f"fraction must be in (0, 1] (1 closes the position); got {fraction!r}"})
    kind = ManualAction.CLOSE if fraction >= 1 else ManualAction.REDUCE
    record = ManualAction.objects.create(account_id=position.account_id, user=_user(user), action=kind,
                                         position=position, params={"fraction": fraction})
    account = position.account
    with account_lock(account.pk, wait=LOCK_WAIT):
        exchange = exchange or exchange_for(account)
        sync_account(account=account, exchange=exchange)
        position.refresh_from_db()
        if position.status != PositionStatus.OPEN:
            return _finish(record, ok=False, message=f"position {position.pk} is already closed")
        if fraction >= 1:
            outcome = close_position(position=position, reason=ExitReason.MANUAL, at=record.created_at,
                                     exchange=exchange)
        else:
            outcome = reduce_position(position=position, fraction=fraction, reason=ExitReason.MANUAL,
                                      at=record.created_at, exchange=exchange, action=OrderAction.REDUCE)
    position.refresh_from_db()
    verb = "close" if fraction >= 1 else f"reduce by {fraction:.0%}"
    return _from_outcome(record, outcome, position,
                         f"{verb} {position.side} {position.symbol} (position {position.pk})")


def move_protection(*, position: Position, user, stop_loss: Decimal | None = None,
                    take_profit: Decimal | None = None, exchange: Exchange | None = None) -> ManualResult:
    """Set the position's stop-loss and/or take-profit on the exchange (None keeps a leg). The stop must sit
    strictly before the liquidation price (``rules.sl_before_liq``) and on the losing side of the current
    price; the take-profit on the winning side; both on the instrument's tick."""
    if stop_loss is None and take_profit is None:
        raise ValidationError({"stop_loss": "give stop_loss and/or take_profit"})
    account = position.account
    exchange = exchange or exchange_for(account)
    _validate_protection(position=position, exchange=exchange, stop_loss=stop_loss, take_profit=take_profit)
    record = ManualAction.objects.create(
        account_id=account.pk, user=_user(user), action=ManualAction.PROTECT, position=position,
        params={"stop_loss": None if stop_loss is None else str(stop_loss),
                "take_profit": None if take_profit is None else str(take_profit)})
    with account_lock(account.pk, wait=LOCK_WAIT):
        try:
            exchange.set_trading_stop(position.symbol, take_profit=take_profit, stop_loss=stop_loss)
        except ExchangeError as exc:
            return _finish(record, ok=False, message=f"the exchange refused the new TP/SL: {exc.code}: {exc.message}")
        sync_account(account=account, exchange=exchange)
    position.refresh_from_db()
    return _finish(record, ok=True, position=position,
                   message=f"{position.symbol} {position.side} (position {position.pk}): stop-loss "
                           f"{position.stop_loss}, take-profit {position.take_profit}")


def _validate_protection(*, position: Position, exchange: Exchange, stop_loss: Decimal | None,
                         take_profit: Decimal | None) -> None:
    if position.status != PositionStatus.OPEN:
        raise ValidationError({"position": f"position {position.pk} is not open"})
    inst = exchange.instrument(position.symbol)
    side = 1.0 if position.side == "long" else -1.0
    try:
        price = exchange.last_price(position.symbol)
    except ExchangeError:
        price = None
    errors: dict[str, str] = {}
    if stop_loss is not None:
        sl = float(stop_loss)
        liq = None if position.liquidation_price is None else float(position.liquidation_price)
        if sl <= 0:
            errors["stop_loss"] = f"stop_loss must be a positive price; got {stop_loss}"
        elif not inst.price_on_tick(sl):
            errors["stop_loss"] = f"stop_loss {stop_loss} is not on {position.symbol}'s tick {inst.price_str(inst.tick_size)}"
        elif liq is not None and not rules.sl_before_liq(side, sl, liq):
            errors["stop_loss"] = (f"stop_loss {stop_loss} must be {'above' if side > 0 else 'below'} the liquidation "
                                   f"price {position.liquidation_price} of this {position.side}")
        elif price is not None and side * (float(price) - sl) <= 0:
            errors["stop_loss"] = (f"stop_loss {stop_loss} must be {'below' if side > 0 else 'above'} the current "
                                   f"price {price} of this {position.side} (it would trigger at once)")
    if take_profit is not None and take_profit != 0:
        tp = float(take_profit)
        if tp < 0:
            errors["take_profit"] = f"take_profit must be a positive price (0 removes it); got {take_profit}"
        elif not inst.price_on_tick(tp):
            errors["take_profit"] = (f"take_profit {take_profit} is not on {position.symbol}'s tick "
                                     f"{inst.price_str(inst.tick_size)}")
        elif price is not None and side * (tp - float(price)) <= 0:
            errors["take_profit"] = (f"take_profit {take_profit} must be {'above' if side > 0 else 'below'} the "
                                     f"current price {price} of this {position.side}")
    if errors:
        raise ValidationError(errors)


def open_by_hand(*, config, user, symbol: str, side: int, exchange: Exchange | None = None) -> ManualResult:
    """Open a position on ``symbol`` with ``config``'s leverage, sizing, TP/SL and every risk check a signal
    passes (kill switch, max open positions, one position per symbol, leverage, stop before liquidation)."""
    if side not in (1, -1):
        raise ValidationError({"side": f"side must be long (1) or short (-1); got {side!r}"})
    account: Account = config.account
    record = ManualAction.objects.create(account_id=account.pk, user=_user(user), action=ManualAction.OPEN,
                                         params={"config": config.pk, "symbol": symbol, "side": side})
    if account.kill_switch_engaged:  # checked again under the Account row lock when the order is sent
        return _finish(record, ok=False, message=f"kill switch engaged on account {account.pk}: nothing opened")
    with account_lock(account.pk, wait=LOCK_WAIT):
        exchange = exchange or exchange_for(account)
        sync_account(account=account, exchange=exchange)
        outcome = open_position(config=config, symbol=symbol, side=side, bar_time=record.created_at,
                                exchange=exchange)
    position = (Position.objects.filter(account=account, symbol=symbol, status=PositionStatus.OPEN).first()
                if outcome.placed else None)
    return _from_outcome(record, outcome, position,
                         f"open {'long' if side > 0 else 'short'} {symbol} with config {config.name!r}")


def _from_outcome(record: ManualAction, outcome: Outcome, position: Position | None, what: str) -> ManualResult:
    if outcome.refused:
        return _finish(record, ok=False, message=f"{what}: refused, {outcome.refused}", position=position)
    order = outcome.order
    if order is None or not outcome.placed:
        reason = order.reject_reason if order is not None else "no order sent"
        return _finish(record, ok=False, message=f"{what}: refused, {reason}", order=order, position=position)
    return _finish(record, ok=True, message=f"{what}: order {order.status}", order=order, position=position)


def _finish(record: ManualAction, *, ok: bool, message: str, order: Order | None = None,
            position: Position | None = None) -> ManualResult:
    record.ok, record.outcome, record.order = ok, message[:300], order
    record.save(update_fields=["ok", "outcome", "order"])
    record_event(account_id=record.account_id, kind="manual", level="info" if ok else "warning",
                 message=f"by hand: {message}",
                 data={"action": record.action, "manual_action": record.pk,
                       "position": record.position_id, "order": None if order is None else order.pk})
    return ManualResult(action_id=record.pk, ok=ok, message=message, order=order, position=position)


def _user(user):
    return user if getattr(user, "pk", None) else None
