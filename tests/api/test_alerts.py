"""Alerts through Apprise to a local webhook receiver (Apprise's json:// posts {"title", "message", ...}): a fill
alert and a near-liquidation alert arrive once each, through a real Celery worker; channels are the user's own,
their URL write-only and encrypted; bad channel input is refused naming the field; the test button works."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from django.conf import settings
from django.db import transaction

from tests.desk_fixtures import celery_worker
from tests.factories import make_account, make_instrument, make_user
from trading.exchanges.types import ExchangeFill
from trading.models import AlertChannel, Fill, Position
from trading.services.alerts import check_near_liquidation
from trading.services.recording import _record_fill

DEADLINE = 60.0


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int) -> list[dict]:
        end = time.monotonic() + DEADLINE
        while len(self.received) < n and time.monotonic() < end:
            time.sleep(0.05)
        assert len(self.received) >= n, f"{len(self.received)} of {n} messages arrived: {self.received}"
        return self.received

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def create_channel(api, url, **extra):
    body = {"name": "hook", "url": url, "kinds": ["fill", "near_liquidation"], "near_liquidation_pct": "2"}
    return api.post("/api/alert-channels/", {**body, **extra})


def create_bad(api, url, bad: dict):
    return create_channel(api, **{"url": url, **bad})


@pytest.mark.django_db
def test_channel_url_is_write_only_encrypted_and_bad_input_names_the_field(api, receiver):
    alice = make_user("alice")
    api.login(alice)
    resp = create_channel(api, receiver.url)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert "url" not in body and body["url_hint"].startswith("json://****")
    stored = AlertChannel.objects.get(pk=body["id"])
    assert receiver.url not in stored.url_encrypted and stored.url() == receiver.url
    assert receiver.url not in repr(stored)
    for bad, field, words in ((dict(url="nosuchscheme://x"), "url", "not an Apprise URL"),
                              (dict(kinds=["fill", "moon"]), "kinds", "moon"),
                              (dict(near_liquidation_pct="0"), "near_liquidation_pct", "outside 0.1..50")):
        resp = create_bad(api, receiver.url, bad)
        assert resp.status_code == 400 and words in json.dumps(resp.json()[field]), resp.content
    assert AlertChannel.objects.count() == 1  # nothing half-written
    api.login(make_user("bob"))
    assert api.get(f"/api/alert-channels/{body['id']}/").status_code == 404


@pytest.mark.django_db
def test_the_test_button_reaches_the_channel_or_reports_the_failure(api, receiver):
    api.login(make_user("alice"))
    good = create_channel(api, receiver.url).json()
    resp = api.post(f"/api/alert-channels/{good['id']}/test/")
    assert resp.status_code == 200 and resp.json()["delivered"] is True
    assert receiver.wait_for(1)[0]["title"] == "QuantDesk test message"
    dead = create_channel(api, "json://127.0.0.1:9/nobody-listens").json()  # discard port: refused
    resp = api.post(f"/api/alert-channels/{dead['id']}/test/")
    assert resp.status_code == 502 and resp.json()["delivered"] is False and resp.json()["last_error"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_fill_alert_and_a_near_liquidation_alert_arrive_once_each(api, receiver):
    make_instrument("BTCUSDT")
    alice = make_user("alice")
    account = make_account(alice)
    api.login(alice)
    assert create_channel(api, receiver.url).status_code == 201
    # a 50x long from 96,000: liquidation 96,000 - (IM - MM)/qty = 96,000 * (1 - 1/50 + 0.005) = 94,560
    pos = Position.objects.create(account=account, symbol="BTCUSDT", side="long", qty=Decimal("0.01"),
                                  entry_price=Decimal("96000"), leverage=Decimal("50"), margin=Decimal("19.2"),
                                  liquidation_price=Decimal("94560"), stop_loss=Decimal("94800"))
    fill = ExchangeFill(exec_id="e-1", order_id="o-1", symbol="BTCUSDT", side="Buy", qty=Decimal("0.01"),
                        price=Decimal("96000"), fee=Decimal("0.576"), fee_rate=Decimal("0.0006"), is_maker=False,
                        realised_pnl=Decimal("0"), exec_type="Trade", exit_reason="",
                        executed_at=datetime(2025, 10, 10, 21, 0, tzinfo=UTC))
    prices = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    with celery_worker():
        with transaction.atomic():
            recorded = _record_fill(account, fill)
        # the same fill seen again (a re-read of the exchange's history) alerts no one twice
        from trading.services.alerts import on_fill

        with transaction.atomic():
            on_fill(fill=recorded)
        # mark 96,400 is (96,400 - 94,560) / 96,400 = 1.91 % from liquidation: inside the 2 % threshold
        prices.hset("qd:price:BTCUSDT", mapping={"last": "96400", "mark": "96400", "ts": "1"})
        assert check_near_liquidation() == 1
        assert check_near_liquidation() == 0  # the same crossing: once
        messages = receiver.wait_for(2)
        time.sleep(1.0)  # nothing else may follow
    assert len(receiver.received) == 2, receiver.received
    titles = sorted(m["title"] for m in messages)
    assert titles[0] == "BTCUSDT long is 1.91 % from liquidation"
    assert titles[1] == "BTCUSDT: Buy 0.01 at 96000"
    assert Fill.objects.count() == 1 and pos.pk


@pytest.mark.django_db
def test_admin_takes_a_channel_url_write_only_and_refuses_a_bad_one(client, receiver):
    staff = make_user("root", staff=True)
    client.force_login(staff)
    form = {"owner": staff.pk, "name": "ops", "kinds": json.dumps(["fill"]), "near_liquidation_pct": "2",
            "enabled": "on"}
    resp = client.post("/admin/trading/alertchannel/add/", {**form, "url": "nosuchscheme://x"})
    assert resp.status_code == 200 and "not an Apprise URL" in resp.content.decode()
    assert AlertChannel.objects.count() == 0
    resp = client.post("/admin/trading/alertchannel/add/", {**form, "url": receiver.url})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    channel = AlertChannel.objects.get()
    assert channel.url() == receiver.url
    page = client.get(f"/admin/trading/alertchannel/{channel.pk}/change/").content.decode()
    assert receiver.url not in page and channel.url_hint in page


@pytest.mark.django_db
def test_daily_pnl_summary_is_yesterdays_net_once(monkeypatch):
    sent = []
    monkeypatch.setattr("trading.services.alerts._queue", lambda channels, alert: sent.append(alert) or 1)
    alice = make_user("alice")
    account = make_account(alice, "Main")
    AlertChannel.objects.create(owner=alice, name="c", url_encrypted="x", kinds=["daily_pnl"])
    day = datetime(2025, 10, 10, tzinfo=UTC)
    for i, (pnl, fee, hour) in enumerate(((Decimal("12.50"), Decimal("0.60"), 3), (Decimal("-4.00"), Decimal("0.40"), 22),
                                          (Decimal("100"), Decimal("1"), 24 + 1))):  # the last is the next day
        Fill.objects.create(account=account, exec_id=f"d{i}", symbol="BTCUSDT", side="Sell", qty=Decimal("0.01"),
                            price=Decimal("96000"), fee=fee, realised_pnl=pnl,
                            executed_at=day + timedelta(hours=hour))
    Fill.objects.create(account=account, exec_id="f0", exec_type="Funding", symbol="BTCUSDT", side="Sell",
                        qty=Decimal("0.01"), price=Decimal("96000"), funding=Decimal("0.25"),
                        executed_at=day + timedelta(hours=16))
    from trading.services.alerts import daily_pnl_summaries

    daily_pnl_summaries(now=datetime(2025, 10, 11, 5, 30, tzinfo=UTC))
    # 10 Oct: realised 12.50 - 4.00 = 8.50, fees 0.60 + 0.40 = 1.00, funding paid 0.25, net 7.25 (the 11 Oct
    # fill is not counted)
    [alert] = sent
    assert alert.title == "Main: 2025-10-10 net +7.25 USDT" and alert.key == f"{account.pk}:2025-10-10"
    assert "3 fills" in alert.body and "funding +0.25" in alert.body
