"""Query budgets: a monitor tick reads each account's positions, latest signals and prices in a constant number
of queries and writes its decisions in bulk, so 20 held positions cost what 5 do."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.models import MonitorDecision
from trading.services.monitor import run_monitor

MONITOR_BUDGET = 21  # queries for one tick of one account, whatever its number of held positions (20 before the
# tick looked for resting post-only entries past their timeout: one query)


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


CYCLE_BUDGET = 60  # one signal cycle of a one-symbol config that opens a position, whatever the account holds:
# 81 measured with the event log and the equity snapshot after every change, 59 since the paper state is read
# once per cycle (PaperExchange.held)


def _cycle_queries(holding, n: int, username: str, guard=None) -> tuple[int, list[str]]:
    from tests.desk_fixtures import seed_candles
    from tests.factories import make_config, make_instrument, make_strategy
    from trading.models import Candle, Instrument
    from trading.services.signal_cycle import run_signal_cycle

    if not Instrument.objects.filter(symbol="BTCUSDT").exists():
        make_instrument("BTCUSDT")
        seed_candles(1500)
    account, _, exchange, _ = holding(n, username=username)
    last = Candle.objects.filter(symbol="BTCUSDT").order_by("-open_time").first()
    exchange.quote.q["BTCUSDT"] = {"last": float(last.close), "mark": float(last.close), "bid": float(last.close),
                                   "ask": float(last.close), "ts": exchange.quote.ts}
    config = make_config(account, make_strategy("chandelier"), name="chandelier", enabled=True)
    with guard or CaptureQueriesContext(connection) as ctx:
        report = run_signal_cycle(config_id=config.pk, end=last.open_time, exchange=exchange)
    assert len(report.signals) == 1, report.notes
    return len(ctx.captured_queries), report.notes


@pytest.mark.django_db(transaction=True)
def test_signal_cycle_with_20_positions_within_budget(holding, django_assert_max_num_queries):
    _, notes = _cycle_queries(holding, 20, "twenty", guard=django_assert_max_num_queries(CYCLE_BUDGET))
    assert notes == ["BTCUSDT: open short: new"]


@pytest.mark.django_db(transaction=True)
def test_signal_cycle_queries_do_not_grow_with_positions(holding):
    (five, notes5), (twenty, notes20) = _cycle_queries(holding, 5, "five"), _cycle_queries(holding, 20, "twenty")
    assert notes5 == notes20  # the same bar, the same decision
    assert twenty == five <= CYCLE_BUDGET, f"5 positions: {five} queries, 20 positions: {twenty}"
    print(f"signal cycle queries: {five} (5 positions held), {twenty} (20 positions held); {notes5}")


@pytest.mark.django_db(transaction=True)
def test_each_tick_is_recorded_with_its_queries(holding):
    from trading.models import RunRecord
    from trading.services.run_records import measured_run

    account, _, exchange, now = holding(3)
    run_monitor(account_id=account.pk, exchange=exchange, now=now)
    record = RunRecord.objects.get(account=account, kind="monitor")
    assert record.positions == 3 and 0 < record.queries <= MONITOR_BUDGET and record.duration_ms > 0
    assert record.cadence_ms == 30_000 and not record.overran
    with measured_run(kind="monitor", account_id=account.pk, cadence_ms=0) as meter:  # any work overruns 0 ms
        list(RunRecord.objects.all())
    late = RunRecord.objects.filter(account=account).order_by("-pk").first()
    assert late.overran and late.queries == meter.queries == 1


@pytest.mark.django_db
def test_old_run_records_are_pruned(holding, monkeypatch):
    from datetime import timedelta

    from trading.models import RunRecord
    from trading.services import run_records

    account = holding(1)[0]
    old = RunRecord.objects.create(kind="monitor", account=account, duration_ms=1, queries=1, cadence_ms=30_000)
    RunRecord.objects.filter(pk=old.pk).update(started_at=old.started_at - timedelta(days=8))
    recent = RunRecord.objects.create(kind="monitor", account=account, duration_ms=1, queries=1, cadence_ms=30_000)
    monkeypatch.setattr(run_records, "PRUNE_EVERY", 1)  # every record prunes
    with run_records.measured_run(kind="monitor", account_id=account.pk, cadence_ms=30_000):
        pass
    assert set(RunRecord.objects.filter(account=account).values_list("pk", flat=True)) == {recent.pk, recent.pk + 1}
