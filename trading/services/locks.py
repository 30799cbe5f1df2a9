"""Per-account Redis locks: two signal cycles, monitors or reconciliations never run at once for one account."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis
from django.conf import settings


class AccountBusy(RuntimeError):
    """Another run holds the account's lock; this one should skip (the next beat tick will come)."""


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@contextmanager
def account_lock(account_id: int, *, timeout: float | None = None, wait: float = 0.0) -> Iterator[None]:
    """Hold ``qd:lock:account:{id}``; raises AccountBusy when it cannot be had within ``wait`` seconds.
    ``timeout`` (default ``QUANTDESK_ACCOUNT_LOCK_SECONDS``) bounds how long a killed holder blocks others."""
    timeout = timeout or float(getattr(settings, "QUANTDESK_ACCOUNT_LOCK_SECONDS", 120))
    lock = _client().lock(f"qd:lock:account:{account_id}", timeout=timeout, blocking=wait > 0,
                          blocking_timeout=wait or None)
    if not lock.acquire():
        raise AccountBusy(f"account {account_id} is busy (another cycle, monitor or reconciliation holds it)")
    try:
        yield
    finally:
        with suppress(redis.exceptions.LockError):  # expired while we ran: nothing to release
            lock.release()
