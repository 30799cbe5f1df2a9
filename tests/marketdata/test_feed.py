"""The feed: the live source (real pybit WebSocket against the fake Bybit) and the replay of stored candles
drive the same handler: closed candles stored, prices in Redis, tick/candle/feed events on the desk group."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from channels_redis.core import RedisChannelLayer
from django.core.management import call_command

from tests.factories import make_account, make_user
from tests.marketdata.helpers import open_bar_start
from trading.events import desk_group
from trading.marketdata.feed import (
    PRICE_KEY,
    STATUS_KEY,
    FeedHandler,
    feed_status,
    latest_price,
    redis_client,
)
from trading.marketdata.live import LiveFeed, rest_backfill
from trading.marketdata.replay import ReplayFeed
from trading.models import Candle
from trading.selectors import feed_subscriptions

FIVE = 300_000
CANDLE_KEYS = {"symbol", "interval", "open_time", "open", "high", "low", "close", "volume", "turnover"}


class DeskListener:
    """A channel in the desk-wide group, read through the real Redis channel layer on its own event loop."""

    def __init__(self):
        from django.conf import settings

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.layer = RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
        self.channel = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(desk_group(), self.channel))

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def drain(self, quiet: float = 0.5) -> list[dict]:
        """Every event received until none arrives for ``quiet`` seconds."""
        async def run():
            out = []
            while True:
                try:
                    msg = await asyncio.wait_for(self.layer.receive(self.channel), quiet)
                except TimeoutError:
                    return out
                out.append(msg["event"])
        return self._run(run())

    def close(self):
        self._run(self.layer.group_discard(desk_group(), self.channel))
        self._run(self.layer.flush())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def desk():
    listener = DeskListener()
    yield listener
    listener.close()


@pytest.fixture
def rds():
    client = redis_client()
    keys = [STATUS_KEY, PRICE_KEY.format(symbol="BTCUSDT")]
    client.delete(*keys)
    yield client
    client.delete(*keys)


def wait_for(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


@pytest.fixture
def live(bybit, rds):
    handler = FeedHandler(mode="live", tick_every=0)
    feed = LiveFeed(handler=handler, symbols=["BTCUSDT"], intervals=["5m"], check_every=0.05,
                    backoff_initial=0.05, backoff_max=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=feed.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    bybit.wait_subscribed("kline.5.BTCUSDT")
    bybit.wait_subscribed("tickers.BTCUSDT")
    yield handler
    stop.set()
    thread.join(15)
    assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_live_kline_ticker_status_and_reconnect(bybit, desk, live, rds):
    start = (int(time.time() * 1000) // FIVE - 1) * FIVE
    t0 = int(time.time() * 1000)
    bybit.push_kline("BTCUSDT", "5", start, 65_000.0, 65_010.0, 64_990.0, 65_005.0, volume=1.5, confirm=False)
    bybit.push_kline("BTCUSDT", "5", start, 65_000.0, 65_020.0, 64_980.0, 65_012.3, volume=2.5, turnover=162_530.0,
                     confirm=True)
    wait_for(lambda: Candle.objects.filter(symbol="BTCUSDT", interval="5m").exists(), "the confirmed kline stored")
    bar = Candle.objects.get(symbol="BTCUSDT", interval="5m")
    assert (bar.open_time, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.turnover) == (
        datetime.fromtimestamp(start / 1000, tz=UTC), Decimal("65000"), Decimal("65020"), Decimal("64980"),
        Decimal("65012.3"), Decimal("2.5"), Decimal("162530"))

    bybit.set_price("BTCUSDT", 65_100.0, bid=65_099.9, ask=65_100.1, mark=65_090.0)
    wait_for(lambda: latest_price(symbol="BTCUSDT").get("last") == "65100.00", "the ticker in Redis")
    price = latest_price(symbol="BTCUSDT")
    assert (price["mark"], price["bid"], price["ask"]) == ("65090.00", "65099.90", "65100.10")
    assert int(price["ts"]) >= t0

    status = feed_status()
    assert (status["connected"], status["mode"], status["symbols"], status["reconnects"]) == (
        True, "live", ["BTCUSDT"], 0)
    assert status["last_message_ms"] >= t0 and status["lag_ms"] >= 0 and status["errors"] == 0

    events = desk.drain()
    candles = [e["data"] for e in events if e["type"] == "candle"]
    assert len(candles) == 1 and set(candles[0]) == CANDLE_KEYS  # the unconfirmed kline is not an event
    assert (candles[0]["close"], candles[0]["interval"]) == ("65012.30", "5m")
    ticks = [e["data"] for e in events if e["type"] == "tick"]
    assert ticks[-1]["last"] == "65100.00" and ticks[-1]["mark"] == "65090.00"
    assert any(e["type"] == "feed" and e["data"]["connected"] for e in events)

    # The connection is cut (TCP abort): the supervisor reconnects and resubscribes.
    assert bybit.drop_ws(abrupt=True) == 1
    wait_for(lambda: live.reconnects == 1 and live.connected, "reconnected")
    bybit.wait_subscribed("kline.5.BTCUSDT")
    bybit.push_kline("BTCUSDT", "5", start + FIVE, 65_012.3, 65_050.0, 65_000.0, 65_040.0, volume=1.0, confirm=True)
    wait_for(lambda: Candle.objects.filter(symbol="BTCUSDT").count() == 2, "a kline after the reconnect stored")
    status = feed_status()
    assert (status["connected"], status["reconnects"]) == (True, 1)
    feed_events = [e["data"]["connected"] for e in desk.drain() if e["type"] == "feed"]
    assert False in feed_events and feed_events[-1] is True


@pytest.mark.django_db(transaction=True)
def test_a_failing_message_does_not_kill_the_socket(bybit, live, rds):
    """A kline the store refuses (high below low) is counted as an error; the next message still lands."""
    start = (int(time.time() * 1000) // FIVE - 3) * FIVE
    bybit.push_kline("BTCUSDT", "5", start, 100.0, 90.0, 110.0, 100.0, confirm=True)
    wait_for(lambda: live.errors == 1, "the error counted")
    bybit.push_kline("BTCUSDT", "5", start + FIVE, 100.0, 110.0, 90.0, 105.0, confirm=True)
    wait_for(lambda: Candle.objects.filter(symbol="BTCUSDT").count() == 1, "the next kline stored")
    assert live.connected and live.reconnects == 0
    # the status hash is rewritten just after a message is handled, not before the candle is stored: poll it
    wait_for(lambda: feed_status().get("errors") == 1, "the error in the feed status")


@pytest.mark.django_db(transaction=True)
def test_each_connect_backfills_the_bars_the_store_lacks(bybit, rds):
    hour = 3_600_000
    now_bar = open_bar_start(hour)
    first = now_bar - 12 * hour
    bybit.load_candles("BTCUSDT", "60", [(first + i * hour, 100.0 + i, 102.0 + i, 99.0 + i, 101.0 + i, 1.0)
                                         for i in range(13)])  # 12 closed bars and the open one
    handler = FeedHandler(mode="live", tick_every=0)
    feed = LiveFeed(handler=handler, symbols=["BTCUSDT"], intervals=["1h"], check_every=0.05, backoff_initial=0.05,
                    backfill=rest_backfill(symbols=["BTCUSDT"], intervals=["1h"], hours=6))
    stop = threading.Event()
    thread = threading.Thread(target=feed.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        # since = now - 6 h, rounded up to a bar: the 5 closed bars opening 5 h .. 1 h before the open one
        closed = [datetime.fromtimestamp((now_bar - k * hour) / 1000, tz=UTC) for k in range(5, 0, -1)]
        stored = Candle.objects.filter(symbol="BTCUSDT", interval="1h").order_by("open_time")
        wait_for(lambda: list(stored.values_list("open_time", flat=True)) == closed, "backfilled on connect")
        stored.filter(open_time__gte=closed[3]).delete()  # as if the last two closed during an outage
        bybit.drop_ws(abrupt=True)
        wait_for(lambda: handler.reconnects == 1 and stored.count() == 5, "backfilled again after the reconnect")
        assert list(stored.values_list("open_time", flat=True)) == closed
        assert stored.last().close == Decimal("112")  # bar 11: close 101 + 11
        assert bybit.counters.requests["/v5/market/kline"] == 2  # one resumed request per connect
    finally:
        stop.set()
        thread.join(15)


def store_bars(n: int, *, start: datetime, kind: str = "trade") -> list[Candle]:
    """Bar i: open 100 + i, high open + 2, low open - 1, close open + 1 (mark: close open + 0.5), volume i."""
    bars = []
    for i in range(n):
        o = Decimal(100 + i)
        close = o + (Decimal("0.5") if kind == "mark" else 1)
        bars.append(Candle(symbol="BTCUSDT", interval="5m", kind=kind, open_time=start + timedelta(minutes=5 * i),
                           open=o, high=o + 2, low=o - 1, close=close, volume=Decimal(i)))
    return Candle.objects.bulk_create(bars)


@pytest.mark.django_db(transaction=True)
def test_replay_plays_stored_candles_through_the_same_handler(rds, desk):
    start = datetime(2025, 3, 1, tzinfo=UTC)
    store_bars(30, start=start)
    store_bars(20, start=start, kind="mark")  # marks for the first 20 bars only
    handler = FeedHandler(mode="replay", persist=False, tick_every=0)
    since = datetime(2025, 3, 1, 0, 25, tzinfo=UTC)  # bar 5
    played = ReplayFeed(handler=handler, symbol="BTCUSDT", interval="5m", since=since, speed=0, chunk=7).run()
    assert played == 25
    events = desk.drain()
    candles = [e["data"] for e in events if e["type"] == "candle"]
    assert len(candles) == 25 and all(set(c) == CANDLE_KEYS for c in candles)
    assert [c["close"] for c in candles] == [str(101 + i) for i in range(5, 30)]
    assert candles[0]["open_time"] == "2025-03-01T00:25:00+00:00"
    price = latest_price(symbol="BTCUSDT")
    assert (price["last"], price["mark"]) == ("130", "130")  # bar 29: close 130, no mark bar -> the close
    ticks = [e["data"] for e in events if e["type"] == "tick"]
    assert ticks[14]["last"] == "120" and ticks[14]["mark"] == "119.5"  # bar 19 has a mark close of 119.5
    status = feed_status()
    assert (status["mode"], status["messages"], status["candles"], status["connected"]) == ("replay", 50, 25, False)
    assert Candle.objects.count() == 50  # nothing written by the replay


@pytest.mark.django_db
def test_replay_paces_bars_by_speed(rds):
    store_bars(4, start=datetime(2025, 3, 1, tzinfo=UTC))
    waits: list[float] = []
    handler = FeedHandler(mode="replay", persist=False, publish=lambda **kw: None)
    ReplayFeed(handler=handler, symbol="BTCUSDT", interval="5m", speed=60, wait=waits.append).run()
    assert waits == [5.0, 5.0, 5.0]  # 300 s / 60 between bars, none before the first
    waits.clear()
    ReplayFeed(handler=handler, symbol="BTCUSDT", interval="5m", speed=25, wait=waits.append).run()
    assert waits == [4.0, 4.0, 4.0] * 3  # 12 s between bars, in slices of at most 5 s (status heartbeats)


@pytest.mark.django_db(transaction=True)
def test_run_feed_replay_command(rds, desk, capsys):
    store_bars(3, start=datetime(2025, 3, 1, tzinfo=UTC))
    call_command("run_feed", "--replay", "--symbol", "BTCUSDT", "--interval", "5m", "--since", "2025-03-01",
                 "--speed", "0")
    assert "replayed 3 BTCUSDT 5m candles" in capsys.readouterr().out
    assert latest_price(symbol="BTCUSDT")["last"] == "103"
    assert len([e for e in desk.drain() if e["type"] == "candle"]) == 3


def make_configs():
    from strategies.models import Strategy, StrategyConfig

    account = make_account(make_user())
    strategy = Strategy.objects.create(key="chandelier", label="Chandelier Exit")
    common = dict(strategy=strategy, account=account, leverage=Decimal("100"), allocation=Decimal("0.03"))
    StrategyConfig.objects.create(name="a", symbols=["BTCUSDT", "ethusdt"], timeframe="5m", enabled=True, **common)
    StrategyConfig.objects.create(name="b", symbols=["BTCUSDT"], timeframe="1h", enabled=True, **common)
    StrategyConfig.objects.create(name="c", symbols=["SOLUSDT"], timeframe="15m", enabled=False, **common)


@pytest.mark.django_db
def test_feed_subscribes_to_what_enabled_configs_trade():
    make_configs()
    assert feed_subscriptions() == (["BTCUSDT", "ETHUSDT"], ["1h", "5m"])


@pytest.mark.django_db(transaction=True)
def test_run_feed_live_command_follows_the_configs_and_stops_on_sigint(bybit, rds, capsys):
    make_configs()

    def interrupt_once_subscribed():
        for topic in ("kline.5.BTCUSDT", "kline.60.ETHUSDT", "tickers.ETHUSDT"):
            bybit.wait_subscribed(topic)
        os.kill(os.getpid(), signal.SIGINT)  # the command's handler turns it into a clean stop

    # The handler in force before the command (Python's default, or SIG_IGN when the suite runs as a background
    # job without a terminal): the command installs its own for the run and must put this one back.
    before = signal.getsignal(signal.SIGINT)
    threading.Thread(target=interrupt_once_subscribed, daemon=True).start()
    call_command("run_feed")
    assert "live feed: BTCUSDT, ETHUSDT klines 1h, 5m + tickers" in capsys.readouterr().out
    status = feed_status()
    assert (status["mode"], status["connected"], status["symbols"]) == ("live", False, ["BTCUSDT", "ETHUSDT"])
    # the backfill asked for the last 6 h of each symbol and interval once: 2 x 2 kline requests
    assert bybit.counters.requests["/v5/market/kline"] == 4
    assert signal.getsignal(signal.SIGINT) is before


def test_the_ticker_funding_rate_is_kept_with_the_settled_pair_when_the_funding_time_moves_on(rds):
    handler = FeedHandler(mode="live", persist=False, tick_every=3600, publish=lambda **kw: None)

    def ticker(ts, **data):
        handler.handle({"topic": "tickers.BTCUSDT", "type": "snapshot", "ts": ts,
                        "data": {"symbol": "BTCUSDT", "lastPrice": "65000", **data}})

    ticker(1_000, fundingRate="0.0001", nextFundingTime="28800000")
    ticker(2_000, lastPrice="65001")  # a delta without funding fields: the pair stays
    price = latest_price(symbol="BTCUSDT")
    assert (price["funding_rate"], price["funding_ms"]) == ("0.0001", "28800000") and "settled_ms" not in price
    ticker(28_801_000, fundingRate="-0.0002", nextFundingTime="57600000")  # the next period: t1 is settled
    price = latest_price(symbol="BTCUSDT")
    assert (price["funding_rate"], price["funding_ms"]) == ("-0.0002", "57600000")
    assert (price["settled_rate"], price["settled_ms"]) == ("0.0001", "28800000")
