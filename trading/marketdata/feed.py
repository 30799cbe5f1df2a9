"""The one market-data message handler, fed by the live Bybit WebSocket or by the replay of stored candles.

Both sources hand it Bybit public-WebSocket messages (``kline.{code}.{symbol}``, ``tickers.{symbol}``), so the
desk behaves the same live and offline:

- a closed kline (``confirm: true``) is upserted into ``Candle`` and broadcast as a ``candle`` event; the feed's
  clock ``qd:bar:{SYMBOL}:{interval}`` moves to it, and to the coarser ``derived_intervals`` it ends (the 5m bar
  ending on the quarter hour closes the 15m bar a strategy reads resampled from the stored 5m);
- a ticker updates the Redis hash ``qd:price:{SYMBOL}`` (last, mark, bid, ask, ts, replay) and is broadcast as a
  ``tick`` event (at most every ``tick_every`` seconds per symbol); ``replay`` = "1" marks a replayed price whose
  sub-bar the replay stepped through paper itself; the ticker's ``fundingRate`` for ``nextFundingTime`` is kept as
  ``funding_rate``/``funding_ms``, and when the next funding time moves on, the pair it replaces stays as
  ``settled_rate``/``settled_ms`` (paper charges funding from these);
- the Redis hash ``qd:feed:status`` (connected, mode live|replay, last message time, lag, counters) is
  rewritten on every message and heartbeat (it expires when the feed stops refreshing it) and broadcast as a
  ``feed`` event on every connect/disconnect and at most every ``status_every`` seconds otherwise.

Events go to the desk-wide Channels group (:func:`trading.events.publish_desk`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import redis
from django.conf import settings
from django.db import close_old_connections

from trading.choices import TIMEFRAMES, CandleKind
from trading.events import publish_desk

from .files import CandleBatch
from .store import ms_to_dt, upsert_candles

log = logging.getLogger(__name__)
PRICE_KEY = "qd:price:{symbol}"
CLOSED_BAR_KEY = "qd:bar:{symbol}:{interval}"  # open time (ms) of the newest closed bar the feed handled
STATUS_KEY = "qd:feed:status"
STATUS_TTL = 30  # seconds; the feed refreshes it at least every status_every seconds
LABEL_BY_CODE = {code: label for label, (_, code) in TIMEFRAMES.items()}
MODES = ("live", "replay")


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def latest_price(*, symbol: str, client: redis.Redis | None = None) -> dict[str, str]:
    """The feed's latest prices of ``symbol``: {last, mark, bid, ask, ts} (strings; empty when unknown)."""
    return (client or redis_client()).hgetall(PRICE_KEY.format(symbol=symbol.upper()))


def last_closed_bar(*, symbol: str, interval: str, client: redis.Redis | None = None) -> int | None:
    """Open time (ms) of the newest closed bar the feed (live or replay) handled, or None."""
    raw = (client or redis_client()).get(CLOSED_BAR_KEY.format(symbol=symbol.upper(), interval=interval))
    return None if raw is None else int(raw)


def feed_status(*, client: redis.Redis | None = None) -> dict[str, Any]:
    """The status the running feed last wrote, typed; {} when no feed has written one recently."""
    client = client or redis_client()
    raw = client.hgetall(STATUS_KEY)
    restarts = int(client.hget("qd:desk:restarts", "feed") or 0)  # written by rundesk (quantdesk/launcher.py)
    if not raw:
        return {"restarts": restarts} if restarts else {}
    ints = ("last_message_ms", "lag_ms", "messages", "candles", "reconnects", "errors", "updated_ms", "bars_done",
            "bars_total")
    out: dict[str, Any] = {k: (int(v) if v != "" else None) if k in ints else v for k, v in raw.items()}
    out["connected"] = raw.get("connected") == "1"
    out["symbols"] = [s for s in raw.get("symbols", "").split(",") if s]
    out["restarts"] = restarts
    return out


class FeedHandler:
    """See the module docstring. Thread-safe: pybit calls :meth:`handle` from its socket thread."""

    def __init__(self, *, mode: str, symbols: list[str] | None = None, persist: bool = True,
                 tick_every: float = 0.25, status_every: float = 5.0, client: redis.Redis | None = None,
                 publish: Callable[..., None] = publish_desk, clock: Callable[[], float] = time.time,
                 derived_intervals: list[str] | None = None):
        if mode not in MODES:
            raise ValueError(f"mode: {mode!r} is not one of {MODES}")
        self.mode = mode
        self.symbols = list(symbols or [])
        self.derived_intervals: list[str] = list(derived_intervals or [])
        self.persist = persist
        self.tick_every = tick_every
        self.status_every = status_every
        self.redis = client or redis_client()
        self._publish = publish
        self.clock = clock
        self._lock = threading.Lock()
        self.connected = False
        self._ever_connected = False
        self.last_message_ms: int | None = None
        self.lag_ms: int | None = None
        self.messages = self.candles = self.reconnects = self.errors = 0
        self.last_error = ""
        self.progress: dict[str, Any] = {}  # a replay's progress (bar_time, bars_done, bars_total, speed)
        self._tick_sent: dict[str, float] = {}
        self._funding: dict[str, tuple[str, str]] = {}  # symbol -> (funding_ms, funding_rate) last written
        self._status_sent = 0.0

    # ----- messages ----------------------------------------------------------------------------
    def handle(self, message: dict) -> None:
        topic = str(message.get("topic") or "")
        now = self.clock()
        with self._lock:
            self.messages += 1
            self.last_message_ms = int(now * 1000)
            ts = message.get("ts")
            self.lag_ms = max(0, self.last_message_ms - int(ts)) if ts else None
        if topic.startswith("kline."):
            self._on_kline(topic, message)
        elif topic.startswith("tickers."):
            self._on_ticker(topic, message)
        self.write_status(broadcast=now - self._status_sent >= self.status_every)

    def _on_kline(self, topic: str, message: dict) -> None:
        _, code, symbol = topic.split(".", 2)
        interval = LABEL_BY_CODE.get(code)
        if interval is None:
            log.warning("kline topic %s: interval %r is not one the desk stores", topic, code)
            return
        for k in message.get("data") or []:
            if not k.get("confirm"):
                continue  # the still-open candle is never stored
            start = int(k["start"])
            if self.persist:
                batch = CandleBatch(open_ms=np.array([start], dtype=np.int64), open=[k["open"]], high=[k["high"]],
                                    low=[k["low"]], close=[k["close"]], volume=[k.get("volume") or "0"],
                                    turnover=[k.get("turnover") or "0"])
                close_old_connections()
                upsert_candles(symbol=symbol, interval=interval, kind=CandleKind.TRADE, batch=batch)
                close_old_connections()
            with self._lock:
                self.candles += 1
            self.redis.set(CLOSED_BAR_KEY.format(symbol=symbol, interval=interval), start)
            self._close_derived(symbol, interval, start)
            self._send("candle", {"symbol": symbol, "interval": interval, "open_time": ms_to_dt(start).isoformat(),
                                  "open": k["open"], "high": k["high"], "low": k["low"], "close": k["close"],
                                  "volume": k.get("volume") or "0", "turnover": k.get("turnover") or "0"})

    def _close_derived(self, symbol: str, interval: str, start: int) -> None:
        """The bar ``start`` of ``interval`` closing also closes the coarser desk timeframes it ends (a 5m bar ending
        on the quarter hour closes the 15m bar): the feed's clock then moves for timeframes a strategy reads
        resampled from the stored interval, exactly when their last base bar closed."""
        secs = TIMEFRAMES[interval][0]
        close_ms = start + secs * 1000
        for target in self.derived_intervals:
            tsec = TIMEFRAMES[target][0]
            if tsec > secs and tsec % secs == 0 and close_ms % (tsec * 1000) == 0:
                self.redis.set(CLOSED_BAR_KEY.format(symbol=symbol, interval=target), close_ms - tsec * 1000)

    def _on_ticker(self, topic: str, message: dict) -> None:
        data = dict(message.get("data") or {})  # pybit passes its shared snapshot dict: copy before use
        symbol = str(data.get("symbol") or topic.split(".", 1)[1])
        fields = {"last": data.get("lastPrice"), "mark": data.get("markPrice"), "bid": data.get("bid1Price"),
                  "ask": data.get("ask1Price")}
        fields = {k: str(v) for k, v in fields.items() if v not in (None, "")}
        fields["ts"] = str(message.get("ts") or int(self.clock() * 1000))
        fields["replay"] = "1" if data.get("qdReplay") else "0"  # the replay steps paper through it itself
        self._funding_fields(symbol, data, fields)
        self.redis.hset(PRICE_KEY.format(symbol=symbol), mapping=fields)
        now = self.clock()
        if now - self._tick_sent.get(symbol, float("-inf")) >= self.tick_every:
            self._tick_sent[symbol] = now
            self._send("tick", {"symbol": symbol, **fields})

    def _funding_fields(self, symbol: str, data: dict, fields: dict) -> None:
        """The next funding time and rate (Bybit sends them in snapshots and in deltas that change them); the
        pair a new funding time replaces is kept as the settled one."""
        rate, when = data.get("fundingRate"), data.get("nextFundingTime")
        old = self._funding.get(symbol)
        when = str(when) if when not in (None, "") else (old[0] if old else None)
        rate = str(rate) if rate not in (None, "") else (old[1] if old and old[0] == when else None)
        if when is None or rate is None:
            return
        if old is not None and old[0] != when:
            fields["settled_ms"], fields["settled_rate"] = old
        fields["funding_ms"], fields["funding_rate"] = when, rate
        self._funding[symbol] = (when, rate)

    # ----- status ------------------------------------------------------------------------------
    def set_connected(self, connected: bool, *, error: str = "") -> None:
        with self._lock:
            if connected and not self.connected and self._ever_connected:
                self.reconnects += 1
            dropped = self.connected and not connected and self.mode == "live"
            self._ever_connected |= connected
            self.connected = connected
            if error:
                self.last_error = error
        self.write_status(broadcast=True)
        if dropped:  # the owners' alert channels hear of a live feed going down (once per drop)
            from trading.services.alerts import Alert, notify_desk

            notify_desk(alert=Alert("feed_down", f"{self.reconnects}:{int(time.time())}", "QuantDesk feed down",
                                    f"The live market feed lost Bybit: {error or 'disconnected'}; reconnecting."))

    def record_error(self, error: str) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = error[:500]

    def heartbeat(self) -> None:
        """Refresh the status key (and broadcast it every ``status_every`` s) while the feed is alive."""
        self.write_status(broadcast=self.clock() - self._status_sent >= self.status_every)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"connected": self.connected, "mode": self.mode, "symbols": list(self.symbols),
                    "last_message_ms": self.last_message_ms, "lag_ms": self.lag_ms, "messages": self.messages,
                    "candles": self.candles, "reconnects": self.reconnects, "errors": self.errors,
                    "error": self.last_error, "updated_ms": int(self.clock() * 1000), **self.progress}

    def write_status(self, *, broadcast: bool) -> None:
        status = self.status()
        flat = {k: ("1" if v else "0") if isinstance(v, bool) else ",".join(v) if isinstance(v, list)
                else "" if v is None else str(v) for k, v in status.items()}
        pipe = self.redis.pipeline()
        pipe.hset(STATUS_KEY, mapping=flat)
        pipe.expire(STATUS_KEY, STATUS_TTL)
        pipe.execute()
        if broadcast:
            self._status_sent = self.clock()
            self._send("feed", status)

    def send_event(self, event_type: str, data: dict) -> None:
        """Publish ``data`` to the desk's sockets as ``event_type`` (a failure is counted, never raised)."""
        self._send(event_type, data)

    def _send(self, event_type: str, data: dict) -> None:
        try:
            self._publish(event_type=event_type, data=data)
        except Exception as exc:  # a broadcast failure must not stop the feed
            log.warning("broadcast of %s failed: %s", event_type, exc)
            self.record_error(f"broadcast {event_type}: {exc}")
