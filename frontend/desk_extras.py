"""What the desk page starts with beyond the trading record (frontend/context.py): the feed's and each live
account's private stream status read from Redis on load (so the page never says "no status yet" while a
status exists, and says plainly when the desk runs offline), a replay's progress, each account's equity curve, the event log, the configs a trader can open with
by hand, each instrument's tick and step for the one number format, and the history (closed trades, per-config
performance, PnL per day)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from trading import selectors
from trading.models import DeskEvent, EquitySnapshot, Instrument
from trading.services.desk_events import event_payload
from trading.services.history import history

log = logging.getLogger(__name__)
EVENTS_ON_LOAD = 100
EQUITY_POINTS = 500  # per account on load; the page appends each new snapshot
REPLAY_HINT = "./desk manage run_feed --replay --symbol BTCUSDT --interval 5m --since 2025-10-10 --speed 60"


def feed_state() -> dict[str, Any]:
    """The feed's status from Redis, with ``state``: ``live`` / ``replay`` (connected), ``down`` (written but
    disconnected: the last error says why) or ``offline`` (no feed has written a status recently)."""
    from trading.marketdata.feed import feed_status

    try:
        status = feed_status()
    except Exception as exc:  # noqa: BLE001  (Redis down: the page still renders and says so)
        log.warning("feed status not readable: %s", exc)
        status = {"error": f"Redis not reachable: {exc}"}
    if "connected" not in status:
        state = "offline"
    elif status["connected"]:
        state = status.get("mode") or "live"
    else:
        state = "down"
    return {**status, "state": state, "replay_hint": REPLAY_HINT}


def replay_state() -> dict[str, Any]:
    """The running (or last finished) replay's progress from Redis (``trading/marketdata/replay_progress.py``);
    {} when none ran recently."""
    from trading.marketdata.replay_progress import read_progress

    try:
        return read_progress()
    except Exception as exc:  # noqa: BLE001  (Redis down: the feed pane already says so)
        log.warning("replay progress not readable: %s", exc)
        return {}


def equity_curves(account_ids: list[int]) -> dict[str, list[list]]:
    """Per account, its last ``EQUITY_POINTS`` snapshots oldest first: [[taken_at ISO, equity], ...]."""
    out: dict[str, list[list]] = {}
    for account_id in account_ids:
        rows = list(EquitySnapshot.objects.filter(account_id=account_id).order_by("-taken_at")
                    .values_list("taken_at", "equity")[:EQUITY_POINTS])
        out[str(account_id)] = [[t.isoformat(), float(e)] for t, e in reversed(rows)]
    return out


def private_streams(accounts: list[dict[str, Any]]) -> dict[str, Any]:
    """Each live account's private-stream status (``stream_payload``: state, last message, last error, reconnects,
    rundesk's restarts), keyed by account id."""
    from trading.exchanges.bybit_stream import stream_payload

    out = {}
    for a in accounts:
        if a.get("mode") != "live":
            continue
        try:
            out[str(a["id"])] = stream_payload(account_id=a["id"])
        except Exception as exc:  # noqa: BLE001
            out[str(a["id"])] = {"account": a["id"], "connected": False, "state": "down",
                                 "error": f"Redis not reachable: {exc}"}
    return out


def desk_extras(*, user, accounts: list[dict[str, Any]], today) -> dict[str, Any]:
    ids = [a["id"] for a in accounts]
    events = DeskEvent.objects.filter(account_id__in=ids).order_by("-created_at", "-id")[:EVENTS_ON_LOAD]
    configs = selectors.configs_for(user=user).select_related("strategy").order_by("account_id", "name")
    import json

    hist = json.loads(json.dumps(history(user=user, today=today), cls=DjangoJSONEncoder))
    return {
        "feed": feed_state(),
        "replay": replay_state(),
        "equity_curves": equity_curves(ids),
        "private_streams": private_streams(accounts),
        "events": [event_payload(e) for e in events],
        "configs": [{"id": c.pk, "account": c.account_id, "name": c.name, "symbols": c.symbols,
                     "enabled": c.enabled, "strategy": c.strategy.key} for c in configs],
        "instruments": {i.symbol: {"tick": format(i.tick_size.normalize(), "f"), "step": format(i.qty_step.normalize(), "f")}
                        for i in Instrument.objects.all()},
        "history": hist,
    }
