"""The replay source: stored candles played as Bybit WebSocket messages through the same
:class:`~trading.marketdata.feed.FeedHandler` the live feed uses (same Redis keys, same broadcasts).

Each stored bar becomes a confirmed ``kline.{code}.{symbol}`` message followed by a ``tickers.{symbol}``
snapshot whose last price is the bar's close (mark price: the stored mark candle's close for the same bar when
there is one, else the close). ``speed`` is the time-lapse factor: at 60 a 5-minute bar is played every 5 s;
0 plays as fast as possible. Candles are read in chunks, so any history length fits in memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from trading.choices import TIMEFRAMES, CandleKind
from trading.models import Candle

from .feed import FeedHandler
from .store import dt_to_ms

CHUNK = 2000
HEARTBEAT = 5.0  # seconds; well inside the status key's expiry


def _text(value: Decimal) -> str:
    """Decimal from the store -> Bybit-style plain string (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")


class ReplayFeed:
    def __init__(self, *, handler: FeedHandler, symbol: str, interval: str, since: datetime | None = None,
                 until: datetime | None = None, speed: float = 60.0, chunk: int = CHUNK,
                 wait: Callable[[float], None] | None = None):
        if interval not in TIMEFRAMES:
            raise ValueError(f"interval: {interval!r} is not one of {', '.join(TIMEFRAMES)}")
        if speed < 0:
            raise ValueError(f"speed: {speed} must be >= 0 (0 = as fast as possible)")
        self.handler = handler
        self.symbol = symbol.upper()
        self.interval = interval
        self.since, self.until = since, until
        self.speed = speed
        self.chunk = chunk
        self._wait = wait
        handler.symbols = [self.symbol]

    def _bars(self, after: datetime | None):
        qs = Candle.objects.filter(symbol=self.symbol, interval=self.interval, kind=CandleKind.TRADE)
        if after is not None:
            qs = qs.filter(open_time__gt=after)
        elif self.since is not None:
            qs = qs.filter(open_time__gte=self.since)
        if self.until is not None:
            qs = qs.filter(open_time__lte=self.until)
        return list(qs.order_by("open_time").values_list("open_time", "open", "high", "low", "close", "volume",
                                                         "turnover")[:self.chunk])

    def _marks(self, first: datetime, last: datetime) -> dict[datetime, Decimal]:
        return dict(Candle.objects.filter(symbol=self.symbol, interval=self.interval, kind=CandleKind.MARK,
                                          open_time__gte=first, open_time__lte=last)
                    .values_list("open_time", "close"))

    def messages(self, row: tuple, mark: Decimal | None, now_ms: int) -> tuple[dict, dict]:
        """The kline and ticker messages Bybit would have sent when this bar closed."""
        open_time, o, h, lo, c, v, turnover = row
        seconds, code = TIMEFRAMES[self.interval]
        start = dt_to_ms(open_time)
        kline = {"topic": f"kline.{code}.{self.symbol}", "type": "snapshot", "ts": now_ms, "data": [{
            "start": start, "end": start + seconds * 1000 - 1, "interval": code, "open": _text(o), "close": _text(c),
            "high": _text(h), "low": _text(lo), "volume": _text(v), "turnover": _text(turnover), "confirm": True,
            "timestamp": now_ms}]}
        ticker = {"topic": f"tickers.{self.symbol}", "type": "snapshot", "ts": now_ms, "data": {
            "symbol": self.symbol, "lastPrice": _text(c), "markPrice": _text(mark if mark is not None else c),
            "bid1Price": _text(c), "ask1Price": _text(c)}}
        return kline, ticker

    def _pause(self, seconds: float, wait: Callable[[float], None], stop: threading.Event) -> None:
        """Wait between bars in slices of at most HEARTBEAT s, keeping the feed status fresh meanwhile."""
        slices = max(1, math.ceil(seconds / HEARTBEAT))
        for _ in range(slices):
            if stop.is_set():
                return
            wait(seconds / slices)
            self.handler.heartbeat()

    def run(self, *, stop: threading.Event | None = None) -> int:
        """Play the bars; returns how many were played."""
        stop = stop or threading.Event()
        wait = self._wait or stop.wait
        pause = TIMEFRAMES[self.interval][0] / self.speed if self.speed else 0.0
        played = 0
        after = None
        self.handler.set_connected(True)
        try:
            while not stop.is_set():
                rows = self._bars(after)
                if not rows:
                    break
                marks = self._marks(rows[0][0], rows[-1][0])
                for row in rows:
                    if stop.is_set():
                        break
                    if played and pause:
                        self._pause(pause, wait, stop)
                    for message in self.messages(row, marks.get(row[0]), int(time.time() * 1000)):
                        self.handler.handle(message)
                    played += 1
                after = rows[-1][0]
        finally:
            self.handler.set_connected(False)
        return played
