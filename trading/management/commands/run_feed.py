"""manage.py run_feed [--symbols S ...] [--intervals 5m ...] | --replay --symbol S --interval 5m --since D --speed 60."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from trading.choices import TIMEFRAMES
from trading.marketdata.feed import FeedHandler
from trading.marketdata.live import LiveFeed, rest_backfill
from trading.marketdata.replay import ReplayFeed
from trading.marketdata.store import parse_utc
from trading.selectors import feed_subscriptions


class Command(BaseCommand):
    help = ("Market-data feed: Bybit public WebSocket (kline + tickers) into the store, Redis and the desk group; "
            "or --replay of stored candles through the same handler.")

    def add_arguments(self, parser):
        parser.add_argument("--symbols", nargs="+", help="default: every symbol an enabled strategy config trades")
        parser.add_argument("--intervals", nargs="+", choices=list(TIMEFRAMES),
                            help="kline intervals (default: the enabled configs' timeframes, else 1m)")
        parser.add_argument("--backfill-hours", type=float, default=6.0,
                            help="live: after each (re)connect, download closed bars of the last N hours the store "
                                 "lacks (0: off)")
        parser.add_argument("--wait", action="store_true",
                            help="live: with nothing to subscribe yet, wait for an enabled config instead of exiting")
        parser.add_argument("--replay", action="store_true", help="play stored candles instead of Bybit")
        parser.add_argument("--symbol", help="replay: the symbol")
        parser.add_argument("--interval", choices=list(TIMEFRAMES), default="5m", help="replay: the interval")
        parser.add_argument("--since", help="replay: first bar (UTC date or date-time)")
        parser.add_argument("--until", help="replay: last bar (UTC date or date-time)")
        parser.add_argument("--speed", type=float, default=60.0, help="replay: time-lapse factor, 0 = no pauses")

    def handle(self, *args, **o):
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._run(stop, o)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self, stop: threading.Event, o: dict) -> None:
        if o["replay"]:
            if not o["symbol"]:
                raise CommandError("--replay needs --symbol")
            handler = FeedHandler(mode="replay", persist=False)
            feed = ReplayFeed(handler=handler, symbol=o["symbol"], interval=o["interval"],
                              since=parse_utc(o["since"]) if o["since"] else None,
                              until=parse_utc(o["until"]) if o["until"] else None, speed=o["speed"])
            played = feed.run(stop=stop)
            self.stdout.write(f"replayed {played} {feed.symbol} {feed.interval} candles")
            return
        symbols, timeframes = feed_subscriptions()
        while not (o["symbols"] or symbols) and not stop.is_set():
            if o["wait"]:
                self.stdout.write("live feed: no enabled strategy config trades a symbol yet; checking every 15 s")
                stop.wait(15)
                symbols, timeframes = feed_subscriptions()
                continue
            raise CommandError("no enabled strategy config trades a symbol; pass --symbols (or --wait)")
        if stop.is_set():
            return
        symbols = [s.upper() for s in (o["symbols"] or symbols)]
        intervals = o["intervals"] or timeframes or ["1m"]
        self.stdout.write(f"live feed: {', '.join(symbols)} klines {', '.join(intervals)} + tickers (Ctrl-C stops)")
        backfill = (rest_backfill(symbols=symbols, intervals=intervals, hours=o["backfill_hours"])
                    if o["backfill_hours"] > 0 else None)
        LiveFeed(handler=FeedHandler(mode="live"), symbols=symbols, intervals=intervals,
                 backfill=backfill).run(stop=stop)
