"""The chart pages in a real browser (Debian chromium via Playwright, the real ASGI app and Redis channel layer):
during a replay the chart's time axis is on the replayed days (a fill stamped by the wall clock does not stretch
it), candles arriving live are folded in and the open position's lines move with its events; a one-year backtest's
candle chart covers the whole run (downsampled, refetched finer on zoom) with trades at both ends, entries drawn
over exits. Checked from the page's own state (the plotly figure and ``element.qd``), not pixels. Screenshots go
to artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest

from tests.desk_fixtures import seed_candles
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import TIMEOUT_MS, off_loop
from trading.marketdata.clock import clear_replay_time, set_replay_time
from trading.models import Fill, Order, Position

T0 = datetime(2025, 3, 1, tzinfo=UTC)
REPLAY_AT = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # the replay's clock: stored bars run to 03-05 04:00
WALL_CLOCK_FILL = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def login(page, base: str, user: str, password: str, path: str) -> None:
    page.on("pageerror", lambda exc: print("page error:", exc))
    page.on("console", lambda msg: print("console:", msg.text) if msg.type == "error" else None)
    page.goto(f"{base}/accounts/login/?next={quote(path)}")
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def axis_time(x: str) -> datetime:
    """A plotly date-axis value ("2025-03-01 00:00", an ISO string with Z or an offset) as aware UTC."""
    t = datetime.fromisoformat(x.replace(" ", "T").replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def wait_range(page, selector: str, start: str) -> None:
    """Until the chart at ``selector`` has drawn the answer for a range starting at ``start`` (a zoom's refetch)."""
    page.wait_for_function(f"() => {{ const q = document.querySelector({selector!r}).qd; "
                           f"return q.shown && q.shown.range.start === {start!r}; }}", timeout=TIMEOUT_MS)


def wait_loads(page, selector: str, n: int) -> None:
    """Until the chart at ``selector`` has drawn its n-th answer (the deadline is a ceiling, not a speed check)."""
    page.wait_for_function(f"() => {{ const el = document.querySelector({selector!r}); "
                           f"return el && el.qd && el.qd.loads >= {n}; }}", timeout=TIMEOUT_MS)


@pytest.fixture
def replaying(transactional_db):
    make_instrument("BTCUSDT")
    user = make_user("charter", password="pw-for-the-browser-3")
    account = make_account(user, "Replay paper")
    config = make_config(account, make_strategy("chandelier"), name="btc-chandelier", params={"length": 14})
    seed_candles(1200)  # 2025-03-01 00:00 .. 2025-03-05 03:55, all stored before the replay plays them
    pos = Position.objects.create(account=account, config=config, symbol="BTCUSDT", side="long", qty=Decimal("0.01"),
                                  entry_price=Decimal("90000"), leverage=Decimal("50"), margin=Decimal("18"),
                                  liquidation_price=Decimal("88650"), take_profit=Decimal("91500"),
                                  stop_loss=Decimal("89000"), half_life_seconds=3600, opened_at=REPLAY_AT)
    order = Order.objects.create(account=account, config=config, position=pos, client_order_id="o-replay",
                                 symbol="BTCUSDT", side="Buy", qty=Decimal("0.01"), status="filled")
    for tag, at in (("replayed", REPLAY_AT - timedelta(hours=3)), ("wall-clock", WALL_CLOCK_FILL)):
        Fill.objects.create(account=account, order=order, position=pos, exec_id=tag, symbol="BTCUSDT", side="Buy",
                            qty=Decimal("0.01"), price=Decimal("90000"), fee=Decimal("0.54"), executed_at=at)
    set_replay_time(ms=int(REPLAY_AT.timestamp() * 1000))
    yield account, pos
    clear_replay_time()


@pytest.mark.slow
def test_the_chart_during_a_replay_is_on_the_replayed_days(replaying, live_asgi, browser_page):
    from trading.events import publish, publish_desk
    from trading.services.broadcast import position_payload

    page = browser_page
    account, pos = replaying
    login(page, live_asgi, "charter", "pw-for-the-browser-3", "/chart/?symbol=BTCUSDT&interval=1h")
    wait_loads(page, "#chart", 1)
    state = page.evaluate("""() => { const el = document.getElementById('chart');
        const tr = (m) => el.data.find((t) => t.meta === m);
        return {range: el.layout.xaxis.range, a: el.qd.shown, entries: tr('entry').x,
                shapes: el.layout.shapes.map((s) => [s.name, s.y0]), volume: tr('volume').y.length,
                candles: tr('candles').x.length, ind: el.data.filter((t) => t.meta === 'indicator').length}; }""")
    a = state["a"]
    # 1h resampled from the stored 5m; the last complete hour by the replay's 12:00 is 11:00
    assert a["base"] == "5m" and a["interval"] == "1h" and a["last_bar"] == "2025-03-03T11:00:00+00:00"
    assert a["history"]["last"] == "2025-03-03T11:55:00+00:00" and a["t"][0] == "2025-03-01T00:00:00+00:00"
    start, end = (axis_time(x) for x in state["range"])
    assert start >= T0 - timedelta(hours=1) and end <= REPLAY_AT, state["range"]  # the axis ends at the desk's clock, not in 2026
    assert [x[:16] for x in state["entries"]] == ["2025-03-03T09:00"]  # the wall-clock fill is not drawn
    assert state["candles"] == state["volume"] == 60  # 2 days + 12 h of hours, a volume bar each
    assert state["ind"] >= 1  # the config's declared indicators (chandelier's stops) on the chart
    assert sorted(y for name, y in state["shapes"] if name.startswith("SL-")) == [89000]
    page.screenshot(path=str(SCREENSHOTS / "20-chart-replay.png"), full_page=True)

    # the replay goes on: the 12:00 5m bar closes and opens the 12:00 hour; the stop moves
    off_loop(publish_desk, event_type="candle", data={
        "symbol": "BTCUSDT", "interval": "5m", "open_time": "2025-03-03T12:00:00+00:00", "open": "90100",
        "high": "90300", "low": "90000", "close": "90200", "volume": "7"})
    page.wait_for_function("() => document.getElementById('chart').qd.shown.last_bar === '2025-03-03T12:00:00+00:00'",
                           timeout=TIMEOUT_MS)

    def move_stop():
        Position.objects.filter(pk=pos.pk).update(stop_loss=Decimal("89500"))
        publish(account_id=account.pk, event_type="position", data=position_payload(Position.objects.get(pk=pos.pk)))

    off_loop(move_stop)
    page.wait_for_function("() => document.getElementById('chart').layout.shapes.some((s) => s.name.startsWith('SL-') && s.y0 === 89500)",
                           timeout=TIMEOUT_MS)
    # zoom into six hours: refetched at 1h, still on the replayed day
    page.evaluate("Plotly.relayout('chart', {'xaxis.range': ['2025-03-03 04:00', '2025-03-03 10:00']})")
    wait_range(page, "#chart", "2025-03-03T04:00:00+00:00")
    a = page.evaluate("document.getElementById('chart').qd.shown")
    assert (a["first_bar"], a["last_bar"], a["downsampled"]) == ("2025-03-03T04:00:00+00:00",
                                                                 "2025-03-03T10:00:00+00:00", False)
    page.screenshot(path=str(SCREENSHOTS / "21-chart-replay-zoomed.png"), full_page=True)


YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_BARS = 365 * 288


@pytest.fixture
def year_backtest(transactional_db):
    """A real chandelier backtest over a synthetic year of 5m bars, run to done by the worker's own function."""
    from trading.services.backtests import create_backtest, run_backtest_job

    make_instrument("BTCUSDT")
    make_strategy("chandelier")
    user = make_user("yearly", password="pw-for-the-browser-4")
    seed_candles(YEAR_BARS, start=YEAR_START)
    end = YEAR_START + timedelta(minutes=5 * (YEAR_BARS - 1))
    run = create_backtest(owner=user, strategy="chandelier", params={"length": 14}, settings={
        "symbol": "BTCUSDT", "timeframe": "5m", "start": YEAR_START.isoformat(), "end": end.isoformat(),
        "leverage": "2", "sizing_mode": "kelly", "kelly_fraction": "0.1", "stop_loss_pct": "2", "funding": False})
    run = run_backtest_job(run_id=run.pk)
    assert run.status == "done", run.error
    return run


@pytest.mark.slow
def test_a_one_year_backtest_chart_shows_trades_at_both_ends(year_backtest, live_asgi, browser_page):
    page = browser_page
    run = year_backtest
    entries = sorted(t["entry_time"] for t in run.trades)
    exits = sorted(t["exit_time"] for t in run.trades)
    # the run itself trades near both ends (else this test would prove nothing)
    assert entries[0] < "2025-01-08" and exits[-1] > "2025-12-24", (entries[0], exits[-1])
    login(page, live_asgi, "yearly", "pw-for-the-browser-4", f"/backtests/{run.pk}/")
    wait_loads(page, "#candles-plot-0", 1)
    state = page.evaluate("""() => { const el = document.getElementById('candles-plot-0');
        const idx = (m) => el.data.findIndex((t) => t.meta === m);
        return {range: el.layout.xaxis.range, a: el.qd.shown, order: [idx('exit'), idx('entry')],
                entries: el.data[idx('entry')].x, exits: el.data[idx('exit')].x.concat(el.data[idx('liquidation')].x),
                candles: el.data[idx('candles')].x.length}; }""")
    a = state["a"]
    assert a["first_bar"] == "2025-01-01T00:00:00+00:00" and a["last_bar"] == "2025-12-31T23:55:00+00:00"
    assert a["downsampled"] and a["bars"] == YEAR_BARS and state["candles"] == len(a["t"]) <= 3000
    lo, hi = (axis_time(x) for x in state["range"])
    assert lo <= YEAR_START and hi >= datetime(2026, 1, 1, tzinfo=UTC)  # the axis spans the whole run
    assert sorted(state["entries"]) == entries and sorted(state["exits"]) == exits  # every trade, both ends
    assert state["order"][0] < state["order"][1]  # entries are drawn over exits
    page.locator("#candles-plot-0").screenshot(path=str(SCREENSHOTS / "22-backtest-year-overview.png"))
    # zoom into the last two days: refetched at the run's own 5m bars
    page.evaluate("Plotly.relayout('candles-plot-0', {'xaxis.range': ['2025-12-30 00:00', '2025-12-31 23:55']})")
    wait_range(page, "#candles-plot-0", "2025-12-30T00:00:00+00:00")
    a = page.evaluate("document.getElementById('candles-plot-0').qd.shown")
    assert (a["step"], a["downsampled"], a["first_bar"], a["last_bar"]) == (
        "5m", False, "2025-12-30T00:00:00+00:00", "2025-12-31T23:55:00+00:00")
    page.locator("#candles-plot-0").screenshot(path=str(SCREENSHOTS / "23-backtest-year-zoomed.png"))
