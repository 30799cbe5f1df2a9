"""Bybit's private WebSocket for one live account: executions, orders, positions and wallet, authenticated with
the account's keys, supervised like the public feed (reconnect with back-off, see marketdata/supervisor.py).

The stream does not interpret the messages itself: the exchange is the truth, and the desk already has one
way to bring its record in line with it (``reconcile_account``: fills recorded once by exec id, positions adopted
or closed, stops verified). Every message only wakes the account's follower (services/private_stream.py), which
reconciles at once, coalescing a burst into one pass. A (re)connect is a possible gap, so it reconciles too;
while the socket is down the follower polls instead. Status per account lives in the Redis hash
``qd:private:{account_id}`` (connected, messages, reconnects, last message and error times) and is shown beside
the feed's: read on page load (``stream_status``, with rundesk's restarts of the process) and pushed to the
account's sockets as a ``private_stream`` event on every connect, disconnect and error, and at most every
``status_every`` seconds while messages flow.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings

from trading.marketdata.live import DeskWebSocket
from trading.marketdata.supervisor import SupervisedSocket

from .bybit_hosts import hosts_for, private_ws_endpoint

log = logging.getLogger(__name__)
STATUS_KEY = "qd:private:{account_id}"
STATUS_TTL = 30  # seconds; refreshed by every heartbeat
TOPICS = ("execution", "order", "position", "wallet")


RESTARTS_KEY, RESTARTS_FIELD = "qd:desk:restarts", "private"  # rundesk's restarts of run_private_stream


def _publish_account(*, account_id: int, data: dict) -> None:
    from trading.events import publish

    publish(account_id=account_id, event_type="private_stream", data=data)


class StreamStatus:
    """The account's private-stream status in Redis (``set_connected``/``heartbeat`` as the supervisor wants),
    pushed to the account's sockets (``publish``) on every change of state and at most every ``status_every``
    seconds while messages flow. A failed push is logged, never raised into the stream."""

    def __init__(self, account_id: int, client: redis.Redis | None = None,
                 publish: Callable[..., None] | None = _publish_account, status_every: float = 5.0) -> None:
        self.account_id = account_id
        self.key = STATUS_KEY.format(account_id=account_id)
        self.client = client or redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
        self.connects = 0
        self.publish, self.status_every = publish, status_every
        self._pushed = 0.0

    def _write(self, *, push: bool = False, **fields) -> None:
        fields["updated_ms"] = int(time.time() * 1000)
        self.client.hset(self.key, mapping={k: str(v) for k, v in fields.items()})
        self.client.expire(self.key, STATUS_TTL)
        now = time.monotonic()
        if self.publish is not None and (push or now - self._pushed >= self.status_every):
            self._pushed = now
            try:
                self.publish(account_id=self.account_id,
                             data=stream_payload(account_id=self.account_id, client=self.client))
            except Exception as exc:  # noqa: BLE001  (the Channels layer down must not stop the stream)
                log.warning("private stream %s: status not pushed: %s", self.account_id, exc)

    def set_connected(self, connected: bool, *, error: str = "") -> None:
        if connected:
            self.connects += 1
            self._write(push=True, connected=1, reconnects=max(0, self.connects - 1), error="")
        else:
            self._write(push=True, connected=0, error=error)

    def heartbeat(self) -> None:
        self._write()

    def message(self, topic: str) -> None:
        self.client.hincrby(self.key, "messages", 1)
        self._write(last_message_ms=int(time.time() * 1000), last_topic=topic)

    def record_error(self, error: str) -> None:
        self._write(push=True, error=error[:300], last_error_ms=int(time.time() * 1000))


def stream_status(*, account_id: int, client: redis.Redis | None = None) -> dict:
    """What the account's private stream last wrote, typed, with rundesk's restarts of the stream process
    (``restarts``); {} when no stream has written a status recently and the process was never restarted."""
    client = client or redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    raw = client.hgetall(STATUS_KEY.format(account_id=account_id))
    restarts = int(client.hget(RESTARTS_KEY, RESTARTS_FIELD) or 0)
    if not raw:
        return {"restarts": restarts} if restarts else {}
    out: dict = dict(raw)
    out["connected"] = raw.get("connected") == "1"
    for k in ("messages", "reconnects", "last_message_ms", "last_error_ms", "updated_ms"):
        if raw.get(k, "") != "":
            out[k] = int(raw[k])
    out["restarts"] = restarts
    return out


def stream_state(status: dict) -> str:
    """``live`` (connected), ``down`` (written but disconnected: the error says why; polling stands in) or
    ``not running`` (no status written recently)."""
    if "connected" not in status:
        return "not running"
    return "live" if status["connected"] else "down"


def stream_payload(*, account_id: int, client: redis.Redis | None = None) -> dict:
    """The status as the desk shows it (page load and the ``private_stream`` event alike)."""
    status = stream_status(account_id=account_id, client=client)
    return {**status, "account": account_id, "state": stream_state(status)}


class PrivateStream(SupervisedSocket):
    """See the module docstring. ``on_change(reason)`` is called for every message (reason = its topic), after
    every (re)connect ("connected") and at every back-off step while down ("poll")."""

    def __init__(self, *, account, on_change: Callable[[str], None], status: StreamStatus | None = None,
                 endpoint: str | None = None, check_every: float = 1.0, backoff_initial: float = 1.0,
                 backoff_max: float = 30.0, stable_after: float = 30.0) -> None:
        self.account = account
        self.on_change = on_change
        self.handler = status or StreamStatus(account.pk)
        # settings.BYBIT_WS_PRIVATE_ENDPOINT (a fake exchange), else the account's environment's private stream
        self.endpoint = endpoint if endpoint is not None else private_ws_endpoint(account.environment)
        self.check_every = check_every
        self.backoff_initial, self.backoff_max, self.stable_after = backoff_initial, backoff_max, stable_after
        self.name = f"private stream (account {account.pk})"
        self.subscribe_timeout = 10.0

    def _callback(self, message: dict) -> None:
        topic = str(message.get("topic", ""))
        try:
            self.handler.message(topic)
            self.on_change(topic)
        except Exception as exc:  # never let it reach pybit: that would kill the socket thread
            log.exception("%s: message %s failed", self.name, topic)
            self.handler.record_error(f"{topic}: {exc}")

    def _open(self):
        key, secret = self.account.api_credentials()
        if not self.account.api_keys_match_environment:  # keys are never sent to another environment's host
            raise PermissionError(f"{self.name}: the API key/secret were given for "
                                  f"{self.account.api_keys_environment or 'another environment'}, not "
                                  f"{self.account.environment}")
        hosts = hosts_for(self.account.environment)
        ws = DeskWebSocket(endpoint=self.endpoint, channel_type="private", api_key=key, api_secret=secret,
                           testnet=hosts.testnet, demo=hosts.demo, restart_on_error=False, retries=3)
        try:
            ws.execution_stream(callback=self._callback)
            ws.order_stream(callback=self._callback)
            ws.position_stream(callback=self._callback)
            ws.wallet_stream(callback=self._callback)
            if not ws.wait_subscribed(len(TOPICS), timeout=self.subscribe_timeout):
                raise ConnectionError(f"{self.name}: the exchange did not confirm {', '.join(TOPICS)} within "
                                      f"{self.subscribe_timeout:g} s")
        except Exception:
            self._close(ws)
            raise
        return ws

    def _after_connect(self) -> None:
        """Every topic is confirmed live by now (``_open`` waits for the acks), so this catch-up leaves no gap."""
        self.on_change("connected")

    def _while_down(self) -> None:
        self.on_change("poll")
