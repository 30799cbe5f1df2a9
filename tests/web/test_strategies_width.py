"""The strategies page fits a 1,280-px screen (issue 14: it was 4,088 px wide, raw floats and JSON in one line):
with a config whose last signal carries many layers (long floats, a nested object, a list), a strategy whose bias
checks failed with long values, and a module that failed to load with a long traceback line, every details box
opened, the document is no wider than the viewport. Screenshot in artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import TIMEOUT_MS, off_loop

WIDTH = 1280


@pytest.fixture
def crowded(transactional_db):
    from strategies.models import BiasCheck, StrategyLoadError
    from trading.models import Signal

    make_instrument("BTCUSDT")
    user = make_user("wide", password="pw-for-the-browser-3")
    account = make_account(user, "Paper with a rather long account name for the table")
    strategy = make_strategy("drift")
    strategy.source_sha256 = "ab" * 32
    strategy.save()
    config = make_config(account, strategy, name="drift-with-a-long-config-name-btcusdt-5m", leverage=Decimal("50"))
    layers = {f"layer_{i}_with_a_long_name": 0.1234567890123456789 * (i + 1) * 10 ** (i % 7) for i in range(14)}
    layers["regime"] = {"state": "trending", "probabilities": [0.018000000000000002, 0.9819999999999999],
                        "kalman": {"level": 96123.45678901234, "slope": -0.000012345678901234}}
    layers["window"] = list(range(40))
    Signal.objects.create(config=config, symbol="BTCUSDT", bar_time=datetime(2025, 10, 10, 12, 5, tzinfo=UTC),
                          signal=1, price=Decimal("96000.1"), drift=0.000123456789012345, confidence=0.87654321,
                          half_life_seconds=5400.123456, forecast=Decimal("96123.456789"), layers=layers)
    failures = [{"bar_time": f"2025-10-10T{h:02d}:00:00+00:00", "column": "drift_with_a_long_column_name",
                 "full_value": 0.00012345678901234567 * h, "window_value": [0.1 * h, 0.018000000000000002, None]}
                for h in range(10)]
    BiasCheck.objects.create(strategy=strategy, source_sha256=strategy.source_sha256, status="done", passed=False,
                             blocking_failures=["window_independence"], bars_per_second=123456.789,
                             results={"data": "BTCUSDT 5m 2025-09-01..2025-10-10", "checks": {
                                 "window_independence": {"passed": False, "detail": "values differ " * 30,
                                                         "failures": failures},
                                 "lookahead": {"passed": True, "detail": "no column changed when future bars were cut"}}})
    StrategyLoadError.objects.create(path="/srv/quantdesk/user_strategies/" + "very_long_module_name_" * 6 + ".py",
                                     message="SyntaxError: " + "x" * 300,
                                     traceback="Traceback (most recent call last):\n  " + "frame " * 400 + "\n")
    return user


@pytest.mark.slow
def test_strategies_page_fits_1280_px(crowded, live_asgi, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.goto(f"{live_asgi}/accounts/login/?next=/strategies/")
    page.fill("#id_username", "wide")
    page.fill("#id_password", "pw-for-the-browser-3")
    page.click("button[type=submit]")
    row = page.locator("#configs tr[data-config]")
    expect(row).to_contain_text("drift-with-a-long-config-name", timeout=TIMEOUT_MS)
    expect(page.locator("#load-error-list")).to_contain_text("SyntaxError")
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    # the layers are there, each value formatted (no float's 17 digits, no raw JSON)
    cells = row.inner_text()
    assert "layer_13_with_a_long_name" in cells
    assert "0.018000000000000002" not in cells and "0.9819999999999999" not in cells
    assert "0.1234567890123456789" not in page.content()
    widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")
    page.screenshot(path=str(SCREENSHOTS / "20-strategies-1280.png"), full_page=True)
    assert max(widths) <= WIDTH, f"the page is {widths} px wide at a {WIDTH}-px viewport"
    off_loop(lambda: None)
