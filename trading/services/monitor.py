"""The 30-second monitor: for every open position, the engine's four rebalance rules on the latest drift
(the strategy's last forecast against the current price), confidence, age and half-life; each decision
is stored with its inputs, and a reduce or close goes out as one reduce-only market order.

No price, no decision: when the exchange has no current price for a position's symbol (or the paper feed's
price is too old), nothing is decided for it; an ``alert`` event says so (the entry price is never taken as
the market price)."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from trading.choices import DecisionAction, PositionStatus
from trading.engine.rebalance import decide
from trading.events import publish_alert
from trading.exchanges.factory import exchange_for
from trading.exchanges.types import Exchange, ExchangeError
from trading.marketdata.clock import desk_now
from trading.models import Account, MonitorDecision, Position, Signal
from trading.services.broadcast import broadcast_decision, broadcast_position
from trading.services.locks import account_lock
from trading.services.positions import reduce_position
from trading.services.recording import sync_account

log = logging.getLogger(__name__)
TICK = timedelta(seconds=30)


def _tick_time(now: datetime) -> datetime:
    """``now`` floored to the 30-second tick: a retried run in the same tick makes the same order ids."""
    return datetime.fromtimestamp(math.floor(now.timestamp() / 30) * 30, tz=now.tzinfo)


def latest_drift(*, position: Position, price: float) -> tuple[float | None, float | None, Signal | None]:
    """(drift, confidence, signal) from the newest Signal of the position's config and symbol."""
    if position.config_id is None:
        return None, None, None
    sig = Signal.objects.filter(config_id=position.config_id, symbol=position.symbol).order_by("-bar_time").first()
    if sig is None:
        return None, None, None
    drift = (float(sig.forecast) - price) / price if sig.forecast is not None else sig.drift
    return (None if drift is None else float(drift)), sig.confidence, sig


def check_position(*, position: Position, exchange: Exchange, now: datetime) -> MonitorDecision | None:
    try:
        price = exchange.last_price(position.symbol)
    except ExchangeError as exc:  # e.g. a stale paper price: refused with its age
        price, why = None, exc.message
    else:
        why = "no current price"
    if price is None:
        message = f"position {position.pk} {position.symbol}: {why}; no monitor decision"
        log.warning(message)
        publish_alert(account_id=position.account_id, kind="no_price", message=message,
                      data={"position": position.pk, "symbol": position.symbol})
        return None
    price = float(price)
    drift, confidence, _ = latest_drift(position=position, price=price)
    baseline = position.drift_baseline if position.drift_baseline is not None else position.entry_drift
    age = (now - position.opened_at).total_seconds()
    decision = decide(
        side=position.side, baseline_drift=math.nan if baseline is None else baseline,
        drift=math.nan if drift is None else drift, entry_confidence=position.confidence_baseline,
        confidence=confidence, age_seconds=age, half_life_seconds=position.half_life_seconds)
    record = MonitorDecision.objects.create(
        position=position, decided_at=now, action=decision.action, reason=decision.reason, price=price,
        drift=drift, baseline_drift=baseline, confidence=confidence,
        entry_confidence=position.confidence_baseline, age_seconds=age,
        half_life_seconds=position.half_life_seconds, detail=_detail(decision, drift, baseline))
    if decision.action != DecisionAction.HOLD:
        outcome = reduce_position(position=position, fraction=decision.fraction, reason=decision.reason,
                                  at=_tick_time(now), exchange=exchange)
        record.order = outcome.order
        record.save(update_fields=["order"])
        if decision.action == DecisionAction.REDUCE:
            Position.objects.filter(pk=position.pk).update(
                drift_baseline=None if math.isnan(decision.new_baseline) else decision.new_baseline,
                confidence_baseline=None if math.isnan(decision.new_confidence_baseline)
                else decision.new_confidence_baseline)
    broadcast_decision(decision=record)
    position.refresh_from_db()
    broadcast_position(position=position, last_decision=record)
    return record


def _detail(decision, drift, baseline) -> str:
    if drift is None or baseline is None:
        return f"{decision.action}: no drift available"
    return f"{decision.action}: drift {drift * 100:+.4f} % vs baseline {baseline * 100:+.4f} %"


def run_monitor(*, account_id: int, now: datetime | None = None, exchange: Exchange | None = None,
                lock_wait: float = 2.0) -> list[MonitorDecision]:
    """One tick for every open position of the account, at ``now`` (default: the desk clock, which is the
    replay's simulated time while a replay runs). ``lock_wait``: seconds to wait for the account's lock before
    AccountBusy (the task then retries in 1-2 s; a replay waits longer)."""
    account = Account.objects.get(pk=account_id)
    now = now or desk_now()
    exchange = exchange or exchange_for(account)
    decisions = []
    with account_lock(account_id, wait=lock_wait):
        sync_account(account=account, exchange=exchange)
        for position in Position.objects.filter(account=account, status=PositionStatus.OPEN).select_related(
                "config", "account"):
            decision = check_position(position=position, exchange=exchange, now=now)
            if decision is not None:
                decisions.append(decision)
    return decisions
