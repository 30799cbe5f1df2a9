"""A replay's progress reaches the trader: the command prints a plain line per report (no carriage return, flushed:
readable through a pipe or in a log file), the Redis hash ``qd:replay:progress`` holds the latest report (the desk
page reads it on load) and each report is pushed to the desk's sockets as a ``replay`` event."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from tests.marketdata.test_feed import DeskListener, store_bars
from tests.web.test_pages import page_json
from trading.marketdata.feed import STATUS_KEY, FeedHandler, redis_client
from trading.marketdata.replay import ReplayFeed
from trading.marketdata.replay_progress import PROGRESS_KEY, progress_info, progress_line, read_progress


@pytest.fixture
def rds():
    client = redis_client()
    client.delete(STATUS_KEY, PROGRESS_KEY)
    yield client
    client.delete(STATUS_KEY, PROGRESS_KEY)


@pytest.fixture
def desk():
    listener = DeskListener()
    yield listener
    listener.close()


@pytest.fixture
def every_bar(monkeypatch):
    """Report after every bar instead of every few seconds (the interval is wall time)."""
    monkeypatch.setattr("trading.marketdata.replay.PROGRESS_EVERY", 0.0)


def test_progress_info_speed_and_eta():
    # 10 of 40 bars of 5 minutes in 20 s: 10 x 300 s / 20 s = 150x; 30 bars left at 2 s a bar = 60 s
    info = progress_info(state="running", symbols=["BTCUSDT"], interval="5m", bar_time="2025-03-01T00:45:00+00:00",
                         bars_done=10, bars_total=40, elapsed_s=20.0, bar_seconds=300, now_ms=1)
    assert (info["speed"], info["eta_s"]) == (150.0, 60.0)
    assert progress_line(info) == ("replay running: bar 2025-03-01T00:45:00+00:00  10/40 bars (25.0 %)  150x  "
                                   "elapsed 20 s  eta 60 s")
    start = progress_info(state="running", symbols=["BTCUSDT"], interval="5m", bar_time="", bars_done=0,
                          bars_total=40, elapsed_s=0.0, bar_seconds=300, now_ms=1)
    assert start["eta_s"] is None and "eta" not in progress_line(start)


@pytest.mark.django_db(transaction=True)
def test_replay_writes_progress_to_redis_and_pushes_it(rds, desk, every_bar):
    start = datetime(2025, 3, 1, tzinfo=UTC)
    store_bars(6, start=start)
    seen: list[dict] = []
    handler = FeedHandler(mode="replay", persist=False, tick_every=0)
    played = ReplayFeed(handler=handler, symbol="BTCUSDT", interval="5m", speed=0, progress=seen.append).run()
    assert played == 6
    # one report after each bar, then the final one
    assert [p["bars_done"] for p in seen] == [1, 2, 3, 4, 5, 6, 6]
    assert [p["state"] for p in seen] == ["running"] * 6 + ["finished"]
    assert seen[2]["bar_time"] == "2025-03-01T00:10:00+00:00"  # the third bar's open time
    stored = read_progress()
    assert (stored["state"], stored["bars_done"], stored["bars_total"]) == ("finished", 6, 6)
    assert stored["bar_time"] == "2025-03-01T00:25:00+00:00" and stored["symbols"] == ["BTCUSDT"]
    assert stored["interval"] == "5m" and stored["speed"] > 0
    assert 0 < rds.ttl(PROGRESS_KEY) <= 3600
    pushed = [e["data"] for e in desk.drain() if e["type"] == "replay"]
    assert [p["bars_done"] for p in pushed] == [1, 2, 3, 4, 5, 6, 6]
    assert pushed[-1]["state"] == "finished"


@pytest.mark.django_db(transaction=True)
def test_replay_command_prints_a_line_per_report_without_a_terminal(rds, every_bar):
    store_bars(3, start=datetime(2025, 3, 1, tzinfo=UTC))
    out = io.StringIO()  # not a tty, as under nohup, a pipe or CI
    assert not out.isatty()
    call_command("run_feed", "--replay", "--symbol", "BTCUSDT", "--interval", "5m", "--since", "2025-03-01",
                 "--speed", "0", "--market-only", stdout=out)
    text = out.getvalue()
    assert "\r" not in text
    lines = [line for line in text.splitlines() if line.startswith("replay ")]
    assert [line.split("  ")[1] for line in lines[:3]] == ["1/3 bars (33.3 %)", "2/3 bars (66.7 %)",
                                                           "3/3 bars (100.0 %)"]
    assert lines[0].startswith("replay running: bar 2025-03-01T00:00:00+00:00")
    assert lines[-1].startswith("replay finished: bar 2025-03-01T00:10:00+00:00  3/3 bars")
    assert "replayed 3 BTCUSDT 5m candles" in text


@pytest.mark.django_db(transaction=True)
def test_desk_page_reads_the_progress_on_load(rds, client, every_bar):
    from tests.factories import make_user

    store_bars(4, start=datetime(2025, 3, 1, tzinfo=UTC))
    handler = FeedHandler(mode="replay", persist=False, publish=lambda **kw: None)
    ReplayFeed(handler=handler, symbol="BTCUSDT", interval="5m", speed=0).run()
    client.force_login(make_user("alice"))
    data = page_json(client.get("/"), "desk-data")
    assert (data["replay"]["state"], data["replay"]["bars_done"], data["replay"]["bars_total"]) == ("finished", 4, 4)
    assert data["replay"]["bar_time"] == "2025-03-01T00:15:00+00:00"
    rds.delete(PROGRESS_KEY)  # no replay recently: nothing to show
    assert page_json(client.get("/"), "desk-data")["replay"] == {}
