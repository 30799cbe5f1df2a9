"""Per-key, per-endpoint rolling-window request limits (spec §5) and the X-Bapi-Limit* headers.

A request over the limit is not counted; its reset timestamp is when the oldest counted request leaves
the window, always at least 1 ms in the FUTURE (a past one makes pybit sleep a negative time)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

ORDER_ROUTES = ("/v5/order/create", "/v5/order/amend", "/v5/order/cancel", "/v5/order/cancel-all",
                "/v5/order/create-batch", "/v5/order/amend-batch", "/v5/order/cancel-batch")
DEFAULT_LIMITS = {p: 10 for p in ORDER_ROUTES} | {
    "/v5/position/set-leverage": 10, "/v5/position/trading-stop": 10, "/v5/order/realtime": 50,
    "/v5/order/history": 50, "/v5/execution/list": 50, "/v5/position/list": 50, "/v5/position/closed-pnl": 50,
    "/v5/account/wallet-balance": 50, "/v5/account/fee-rate": 5, "/v5/account/set-margin-mode": 5,
}
FALLBACK_LIMIT = 50


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        return {"X-Bapi-Limit": str(self.limit), "X-Bapi-Limit-Status": str(self.remaining),
                "X-Bapi-Limit-Reset-Timestamp": str(self.reset_ms)}


class RateLimiter:
    """``limits[path]`` requests per ``window_ms`` for each API key; editable by tests."""

    def __init__(self, window_ms: int = 1000) -> None:
        self.window_ms = int(window_ms)
        self.limits: dict[str, int] = dict(DEFAULT_LIMITS)
        self.hits: dict[tuple[str, str], deque[int]] = {}

    def set_limit(self, path: str, limit: int) -> None:
        self.limits[path] = int(limit)

    def check(self, key: str, path: str, now: int) -> Verdict:
        limit = self.limits.get(path, FALLBACK_LIMIT)
        hits = self.hits.setdefault((key, path), deque())
        while hits and hits[0] <= now - self.window_ms:
            hits.popleft()
        if len(hits) >= limit:
            return Verdict(False, limit, 0, max(hits[0] + self.window_ms, now + 1))
        hits.append(now)
        return Verdict(True, limit, limit - len(hits), now)

    def reset(self) -> None:
        self.hits.clear()
