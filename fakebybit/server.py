"""FakeBybit: the fake Bybit V5 exchange as a real aiohttp HTTP + WebSocket server on 127.0.0.1, running
its own asyncio loop in a background thread; one account per API key (requests routed by X-BAPI-API-KEY,
the private stream by its auth key), market data shared. Tests start/stop it, load market data, move prices, push
public frames, inject faults and read counters; every call is marshalled onto the server loop."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass

from aiohttp import web

from .account import Outcome
from .auth import check_rest
from .exchange import Exchange
from .faults import Counters, Faults
from .formats import envelope, money, ms_str, now_ms
from .marketdata import INTERVAL_MS
from .params import ParamError, parse_body, parse_query
from .ratelimit import RateLimiter
from .routes_private import GET_ROUTES, POST_ROUTES
from .routes_public import ROUTES as PUBLIC_ROUTES
from .websocket import Hub

TOO_MANY_VISITS = 10006


@dataclass(frozen=True)
class Urls:
    http: str
    ws_public: str
    ws_private: str
    port: int

    @property
    def public_wss_template(self) -> str:
        """For ``pybit.unified_trading.PUBLIC_WSS`` (keeps the ``{CHANNEL_TYPE}`` placeholder)."""
        return self.ws_public.replace("/linear", "/{CHANNEL_TYPE}")


class FakeBybit:
    """See module doc. ``api_key``/``api_secret`` are accepted; more keys (each its own account) via ``add_key``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = "fake-api-key",
                 api_secret: str = "fake-api-secret", balance: float = 10_000.0, listings=None,
                 default_leverage: float = 10.0) -> None:
        self.host, self.port = host, int(port)
        self.api_key, self.api_secret = api_key, api_secret
        self.exchange = Exchange(listings, balance, {api_key: api_secret}, default_leverage)
        self.faults = Faults()
        self.counters = Counters()
        self.limiter = RateLimiter()
        self.hub = Hub(self.exchange, self.counters)
        self.on_hold = None  # callable(path) run when a ``timeout`` fault starts holding a reply
        self.private_ws_down = False
        self.urls: Urls | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ----- life cycle ----------------------------------------------------------------------------
    def start(self) -> Urls:
        if self._loop is not None:
            raise RuntimeError("FakeBybit is already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fakebybit", daemon=True)
        self._thread.start()
        self.urls = asyncio.run_coroutine_threadsafe(self._astart(), self._loop).result(15)
        return self.urls

    async def _astart(self) -> Urls:
        app = web.Application()
        app.router.add_get("/v5/public/linear", self._ws_public)
        app.router.add_get("/v5/private", self._ws_private)
        app.router.add_route("*", "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        base = f"{self.host}:{port}"
        return Urls(f"http://{base}", f"ws://{base}/v5/public/linear", f"ws://{base}/v5/private", port)

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._astop(), self._loop).result(15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(15)
            self._loop.close()
            self._loop = self._thread = None

    async def _astop(self) -> None:
        await self.hub.drop_all(abrupt=False)
        await self._runner.cleanup()
        # replies still held by a ``timeout`` fault: cancel them so the loop closes clean
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def __enter__(self) -> FakeBybit:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def call(self, fn, *args, **kwargs):
        """Run ``fn`` on the server loop (awaiting it when it is a coroutine function) and return its result."""
        if self._loop is None:
            raise RuntimeError("FakeBybit is not started")

        async def run():
            out = fn(*args, **kwargs)
            return await out if asyncio.iscoroutine(out) else out

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    async def _ws_public(self, request: web.Request) -> web.StreamResponse:
        return await self.hub.handle(request, private=False)

    async def _ws_private(self, request: web.Request) -> web.StreamResponse:
        if self.private_ws_down:  # fault injection: the private stream host refuses connections
            return web.Response(status=503, text="private stream unavailable")
        return await self.hub.handle(request, private=True)

    # ----- HTTP ----------------------------------------------------------------------------------
    def _route(self, method: str, path: str):
        if path.startswith("/v5/market/"):
            return PUBLIC_ROUTES.get(path) if method == "GET" else None
        return (GET_ROUTES if method == "GET" else POST_ROUTES if method == "POST" else {}).get(path)

    def _json(self, path: str, code: int, msg: str, result: dict | None, headers: dict) -> web.Response:
        self.counters.reply(path, code)
        body = envelope(code, msg, result if code == 0 or result else {}, self.exchange.server_ms())
        return web.Response(text=json.dumps(body), content_type="application/json", headers=headers)

    async def _http(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        self.counters.request(path)
        route = self._route(method, path)
        if route is None:
            return web.Response(status=404, text=f"404 page not found: {method} {path}")
        fault = self.faults.take(path)
        if fault is not None and fault.before_processing:
            return self._early_fault(path, fault)
        raw_query = request.raw_path.partition("?")[2]  # the request line as sent (yarl would normalise it)
        raw_body = await request.read()
        headers: dict[str, str] = {}
        scope, key = self.exchange, None  # a public route sees the market; a private one its key's account
        if not path.startswith("/v5/market/"):
            payload = raw_query.encode("utf-8") if method == "GET" else raw_body
            err = check_rest(self.exchange.keys, request.headers, payload, self.exchange.server_ms())
            if err is not None:
                return self._json(path, err.code, err.message, None, headers)
            verdict = self.limiter.check(request.headers["X-BAPI-API-KEY"], path, now_ms())
            headers.update(verdict.headers())
            if not verdict.allowed:
                return self._json(path, TOO_MANY_VISITS, "Too many visits!", None, headers)
            key = request.headers["X-BAPI-API-KEY"]
            scope = self.exchange.wallet(key)
        try:
            params = parse_query(raw_query) if method == "GET" else parse_body(raw_body)
            outcome = route(scope, params)
        except ParamError as e:
            outcome = Outcome(10001, e.message)
        resp = self._json(path, outcome.code, outcome.msg, outcome.result, headers)
        if fault is not None and fault.kind == "drop_after_accept":
            await self.hub.publish_private(outcome.events, key)
            request.transport.abort()
            raise asyncio.CancelledError
        if fault is not None and fault.kind == "timeout":
            await self.hub.publish_private(outcome.events, key)
            if self.on_hold is not None:  # a test acts while the reply is held (e.g. kills the client there)
                await asyncio.get_running_loop().run_in_executor(None, self.on_hold, path)
            await asyncio.sleep(fault.seconds)
            return resp
        if outcome.events:
            await resp.prepare(request)
            await resp.write_eof()
            self.counters.mark("reply", path)
            await self.hub.publish_private(outcome.events, key)
        else:
            self.counters.mark("reply", path)
        return resp

    def _early_fault(self, path: str, fault) -> web.Response:
        if fault.kind == "http_500":
            return web.Response(status=500, text="500 Internal Server Error")
        if fault.kind == "http_403":
            return web.Response(status=403, text="403 Forbidden: access too frequent")
        if fault.kind == "bad_json":
            return web.Response(status=200, text="<html><body>502 Bad Gateway</body></html>",
                                content_type="text/html")
        reset = now_ms() + max(1, int(fault.seconds * 1000))
        limit = self.limiter.limits.get(path, 50)
        headers = {"X-Bapi-Limit": str(limit), "X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": str(reset)}
        return self._json(path, TOO_MANY_VISITS, "Too many visits!", None, headers)

    async def _publish_by_key(self, by_key: dict) -> list:
        """Each key's events to that key's private stream only; all of them, in key order, as one list."""
        events = []
        for key, evs in by_key.items():
            await self.hub.publish_private(evs, key)
            events += evs
        return events

    # ----- test helpers --------------------------------------------------------------------------
    def add_key(self, key: str, secret: str) -> None:
        """Accept ``key``/``secret``: a new key gets its own fresh account (default balance, no positions);
        market data stays shared. A known key only changes its secret."""
        self.call(self.exchange.add_key, key, secret)

    def account_for(self, key: str):
        """The fakebybit Account (Simulator inside) behind ``key``; read it with ``call`` while running."""
        return self.exchange.wallet(key).account

    def set_clock_offset(self, ms: int) -> None:
        """Shift the exchange clock (positive: the server is ahead of the client) to provoke 10002."""
        self.exchange.clock_offset_ms = int(ms)

    def set_rate_limit(self, path: str, limit: int, window_ms: int | None = None) -> None:
        def apply():
            self.limiter.set_limit(path, limit)
            if window_ms is not None:
                self.limiter.window_ms = int(window_ms)
            self.limiter.reset()

        self.call(apply)

    def load_candles(self, symbol: str, interval: str, rows) -> int:
        """Rows (start_ms, o, h, l, c[, volume[, turnover]]) or a frame indexed by open time."""
        return self.call(self.exchange.market.load, self.exchange.market.candles, symbol, interval, rows)

    def load_mark_candles(self, symbol: str, interval: str, rows) -> int:
        return self.call(self.exchange.market.load, self.exchange.market.mark_candles, symbol, interval, rows)

    def load_funding(self, symbol: str, rows) -> int:
        """(funding_time_ms, rate) pairs, a {ms: rate} dict, or a pandas Series indexed by funding time."""
        return self.call(self.exchange.market.load_funding, symbol, rows)

    def set_price(self, symbol: str, last: float, bid: float | None = None, ask: float | None = None,
                  mark: float | None = None, index: float | None = None, publish: bool = True, **extra) -> list:
        """Move ``symbol``'s market: the Simulator fills resting orders / triggers TP, SL, liquidation (their
        private events are pushed), and ``tickers.{symbol}`` subscribers get a snapshot or delta.
        Returns the private events as (topic, rows)."""
        async def run():
            _, by_key = self.exchange.set_price(symbol, last, bid, ask, mark, index, **extra)
            if publish:
                await self.hub.publish_ticker(symbol)
            return await self._publish_by_key(by_key)

        return self.call(run)

    def push_kline(self, symbol: str, interval: str, start: int, open: float, high: float, low: float,
                   close: float, volume: float = 0.0, turnover: float | None = None, confirm: bool = False) -> int:
        """Store the candle (REST row 0 becomes it) and push it to ``kline.{interval}.{symbol}``."""
        lst = self.exchange.listings[symbol]
        turnover = volume * (open + close) / 2.0 if turnover is None else turnover
        ts = now_ms()
        frame = {"topic": f"kline.{interval}.{symbol}", "type": "snapshot", "ts": ts, "data": [{
            "start": int(start), "end": int(start) + INTERVAL_MS[interval] - 1, "interval": interval,
            "open": lst.price(open), "close": lst.price(close), "high": lst.price(high), "low": lst.price(low),
            "volume": lst.qty(volume), "turnover": money(turnover, 4), "confirm": bool(confirm), "timestamp": ts}]}

        async def run():
            self.exchange.market.load(self.exchange.market.candles, symbol, interval,
                                      [(start, open, high, low, close, volume, turnover)])
            return await self.hub.publish_public(frame["topic"], frame)

        return self.call(run)

    def push_trade(self, symbol: str, price: float, qty: float, side: str = "Buy") -> int:
        """Push one public trade (``side`` is the taker's) to ``publicTrade.{symbol}``."""
        lst = self.exchange.listings[symbol]
        ts = now_ms()
        self._trade_seq = getattr(self, "_trade_seq", 0) + 1
        topic = f"publicTrade.{symbol}"
        frame = {"topic": topic, "type": "snapshot", "ts": ts, "data": [{
            "T": ts, "s": symbol, "S": side, "v": lst.qty(qty), "p": lst.price(price), "L": "ZeroPlusTick",
            "i": f"fake-trade-{self._trade_seq}", "BT": False, "RPI": False, "seq": self._trade_seq}]}
        return self.call(self.hub.publish_public, topic, frame)

    def apply_funding(self, symbol: str, rate: float, mark: float | None = None) -> list:
        """Charge funding now to an open position (execType Funding) and record it in funding history."""
        async def run():
            return await self._publish_by_key(self.exchange.apply_funding(symbol, rate, mark))

        return self.call(run)

    def drop_ws(self, abrupt: bool = True) -> int:
        """Close every WebSocket connection (abrupt: TCP abort, which pybit reconnects after)."""
        return self.call(self.hub.drop_all, abrupt)

    def subscribers(self, topic: str) -> int:
        return self.call(self.hub.subscribers, topic)

    def wait_subscribed(self, topic: str, n: int = 1, timeout: float = 10.0) -> None:
        """Block until ``n`` connections subscribe to ``topic`` (pybit's subscribe() does not wait)."""
        deadline = time.monotonic() + timeout
        while self.subscribers(topic) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {n} subscriber(s) to {topic!r} within {timeout} s")
            time.sleep(0.01)

    def server_time_ms(self) -> str:
        return ms_str(self.exchange.server_ms())
