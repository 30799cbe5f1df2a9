"""Measure one monitor tick or signal cycle: wall time and SQL queries (counted on the default connection by an
execute wrapper, so it works without DEBUG), stored as a ``RunRecord``; a run longer than its cadence also
raises an ``overrun`` alert (socket event and the owner's alert channels, ``desk_alerts.alert_account``).

Records older than ``KEEP`` are deleted as new ones come (every ``PRUNE_EVERY``-th record prunes its account), so
a desk of 1,000 accounts ticking every 30 s keeps a bounded table."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection

log = logging.getLogger(__name__)
KEEP = timedelta(days=7)
PRUNE_EVERY = 500


@dataclass
class RunMeter:
    queries: int = 0
    positions: int = 0
    duration_ms: float = 0.0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


@contextmanager
def measured_run(*, kind: str, account_id: int, cadence_ms: int, config_id: int | None = None
                 ) -> Iterator[RunMeter]:
    """Count the block's queries and time; afterwards store the RunRecord and alert on an overrun. The record's
    own insert is not counted. A block that raises stores nothing."""
    from trading.models import RunRecord
    from trading.services.desk_alerts import alert_account

    meter = RunMeter()
    start = time.perf_counter()
    with connection.execute_wrapper(meter):
        yield meter
    meter.duration_ms = (time.perf_counter() - start) * 1000.0
    overran = meter.duration_ms > cadence_ms
    record = RunRecord.objects.create(kind=kind, account_id=account_id, config_id=config_id,
                                      duration_ms=meter.duration_ms, queries=meter.queries, positions=meter.positions,
                                      cadence_ms=cadence_ms, overran=overran)
    if record.pk % PRUNE_EVERY == 0:
        RunRecord.objects.filter(account_id=account_id, started_at__lt=record.started_at - KEEP).delete()
    if overran:
        message = (f"{kind} of account {account_id} took {meter.duration_ms / 1000:.1f} s, longer than its "
                   f"{cadence_ms / 1000:g} s cadence ({meter.queries} queries, {meter.positions} positions)")
        log.warning(message)
        alert_account(account_id=account_id, kind="overrun", key=str(record.pk),
                      title=f"{kind} overran its {cadence_ms / 1000:g} s cadence", message=message,
                      data={"run": kind, "duration_ms": round(meter.duration_ms, 1), "queries": meter.queries,
                            "cadence_ms": cadence_ms})
