"""Fault injection and request counters for execution tests.

``faults.next(path, kind, times=1, seconds=...)`` queues a fault for the next ``times`` requests to
``path``. Kinds:
- ``http_500`` / ``http_403``: that HTTP status, nothing processed;
- ``bad_json``: HTTP 200 with a body that is not JSON, nothing processed;
- ``rate_limit_10006``: retCode 10006 with a reset timestamp ``seconds`` (default 0.05) in the future,
  nothing processed (pybit sleeps and retries);
- ``timeout``: the request IS processed (an order is accepted and executed, WS events go out), then the
  reply is held ``seconds`` (default 3) - longer than a short client timeout;
- ``drop_after_accept``: the request IS processed, WS events go out, then the connection is closed
  without any reply.
Thread-safe: tests call it from their own thread while the server loop reads it."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass

KINDS = ("timeout", "http_500", "http_403", "rate_limit_10006", "drop_after_accept", "bad_json")
BEFORE = ("http_500", "http_403", "rate_limit_10006", "bad_json")
DEFAULT_SECONDS = {"timeout": 3.0, "rate_limit_10006": 0.05}


@dataclass(frozen=True)
class Fault:
    kind: str
    seconds: float

    @property
    def before_processing(self) -> bool:
        return self.kind in BEFORE


class Faults:
    """Queued faults per path (FIFO), consumed one per matching request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: dict[str, deque[Fault]] = {}
        self.fired: Counter = Counter()

    def next(self, path: str, kind: str, times: int = 1, seconds: float | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind: {kind!r} is not one of {KINDS}")
        if not path.startswith("/v5/"):
            raise ValueError(f"path: {path!r} must be a /v5/... path")
        fault = Fault(kind, DEFAULT_SECONDS.get(kind, 0.0) if seconds is None else float(seconds))
        with self._lock:
            self._queue.setdefault(path, deque()).extend([fault] * int(times))

    def take(self, path: str) -> Fault | None:
        with self._lock:
            q = self._queue.get(path)
            if not q:
                return None
            fault = q.popleft()
            self.fired[(path, fault.kind)] += 1
            return fault

    def pending(self, path: str | None = None) -> int:
        with self._lock:
            if path is not None:
                return len(self._queue.get(path, ()))
            return sum(len(q) for q in self._queue.values())

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


class Counters:
    """What the server saw: requests per path, orders accepted, rejects per retCode (all endpoints and
    order/create alone), WS messages per op, and ``trace``: the order in which REST replies were written
    and private frames pushed (("reply", path) / ("push", topic))."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter = Counter()
        self.ret_codes: Counter = Counter()
        self.orders_accepted = 0
        self.orders_rejected: Counter = Counter()
        self.ws_ops: Counter = Counter()
        self.trace: deque[tuple[str, str]] = deque(maxlen=10_000)

    def request(self, path: str) -> None:
        with self._lock:
            self.requests[path] += 1

    def reply(self, path: str, code: int) -> None:
        with self._lock:
            if code:
                self.ret_codes[code] += 1
            if path == "/v5/order/create":
                if code:
                    self.orders_rejected[code] += 1
                else:
                    self.orders_accepted += 1

    def mark(self, what: str, name: str) -> None:
        with self._lock:
            self.trace.append((what, name))

    def ws(self, op: str) -> None:
        with self._lock:
            self.ws_ops[op] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": dict(self.requests), "ret_codes": dict(self.ret_codes),
                    "orders_accepted": self.orders_accepted, "orders_rejected": dict(self.orders_rejected),
                    "ws_ops": dict(self.ws_ops), "trace": list(self.trace)}
