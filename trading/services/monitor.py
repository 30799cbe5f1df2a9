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

from django.db.models import OuterRef, Subquery

from trading.choices import DecisionAction, PositionStatus
from trading.engine.rebalance import decide
from trading.exchanges.factory import exchange_for
from trading.exchanges.types import Exchange, ExchangeError
from trading.marketdata.clock import desk_now
from trading.models import Account, MonitorDecision, Position, Signal
from trading.services.broadcast import broadcast_tick
from trading.services.desk_alerts import alert_account
from trading.services.entries import settle_entries
from trading.services.locks import account_lock
from trading.services.positions import reduce_position
from trading.services.recording import sync_account
from trading.services.run_records import measured_run

log = logging.getLogger(__name__)
TICK = timedelta(seconds=30)


def _tick_time(now: datetime) -> datetime:
    """``now`` floored to the 30-second tick: a retried run in the same tick makes the same order ids."""
    return datetime.fromtimestamp(math.floor(now.timestamp() / 30) * 30, tz=now.tzinfo)


def latest_drift(*, position: Position, price: float, signal: Signal | None = None, fetch: bool = True
                 ) -> tuple[float | None, float | None, Signal | None]:
    """(drift, confidence, signal) from the newest Signal of the position's config and symbol (``signal`` when
    the caller read it already; with ``fetch=False`` a missing one is not looked up)."""
    if position.config_id is None:
        return None, None, None
    if signal is None and fetch:
        signal = (Signal.objects.filter(config_id=position.config_id, symbol=position.symbol)
                  .order_by("-bar_time").first())
    if signal is None:
        return None, None, None
    drift = (float(signal.forecast) - price) / price if signal.forecast is not None else signal.drift
    return (None if drift is None else float(drift)), signal.confidence, signal


def _price(*, position: Position, exchange: Exchange) -> float | None:
    """The exchange's current price, or None with a ``no_price`` alert (never the entry price)."""
    try:
        price = exchange.last_price(position.symbol)
    except ExchangeError as exc:  # e.g. a stale paper price: refused with its age
        price, why = None, exc.message
    else:
        why = "no current price"
    if price is None:
        message = f"position {position.pk} {position.symbol}: {why}; no monitor decision"
        log.warning(message)
        alert_account(account_id=position.account_id, kind="no_price", key=str(position.pk),
                      title=f"{position.symbol}: no price, no monitor decision", message=message,
                      data={"position": position.pk, "symbol": position.symbol})
        return None
    return float(price)


def _decide(*, position: Position, price: float, signal: Signal | None, now: datetime):
    drift, confidence, _ = latest_drift(position=position, price=price, signal=signal, fetch=False)
    baseline = position.drift_baseline if position.drift_baseline is not None else position.entry_drift
    age = (now - position.opened_at).total_seconds()
    decision = decide(
        side=position.side, baseline_drift=math.nan if baseline is None else baseline,
        drift=math.nan if drift is None else drift, entry_confidence=position.confidence_baseline,
        confidence=confidence, age_seconds=age, half_life_seconds=position.half_life_seconds)
    record = MonitorDecision(
        position=position, decided_at=now, action=decision.action, reason=decision.reason, price=price,
        drift=drift, baseline_drift=baseline, confidence=confidence,
        entry_confidence=position.confidence_baseline, age_seconds=age,
        half_life_seconds=position.half_life_seconds, detail=_detail(decision, drift, baseline))
    return decision, record


def _act(*, position: Position, decision, record: MonitorDecision, exchange: Exchange, now: datetime) -> None:
    """Send a reduce/close decided on (the record is saved already) and keep the new baselines."""
    outcome = reduce_position(position=position, fraction=decision.fraction, reason=decision.reason,
                              at=_tick_time(now), exchange=exchange)
    record.order = outcome.order
    if decision.action == DecisionAction.REDUCE:
        Position.objects.filter(pk=position.pk).update(
            drift_baseline=None if math.isnan(decision.new_baseline) else decision.new_baseline,
            confidence_baseline=None if math.isnan(decision.new_confidence_baseline)
            else decision.new_confidence_baseline)
    position.refresh_from_db()


def check_positions(*, positions: list[Position], exchange: Exchange, now: datetime) -> list[MonitorDecision]:
    """One tick over ``positions`` (each annotated with ``latest_signal_id``, or looked up here): their signals in
    one query, one price per symbol, every decision stored in one ``bulk_create``; only a reduce or close costs
    more (its order and the position it changes)."""
    ids = {getattr(p, "latest_signal_id", None) for p in positions} - {None}
    signals = Signal.objects.in_bulk(list(ids)) if ids else {}
    prices: dict[str, float | None] = {}
    todo = []
    for position in positions:
        if position.symbol not in prices:
            prices[position.symbol] = _price(position=position, exchange=exchange)
        price = prices[position.symbol]
        if price is None:
            continue
        if hasattr(position, "latest_signal_id"):
            signal = signals.get(position.latest_signal_id)
        else:
            signal = latest_drift(position=position, price=price)[2]
        todo.append((position, *_decide(position=position, price=price, signal=signal, now=now)))
    records = MonitorDecision.objects.bulk_create([record for _, _, record in todo])
    acted = []
    for (position, decision, _), record in zip(todo, records, strict=True):
        if decision.action != DecisionAction.HOLD:
            _act(position=position, decision=decision, record=record, exchange=exchange, now=now)
            acted.append(record)
    if acted:
        MonitorDecision.objects.bulk_update(acted, ["order"])
    broadcast_tick(items=[(position, record) for (position, _, _), record in zip(todo, records, strict=True)])
    return records


def check_position(*, position: Position, exchange: Exchange, now: datetime) -> MonitorDecision | None:
    """One position's check (``check_positions`` of one)."""
    records = check_positions(positions=[position], exchange=exchange, now=now)
    return records[0] if records else None


def _detail(decision, drift, baseline) -> str:
    if drift is None or baseline is None:
        return f"{decision.action}: no drift available"
    return f"{decision.action}: drift {drift * 100:+.4f} % vs baseline {baseline * 100:+.4f} %"


def open_positions_with_signal(*, account: Account) -> list[Position]:
    """The account's open positions in one query, each with ``latest_signal_id``: its config's newest Signal for
    its symbol (a correlated subquery on the signal's (config, symbol, bar_time) index)."""
    newest = (Signal.objects.filter(config_id=OuterRef("config_id"), symbol=OuterRef("symbol"))
              .order_by("-bar_time").values("pk")[:1])
    return list(Position.objects.filter(account=account, status=PositionStatus.OPEN)
                .select_related("config", "account").annotate(latest_signal_id=Subquery(newest)).order_by("pk"))


def run_monitor(*, account_id: int, now: datetime | None = None, exchange: Exchange | None = None,
                lock_wait: float = 2.0) -> list[MonitorDecision]:
    """One tick for every open position of the account, at ``now`` (default: the desk clock, which is the
    replay's simulated time while a replay runs). ``lock_wait``: seconds to wait for the account's lock before
    AccountBusy (the task then retries in 1-2 s; a replay waits longer). A constant number of queries whatever
    the number of positions held (sync once, positions with their signals in one query, decisions in one
    insert); its duration and queries are stored as a RunRecord, with an ``overrun`` alert past 30 s."""
    account = Account.objects.get(pk=account_id)
    now = now or desk_now()
    exchange = exchange or exchange_for(account)
    cadence_ms = int(TICK.total_seconds() * 1000)
    with (measured_run(kind="monitor", account_id=account_id, cadence_ms=cadence_ms) as meter,
          account_lock(account_id, wait=lock_wait)):
        sync_account(account=account, exchange=exchange)
        positions = open_positions_with_signal(account=account)
        meter.positions = len(positions)
        decisions = check_positions(positions=positions, exchange=exchange, now=now)
        # after the decisions, as the backtest kernel orders a sub-bar's close: resting post-only entries past
        # their timeout fall back to market. (Paper's funding due before now was paid by sync's first request.)
        settle_entries(account=account, exchange=exchange, now=now)
    return decisions
