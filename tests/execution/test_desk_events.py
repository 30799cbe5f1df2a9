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
