"""Opening, reducing and closing positions through an exchange, with the desk's risk checks and the
engine's sizing, liquidation and TP/SL rules. Each call places at most one order (``submit_order``),
then records what the exchange did (``sync_account``). A config with ``entry_order="post_only"`` opens with a
maker limit at the touch instead (entries.py: its timeout and market fallback)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trading.choices import OrderAction, OrderStatus, PositionStatus
from trading.engine import rules
from trading.engine.margin import liquidation_price
from trading.engine.sizing import SizingError, size_fixed, size_kelly
from trading.exchanges.types import Exchange, ExchangeError, OrderIntent
from trading.models import Account, Order, Position
from trading.services.broadcast import broadcast_position
from trading.services.client_ids import client_order_id
from trading.services.desk_events import record_event
from trading.services.entries import place_post_only, resting_entries
from trading.services.orders import submit_order
from trading.services.recording import sync_account


@dataclass
class Outcome:
    """What an attempt did: the order (if one was sent) or why nothing was sent."""

    order: Order | None = None
    refused: str = ""

    @property
    def placed(self) -> bool:
        return self.order is not None and self.order.status not in (OrderStatus.REJECTED, OrderStatus.PENDING)


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def open_position(*, config, symbol: str, side: int, bar_time: datetime, exchange: Exchange,
                  drift: float | None = None, confidence: float | None = None,
                  half_life_seconds: float | None = None) -> Outcome:
    """Risk checks, sizing, leverage, then one market order with exchange-side TP/SL. A refusal (nothing sent)
    is also written to the desk's event log."""
    outcome = _open_position(config=config, symbol=symbol, side=side, bar_time=bar_time, exchange=exchange,
                             drift=drift, confidence=confidence, half_life_seconds=half_life_seconds)
    if outcome.refused:
        record_event(account_id=config.account_id, kind="order_refused", level="warning",
                     message=f"open {'long' if side > 0 else 'short'} {symbol} for config {config.name!r} "
                             f"refused: {outcome.refused}",
                     data={"config": config.pk, "symbol": symbol, "side": side})
    return outcome


def _open_position(*, config, symbol: str, side: int, bar_time: datetime, exchange: Exchange,
                   drift: float | None, confidence: float | None, half_life_seconds: float | None) -> Outcome:
    account: Account = config.account
    if account.kill_switch_engaged:
        return Outcome(refused="kill switch engaged")
    held = list(Position.objects.filter(account=account, status=PositionStatus.OPEN).values_list("symbol", flat=True))
    if symbol in held:
        return Outcome(refused=f"already in a position on {symbol}")
    resting = list(resting_entries(account=account).values_list("symbol", flat=True))
    if symbol in resting:
        return Outcome(refused=f"a post-only entry on {symbol} is still resting")
    if len(held) + len(resting) >= account.max_open_positions:  # a resting entry holds its slot
        return Outcome(refused=f"max_open_positions {account.max_open_positions} reached")
    inst = exchange.instrument(symbol)
    leverage = float(config.leverage)
    if leverage > inst.max_leverage:
        return Outcome(refused=f"leverage {leverage:g} is above {symbol}'s maximum {inst.max_leverage:g}")
    try:
        price = exchange.last_price(symbol)
    except ExchangeError as exc:  # a price too old to trade on: refused, with its age
        return Outcome(refused=exc.message)
    if price is None:
        return Outcome(refused=f"no price for {symbol} yet")
    post_only = config.entry_order == "post_only"
    if post_only:  # the maker limit rests at the touch: sized, protected and checked at that price
        price = exchange.touch_price(symbol, side) or price
    price = float(price)
    try:
        if config.sizing_mode == "kelly":
            sized = size_kelly(balance=float(exchange.wallet().balance), kelly_fraction=float(config.kelly_fraction),
                               leverage=leverage, price=price, instrument=inst)
        else:
            sized = size_fixed(initial_capital=float(account.starting_capital), allocation=float(config.allocation),
                               leverage=leverage, price=price, instrument=inst)
    except SizingError as exc:
        return Outcome(refused=str(exc))
    if not sized.ok:
        return Outcome(refused=sized.reason)
    liq = liquidation_price(inst, side, sized.qty, price, leverage)
    tp_pct = math.nan if config.take_profit_pct is None else float(config.take_profit_pct) / 100
    tp, sl = rules.protective_prices(float(side), price, tp_pct, float(config.stop_loss_pct) / 100,
                                     inst.tick_size, liq)
    if math.isnan(sl):
        return Outcome(refused=f"stop-loss {config.stop_loss_pct} % would not sit before liquidation {liq:.2f}")
    exchange.set_leverage(symbol, Decimal(str(config.leverage)))
    if post_only:
        order = place_post_only(config=config, symbol=symbol, side=side, qty=inst.qty_str(sized.qty), price=price,
                                take_profit=None if math.isnan(tp) else Decimal(inst.price_str(tp)),
                                stop_loss=Decimal(inst.price_str(sl)), bar_time=bar_time, exchange=exchange)
        sync_account(account=account, exchange=exchange)
        return Outcome(order=order)  # filled now or later: sync's claim gives the position its config
    intent = OrderIntent(
        symbol=symbol, side="Buy" if side > 0 else "Sell", qty=Decimal(inst.qty_str(sized.qty)),
        client_order_id=client_order_id(account_id=account.pk, config_id=config.pk, symbol=symbol,
                                        bar_time=bar_time, action="open"),
        take_profit=None if math.isnan(tp) else Decimal(inst.price_str(tp)),
        stop_loss=Decimal(inst.price_str(sl)))
    order = submit_order(account=account, exchange=exchange, intent=intent, action=OrderAction.OPEN,
                         config=config, leverage=config.leverage)
    sync_account(account=account, exchange=exchange)
    pos = Position.objects.filter(account=account, symbol=symbol, status=PositionStatus.OPEN).first()
    if pos is not None and pos.config_id in (None, config.pk):
        pos.config = config
        pos.entry_drift = pos.drift_baseline = drift
        pos.entry_confidence = pos.confidence_baseline = confidence
        pos.half_life_seconds = half_life_seconds
        pos.save(update_fields=["config", "entry_drift", "drift_baseline", "entry_confidence",
                                "confidence_baseline", "half_life_seconds"])
        Order.objects.filter(pk=order.pk).update(position=pos)
        broadcast_position(position=pos)  # now with its config and baselines (half-life for the desk)
    return Outcome(order=order)


def reduce_position(*, position: Position, fraction: float, reason: str, at: datetime, exchange: Exchange,
                    action: str = OrderAction.REDUCE) -> Outcome:
    """A reduce-only market order for ``fraction`` of the position (all of it when the rest would be
    below the minimum quantity), labelled with ``reason``."""
    inst = exchange.instrument(position.symbol)
    qty = float(position.qty) if fraction >= 1 else float(
        rules.reduce_qty(float(position.qty), fraction, inst.qty_step, inst.min_qty))
    intent = OrderIntent(
        symbol=position.symbol, side="Sell" if position.side == "long" else "Buy", qty=Decimal(inst.qty_str(qty)),
        reduce_only=True, exit_reason=reason,
        client_order_id=client_order_id(account_id=position.account_id, config_id=position.config_id,
                                        symbol=position.symbol, bar_time=at, action=f"{action}-{reason}"))
    order = submit_order(account=position.account, exchange=exchange, intent=intent, config=position.config,
                         position=position, action=OrderAction.CLOSE if qty >= float(position.qty) else action)
    sync_account(account=position.account, exchange=exchange)
    return Outcome(order=order)


def close_position(*, position: Position, reason: str, at: datetime, exchange: Exchange) -> Outcome:
    return reduce_position(position=position, fraction=1.0, reason=reason, at=at, exchange=exchange,
                           action=OrderAction.CLOSE)
