"""manage.py run_feed [--symbols S ...] [--intervals 5m ...]
| --replay [--symbols S ...] --interval 5m --since D [--until D] --speed 60 [--market-only]."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from trading.choices import TIMEFRAMES
from trading.marketdata.feed import FeedHandler
from trading.marketdata.live import LiveFeed, rest_backfill
from trading.marketdata.replay import ReplayFeed
from trading.marketdata.replay_progress import progress_line
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
        parser.add_argument("--symbol", help="replay: one symbol (same as --symbols S)")
        parser.add_argument("--interval", choices=list(TIMEFRAMES), default="5m",
                            help="replay: the stored (detail) interval to play; signal timeframes above it are "
                                 "resampled from it")
        parser.add_argument("--market-only", action="store_true",
                            help="replay: play prices and candles only; do not drive the desk's cycles and monitor")
        parser.add_argument("--since", help="replay: first bar (UTC date or date-time)")
        parser.add_argument("--until", help="replay: last bar (UTC date or date-time)")
        parser.add_argument("--speed", type=float, default=60.0,
                            help="replay: time-lapse factor against simulated time, 0 = as fast as the desk goes "
                                 "(the replay always waits for the desk's cycles and monitor)")

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
            self._replay(stop, o)
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

    def _progress_line(self, info: dict) -> None:
        """A plain line every few seconds, flushed: readable in a log file or a pipe (no terminal needed)."""
        self.stdout.write(progress_line(info))
        self.stdout.flush()

    def _replay(self, stop: threading.Event, o: dict) -> None:
        symbols = [s.upper() for s in (o["symbols"] or ([o["symbol"]] if o["symbol"] else feed_subscriptions()[0]))]
        if not symbols:
            raise CommandError("--replay needs --symbols (or an enabled strategy config that trades a symbol)")
        desk = None
        if not o["market_only"]:
            from trading.services.replay_desk import ReplayDesk, ReplayRefused

            try:
                desk = ReplayDesk()
            except ReplayRefused as exc:
                raise CommandError(str(exc)) from exc
        handler = FeedHandler(mode="replay", persist=False, derived_intervals=list(TIMEFRAMES))
        feed = ReplayFeed(handler=handler, symbols=symbols, interval=o["interval"],
                          since=parse_utc(o["since"]) if o["since"] else None,
                          until=parse_utc(o["until"]) if o["until"] else None, speed=o["speed"], desk=desk,
                          progress=self._progress_line)
        played = feed.run(stop=stop)
        self.stdout.write(f"replayed {played} {', '.join(feed.symbols)} {feed.interval} candles")
        if desk is not None and desk.errors:
            self.stdout.write(f"desk errors during the replay: {len(desk.errors)}; first: {desk.errors[0]}")
