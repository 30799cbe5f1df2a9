"""The desk's feed-status pane shows the public market feed AND each live account's private stream: state, last
message (age), last error, reconnects and rundesk's restarts, read from Redis on page load (Django test client)
and pushed live (a real browser: the stream dropping shows without a reload)."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.factories import make_account, make_user
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import TIMEOUT_MS, off_loop
from trading.exchanges.bybit_stream import STATUS_KEY as PRIVATE_KEY
from trading.exchanges.bybit_stream import StreamStatus
from trading.marketdata.feed import STATUS_KEY as FEED_KEY
from trading.marketdata.feed import FeedHandler

RESTARTS_KEY = "qd:desk:restarts"


def redis_client():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def live_account(user):
    account = make_account(user, "Live desk")
    account.set_api_credentials(api_key="KEY123456789abc", api_secret="SECRET123456789abc")
    account.mode = "live"
    account.save()
    return account


def write_both_statuses(account_id: int) -> None:
    """What the running feed and the running private stream write (their own classes), and rundesk's restarts."""
    r = redis_client()
    r.delete(FEED_KEY, PRIVATE_KEY.format(account_id=account_id), RESTARTS_KEY)
    feed = FeedHandler(mode="live", symbols=["BTCUSDT"], persist=False, client=r, publish=lambda **kw: None)
    feed.set_connected(True)
    feed.record_error("kline.5.BTCUSDT: bad row")
    feed.handle({"topic": "tickers.BTCUSDT", "ts": int(time.time() * 1000),
                 "data": {"symbol": "BTCUSDT", "lastPrice": "96000"}})
    stream = StreamStatus(account_id, client=r, publish=None)
    stream.set_connected(True)
    stream.set_connected(False, error="ping timeout")
    stream.set_connected(True)  # a reconnect
    stream.message("execution")
    stream.record_error("position: reconcile failed once")
    r.hset(RESTARTS_KEY, mapping={"feed": 1, "private": 3})


def desk_data(html: str) -> dict:
    found = re.search(r'<script id="desk-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the desk page carries its state as JSON"
    return json.loads(found.group(1))


def test_page_load_reads_both_statuses(db, client):
    user = make_user("streams")
    account = live_account(user)
    make_account(user, "Paper side")  # a paper account has no private stream
    write_both_statuses(account.pk)
    client.force_login(user)
    data = desk_data(client.get("/").content.decode())
    feed = data["feed"]
    assert (feed["state"], feed["connected"], feed["restarts"], feed["errors"]) == ("live", True, 1, 1)
    assert feed["error"] == "kline.5.BTCUSDT: bad row" and feed["last_message_ms"] > 0
    assert list(data["private_streams"]) == [str(account.pk)]
    s = data["private_streams"][str(account.pk)]
    assert (s["state"], s["connected"], s["reconnects"], s["restarts"], s["messages"]) == ("live", True, 1, 3, 1)
    assert s["error"] == "position: reconcile failed once" and s["last_topic"] == "execution"
    assert s["last_message_ms"] > 0 and s["account"] == account.pk
    # nothing written for the account: the stream is "not running" (still listed: the account is live)
    redis_client().delete(PRIVATE_KEY.format(account_id=account.pk))
    s = desk_data(client.get("/").content.decode())["private_streams"][str(account.pk)]
    assert s["state"] == "not running" and s["restarts"] == 3


@pytest.fixture
def stream_trader(transactional_db):
    user = make_user("streamer", password="pw-for-the-browser-3")
    return user, live_account(user)


@pytest.mark.slow
def test_both_streams_on_the_page_and_pushed_live(stream_trader, live_asgi, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    user, account = stream_trader
    off_loop(write_both_statuses, account.pk)
    page.goto(f"{live_asgi}/accounts/login/?next=/")
    page.fill("#id_username", "streamer")
    page.fill("#id_password", "pw-for-the-browser-3")
    page.click("button[type=submit]")
    feed = page.locator("#feed")
    expect(feed).to_contain_text("connected (live)", timeout=TIMEOUT_MS)
    expect(feed).to_contain_text("restarted by rundesk 1")
    expect(feed).to_contain_text("last error: kline.5.BTCUSDT: bad row")
    expect(feed).to_contain_text(re.compile(r"last message \d+ s ago"))
    row = page.locator(f'#private-streams .stream[data-account="{account.pk}"]')
    expect(row).to_have_attribute("data-state", "live")
    expect(row).to_contain_text("private stream of Live desk: live")
    expect(row).to_contain_text("reconnects 1; restarted by rundesk 3")
    expect(row).to_contain_text("last error: position: reconcile failed once")
    expect(row).to_contain_text(re.compile(r"last message \d+ s ago \(execution\)"))
    expect(page.locator("#socket-status")).to_have_text("connected", timeout=TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / "20-desk-feed-and-private-stream.png"), full_page=True)

    # the stream drops: its status class pushes a private_stream event to the account's sockets
    page.evaluate("window.__noReload = true")
    off_loop(lambda: StreamStatus(account.pk, client=redis_client()).set_connected(False, error="socket closed"))
    expect(row).to_have_attribute("data-state", "down", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("last error: socket closed")
    expect(row).to_contain_text("polled meanwhile")
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=str(SCREENSHOTS / "21-desk-private-stream-down.png"), full_page=True)
