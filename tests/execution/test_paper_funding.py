"""Paper charges funding at each funding time from the feed's mark and stored rate, without any order: the 30-s
monitor tick pays what fell due since the last one, exactly once per funding time, to the position held then."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.models import Fill, Position, Signal
from trading.services.monitor import run_monitor
from trading.services.positions import open_position

BAR = datetime(2024, 11, 15, 7, 0, tzinfo=UTC)
RATE, RATE2 = 0.0001, -0.0002


def with_funding(quotes, symbol, **fields):
    quotes.q[symbol].update(fields)


def tick(account, exchange, quotes):
    now = datetime.fromtimestamp(quotes.ts / 1000, tz=UTC)
    return run_monitor(account_id=account.pk, exchange=exchange, now=now, lock_wait=30)


@pytest.mark.django_db(transaction=True)
def test_funding_is_charged_once_per_funding_time_by_the_monitor_tick(desk, quotes):
    account, config, exchange = desk
    quotes.set("BTCUSDT", 96_000.0)
    assert open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=exchange, drift=0.0012,
                         confidence=0.45, half_life_seconds=86_400.0).placed
    Signal.objects.create(config=config, symbol="BTCUSDT", bar_time=BAR, signal=1, forecast=97_000.0,
                          confidence=0.45, half_life_seconds=86_400.0)  # the monitor holds: drift stays positive
    t1 = quotes.ts + 60_000
    quotes.set("BTCUSDT", 96_050.0)
    with_funding(quotes, "BTCUSDT", funding_ms=t1, funding_rate=RATE)
    tick(account, exchange, quotes)
    assert not Fill.objects.filter(account=account, exec_type="Funding").exists()  # not due yet
    quotes.set("BTCUSDT", 96_100.0, step_ms=60_000)  # now past t1; the feed still announces t1 (no new ticker field)
    with_funding(quotes, "BTCUSDT", funding_ms=t1, funding_rate=RATE)
    tick(account, exchange, quotes)
    tick(account, exchange, quotes)  # a second tick: nothing more
    [paid] = Fill.objects.filter(account=account, exec_type="Funding")
    assert paid.executed_at == datetime.fromtimestamp(t1 / 1000, tz=UTC)
    pos = Position.objects.get(account=account, status="open")
    # a long pays qty x mark x rate = 0.00651 x 96,100 x 0.0001 = 0.0625611
    assert abs(pos.funding_paid - Decimal("0.0625611")) < Decimal("0.0000001")
    # the next funding time: the feed moved on, keeping t1 as the settled pair; a negative rate pays the long
    t2 = t1 + 8 * 3_600_000
    quotes.set("BTCUSDT", 96_200.0, step_ms=8 * 3_600_000)
    with_funding(quotes, "BTCUSDT", settled_ms=t1, settled_rate=RATE, funding_ms=t2, funding_rate=RATE2)
    tick(account, exchange, quotes)
    assert Fill.objects.filter(account=account, exec_type="Funding").count() == 2
    pos.refresh_from_db()
    # 0.0625611 + 0.00651 x 96,200 x (-0.0002) = 0.0625611 - 0.1252524 = -0.0626913
    assert abs(pos.funding_paid - Decimal("-0.0626913")) < Decimal("0.0000001")
