"""Celery tasks of the desk: each one call into a service. Schedules live in django-celery-beat
(created by ``bootstrap_desk``, editable in the admin)."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from celery.signals import worker_ready

from trading.services.locks import AccountBusy
from trading.tasks_backtest import rank_sweep_task, run_backtest_task  # noqa: F401  (backtests and sweeps)

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_signal_cycle(config_id: int, end: str | None = None) -> list[str]:
    from trading.services.signal_cycle import run_signal_cycle as run

    return run(config_id=config_id, end=datetime.fromisoformat(end) if end else None).notes


@shared_task(acks_late=True)
def run_account_cycles(account_id: int, due: list[list], lock_wait: float = 0.0) -> list[str]:
    """``due``: [[config id, bar open time ISO], ...] of one account, run in config id order."""
    from trading.services.signal_cycle import run_account_cycles as run

    reports = run(account_id=account_id, due=[(int(c), datetime.fromisoformat(e)) for c, e in due],
                  lock_wait=lock_wait)
    return [note for r in reports for note in r.notes]


@shared_task
def dispatch_signal_cycles() -> int:
    from trading.services.scheduling import beat_yields_to_replay, due_cycles_by_account

    if beat_yields_to_replay():
        return 0
    by_account = due_cycles_by_account()
    for account_id, due in by_account.items():
        run_account_cycles.delay(account_id, [[c, e.isoformat()] for c, e in due])
    return sum(len(d) for d in by_account.values())


@shared_task(acks_late=True)
def monitor_account(account_id: int, lock_wait: float = 0.0) -> int:
    from trading.services.monitor import run_monitor

    try:
        return len(run_monitor(account_id=account_id, lock_wait=lock_wait))
    except AccountBusy as exc:
        log.info("monitor skipped: %s", exc)
        return 0


@shared_task
def monitor_positions() -> int:
    from trading.services.scheduling import accounts_with_open_positions, beat_yields_to_replay

    if beat_yields_to_replay():
        return 0
    ids = accounts_with_open_positions()
    for account_id in ids:
        monitor_account.delay(account_id)
    return len(ids)


@shared_task(acks_late=True)
def reconcile_account(account_id: int) -> dict:
    from trading.services.reconcile import reconcile_account as run

    r = run(account_id=account_id)
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


@worker_ready.connect
def _reconcile_at_start(sender=None, **kwargs):
    """The exchange is the truth: reconcile every trading account when a worker comes up."""
    reconcile_accounts.delay()
