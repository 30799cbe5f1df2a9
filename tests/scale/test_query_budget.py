"""Query budgets: a monitor tick reads each account's positions, latest signals and prices in a constant number
of queries and writes its decisions in bulk, so 20 held positions cost what 5 do."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.models import MonitorDecision
from trading.services.monitor import run_monitor

MONITOR_BUDGET = 20  # queries for one tick of one account, whatever its number of held positions


def _tick_queries(holding, n: int, username: str) -> int:
    account, _, exchange, now = holding(n, username=username)
    with CaptureQueriesContext(connection) as ctx:
        decisions = run_monitor(account_id=account.pk, exchange=exchange, now=now)
    assert len(decisions) == n and {d.action for d in decisions} == {"hold"}
    assert MonitorDecision.objects.filter(position__account=account).count() == n
    return len(ctx.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_monitor_tick_over_20_positions_within_budget(holding, django_assert_max_num_queries):
    account, _, exchange, now = holding(20)
    with django_assert_max_num_queries(MONITOR_BUDGET):
        decisions = run_monitor(account_id=account.pk, exchange=exchange, now=now)
    assert [d.action for d in decisions] == ["hold"] * 20


@pytest.mark.django_db(transaction=True)
def test_monitor_tick_queries_do_not_grow_with_positions(holding):
    five, twenty = _tick_queries(holding, 5, "five"), _tick_queries(holding, 20, "twenty")
    assert twenty == five <= MONITOR_BUDGET, f"5 positions: {five} queries, 20 positions: {twenty}"
    print(f"monitor tick queries: {five} (5 positions), {twenty} (20 positions)")
