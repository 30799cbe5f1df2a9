"""The event log: one function stores and publishes; alerts and refused orders land in it; retention is
bounded by count per account and by age."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from trading.events import publish_alert
from trading.exchanges.types import OrderIntent
from trading.models import Account, DeskEvent
from trading.services.desk_events import record_event
from trading.services.orders import submit_order

pytestmark = pytest.mark.django_db(transaction=True)


@override_settings(QUANTDESK_EVENT_LOG_KEEP=3)
def test_retention_keeps_the_newest_per_account(desk):
    account = desk[0]
    for i in range(5):
        record_event(account_id=account.pk, kind="manual", level="info", message=f"m{i}")
    assert list(DeskEvent.objects.filter(account=account).values_list("message", flat=True)) == ["m4", "m3", "m2"]


def test_retention_drops_events_past_the_age_limit(desk):
    account = desk[0]
    old = record_event(account_id=account.pk, kind="manual", level="info", message="old")
    DeskEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    record_event(account_id=account.pk, kind="manual", level="info", message="new")
    assert list(DeskEvent.objects.values_list("message", flat=True)) == ["new"]


def test_level_is_checked():
    with pytest.raises(ValueError, match="level 'loud'"):
        record_event(account_id=None, kind="x", level="loud", message="m")


def test_alerts_and_refused_orders_reach_the_log(desk, quotes):
    account, config, paper = desk
    publish_alert(account_id=account.pk, kind="missed_bars", message="2 bars got no cycle", data={"bars": 2})
    ev = DeskEvent.objects.get(kind="missed_bars")
    assert ev.level == "warning" and ev.data == {"bars": 2}
    quotes.set("BTCUSDT", 96_000.0)
    Account.objects.filter(pk=account.pk).update(kill_switch_engaged=True)
    order = submit_order(account=account, exchange=paper, action="open", intent=OrderIntent(
        symbol="BTCUSDT", side="Buy", qty=Decimal("0.001"), client_order_id="qd-ev-1"))
    assert order.status == "rejected"
    ev = DeskEvent.objects.get(kind="order_refused")
    assert "kill switch engaged" in ev.message and ev.data["order"] == order.pk


def test_an_expired_signal_cycle_reaches_the_log_through_the_task(quotes, monkeypatch):
    """The task the dispatcher queues (run eagerly here) logs the skip the cycle reported."""
    from datetime import timedelta

    from tests.execution.test_control import START
    from tests.execution.test_e2e_replay import PARAMS, series, store_candles
    from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
    from trading.exchanges.paper import PaperExchange
    from trading.marketdata.clock import desk_now_ms
    from trading.tasks import run_signal_cycle

    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT")
    account = make_account(make_user(), starting_capital=Decimal("500"))
    config = make_config(account, make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("0.5"),
                         params=PARAMS, enabled=True)
    close = series()[:306]
    store_candles(close)
    quotes.set("BTCUSDT", float(close[305]))
    monkeypatch.setattr("trading.services.signal_cycle.exchange_for",
                        lambda acc: PaperExchange(acc, quote=quotes))
    bar_time = START + timedelta(minutes=5 * 305)
    notes = run_signal_cycle.apply(args=(config.pk, bar_time.isoformat(), desk_now_ms() - 3_600_000)).get()
    assert "expired" in notes[0]
    ev = DeskEvent.objects.get(account=account, kind="signal_expired")
    assert ev.level == "warning" and "nothing placed" in ev.message and ev.data == {"config": config.pk}
