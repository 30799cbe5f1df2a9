"""Per-account Redis locks that heal: two signal cycles, monitors, reconciliations or kill-switch closes never
run at once for one account, and a holder that dies frees the account within one short lease.

``qd:lock:account:{id}`` holds a random token with a short lease (``QUANTDESK_ACCOUNT_LOCK_SECONDS``, default
6 s). While the holder works, a heartbeat thread renews the lease every third of it, but only while the key
still holds its own token (compare-and-extend in Lua); release is compare-and-delete in Lua, so a holder whose
lease ran out never deletes a later holder's lock. A process killed with ``kill -9`` stops renewing, and the
account is free again at most one lease later. If renewal finds the lock taken over, ``Lease.lost`` is set and
logged, and ``ensure_held`` (called by the order service before every send) raises ``LockLost``: a holder that
was paused past its lease never sends next to the new holder (its order stays pending and is looked up later).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import redis
from django.conf import settings

log = logging.getLogger(__name__)
KEY = "qd:lock:account:{account_id}"
# KEYS[1] lock, ARGV[1] token, ARGV[2] lease ms: extend only while we still own it.
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class AccountBusy(RuntimeError):
    """Another run holds the account's lock (tasks retry in a second or two)."""


class LockLost(AccountBusy):
    """This run's lease ran out and another holder took the account: it must not send anything more."""


@dataclass
class Lease:
    """A held account lock: ``lost`` is set when the heartbeat found it taken over (lease ran out)."""

    key: str
    token: str
    seconds: float
    lost: threading.Event = field(default_factory=threading.Event)


_held: ContextVar[dict[int, Lease] | None] = ContextVar("qd_account_leases", default=None)


def ensure_held(account_id: int) -> None:
    """Raise LockLost when this context holds the account's lock but its heartbeat found it taken over."""
    lease = (_held.get() or {}).get(account_id)
    if lease is not None and lease.lost.is_set():
        raise LockLost(f"account {account_id}: this run's lock lease ran out and was taken over; not sending")


def lease_seconds() -> float:
    return float(getattr(settings, "QUANTDESK_ACCOUNT_LOCK_SECONDS", 6))


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def acquire(client: redis.Redis, key: str, *, seconds: float, wait: float) -> Lease | None:
    """Take ``key`` (SET NX PX), polling every 50 ms for up to ``wait`` seconds; None when it stays busy."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while True:
        if client.set(key, token, nx=True, px=int(seconds * 1000)):
            return Lease(key=key, token=token, seconds=seconds)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _heartbeat(client: redis.Redis, lease: Lease, stop: threading.Event) -> None:
    interval = lease.seconds / 3
    while not stop.wait(interval):
        try:
            if not client.eval(RENEW, 1, lease.key, lease.token, int(lease.seconds * 1000)):
                lease.lost.set()
                log.error("lock %s was lost (lease ran out and another holder took it)", lease.key)
                return
        except redis.exceptions.RedisError as exc:  # try again next beat; the lease still has 2/3 left
            log.warning("renewing lock %s failed: %s", lease.key, exc)


@contextmanager
def account_lock(account_id: int, *, timeout: float | None = None, wait: float = 0.0) -> Iterator[Lease]:
    """Hold the account's lock for the block; raises AccountBusy when it cannot be had within ``wait`` seconds.
    ``timeout`` overrides the lease (default ``QUANTDESK_ACCOUNT_LOCK_SECONDS``)."""
    client = _client()
    key = KEY.format(account_id=account_id)
    lease = acquire(client, key, seconds=timeout or lease_seconds(), wait=wait)
    if lease is None:
        raise AccountBusy(f"account {account_id} is busy (another cycle, monitor, reconciliation or kill-switch "
                          "close holds it)")
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(client, lease, stop), daemon=True,
                            name=f"lock-heartbeat-{account_id}")
    beat.start()
    token = _held.set({**(_held.get() or {}), account_id: lease})
    try:
        yield lease
    finally:
        _held.reset(token)
        stop.set()
        beat.join(5)
        try:
            client.eval(RELEASE, 1, key, lease.token)
        except redis.exceptions.RedisError as exc:  # the lease runs out by itself
            log.warning("releasing lock %s failed: %s", key, exc)
