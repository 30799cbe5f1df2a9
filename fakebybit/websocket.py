"""The WebSocket side: /v5/public/linear (kline, tickers, publicTrade) and /v5/private (order,
execution, position, wallet). Answers {"op":"ping"} with the public/private pong shapes of spec §2
(aiohttp answers protocol ping frames itself), checks private auth (a private connection then gets only
its key's account events), echoes the subscribe req_id,
sends tickers as a snapshot first and deltas after, and can drop every connection abruptly."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from .auth import check_ws
from .formats import now_ms
from .marketdata import INTERVALS

PRIVATE_TOPICS = ("order", "execution", "position", "wallet")
# pybit stores a subscription's req_id only AFTER ws.send() returns; a reply that beats it crashes pybit's
# socket thread with KeyError(req_id). Real Bybit is milliseconds away; on localhost the fake must wait.
SUBSCRIBE_ACK_DELAY_S = 0.05
PUBLIC_TOPIC = re.compile(r"^(?:kline\.(?P<interval>[0-9A-Z]+)|tickers|publicTrade)\.(?P<symbol>[A-Z0-9]+)$")


@dataclass(eq=False)
class Conn:
    ws: web.WebSocketResponse
    request: web.Request
    private: bool
    conn_id: str = field(default_factory=lambda: uuid.uuid4().hex[:20])
    authed: bool = False
    key: str | None = None  # the API key a private connection authenticated with: it gets that account's events
    topics: set[str] = field(default_factory=set)
    ticker_sent: dict[str, dict] = field(default_factory=dict)


class Hub:
    """All live connections and their subscriptions; runs on the server loop."""

    def __init__(self, exchange, counters, ack_delay_s: float = SUBSCRIBE_ACK_DELAY_S) -> None:
        self.ack_delay_s = ack_delay_s
        self.exchange = exchange
        self.counters = counters
        self.conns: set[Conn] = set()
        # private-stream faults: topic -> how many of its next pushes to drop / to send twice
        self.drop_private: dict[str, int] = {}
        self.duplicate_private: dict[str, int] = {}

    def subscribers(self, topic: str) -> int:
        return sum(1 for c in self.conns if topic in c.topics)

    async def handle(self, request: web.Request, private: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Conn(ws, request, private)
        self.conns.add(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
        finally:
            self.conns.discard(conn)
        return ws

    async def _send(self, conn: Conn, frame: dict) -> None:
        try:
            await conn.ws.send_str(json.dumps(frame))
        except (ConnectionError, RuntimeError):
            self.conns.discard(conn)

    async def _on_text(self, conn: Conn, data: str) -> None:
        try:
            msg = json.loads(data)
        except ValueError:
            await self._send(conn, {"success": False, "ret_msg": "error: invalid JSON", "conn_id": conn.conn_id})
            return
        op = msg.get("op")
        self.counters.ws(f"{'private' if conn.private else 'public'}:{op}")
        req_id = msg.get("req_id")
        echo = {"req_id": req_id} if req_id else {}
        if op == "ping":
            if conn.private:
                await self._send(conn, {**echo, "op": "pong", "args": [str(now_ms())], "conn_id": conn.conn_id})
            else:
                await self._send(conn, {"success": True, "ret_msg": "pong", "conn_id": conn.conn_id, **echo,
                                        "op": "ping"})
        elif op == "auth" and conn.private:
            why = check_ws(self.exchange.keys, msg.get("args"), self.exchange.server_ms())
            conn.authed = why is None
            conn.key = msg["args"][0] if conn.authed else None
            await self._send(conn, {**echo, "success": conn.authed, "ret_msg": why or "", "op": "auth",
                                    "conn_id": conn.conn_id})
        elif op in ("subscribe", "unsubscribe"):
            args = msg.get("args") or []
            why = self._check_topics(conn, args)
            await asyncio.sleep(self.ack_delay_s)  # the topic goes live with its ack, never before
            if why is None:
                if op == "subscribe":
                    conn.topics.update(args)
                else:
                    conn.topics.difference_update(args)
                    for t in args:
                        conn.ticker_sent.pop(t, None)
            await self._send(conn, {"success": why is None, "ret_msg": why or "", "conn_id": conn.conn_id, **echo,
                                    "op": op})
            if why is None and op == "subscribe":
                for topic in args:
                    if topic.startswith("tickers."):
                        await self._ticker_to(conn, topic, topic.split(".", 1)[1])
        else:
            await self._send(conn, {"success": False, "ret_msg": f"error: unknown op {op!r}", "conn_id": conn.conn_id,
                                    **echo, "op": op})

    def _check_topics(self, conn: Conn, args) -> str | None:
        if not isinstance(args, list) or not args:
            return "error: args must be a non-empty list"
        for topic in args:
            if conn.private:
                if topic not in PRIVATE_TOPICS:
                    return f"error:handler not found,topic:{topic}"
                if not conn.authed:
                    return "Request not authorized"
                continue
            m = PUBLIC_TOPIC.match(str(topic))
            if m is None or m["symbol"] not in self.exchange.listings:
                return f"error:handler not found,topic:{topic}"
            if m["interval"] is not None and m["interval"] not in INTERVALS:
                return f"error:handler not found,topic:{topic}"
        return None

    # ----- publishing ----------------------------------------------------------------------------
    async def publish_public(self, topic: str, frame: dict) -> int:
        sent = 0
        for conn in list(self.conns):
            if not conn.private and topic in conn.topics:
                await self._send(conn, frame)
                sent += 1
        return sent

    async def _ticker_to(self, conn: Conn, topic: str, symbol: str) -> None:
        q = self.exchange.market.quotes.get(symbol)
        if q is None:
            return
        data = q.ticker(self.exchange.listings[symbol])
        before = conn.ticker_sent.get(topic)
        if before is None:
            kind, payload = "snapshot", data
        else:
            changed = {k: v for k, v in data.items() if before.get(k) != v}
            if not changed:
                return
            kind, payload = "delta", {"symbol": symbol, **changed}
        conn.ticker_sent[topic] = data
        ts = now_ms()
        await self._send(conn, {"topic": topic, "type": kind, "data": payload, "cs": ts, "ts": ts})

    async def publish_ticker(self, symbol: str) -> int:
        topic = f"tickers.{symbol}"
        conns = [c for c in self.conns if not c.private and topic in c.topics]
        for conn in conns:
            await self._ticker_to(conn, topic, symbol)
        return len(conns)

    async def publish_private(self, events: list[tuple[str, list]], key: str | None) -> None:
        """Push each (topic, rows) of ``key``'s account to the subscribers authed with that key, in the order
        given (order, execution, position, wallet)."""
        for topic, rows in events:
            frame = {"id": uuid.uuid4().hex, "topic": topic, "creationTime": now_ms(), "data": rows}
            if self.drop_private.get(topic, 0) > 0:  # a message lost on the way (fault injection)
                self.drop_private[topic] -= 1
                self.counters.mark("dropped", topic)
                continue
            copies = 1
            if self.duplicate_private.get(topic, 0) > 0:  # delivered twice (fault injection)
                self.duplicate_private[topic] -= 1
                copies = 2
            self.counters.mark("push", topic)
            for conn in list(self.conns):
                if conn.private and conn.authed and conn.key == key and topic in conn.topics:
                    for _ in range(copies):
                        await self._send(conn, frame)

    async def drop_all(self, abrupt: bool = True) -> int:
        """Close every connection: abruptly (TCP abort, so pybit sees a connection error and reconnects)
        or with a close frame."""
        conns = list(self.conns)
        for conn in conns:
            if abrupt and conn.request.transport is not None:
                conn.request.transport.abort()
            else:
                await conn.ws.close()
            self.conns.discard(conn)
        return len(conns)
