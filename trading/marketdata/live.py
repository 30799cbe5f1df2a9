"""The live source: pybit's public ``WebSocket("linear", testnet=False)`` on kline and tickers topics, feeding
:class:`~trading.marketdata.feed.FeedHandler`, supervised with reconnects and exponential back-off.

pybit reconnects by itself only on some connection errors, and an exception raised in a callback kills its
socket thread. So: callbacks catch everything (counted in the status), pybit's own restart is off, and one
supervisor loop owns reconnection: when the socket is down it builds a new client (which resubscribes),
waiting 1, 2, 4 ... up to ``backoff_max`` seconds between attempts (reset once a connection has held for
``stable_after`` seconds). After every (re)connect an optional REST backfill fetches the bars that closed
while the socket was down, so a disconnect leaves no hole in the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import close_old_connections
from pybit.unified_trading import WebSocket

from trading.choices import TIMEFRAMES

from .bybit import ws_public_endpoint
from .download import download_candles
from .feed import FeedHandler
from .supervisor import SupervisedSocket

log = logging.getLogger(__name__)


class DeskWebSocket(WebSocket):
    """pybit's public WebSocket with an optional endpoint (e.g. ws://127.0.0.1:P/v5/public/linear instead of
    wss://stream.bybit.com) and without its subscribe race: pybit sends the subscribe frame and only then records
    the req_id and the topic's callback, so a quick reply (or the ticker snapshot Bybit pushes right after
    subscribing) met a KeyError in the socket thread, which closed the socket. Here the socket thread waits
    briefly for the registration instead, and drops the frame with a warning if it never comes."""

    REGISTRATION_WAIT = 2.0

    def __init__(self, *, endpoint: str | None = None, channel_type: str = "linear", **options):
        self._desk_endpoint = endpoint
        super().__init__(channel_type, **options)

    def _connect(self, url):
        return super()._connect(self._desk_endpoint or url)

    def _registered(self, check) -> bool:
        deadline = time.monotonic() + self.REGISTRATION_WAIT
        while not check():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def _process_subscription_message(self, message):
        req_id = message.get("req_id")
        if req_id and not self._registered(lambda: req_id in self.subscriptions):
            log.warning("subscribe reply for unknown req_id %s ignored", req_id)
            return None
        if message.get("success") is True:
            self.acked_subscriptions = getattr(self, "acked_subscriptions", 0) + 1
        return super()._process_subscription_message(message)

    def wait_subscribed(self, count: int, *, timeout: float = 10.0) -> bool:
        """Until ``count`` subscriptions have been confirmed by the server (a topic is live only from its ack:
        what is published before it is not delivered, so a catch-up must start after it)."""
        deadline = time.monotonic() + timeout
        while getattr(self, "acked_subscriptions", 0) < count:
            if time.monotonic() > deadline or not self.is_connected():
                return False
            time.sleep(0.01)
        return True

    def _process_normal_message(self, message):
        topic = message.get("topic")
        if topic is not None and not self._registered(lambda: topic in self.callback_directory):
            log.warning("frame for %s before any callback was registered: dropped", topic)
            return None
        return super()._process_normal_message(message)


def public_websocket(*, endpoint: str | None = None) -> DeskWebSocket:
    """A connected public linear socket. ``restart_on_error=False``: :class:`LiveFeed` owns reconnection.
    ``retries=3``: with 1, pybit raises after a successful first attempt (it counts down before checking)."""
    return DeskWebSocket(endpoint=endpoint, testnet=False, restart_on_error=False, retries=3)


class LiveFeed(SupervisedSocket):
    """Klines and tickers of ``symbols`` into the handler; reconnects and backfills (see SupervisedSocket)."""

    def __init__(self, *, handler: FeedHandler, symbols: list[str], intervals: list[str],
                 endpoint: str | None = None, check_every: float = 1.0, backoff_initial: float = 1.0,
                 backoff_max: float = 60.0, stable_after: float = 30.0,
                 backfill: Callable[[], None] | None = None):
        unknown = [i for i in intervals if i not in TIMEFRAMES]
        if unknown or not intervals:
            raise ValueError(f"intervals: {unknown or intervals} not among {', '.join(TIMEFRAMES)}")
        if not symbols:
            raise ValueError("symbols: at least one")
        self.handler = handler
        self.symbols = [s.upper() for s in symbols]
        self.codes = sorted({TIMEFRAMES[i][1] for i in intervals})
        self.endpoint = endpoint if endpoint is not None else ws_public_endpoint()
        self.check_every = check_every
        self.backoff_initial, self.backoff_max, self.stable_after = backoff_initial, backoff_max, stable_after
        self.backfill = backfill
        self.name = "feed"
        handler.symbols = self.symbols

    def topics(self) -> list[str]:
        return [f"kline.{c}.{s}" for c in self.codes for s in self.symbols] + [f"tickers.{s}" for s in self.symbols]

    def _callback(self, message: dict) -> None:
        try:
            self.handler.handle(message)
        except Exception as exc:  # never let it reach pybit: that would kill the socket thread
            log.exception("feed message %s failed", message.get("topic"))
            self.handler.record_error(f"{message.get('topic')}: {exc}")

    def _open(self):
        ws = public_websocket(endpoint=self.endpoint)
        try:
            for code in self.codes:
                ws.kline_stream(interval=code, symbol=self.symbols, callback=self._callback)
            ws.ticker_stream(symbol=self.symbols, callback=self._callback)
        except Exception:
            self._close(ws)
            raise
        return ws

    def _after_connect(self) -> None:
        """Fetch over REST the bars that closed while the socket was down (or before the feed started)."""
        if self.backfill is None:
            return
        try:
            close_old_connections()
            self.backfill()
        except Exception as exc:
            log.warning("feed: backfill failed: %s", exc)
            self.handler.record_error(f"backfill: {exc}")
        finally:
            close_old_connections()

def rest_backfill(*, symbols: list[str], intervals: list[str], hours: float) -> Callable[[], None]:
    """A backfill for :class:`LiveFeed`: the closed bars of the last ``hours`` hours that the store lacks
    (``download_candles`` resumes after the last stored bar, so a healthy store costs one request each)."""
    def run() -> None:
        since = datetime.now(tz=UTC) - timedelta(hours=hours)
        for symbol in symbols:
            for interval in intervals:
                download_candles(symbol=symbol, interval=interval, since=since)

    return run
