"""A real browser (Debian chromium via Playwright) against the real ASGI app, Redis channel layer and a
real Celery worker: log in, see the desk; a position opened by execution's service on the paper exchange
appears without a reload and a tick updates its PnL; a backtest run from the form reaches 100 % and draws its
equity chart. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.desk_fixtures import celery_worker, seed_candles
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.web.conftest import SCREENSHOTS
from trading.events import publish_desk
from trading.exchanges.paper import PaperExchange
from trading.models import BacktestRun, Position
from trading.services.positions import open_position

TIMEOUT_MS = 120_000  # a ceiling for waiting, not a speed assertion


def off_loop(fn, *args, **kwargs):
    """Run ORM/publish code in a plain thread: Playwright's sync API keeps an event loop in this one,
    and Django refuses synchronous DB access from a thread with a running loop."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def set_feed_price(symbol: str, price: str) -> None:
    """What the market-data feed writes for each ticker update (the paper exchange fills at it)."""
    import redis
    from django.conf import settings

    from trading.marketdata.feed import PRICE_KEY

    ts = str(int(datetime.now(UTC).timestamp() * 1000))
    redis.Redis.from_url(settings.REDIS_URL).hset(PRICE_KEY.format(symbol=symbol), mapping={
        "last": price, "mark": price, "bid": price, "ask": price, "ts": ts})


def open_paper_position(config) -> Position:
    """Execution's own path: open_position on the paper exchange at the feed's price, which records the
    position and broadcasts it to the account's sockets."""
    set_feed_price("BTCUSDT", "96000")
    out = open_position(config=config, symbol="BTCUSDT", side=1, bar_time=datetime(2025, 3, 1, tzinfo=UTC),
                        exchange=PaperExchange(config.account), half_life_seconds=3600.0)
    assert out.placed, out.refused
    return Position.objects.get(account=config.account, status="open")


@pytest.fixture
def trader(transactional_db):
    """Built before the browser starts (see off_loop)."""
    make_instrument("BTCUSDT")
    make_strategy("chandelier")
    user = make_user("trader", password="pw-for-the-browser-1")
    account = make_account(user, "Paper desk", slippage_bps=Decimal("0"))  # the worked prices fill at the quote
    config = make_config(account, make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), stop_loss_pct=Decimal("0.5"), enabled=True)
    seed_candles(1200)
    return user, config


@pytest.mark.slow
def test_desk_live_updates_and_a_backtest_from_the_form(trader, live_asgi, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    user, config = trader

    page.goto(f"{live_asgi}/")
    expect(page).to_have_url(f"{live_asgi}/accounts/login/?next=/")
    page.fill("#id_username", "trader")
    page.fill("#id_password", "pw-for-the-browser-1")
    page.click("button[type=submit]")
    expect(page.locator("#accounts")).to_contain_text("Paper desk")
    expect(page.locator("#positions")).to_contain_text("No open positions.")
    expect(page.locator("#socket-status")).to_have_text("connected", timeout=TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / "01-desk-empty.png"), full_page=True)

    page.evaluate("window.__noReload = true")  # survives only if the page is never reloaded
    pos = off_loop(open_paper_position, config)
    row = page.locator(f'#positions tr[data-position="{pos.pk}"]')
    expect(row).to_contain_text("BTCUSDT", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("long")
    # kelly: 500 x 0.5 x 50 = 12,500 USDT / 96,000 = 0.1302 -> 0.130 on the 0.001 step;
    # liquidation 96,000 x (1 - 1/50 + 0.005) = 94,560
    expect(row).to_contain_text("0.13")
    expect(row).to_contain_text("94,560.0")  # prices to the instrument's 0.10 tick
    # a mark tick: uPnL = (96,500 - 96,000) x 0.130 = 65.00; liq distance = (96,500 - 94,560) / 96,500 = 2.01 %
    off_loop(publish_desk, event_type="tick", data={"symbol": "BTCUSDT", "mark": "96500", "last": "96501"})
    expect(row).to_contain_text("65.00", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("2.01 %")
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=str(SCREENSHOTS / "02-desk-position-live.png"), full_page=True)

    with celery_worker():
        page.goto(f"{live_asgi}/backtests/")
        page.select_option("#bt-strategy", "chandelier")
        page.fill("input[name=start]", "2025-03-01T00:00")
        page.fill("input[name=end]", "2025-03-05T03:55")
        page.fill("input[name=leverage]", "10")
        page.select_option("select[name=sizing_mode]", "kelly")
        page.fill("input[name=kelly_fraction]", "0.5")
        page.fill("input[data-param=length]", "14")
        page.select_option("select[name=funding]", "false")
        page.click("#bt-run")
        expect(page.locator("#bt-pct")).to_have_text("100 %", timeout=TIMEOUT_MS)
        expect(page.locator("#bt-bar")).to_have_attribute("aria-valuenow", "100")
        expect(page.locator("#equity-plot .main-svg").first).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator("#candles-plot .main-svg").first).to_be_visible(timeout=TIMEOUT_MS)
    run = off_loop(lambda: BacktestRun.objects.select_related("owner").get())
    assert run.status == "done" and run.owner == user and run.params["length"] == 14
    expect(page.locator("#metrics [data-metric=bars]")).to_have_text("1,200")
    page.screenshot(path=str(SCREENSHOTS / "03-backtest-done.png"), full_page=True)
