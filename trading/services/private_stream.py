"""Follow a live account's private stream: every message (execution, order, position, wallet), every reconnect
and, while the stream is down, a poll every ``poll_every`` seconds become one reconciliation with the exchange
(``reconcile_account``: fills once by exec id, positions adopted/closed, stops read back and repaired).

Messages only wake the follower; one thread per account runs the passes one at a time, so a burst of messages
costs one pass and the stream's socket thread never waits on the database. A pass that finds the account busy
(another task holds its lock) is tried again shortly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import close_old_connections

from trading.services.locks import AccountBusy
from trading.services.reconcile import ReconcileReport, reconcile_account

log = logging.getLogger(__name__)


@dataclass
class FollowerStats:
    passes: int = 0
    busy_retries: int = 0
    errors: list[str] = field(default_factory=list)
    last_report: ReconcileReport | None = None
    # seconds from the first wake-up a pass answered to the end of that pass (the desk's reaction time)
    reaction_seconds: list[float] = field(default_factory=list)


class AccountFollower:
    """See the module docstring. ``reconcile`` is injectable (tests pass one bound to a fake's endpoint)."""

    def __init__(self, *, account_id: int, reconcile: Callable[[], ReconcileReport] | None = None,
                 poll_every: float = 2.0, busy_retry: float = 0.2) -> None:
        self.account_id = account_id
        self.reconcile = reconcile or (lambda: reconcile_account(account_id=account_id))
        self.poll_every, self.busy_retry = poll_every, busy_retry
        self.stream_up = False
        self.stats = FollowerStats()
        self._wake = threading.Event()
        self._woken_at: float | None = None
        self._lock = threading.Lock()

    def notify(self, reason: str) -> None:
        """Called from the stream's thread: a message (its topic), "connected" or "poll" (stream down)."""
        if reason == "connected":
            self.stream_up = True
        elif reason == "poll":
            self.stream_up = False
        with self._lock:
            if self._woken_at is None:
                self._woken_at = time.monotonic()
        self._wake.set()

    def run_pass(self) -> ReconcileReport | None:
        with self._lock:
            started, self._woken_at = self._woken_at or time.monotonic(), None
        close_old_connections()
        try:
            report = self.reconcile()
        except AccountBusy:
            self.stats.busy_retries += 1
            with self._lock:
                self._woken_at = self._woken_at or started
            self._wake.set()
            time.sleep(self.busy_retry)
            return None
        except Exception as exc:  # keep following; the next message or poll tries again
            log.exception("account %s: reconciliation after a private-stream event failed", self.account_id)
            self.stats.errors.append(str(exc))
            return None
        finally:
            close_old_connections()
        self.stats.passes += 1
        self.stats.last_report = report
        self.stats.reaction_seconds.append(time.monotonic() - started)
        return report

    def run(self, *, stop: threading.Event) -> None:
        """Until ``stop``: a pass whenever woken; while the stream is down, a pass every ``poll_every`` s."""
        next_poll = time.monotonic() + self.poll_every
        while not stop.is_set():
            woken = self._wake.wait(0.25)
            if stop.is_set():
                break
            if not woken and (self.stream_up or time.monotonic() < next_poll):
                continue
            self._wake.clear()
            self.run_pass()
            next_poll = time.monotonic() + self.poll_every
