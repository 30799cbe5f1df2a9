"""The replay source: stored candles played as Bybit WebSocket messages through the same
:class:`~trading.marketdata.feed.FeedHandler` the live feed uses (same Redis keys, same broadcasts).

Without a desk (``desk=None``) it plays market data only: each stored bar of each symbol becomes a confirmed
``kline.{code}.{symbol}`` message followed by a ``tickers.{symbol}`` snapshot whose last price is the bar's
close (mark: the stored mark candle's close for the same bar when there is one).

With a desk (:class:`ReplayDesk`, ``trading/services/replay_desk.py``) it is a **faithful clock**: for each
detail bar (the stored interval being replayed) and each of its ``n`` sub-bars from
``trading.engine.detail_path`` (``checkpoints``, ``subbar``):

1. simulated time moves to the sub-bar's end (``clock.set_replay_time``);
2. every paper account holding the symbol steps the sub-bar's OHLC (TP/SL/liquidation by the engine's
   ``step_bar``), then the sub-bar's close is published as the price (ts = the sub-bar's end, flagged as
   replayed so paper does not interpret it a second time);
3. if any account holds a position the monitor can act on, the monitor runs once per such account and the
   replay waits for it (accounts holding nothing, or only positions the monitor provably holds, are skipped:
   ``ReplayDesk.watched``).

When the detail bar closes at T: the next detail bar's open is published as the price at T, the bar's kline is
handled (candle, the feed's clock, coarser timeframes it closes), then the signal cycles due at T run (one task
per account, configs in id order) and the replay waits for them. This is the event order of the portfolio
backtest (``trading/engine/portfolio.py``): sub-bar steps and monitor, then at a signal close the slots in order,
filling at the next detail bar's open. ``speed`` is the time-lapse factor against simulated time (0: as fast as
the desk goes); the replay never runs ahead of the desk. Candles are read in chunks, so any history fits.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from trading.choices import TIMEFRAMES, CandleKind
from trading.engine.detail_path import checkpoints, subbar
from trading.models import Candle

from .clock import clear_replay_time, set_replay_time
from .feed import FeedHandler
from .replay_progress import progress_info, write_progress
from .store import dt_to_ms

CHUNK = 2000
HEARTBEAT = 5.0  # seconds; well inside the status key's expiry
PROGRESS_EVERY = 5.0  # seconds between progress reports


class Desk(Protocol):
    """What the faithful replay asks of the desk (``trading.services.replay_desk.ReplayDesk``)."""

    watched: list[int]  # accounts the monitor must visit (refreshed by ``busy``)

    def busy(self) -> dict[int, set[str]]: ...  # account id -> symbols it holds positions on

    def step(self, *, account_id: int, symbol: str, start: int, end: int,
             bar: tuple[float, float, float, float]) -> None: ...

    def monitor(self, *, account_ids: list[int]) -> None: ...  # run and wait

    def cycles(self) -> int: ...  # run the due cycles and wait; how many ran


def _text(value: Decimal | float) -> str:
    """A price as a Bybit-style plain string (no exponent, no trailing zeros)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    return format(value.normalize(), "f")


class ReplayFeed:
    def __init__(self, *, handler: FeedHandler, symbol: str | None = None, symbols: list[str] | None = None,
                 interval: str, since: datetime | None = None, until: datetime | None = None,
                 speed: float = 60.0, chunk: int = CHUNK, wait: Callable[[float], None] | None = None,
                 desk: Desk | None = None, monitor_seconds: int = 30,
                 progress: Callable[[dict], None] | None = None):
        if interval not in TIMEFRAMES:
            raise ValueError(f"interval: {interval!r} is not one of {', '.join(TIMEFRAMES)}")
        if speed < 0:
            raise ValueError(f"speed: {speed} must be >= 0 (0 = as fast as possible)")
        names = [s.upper() for s in (symbols or ([symbol] if symbol else []))]
        if not names:
            raise ValueError("symbols: at least one symbol to replay")
        self.handler = handler
        self.symbols = list(dict.fromkeys(names))
        self.symbol = self.symbols[0]
        self.interval = interval
        self.since, self.until = since, until
        self.speed = speed
        self.chunk = chunk
        self._wait = wait
        self.desk = desk
        self.bar_seconds = TIMEFRAMES[interval][0]
        self.n_sub = checkpoints(self.bar_seconds, monitor_seconds)
        self._progress = progress
        self._funding: dict[str, tuple[list[int], list]] = {}
        self.done = 0
        self.total = 0
        handler.symbols = list(self.symbols)

    # ----- reading ---------------------------------------------------------------------------------
    def _query(self, symbol: str, kind: str = CandleKind.TRADE):
        qs = Candle.objects.filter(symbol=symbol, interval=self.interval, kind=kind)
        if self.since is not None:
            qs = qs.filter(open_time__gte=self.since)
        if self.until is not None:
            qs = qs.filter(open_time__lte=self.until)
        return qs

    def _bars(self, symbol: str, after: datetime | None, limit: int):
        qs = self._query(symbol)
        if after is not None:
            qs = qs.filter(open_time__gt=after)
        return list(qs.order_by("open_time").values_list("open_time", "open", "high", "low", "close", "volume",
                                                         "turnover")[:limit])

    def _marks(self, symbol: str, first: datetime, last: datetime) -> dict[datetime, Decimal]:
        return dict(Candle.objects.filter(symbol=symbol, interval=self.interval, kind=CandleKind.MARK,
                                          open_time__gte=first, open_time__lte=last)
                    .values_list("open_time", "close"))

    def _chunks(self):
        """Rows of every symbol, grouped by bar open time, in time order: [(open_time, {symbol: (row, mark)})]."""
        after = None
        while True:
            rows = {s: self._bars(s, after, self.chunk) for s in self.symbols}
            rows = {s: r for s, r in rows.items() if r}
            if not rows:
                return
            horizon = min(r[-1][0] for r in rows.values())  # every symbol's chunk reaches this far
            grouped: dict[datetime, dict] = {}
            for s, r in rows.items():
                marks = self._marks(s, r[0][0], horizon)
                for row in r:
                    if row[0] <= horizon:
                        grouped.setdefault(row[0], {})[s] = (row, marks.get(row[0]))
            yield sorted(grouped.items())
            after = horizon

    # ----- messages --------------------------------------------------------------------------------
    def messages(self, row: tuple, mark: Decimal | None, now_ms: int, symbol: str | None = None
                 ) -> tuple[dict, dict]:
        """The kline and ticker messages Bybit would have sent when this bar closed."""
        symbol = symbol or self.symbol
        open_time, o, h, lo, c, v, turnover = row
        seconds, code = TIMEFRAMES[self.interval]
        start = dt_to_ms(open_time)
        kline = {"topic": f"kline.{code}.{symbol}", "type": "snapshot", "ts": now_ms, "data": [{
            "start": start, "end": start + seconds * 1000 - 1, "interval": code, "open": _text(o), "close": _text(c),
            "high": _text(h), "low": _text(lo), "volume": _text(v), "turnover": _text(turnover), "confirm": True,
            "timestamp": now_ms}]}
        return kline, self.ticker(symbol, c, mark, now_ms)

    def funding_at(self, symbol: str, ts: int) -> tuple[int, Decimal] | None:
        """(time ms, rate) of the first stored funding time at or after ``ts``, as Bybit's ticker announces it
        (``nextFundingTime``, ``fundingRate``); None when none is stored."""
        from bisect import bisect_left

        from trading.models import FundingRate

        if symbol not in self._funding:
            qs = FundingRate.objects.filter(symbol=symbol)
            if self.since is not None:
                qs = qs.filter(funding_time__gte=self.since)
            rows = list(qs.order_by("funding_time").values_list("funding_time", "rate"))
            self._funding[symbol] = ([dt_to_ms(t) for t, _ in rows], [r for _, r in rows])
        times, rates = self._funding[symbol]
        i = bisect_left(times, ts)
        return None if i >= len(times) else (times[i], rates[i])

    @staticmethod
    def ticker(symbol: str, last, mark, ts: int, *, replayed: bool = False,
               funding: tuple[int, Decimal] | None = None) -> dict:
        data = {"symbol": symbol, "lastPrice": _text(last), "markPrice": _text(mark if mark is not None else last),
                "bid1Price": _text(last), "ask1Price": _text(last)}
        if funding is not None:
            data["nextFundingTime"], data["fundingRate"] = str(funding[0]), _text(funding[1])
        if replayed:
            data["qdReplay"] = True
        return {"topic": f"tickers.{symbol}", "type": "snapshot", "ts": ts, "data": data}

    def _pause(self, seconds: float, wait: Callable[[float], None], stop: threading.Event) -> None:
        """Wait in slices of at most HEARTBEAT s, keeping the feed status fresh meanwhile."""
        if seconds <= 0:
            return
        slices = max(1, math.ceil(seconds / HEARTBEAT))
        for _ in range(slices):
            if stop.is_set():
                return
            wait(seconds / slices)
            self.handler.heartbeat()

    # ----- playing ---------------------------------------------------------------------------------
    def run(self, *, stop: threading.Event | None = None) -> int:
        """Play the bars; returns how many bar times were played."""
        stop = stop or threading.Event()
        wait = self._wait or stop.wait
        self.total = sum(self._query(s).count() for s in self.symbols) // max(1, len(self.symbols))
        self.done = 0
        self._busy: dict[int, set[str]] | None = None
        self._last_time: datetime | None = None
        self._started = time.monotonic()
        self._reported = 0.0
        self.handler.set_connected(True)
        try:
            pending = None  # (open_time, bars) of the bar being played, the next one is needed for its close price
            for group in self._chunks():
                for item in group:
                    if stop.is_set():
                        return self.done
                    if pending is not None:
                        self._play(pending, item, wait, stop)
                    pending = item
            if pending is not None and not stop.is_set():
                self._play(pending, None, wait, stop)
        finally:
            self._report(force=True, state="stopped" if stop.is_set() else "finished")
            if self.desk is not None:
                clear_replay_time(client=self.handler.redis)
            self.handler.set_connected(False)
        return self.done

    def _play(self, item, following, wait, stop) -> None:
        open_time, bars = item
        self._last_time = open_time
        if self.desk is None:
            if self.done and self.speed:
                self._pause(self.bar_seconds / self.speed, wait, stop)
            for symbol, (row, mark) in bars.items():
                for message in self.messages(row, mark, int(time.time() * 1000), symbol):
                    self.handler.handle(message)
        else:
            self._play_desk(open_time, bars, following, wait, stop)
        self.done += 1
        self._report()

    def _play_desk(self, open_time: datetime, bars: dict, following, wait, stop) -> None:
        start = dt_to_ms(open_time)
        sub_ms = self.bar_seconds * 1000 // self.n_sub
        busy = self._busy
        if busy is None:
            busy = self._busy = self.desk.busy()
        for j in range(self.n_sub):
            t0 = time.monotonic()
            ts = start + (j + 1) * sub_ms
            set_replay_time(ms=ts, client=self.handler.redis)
            for symbol, (row, _) in bars.items():
                o, h, lo, c = (float(x) for x in row[1:5])
                sub = subbar(o, h, lo, c, self.n_sub, j)
                for account_id, held in busy.items():
                    if symbol in held:
                        self.desk.step(account_id=account_id, symbol=symbol, start=ts - sub_ms, end=ts, bar=sub)
                self.handler.handle(self.ticker(symbol, float(sub[3]), None, ts, replayed=True,
                                                funding=self.funding_at(symbol, ts)))
            if busy and self.desk.watched:
                self.desk.monitor(account_ids=list(self.desk.watched))
                busy = self._busy = self.desk.busy()
            self._keep_pace(sub_ms / 1000, t0, wait, stop)
        close_ms = start + self.bar_seconds * 1000
        nxt = following[1] if following is not None and dt_to_ms(following[0]) == close_ms else {}
        for symbol, (row, _) in bars.items():
            price = nxt[symbol][0][1] if symbol in nxt else row[4]
            self.handler.handle(self.ticker(symbol, price, None, close_ms, replayed=True,
                                            funding=self.funding_at(symbol, close_ms)))
        for symbol, (row, mark) in bars.items():
            self.handler.handle(self.messages(row, mark, close_ms, symbol)[0])
        if self.desk.cycles():
            self._busy = self.desk.busy()

    def _keep_pace(self, simulated: float, t0: float, wait, stop) -> None:
        """Sleep what is left of this step's wall time at ``speed`` (nothing when the desk was slower)."""
        if self.speed:
            self._pause(simulated / self.speed - (time.monotonic() - t0), wait, stop)

    def _report(self, *, force: bool = False, state: str = "running") -> None:
        """Every PROGRESS_EVERY s (and at the end): the feed status, the ``qd:replay:progress`` hash, a ``replay``
        event to the desk and the ``progress`` callback (the command's output line)."""
        now = time.monotonic()
        if not force and now - self._reported < PROGRESS_EVERY:
            return
        self._reported = now
        info = progress_info(state=state, symbols=self.symbols, interval=self.interval,
                             bar_time=self._last_time.isoformat() if self._last_time else "", bars_done=self.done,
                             bars_total=self.total, elapsed_s=now - self._started, bar_seconds=self.bar_seconds,
                             now_ms=int(time.time() * 1000))
        self.handler.progress = {k: info[k] for k in ("bar_time", "bars_done", "bars_total", "speed")}
        self.handler.heartbeat()
        try:
            write_progress(client=self.handler.redis, info=info)
        except Exception as exc:  # noqa: BLE001  (the replay goes on; the output line still says it)
            self.handler.record_error(f"replay progress: {exc}")
        self.handler.send_event("replay", info)
        if self._progress is not None:
            self._progress(info)
