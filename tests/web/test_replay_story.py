"""The replay story in a real browser (issue 14's "must show"): stored candles replayed through the real replay
machinery (``ReplayFeed`` with ``ReplayDesk``: signal cycles and the monitor as tasks on a real Celery worker)
drive an enabled paper drift config; the desk, open in chromium all along, shows the replay's progress, the
position the cycle opened, the equity curve growing, and a close by hand (confirm dialog accepted) that lands as
a fill with reason ``manual`` and a ``manual`` line in the event log. Screenshots in artifacts/screenshots/.

The series is test_e2e_replay's (flat, then a steady rise the drift forecaster goes long on); the replay stops
three bars after the position opened, so it is still open for the hand to close."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker

from quantdesk.celery import app
from tests.execution.test_e2e_replay import PARAMS, START, series, store_candles
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser import TIMEOUT_MS, off_loop, set_feed_price
from trading.models import DeskEvent, Fill, Position

pytestmark = pytest.mark.slow
REPLAY_FROM = START + timedelta(minutes=5 * 295)  # five flat bars before the rise


@pytest.fixture
def replay_desk(transactional_db, settings):
    settings.QUANTDESK_MAX_PRICE_AGE_SECONDS = 600  # the close by hand: the feed's price stays usable when loaded
    make_instrument("BTCUSDT")
    user = make_user("replayer", password="pw-for-the-browser-4")
    account = make_account(user, "Paper replay", starting_capital=Decimal("500"))
    config = make_config(account, make_strategy("drift"), name="drift-replay", leverage=Decimal("50"),
                         sizing_mode="kelly", allocation=None, kelly_fraction=Decimal("0.5"),
                         stop_loss_pct=Decimal("0.5"), params=PARAMS, enabled=True)
    store_candles(series())
    return account, config


@pytest.fixture
def worker():
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=60) as w:
        yield w


def clear_redis_state():
    import redis
    from django.conf import settings

    from trading.marketdata.feed import STATUS_KEY
    from trading.marketdata.replay_progress import PROGRESS_KEY

    redis.Redis.from_url(settings.REDIS_URL).delete(STATUS_KEY, PROGRESS_KEY)


def replay_until_open(account, done: dict) -> None:
    """The replay (in its own thread, as ``run_feed --replay`` runs it), stopped 3 bars after the open."""
    from django.db import connections

    from trading.marketdata.feed import FeedHandler
    from trading.marketdata.replay import ReplayFeed
    from trading.services.replay_desk import ReplayDesk

    stop = threading.Event()
    seen = {"open_at": None}

    def progress(info: dict) -> None:
        if seen["open_at"] is None and Position.objects.filter(account=account, status="open").exists():
            seen["open_at"] = info["bars_done"]
        if seen["open_at"] is not None and info["bars_done"] >= seen["open_at"] + 3:
            stop.set()

    try:
        desk = ReplayDesk()
        feed = ReplayFeed(handler=FeedHandler(mode="replay", persist=False, symbols=["BTCUSDT"]), symbol="BTCUSDT",
                          interval="5m", since=REPLAY_FROM, speed=0, desk=desk, progress=progress)
        done["played"] = feed.run(stop=stop)
        done["open_at"] = seen["open_at"]
        done["errors"] = desk.errors
    except BaseException as exc:  # noqa: BLE001  (reported by the test)
        done["error"] = repr(exc)
    finally:
        connections.close_all()


def test_a_replay_drives_a_paper_config_and_the_desk_follows(replay_desk, worker, live_asgi, browser_page,
                                                             monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setattr("trading.marketdata.replay.PROGRESS_EVERY", 0.0)  # a report (and a push) per bar
    page = browser_page
    account, config = replay_desk
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    off_loop(clear_redis_state)

    page.goto(f"{live_asgi}/accounts/login/?next=/")
    page.fill("#id_username", "replayer")
    page.fill("#id_password", "pw-for-the-browser-4")
    page.click("button[type=submit]")
    expect(page.locator("#socket-status")).to_have_text("connected", timeout=TIMEOUT_MS)
    expect(page.locator("#positions")).to_contain_text("No open positions.")
    curve = page.locator("#equity-curve")
    points_before = int(curve.get_attribute("data-points") or 0)

    done: dict = {}
    thread = threading.Thread(target=replay_until_open, args=(account, done), daemon=True)
    thread.start()
    pane = page.locator("#replay-progress")
    expect(pane).to_contain_text("Replay running", timeout=TIMEOUT_MS)
    expect(pane).to_contain_text("BTCUSDT 5m")
    row = page.locator("#positions tbody tr[data-position]")
    expect(row).to_contain_text("long", timeout=600_000)  # the cycles run on a worker: a ceiling, not a speed
    page.screenshot(path=str(SCREENSHOTS / "30-replay-position-open.png"), full_page=True)
    thread.join(600)
    assert not thread.is_alive(), "the replay did not stop within 600 s"
    assert "error" not in done, done.get("error")
    assert done["open_at"] is not None and not done["errors"], done
    expect(pane).to_contain_text("Replay stopped", timeout=TIMEOUT_MS)
    expect(pane.locator(".replay-done")).to_have_text(str(done["played"]))
    # the equity curve grew: a snapshot after the open (and after each later change)
    expect(curve).not_to_have_attribute("data-points", str(points_before), timeout=TIMEOUT_MS)
    grown = int(curve.get_attribute("data-points"))
    assert grown > points_before

    pos = off_loop(lambda: Position.objects.get(account=account, status="open"))
    assert pos.config_id == config.pk and pos.side == "long"
    off_loop(set_feed_price, "BTCUSDT", str(off_loop(lambda: float(Fill.objects.filter(position=pos).first().price))))
    row.locator("button.close-hand").click()
    expect(page.locator("#positions")).to_contain_text("No open positions.", timeout=TIMEOUT_MS)
    expect(page.locator("#fills tbody tr").first.locator(".reason")).to_have_text("manual", timeout=TIMEOUT_MS)
    expect(page.locator("#events")).to_contain_text("manual", timeout=TIMEOUT_MS)
    expect(page.locator("#trades tbody tr").first).to_contain_text("manual", timeout=TIMEOUT_MS)
    expect(curve).not_to_have_attribute("data-points", str(grown), timeout=TIMEOUT_MS)  # the close's snapshot
    page.screenshot(path=str(SCREENSHOTS / "31-replay-closed-by-hand.png"), full_page=True)

    assert any(m.startswith("Close the long") for m in dialogs), dialogs
    fill = off_loop(lambda: Fill.objects.get(position_id=pos.pk, exit_reason="manual"))
    assert fill.qty == pos.qty
    assert off_loop(lambda: Position.objects.get(pk=pos.pk).exit_reason) == "manual"
    assert off_loop(lambda: DeskEvent.objects.filter(account=account, kind="manual").count()) == 1
