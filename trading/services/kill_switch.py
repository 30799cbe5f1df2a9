"""The per-account kill switch: engaging it is one committed row that every order path honours, and a durable
close job that finishes closing whatever is open even if the process that engaged the switch dies.

Engage (one transaction): ``Account.kill_switch_engaged`` set, every config of the account disabled, a
``KillSwitchEvent`` (the audit log: who, when, why, which positions) written in state ``closing``, and the
close job queued when that commits. The caller then tries the close itself for a prompt answer
(:func:`close_open_positions`, the same function the job runs); whatever it could not finish is reported as
still closing. The job (``trading.tasks.close_positions_for_kill_switch``: late acks, retried every 2 s) and
reconciliation (:func:`resume_unfinished`, at worker start and every 5 minutes) run the same function until the
account has nothing open. Closes use client order ids derived from the event's time, so the web request, the
job and a redelivered job all ask for the same orders and none is sent twice; a close order left ``pending`` by
a process that died is looked up on the exchange and sent if it never arrived.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from strategies.models import StrategyConfig
from trading.choices import ExitReason, OrderAction, OrderStatus, PositionStatus
from trading.models import Account, KillSwitchEvent, Order, Position

log = logging.getLogger(__name__)


@dataclass
class KillSwitchResult:
    account_id: int
    engaged: bool
    configs_disabled: list[int] = field(default_factory=list)
    close_requested: list[int] = field(default_factory=list)
    close_results: dict[int, str] = field(default_factory=dict)
    still_closing: list[int] = field(default_factory=list)
    audit_id: int | None = None


def engage(*, account: Account, user, reason: str = "", lock_wait: float = 10.0) -> KillSwitchResult:
    """Engage the switch (committed before anything else happens), then try to close what is open."""
    from trading.tasks import close_positions_for_kill_switch

    with transaction.atomic():
        account = Account.objects.select_for_update(no_key=True).get(pk=account.pk)  # waits for a send in flight
        account.kill_switch_engaged = True
        account.kill_switch_engaged_at = timezone.now()
        account.save(update_fields=["kill_switch_engaged", "kill_switch_engaged_at"])
        enabled = StrategyConfig.objects.filter(account=account, enabled=True)
        disabled = sorted(enabled.values_list("id", flat=True))
        enabled.update(enabled=False)
        open_ids = sorted(Position.objects.filter(account=account, status=PositionStatus.OPEN)
                          .values_list("id", flat=True))
        event = KillSwitchEvent.objects.create(
            account=account, user=user if getattr(user, "pk", None) else None, action=KillSwitchEvent.ENGAGE,
            reason=reason[:200], configs_disabled=disabled, positions=open_ids,
            status=KillSwitchEvent.CLOSING if open_ids else KillSwitchEvent.DONE,
            finished_at=None if open_ids else timezone.now())
        if open_ids:
            transaction.on_commit(lambda: close_positions_for_kill_switch.delay(event.pk))
    log.warning("kill switch engaged on account %s by %s (%s): configs disabled %s, open positions %s",
                account.pk, getattr(user, "pk", None), reason or "no reason given", disabled, open_ids)
    _notify(event, f"kill switch engaged on {account.name}",
            f"Kill switch engaged ({reason or 'no reason given'}): configs {disabled} disabled, closing positions "
            f"{open_ids}.")
    result = KillSwitchResult(account.pk, True, disabled, open_ids, audit_id=event.pk)
    if open_ids:
        event = close_open_positions(event_id=event.pk, lock_wait=lock_wait)
        result.close_results = {int(k): v for k, v in event.outcomes.items()}
        result.still_closing = sorted(Position.objects.filter(pk__in=open_ids, status=PositionStatus.OPEN)
                                      .values_list("id", flat=True))
    return result


def release(*, account: Account, user) -> KillSwitchResult:
    """Release the switch. Configs stay disabled: each is enabled again by hand."""
    with transaction.atomic():
        Account.objects.filter(pk=account.pk).update(kill_switch_engaged=False)
        event = KillSwitchEvent.objects.create(account_id=account.pk, user=user if getattr(user, "pk", None)
                                               else None, action=KillSwitchEvent.RELEASE,
                                               finished_at=timezone.now())
    return KillSwitchResult(account.pk, False, audit_id=event.pk)


def close_open_positions(*, event_id: int, lock_wait: float = 10.0) -> KillSwitchEvent:
    """One pass of the close job: under the account lock, record what the exchange did, then one reduce-only
    market close (exit reason ``manual``) per open position; the event gets each outcome, and ``done`` once
    the account has nothing open (or the switch was released meanwhile). Raises AccountBusy when the lock
    cannot be had within ``lock_wait`` seconds (the job retries)."""
    from trading.exchanges.factory import exchange_for
    from trading.services.entries import cancel_resting
    from trading.services.locks import account_lock
    from trading.services.positions import close_position
    from trading.services.recording import sync_account

    event = KillSwitchEvent.objects.select_related("account").get(pk=event_id)
    if event.status == KillSwitchEvent.DONE:
        return event
    account = event.account
    outcomes: dict[str, str] = {}
    with account_lock(account.pk, wait=lock_wait):
        account.refresh_from_db()
        if account.kill_switch_engaged:
            exchange = exchange_for(account)
            # resting post-only entries first (no fallback: no new exposure), then what filled is closed below
            cancel_resting(account=account, exchange=exchange, reason="kill switch engaged: cancelled")
            sync_account(account=account, exchange=exchange)
            for pos in Position.objects.filter(account=account, status=PositionStatus.OPEN):
                outcomes[str(pos.pk)] = _close_one(pos, event, exchange, close_position)
        else:
            outcomes.update({str(p): "switch released before it was closed" for p in event.positions
                             if Position.objects.filter(pk=p, status=PositionStatus.OPEN).exists()})
        for pk in event.positions:
            if str(pk) not in outcomes and not Position.objects.filter(pk=pk, status=PositionStatus.OPEN).exists():
                outcomes[str(pk)] = event.outcomes.get(str(pk), "closed")
    still_open = account.kill_switch_engaged and Position.objects.filter(
        account=account, status=PositionStatus.OPEN).exists()
    with transaction.atomic():
        event = KillSwitchEvent.objects.select_for_update().get(pk=event_id)
        event.outcomes = {**event.outcomes, **outcomes}
        event.attempts += 1
        if not still_open and event.status != KillSwitchEvent.DONE:
            event.status, event.finished_at = KillSwitchEvent.DONE, timezone.now()
        event.save(update_fields=["outcomes", "attempts", "status", "finished_at"])
        finished = event.status == KillSwitchEvent.DONE and event.finished_at is not None and event.positions
    _publish(event)
    if finished:
        _notify(event, f"kill switch on {account.name}: closing finished",
                f"Kill switch #{event.pk}: {event.outcomes}", key="done")
    return event


def _close_one(pos: Position, event: KillSwitchEvent, exchange, close_position) -> str:
    # The same client order id on every pass (a pending one is looked up, never sent twice); a new one only
    # after the exchange refused the last (a refused order was never placed, so sending another is safe).
    refused = Order.objects.filter(position=pos, action=OrderAction.CLOSE, exit_reason=ExitReason.MANUAL,
                                   status=OrderStatus.REJECTED).count()
    try:
        outcome = close_position(position=pos, reason=ExitReason.MANUAL,
                                 at=event.created_at + timedelta(seconds=refused), exchange=exchange)
    except Exception as exc:  # one failure must not stop the others; the job tries again
        log.exception("kill switch %s: closing position %s failed", event.pk, pos.pk)
        return f"error: {type(exc).__name__}: {exc}"[:200]
    pos.refresh_from_db()
    if pos.status == PositionStatus.CLOSED:
        return "closed"
    if outcome.refused:
        return f"refused: {outcome.refused}"
    return f"order {outcome.order.status}" if outcome.order else "no order sent"


def resume_unfinished(*, account_id: int | None = None) -> list[int]:
    """Queue the close job for every engage whose closing never finished (a web or worker process that died);
    called by reconciliation. Returns the event ids queued."""
    from trading.tasks import close_positions_for_kill_switch

    events = KillSwitchEvent.objects.filter(action=KillSwitchEvent.ENGAGE, status=KillSwitchEvent.CLOSING)
    if account_id is not None:
        events = events.filter(account_id=account_id)
    ids = list(events.values_list("id", flat=True))
    for pk in ids:
        close_positions_for_kill_switch.delay(pk)
    return ids


def _notify(event: KillSwitchEvent, title: str, body: str, *, key: str = "engaged") -> None:
    from trading.services.alerts import Alert, notify_account

    try:
        notify_account(account_id=event.account_id, alert=Alert("kill_switch", f"{event.pk}:{key}", title, body))
    except Exception:  # noqa: BLE001  (a notification must not stop the switch)
        log.exception("kill switch %s: notification not queued", event.pk)


def _publish(event: KillSwitchEvent) -> None:
    from trading.events import publish

    publish(account_id=event.account_id, event_type="kill_switch", data={
        "account": event.account_id, "engaged": True, "audit_id": event.pk, "status": event.status,
        "configs_disabled": event.configs_disabled, "close_requested": event.positions,
        "close_results": event.outcomes})
