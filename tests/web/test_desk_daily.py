"""The desk a trader keeps open all day, in a real browser (Debian chromium via Playwright) against the real
ASGI app and Redis: with no feed the desk says it runs offline and how to start a replay; a paper position
shows; opening by hand a second time on the same symbol is refused and the refusal reaches the event log; a
close by hand (confirm dialog accepted) lands as a fill with reason ``manual`` and the account card's margin in
use goes to 0. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import TIMEOUT_MS, off_loop, open_paper_position, set_feed_price
from trading.models import DeskEvent, Fill, Position


@pytest.fixture
def day_trader(transactional_db, settings):
    settings.QUANTDESK_MAX_PRICE_AGE_SECONDS = 600  # the feed's price stays usable on a slow, loaded machine
    make_instrument("BTCUSDT")
    user = make_user("daytrader", password="pw-for-the-browser-2")
    account = make_account(user, "Paper day", slippage_bps=Decimal("0"))  # the worked prices fill at the quote
    config = make_config(account, make_strategy("drift"), name="drift-hand", leverage=Decimal("50"),
                         sizing_mode="kelly", allocation=None, kelly_fraction=Decimal("0.5"),
                         stop_loss_pct=Decimal("0.5"), enabled=False)
    return user, account, config


def clear_feed_status():
    import redis
    from django.conf import settings

    from trading.marketdata.feed import STATUS_KEY

    redis.Redis.from_url(settings.REDIS_URL).delete(STATUS_KEY)


@pytest.mark.slow
def test_offline_state_refusal_in_the_log_and_close_by_hand(day_trader, live_asgi, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    user, account, config = day_trader
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    off_loop(clear_feed_status)

    page.goto(f"{live_asgi}/accounts/login/?next=/")
    page.fill("#id_username", "daytrader")
    page.fill("#id_password", "pw-for-the-browser-2")
    page.click("button[type=submit]")
    banner = page.locator("#feed-banner")
    expect(banner).to_contain_text("Cannot reach Bybit: running offline", timeout=TIMEOUT_MS)
    expect(banner).to_contain_text("./desk manage run_feed --replay")
    expect(page.locator("#feed-status")).to_have_text("offline")
    expect(page.locator("#socket-status")).to_have_text("connected", timeout=TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / "10-desk-offline.png"), full_page=True)

    pos = off_loop(open_paper_position, config)
    row = page.locator(f'#positions tr[data-position="{pos.pk}"]')
    expect(row).to_contain_text("long", timeout=TIMEOUT_MS)
    # kelly: 500 x 0.5 x 50 = 12,500 / 96,000 = 0.1302 -> 0.130 on the 0.001 step; liquidation 94,560.0 (0.1 tick)
    expect(row.locator(".qty")).to_have_text("0.130")
    expect(row).to_contain_text("94,560.0")
    card = page.locator(f'.card[data-account="{account.pk}"]')
    expect(card.locator(".margin")).to_have_text("249.60", timeout=TIMEOUT_MS)  # 0.130 x 96,000 / 50
    # today's PnL after fees: the entry's taker fee 0.130 x 96,000 x 0.0006 = 7.488
    expect(page.locator("#today-pnl")).to_have_text("today -7.49 USDT", timeout=TIMEOUT_MS)

    # open by hand again on BTCUSDT: refused by the same risk checks as a signal, and the page says so
    card.locator("select[name=side]").select_option("short")
    card.locator("button.open-by-hand").click()
    log = page.locator("#events")
    expect(log).to_contain_text("already in a position on BTCUSDT", timeout=TIMEOUT_MS)
    expect(page.locator("#toasts")).to_contain_text("already in a position on BTCUSDT")
    page.select_option("#event-level", "info")
    expect(log).not_to_contain_text("already in a position")
    page.select_option("#event-level", "warning")
    expect(log).to_contain_text("already in a position on BTCUSDT")
    page.screenshot(path=str(SCREENSHOTS / "11-desk-position-and-refusal.png"), full_page=True)

    off_loop(set_feed_price, "BTCUSDT", "96100")
    row.locator("button.close-hand").click()
    expect(page.locator("#positions")).to_contain_text("No open positions.", timeout=TIMEOUT_MS)
    expect(page.locator("#fills tbody tr").first.locator(".reason")).to_have_text("manual", timeout=TIMEOUT_MS)
    expect(card.locator(".margin")).to_have_text("0.00", timeout=TIMEOUT_MS)
    expect(page.locator("#trades")).to_contain_text("manual", timeout=TIMEOUT_MS)
    # the round trip: +13.00 gross (100 x 0.130) - fees 7.488 - 7.4958 (0.130 x 96,100 x 0.0006) = -1.9838,
    # on the opening margin 249.60: -0.79 %
    trip = page.locator("#trades tbody tr").first
    expect(trip).to_contain_text("-1.98")
    expect(trip).to_contain_text("-0.79 %")
    expect(page.locator("#today-pnl")).to_have_text("today -1.98 USDT")
    page.screenshot(path=str(SCREENSHOTS / "12-desk-closed-by-hand.png"), full_page=True)

    assert any("Open short BTCUSDT by hand" in m for m in dialogs)
    assert any(m.startswith("Close the long 0.130 BTCUSDT at market") for m in dialogs)
    fill = off_loop(lambda: Fill.objects.filter(position_id=pos.pk, exit_reason="manual").get())
    assert fill.qty == Decimal("0.130") and fill.price == Decimal("96100")
    assert off_loop(lambda: Position.objects.get(pk=pos.pk).exit_reason) == "manual"
    assert off_loop(lambda: DeskEvent.objects.filter(account=account, kind="order_refused").count()) == 1
