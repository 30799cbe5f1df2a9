"""A real browser (Debian chromium via Playwright) against the real ASGI app and a real Celery worker: a strategy
written by the template is dropped into the strategies folder; the user creates a config for it through the
form generated from its schema (a bad value is refused naming the parameter and bound), runs a backtest of it,
and sees its declared indicator lines on the result chart. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.algos import registry
from strategies.models import StrategyConfig
from strategies.services import scan_strategies
from tests.desk_fixtures import celery_worker, seed_candles
from tests.factories import make_account, make_config, make_instrument, make_user
from tests.strategies.user_files import PEEKER, template, write
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import TIMEOUT_MS, off_loop
from trading.models import BacktestRun


@pytest.fixture
def desk_with_template(transactional_db, tmp_path, settings):
    folder = write(tmp_path / "user_strategies", {"my_cross.py": template("my_cross"), "peeker.py": PEEKER})
    settings.QUANTDESK_USER_STRATEGIES_DIR = folder
    settings.QUANTDESK_BIAS_CHECK_BARS, settings.QUANTDESK_BIAS_SPEED_BARS = 2500, 5000
    registry.configure(user_dir=folder)
    make_instrument("BTCUSDT")
    user = make_user("quant", password="pw-for-the-browser-2")
    make_account(user, "Paper desk", starting_capital=Decimal("500"))
    seed_candles(1200)
    scan_strategies()
    yield user
    registry.configure(user_dir=None)


@pytest.mark.slow
def test_template_config_from_the_generated_form_and_its_indicators_on_the_backtest(desk_with_template, live_asgi,
                                                                                    browser_page):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(f"{live_asgi}/accounts/login/?next=/strategies/")
    page.fill("#id_username", "quant")
    page.fill("#id_password", "pw-for-the-browser-2")
    page.click("button[type=submit]")
    expect(page.locator("#strategies")).to_contain_text("my_cross")

    # the form is generated from the template's schema: its parameters with bounds and defaults
    page.select_option("#cfg-strategy", label="My cross EMA cross (my_cross)")
    fast = page.locator("#cfg-params input[data-param=fast]")
    expect(fast).to_have_value("12")
    expect(page.locator("#cfg-params")).to_contain_text("min 2")
    expect(page.locator("#cfg-params input[data-param=atr_length]")).to_have_value("14")
    page.fill("input[name=name]", "my cross btc")
    fast.fill("1")
    page.click("#cfg-create")
    expect(page.locator("#cfg-form-error")).to_contain_text("fast: 1 is below the minimum 2", timeout=TIMEOUT_MS)
    fast.fill("8")
    page.fill("#cfg-params input[data-param=slow]", "30")
    page.click("#cfg-create")
    expect(page.locator("#configs")).to_contain_text("my cross btc", timeout=TIMEOUT_MS)
    cfg = off_loop(lambda: StrategyConfig.objects.select_related("strategy").get(name="my cross btc"))
    assert cfg.strategy.key == "my_cross" and cfg.params["fast"] == 8 and cfg.params["slow"] == 30
    page.screenshot(path=str(SCREENSHOTS / "10-user-strategy-config-form.png"), full_page=True)

    with celery_worker():
        page.goto(f"{live_asgi}/backtests/")
        page.select_option("#bt-strategy", "my_cross")
        page.fill("input[name=start]", "2025-03-01T00:00")
        page.fill("input[name=end]", "2025-03-05T03:55")
        page.fill("input[name=leverage]", "10")
        page.select_option("select[name=sizing_mode]", "kelly")
        page.fill("input[name=kelly_fraction]", "0.5")
        page.fill("#bt-params input[data-param=fast]", "8")
        page.fill("#bt-params input[data-param=slow]", "30")
        page.select_option("select[name=funding]", "false")
        page.click("#bt-run")
        expect(page.locator("#bt-pct")).to_have_text("100 %", timeout=TIMEOUT_MS)
        expect(page.locator("#candles-plot .main-svg").first).to_be_visible(timeout=TIMEOUT_MS)
    # the declared lines (overlay), the pane and the markers are drawn on the result chart
    for name in ("fast EMA", "slow EMA", "spread (ATRs)", "cross up", "cross down"):
        expect(page.locator("#candles-plot .legendtext", has_text=name)).to_be_visible(timeout=TIMEOUT_MS)
    drawn = page.evaluate("""() => document.getElementById('candles-plot-0').data
        .filter((t) => t.meta === 'indicator').map((t) => [t.name, t.y.filter((v) => v !== null).length, t.yaxis || 'y'])""")
    by_name = {n: (count, axis) for n, count, axis in drawn}
    run = off_loop(lambda: BacktestRun.objects.get())
    assert run.status == "done" and run.strategy == "my_cross" and run.params["slow"] == 30
    # 1,200 bars; the slow EMA (span 30) and the spread exist from the EMA's cut-off on: 1,200 - (cut-off - 1)
    cutoff = __import__(registry.get("my_cross").__module__, fromlist=["ema_cutoff"]).ema_cutoff(30)
    assert by_name["slow EMA"] == (1200 - (cutoff - 1), "y")
    assert by_name["spread (ATRs)"] == (1200 - (cutoff - 1), "y2")  # in its own pane
    assert 0 < by_name["cross up"][0] < 100
    page.screenshot(path=str(SCREENSHOTS / "11-user-strategy-backtest-indicators.png"), full_page=True)

    # a planted shift(-1) peeker: Enable runs its bias checks and is refused, naming the check and the bar
    def peeker_config():
        from strategies.models import Strategy
        from trading.models import Account

        return make_config(Account.objects.get(name="Paper desk"), Strategy.objects.get(key="peeker"),
                           name="peek btc", leverage=Decimal("20"), allocation=Decimal("0.10"))

    cfg = off_loop(peeker_config)
    page.goto(f"{live_asgi}/strategies/")
    page.click(f'button.toggle[data-config="{cfg.pk}"]')
    error = page.locator("#cfg-error")
    expect(error).to_contain_text("fails the lookahead check at bar", timeout=TIMEOUT_MS)
    expect(error).to_contain_text("column signal")
    page.reload()
    expect(page.locator('#strategies tr[data-strategy="peeker"] .bias')).to_contain_text("biased: fails lookahead")
    page.locator('#strategies tr[data-strategy="peeker"] summary').click()
    expect(page.locator('#strategies tr[data-strategy="peeker"] table.failures').first).to_be_visible()
    assert not off_loop(lambda: StrategyConfig.objects.get(pk=cfg.pk).enabled)
    page.screenshot(path=str(SCREENSHOTS / "12-biased-strategy-refused.png"), full_page=True)
