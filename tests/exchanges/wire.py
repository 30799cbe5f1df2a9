"""A recording relay between pybit and the fake exchange, for what the fake cannot show or do by design:
it keeps the raw request bytes pybit put on the wire (the fake verifies them but does not store them),
and it can answer a request with a 10006 whose reset timestamp is already PAST (the fake always sends a
future one; a past one makes pybit call ``time.sleep(negative)``, which raises ValueError).
Everything else is forwarded byte for byte (request line, X-BAPI-* headers, body), so the fake still checks
the signature over exactly what pybit signed. Loopback only; stopped by the test that started it."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class WireRelay:
    """``relay.url`` replaces the fake's URL as the adapter's endpoint. ``sent`` holds (method, path, query,
    body bytes) of every request; ``past_reset(path, times)`` queues 10006 answers with a reset 5 s ago."""

    def __init__(self, upstream: str) -> None:
        up = urlsplit(upstream)
        self.upstream = (up.hostname, up.port)
        self.sent: list[tuple[str, str, str, bytes]] = []
        self.injected: Counter = Counter()
        self._queue: Counter = Counter()
        self._lock = threading.Lock()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                with relay._lock:
                    relay.sent.append((self.command, path, query, body))
                    inject = relay._queue[path] > 0
                    if inject:
                        relay._queue[path] -= 1
                        relay.injected[path] += 1
                if inject:
                    return self._reply(200, {"X-Bapi-Limit-Reset-Timestamp": str(int(time.time() * 1000) - 5000),
                                             "Content-Type": "application/json"},
                                       json.dumps({"retCode": 10006, "retMsg": "Too many visits!", "result": {},
                                                   "retExtInfo": {}, "time": int(time.time() * 1000)}).encode())
                conn = http.client.HTTPConnection(*relay.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    out = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_HEADERS}
                    self._reply(resp.status, out, data)
                finally:
                    conn.close()

            def _reply(self, status: int, headers: dict, data: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="wire-relay", daemon=True)

    def start(self) -> WireRelay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def past_reset(self, path: str, times: int = 1) -> None:
        with self._lock:
            self._queue[path] += int(times)

    def bodies(self, path: str) -> list[str]:
        with self._lock:
            return [b.decode() for m, p, _q, b in self.sent if p == path and m == "POST"]
