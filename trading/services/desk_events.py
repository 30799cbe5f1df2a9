"""The desk's event log: :func:`record_event` stores one DeskEvent (every refusal, error and skip a user's action
or a cycle causes: orders refused, alerts such as no price or missed bars, manual actions) and publishes it as a
``desk_event`` to the account's sockets once committed, so the page's log pane and toasts show it as it happens
and a reload shows the same list. Retention is bounded: at most ``QUANTDESK_EVENT_LOG_KEEP`` events per account
(default 5,000) and none older than ``QUANTDESK_EVENT_LOG_DAYS`` (default 30)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading.models import DeskEvent

log = logging.getLogger(__name__)
LEVELS = (DeskEvent.INFO, DeskEvent.WARNING, DeskEvent.ERROR)


def keep_count() -> int:
    return int(getattr(settings, "QUANTDESK_EVENT_LOG_KEEP", 5000))


def keep_days() -> int:
    return int(getattr(settings, "QUANTDESK_EVENT_LOG_DAYS", 30))


def event_payload(event: DeskEvent) -> dict[str, Any]:
    return {"id": event.pk, "account": event.account_id, "kind": event.kind, "level": event.level,
            "message": event.message, "data": event.data, "created_at": event.created_at.isoformat()}


def record_event(*, account_id: int | None, kind: str, level: str, message: str,
                 data: dict[str, Any] | None = None) -> DeskEvent | None:
    """Store and publish one event. Never raises (an event log failure must not stop the run that caused it);
    returns None when it could not be stored."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {LEVELS}")
    try:
        event = DeskEvent.objects.create(account_id=account_id, kind=kind[:40], level=level, message=message[:500],
                                         data=_jsonable(data or {}), created_at=timezone.now())
        _trim(account_id)
    except Exception:  # noqa: BLE001
        log.exception("event %s for account %s not stored: %s", kind, account_id, message)
        return None
    if account_id is not None:
        payload = event_payload(event)
        transaction.on_commit(lambda: _publish(account_id, payload))
    return event


def _publish(account_id: int, payload: dict[str, Any]) -> None:
    from trading.events import publish

    try:
        publish(account_id=account_id, event_type="desk_event", data=payload)
    except Exception:  # noqa: BLE001  (the channel layer being down is logged; the row is kept)
        log.exception("event %s not published", payload.get("id"))


def _trim(account_id: int | None) -> None:
    """Bounded retention: events past the age limit go, and per account only the newest ``keep_count()``."""
    events = DeskEvent.objects.filter(account_id=account_id)
    events.filter(created_at__lt=timezone.now() - timedelta(days=keep_days())).delete()
    cutoff = events.order_by("-created_at", "-id").values_list("id", flat=True)[keep_count():keep_count() + 1]
    cutoff = list(cutoff)
    if cutoff:
        events.filter(id__lte=cutoff[0]).delete()


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


SKIP_MARKERS = {"expired:": "signal_expired", "no candles": "no_candles"}


def record_cycle_skips(*, config_id: int, notes: list[str]) -> list[DeskEvent]:
    """A signal cycle's skips in the event log: a signal that expired before it could act (nothing placed) and a
    symbol without candles. Refused orders are logged where they are refused (``positions``/``orders``)."""
    from strategies.models import StrategyConfig

    hits = [(kind, note) for note in notes for marker, kind in SKIP_MARKERS.items() if marker in note]
    if not hits:
        return []
    config = StrategyConfig.objects.filter(pk=config_id).values("account_id", "name").first()
    if config is None:
        return []
    out = []
    for kind, note in hits:
        ev = record_event(account_id=config["account_id"], kind=kind, level="warning",
                          message=f"config {config['name']!r}: {note}", data={"config": config_id})
        if ev is not None:
            out.append(ev)
    return out
