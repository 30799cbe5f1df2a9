"""Alerts the desk raises about losing sight of something (no price to decide on, bars that got no signal
cycle, a kill switch engaged or finished): an ``alert`` event to the account's sockets (the desk page lists
them) and a notification to the owner's alert channels that take the kind (``trading.services.alerts``)."""

from __future__ import annotations

import logging
from typing import Any

from trading.events import publish_alert
from trading.services.alerts import Alert, notify_account

log = logging.getLogger(__name__)


def alert_account(*, account_id: int, kind: str, key: str, title: str, message: str,
                  channel_kind: str = "alert", data: dict[str, Any] | None = None) -> None:
    """Never raises (an alert must not stop the run that raised it). ``key`` makes the notification unique:
    each channel gets one per key (the socket event goes out every time)."""
    publish_alert(account_id=account_id, kind=kind, message=message, data=data)
    try:
        notify_account(account_id=account_id, alert=Alert(channel_kind, f"{kind}:{key}", title, message))
    except Exception:  # noqa: BLE001
        log.exception("alert %s for account %s not queued to its channels", kind, account_id)
