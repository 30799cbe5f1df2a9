"""Celery tasks of the desk: each one call into a service. Schedules live in django-celery-beat
(created by ``bootstrap_desk``, editable in the admin).

All of these run on the ``trading`` queue (``CELERY_TASK_ROUTES``), which its own worker serves, so research
never delays them. Late acks everywhere: a worker killed mid-task gets its task redelivered
(``task_reject_on_worker_lost``), and order ids are deterministic so a redelivery sends nothing twice. A task
that meets a busy account (``AccountBusy``: another cycle, monitor or close holds the lock) retries in 1-2 s,
a bounded number of times, instead of failing."""

from __future__ import annotations

import logging
import random
from datetime import datetime

from celery import shared_task
from celery.signals import worker_ready

from trading.services.locks import AccountBusy
from trading.tasks_alerts import check_alerts, deliver_alert, send_daily_pnl  # noqa: F401  (alerts)
from trading.tasks_backtest import run_backtest_task  # noqa: F401  (backtests; sweeps run as research studies)
from trading.tasks_research import finish_study_task, study_step_task  # noqa: F401  (walk-forward studies)

log = logging.getLogger(__name__)


BUSY_RETRIES = 10


def _soon() -> float:
    return 1.0 + random.random()  # 1-2 s, spread so two waiting tasks do not collide again


@shared_task(bind=True, acks_late=True, max_retries=BUSY_RETRIES)
def run_signal_cycle(self, config_id: int, end: str | None = None, expires_ms: int | None = None) -> list[str]:
    """``expires_ms`` (desk clock, set by the dispatcher): after it the bar is over and the signal is recorded
    as expired instead of acted on (a late or redelivered task places nothing)."""
    from trading.services.desk_events import record_cycle_skips
    from trading.services.signal_cycle import run_signal_cycle as run

    try:
        notes = run(config_id=config_id, end=datetime.fromisoformat(end) if end else None,
                    expires_ms=expires_ms).notes
    except AccountBusy as exc:
        raise self.retry(exc=exc, countdown=_soon()) from exc
    record_cycle_skips(config_id=config_id, notes=notes)  # expired signals, missing candles: to the event log
    return notes


@shared_task(bind=True, acks_late=True, max_retries=BUSY_RETRIES)
def run_account_cycles(self, account_id: int, due: list[list], lock_wait: float = 2.0) -> list[str]:
    """``due``: [[config id, bar open time ISO, expires_ms or None], ...] of one account, run in config id order;
    a busy account is retried in 1-2 s (rerunning a cycle that already ran is safe: see the service)."""
    from trading.services.signal_cycle import run_account_cycles as run

    cycles = [(int(d[0]), datetime.fromisoformat(d[1]), d[2] if len(d) > 2 else None) for d in due]
    try:
        reports = run(account_id=account_id, due=cycles, lock_wait=lock_wait)
    except AccountBusy as exc:
        raise self.retry(exc=exc, countdown=_soon()) from exc
    return [note for r in reports for note in r.notes]


@shared_task
def dispatch_signal_cycles() -> int:
    """One task per account with due cycles (its configs in id order), each cycle carrying its expiry."""
    from trading.services.scheduling import beat_yields_to_replay, due_cycles_by_account

    if beat_yields_to_replay():
        return 0
    by_account = due_cycles_by_account()
    for account_id, due in by_account.items():
        run_account_cycles.delay(account_id, [[c.config_id, c.bar_time.isoformat(), c.expires_ms] for c in due])
    return sum(len(d) for d in by_account.values())


@shared_task(bind=True, acks_late=True, max_retries=5)
def monitor_account(self, account_id: int, lock_wait: float = 2.0) -> int:
    from trading.services.monitor import run_monitor

    try:
        return len(run_monitor(account_id=account_id, lock_wait=lock_wait))
    except AccountBusy as exc:
        if self.request.retries >= self.max_retries:
            log.warning("monitor skipped after %d tries: %s", self.request.retries + 1, exc)
            from trading.services.desk_events import record_event

            record_event(account_id=account_id, kind="monitor_skipped", level="warning",
                         message=f"monitor skipped after {self.request.retries + 1} tries: {exc}")
            return 0
        raise self.retry(exc=exc, countdown=_soon()) from exc


@shared_task
def monitor_positions() -> int:
    from trading.services.scheduling import accounts_with_open_positions, beat_yields_to_replay

    if beat_yields_to_replay():
        return 0
    ids = accounts_with_open_positions()
    for account_id in ids:
        monitor_account.delay(account_id)
    return len(ids)


@shared_task(bind=True, acks_late=True, max_retries=BUSY_RETRIES)
def reconcile_account(self, account_id: int) -> dict:
    from trading.services.reconcile import reconcile_account as run

    try:
        r = run(account_id=account_id)
    except AccountBusy as exc:
        raise self.retry(exc=exc, countdown=_soon()) from exc
    return {"adopted": r.sync.adopted, "closed": r.sync.closed, "stops_set": r.stops_set, "errors": r.errors}


@shared_task
def reconcile_accounts() -> int:
    from trading.services.scheduling import active_accounts

    ids = active_accounts()
    for account_id in ids:
        reconcile_account.delay(account_id)
    return len(ids)


@shared_task
def snapshot_equities() -> int:
    from trading.services.equity import snapshot_equity
    from trading.services.scheduling import active_accounts

    ids = active_accounts()
    for account_id in ids:
        snapshot_equity(account_id=account_id)
    return len(ids)


@shared_task(bind=True, acks_late=True, max_retries=150)
def close_positions_for_kill_switch(self, event_id: int) -> str:
    """The kill switch's durable close job: retried every 2 s until the account has nothing open (then
    reconciliation resumes any engage still ``closing``)."""
    from trading.models import KillSwitchEvent
    from trading.services.kill_switch import close_open_positions
    from trading.services.locks import lease_seconds

    try:  # waiting up to two leases gets the lock the moment a dead holder's lease runs out
        event = close_open_positions(event_id=event_id, lock_wait=2 * lease_seconds() + 1)
    except KillSwitchEvent.DoesNotExist:
        return "gone"
    except Exception as exc:  # busy account, exchange down: try again shortly
        log.warning("kill switch close %s: %s; retrying", event_id, exc)
        raise self.retry(exc=exc, countdown=2) from exc
    if event.status != KillSwitchEvent.DONE:
        raise self.retry(countdown=2)
    return event.status


@worker_ready.connect
def _reconcile_at_start(sender=None, **kwargs):
    """The exchange is the truth: reconcile every trading account when a trading worker comes up."""
    queues = {q.name for q in getattr(getattr(sender, "task_consumer", None), "queues", ()) or ()}
    if not queues or "trading" in queues:
        reconcile_accounts.delay()
