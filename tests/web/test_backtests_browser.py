"""The backtests page in a real browser (Debian chromium via Playwright, the real ASGI app, a real Celery worker):
the form's default range is the stored data's range, picking a config fills the form as the config trades
(read-only), and the desk form runs the account's enabled configs as ONE portfolio run to 100 % and shows its
slots, series per symbol and trades. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.desk_fixtures import celery_worker, seed_candles
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import TIMEOUT_MS, off_loop
from trading.models import BacktestRun


@pytest.fixture
def desk_user(transactional_db):
    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"))
    strategy = make_strategy("chandelier")
    user = make_user("deskbt", password="pw-for-the-browser-2")
    account = make_account(user, "Desk paper", starting_capital=Decimal("1000"), max_open_positions=1)
    btc = make_config(account, strategy, name="btc-20x", leverage=Decimal("20"), sizing_mode="fixed",
                      allocation=Decimal("0.15"), stop_loss_pct=Decimal("2"), params={"length": 14}, enabled=True)
    eth = make_config(account, strategy, name="eth-10x", symbols=["ETHUSDT"], leverage=Decimal("10"),
                      sizing_mode="kelly", allocation=None, kelly_fraction=Decimal("0.5"),
                      stop_loss_pct=Decimal("3"), params={"length": 10}, enabled=True)
    seed_candles(600)  # 2025-03-01 00:00 .. 2025-03-03 01:55
    seed_candles(600, seed=11, symbol="ETHUSDT", price=3000.0)
    return user, btc, eth


@pytest.mark.slow
def test_config_picker_default_range_and_a_desk_run_from_the_page(desk_user, live_asgi, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    _, btc, eth = desk_user
    page.goto(f"{live_asgi}/accounts/login/?next=/backtests/")
    page.fill("#id_username", "deskbt")
    page.fill("#id_password", "pw-for-the-browser-2")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_asgi}/backtests/", timeout=TIMEOUT_MS)
    single = page.locator("#bt-form")
    # the stored range, not the last 7 days by the clock
    expect(single.locator("input[name=start]")).to_have_value("2025-03-01T00:00", timeout=TIMEOUT_MS)
    expect(single.locator("input[name=end]")).to_have_value("2025-03-03T01:55")
    page.select_option("#bt-config", str(btc.pk))
    expect(single.locator("input[name=leverage]")).to_have_value("20")
    expect(single.locator("select[name=sizing_mode]")).to_have_value("fixed")
    expect(single.locator("input[name=allocation]")).to_have_value("0.15")
    expect(single.locator("input[name=stop_loss_pct]")).to_have_value("2")
    expect(single.locator("input[name=initial_capital]")).to_have_value("1000")
    expect(single.locator("input[name=leverage]")).to_be_disabled()
    expect(single.locator("input[data-param=length]")).to_have_value("14")
    desk = page.locator("#desk-form")
    expect(desk.locator("input[name=start]")).to_have_value("2025-03-01T00:00")
    expect(desk.locator(f'#desk-configs input[value="{btc.pk}"]')).to_be_checked()
    expect(desk.locator(f'#desk-configs input[value="{eth.pk}"]')).to_be_checked()
    page.screenshot(path=str(SCREENSHOTS / "04-backtests-forms.png"))
    with celery_worker():
        page.click("#desk-run")
        expect(page.locator("#bt-pct")).to_have_text("100 %", timeout=TIMEOUT_MS)
        expect(page.locator("#slots")).to_contain_text("btc-20x", timeout=TIMEOUT_MS)
    expect(page.locator("#slots")).to_contain_text("eth-10x")
    expect(page.locator("#series")).to_contain_text("ETHUSDT")
    expect(page.locator("#equity-plot .main-svg").first).to_be_visible(timeout=TIMEOUT_MS)
    run = off_loop(lambda: BacktestRun.objects.get())
    assert run.status == "done", run.error
    assert run.settings["kind"] == "portfolio" and [s["config_id"] for s in run.settings["slots"]] == [btc.pk, eth.pk]
    assert run.settings["max_open_positions"] == 1
    expect(page.locator("#trades tr.trade")).to_have_count(min(len(run.trades), 500))
    page.screenshot(path=str(SCREENSHOTS / "05-desk-backtest-done.png"), full_page=True)
    page.locator("#bt-result h2").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "06-desk-backtest-result.png"))
