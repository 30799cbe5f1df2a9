"""One supervisor for every pybit WebSocket the desk keeps open (the public market feed, each live account's
private stream): connect, watch, and reconnect with exponential back-off, reporting through a status object.

pybit reconnects by itself only on some connection errors, and an exception raised in a callback kills its
socket thread. So subclasses turn pybit's own restart off, catch everything in their callbacks, and let this
loop own reconnection: when the socket is down it builds a new client (which resubscribes), waiting 1, 2, 4 ...
up to ``backoff_max`` seconds between attempts (reset once a connection has held for ``stable_after`` seconds).

Hooks: ``_open()`` returns a connected, subscribed socket; ``_after_connect()`` runs after every (re)connect
(the feed backfills the bars it missed, the private stream reconciles what happened while it was away);
``_while_down()`` runs at every back-off step while there is no connection (the private stream polls there).
``self.handler`` has ``set_connected(bool, error=...)`` and ``heartbeat()``; ``self.name`` labels the logs.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


class SupervisedSocket:
    handler = None
    name = "socket"
    check_every = 1.0
    backoff_initial, backoff_max, stable_after = 1.0, 60.0, 30.0

    def _open(self):
        raise NotImplementedError

    def _after_connect(self) -> None:
        """Called after every (re)connect."""

    def _while_down(self) -> None:
        """Called at each back-off step while disconnected."""

    @staticmethod
    def _close(ws, timeout: float = 5.0) -> None:
        """pybit's ``exit()`` waits for the socket thread to let go; never let that block the supervisor."""
        def close():
            try:
                ws.exit()
            except Exception as exc:  # already gone
                log.debug("closing the socket: %s", exc)

        closer = threading.Thread(target=close, name="socket-close", daemon=True)
        closer.start()
        closer.join(timeout)

    def _back_off(self, stop: threading.Event, delay: float) -> None:
        self._while_down()
        stop.wait(delay)

    def run(self, *, stop: threading.Event) -> None:
        """Until ``stop`` is set: connect, subscribe, watch; reconnect with back-off when the socket drops."""
        delay = self.backoff_initial
        while not stop.is_set():
            try:
                ws = self._open()
            except Exception as exc:
                log.warning("%s: connect failed (%s); next attempt in %.1f s", self.name, exc, delay)
                self.handler.set_connected(False, error=f"connect failed: {exc}")
                self._back_off(stop, delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            since = time.monotonic()
            self.handler.set_connected(True)
            self._after_connect()
            try:
                while not stop.is_set() and ws.is_connected():
                    self.handler.heartbeat()
                    stop.wait(self.check_every)
            finally:
                self._close(ws)
            if stop.is_set():
                break
            if time.monotonic() - since >= self.stable_after:
                delay = self.backoff_initial
            log.warning("%s: connection lost; reconnecting in %.1f s", self.name, delay)
            self.handler.set_connected(False, error="connection lost; reconnecting")
            self._back_off(stop, delay)
            delay = min(delay * 2, self.backoff_max)
        self.handler.set_connected(False)
