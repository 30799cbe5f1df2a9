"""Deterministic client order ids: the same (account, config, symbol, bar time, action) always gives the same
id, so a retried task asks the exchange for an order it may already have placed instead of placing another.
Bybit's orderLinkId allows 36 characters of [A-Za-z0-9_-]."""

from __future__ import annotations

import hashlib
from datetime import datetime


def client_order_id(*, account_id: int, config_id: int | None, symbol: str, bar_time: datetime, action: str,
                    attempt: int = 0) -> str:
    """``qd-`` + 30 hex chars of SHA-256 over the inputs (``attempt`` > 0 only for a deliberate re-send
    after the exchange reported the earlier order as not placed)."""
    key = f"{account_id}|{config_id}|{symbol}|{int(bar_time.timestamp())}|{action}|{attempt}"
    return "qd-" + hashlib.sha256(key.encode()).hexdigest()[:30]
