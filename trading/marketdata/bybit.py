"""pybit clients for public market data, pointed at Bybit or (settings) at a local endpoint, and one bounded
retry loop around pybit's own.

Settings (read with defaults, all optional): ``BYBIT_HTTP_ENDPOINT`` (e.g. ``http://127.0.0.1:PORT``; None =
pybit's own https://api.bybit.com), ``BYBIT_WS_PUBLIC_ENDPOINT`` (e.g. ``ws://127.0.0.1:PORT/v5/public/linear``),
``BYBIT_RETRY_DELAY`` (pybit's retry_delay, s), ``BYBIT_MAX_ATTEMPTS`` (our loop) and ``BYBIT_RETRY_BACKOFF``
(first back-off of our loop, s; doubles per attempt, capped at 30 s).

pybit already retries 10006 (sleeping until X-Bapi-Limit-Reset-Timestamp) and 10002; when its attempts run
out it raises ``FailedRequestError(400, "...Retries exceeded maximum.")``. Our loop retries that, a body that is
not JSON, connection errors, timeouts and pybit's negative-sleep ValueError (a 10006 whose reset is already past), a bounded number
of times. HTTP 5xx/4xx and any other retCode surface at once as :class:`BybitError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

log = logging.getLogger(__name__)
CATEGORY = "linear"


class BybitError(RuntimeError):
    """A Bybit request that failed for good; ``status`` is the HTTP status or the retCode when known."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


def _setting(name: str, default):
    value = getattr(settings, name, None)
    return default if value is None else value


def http_client() -> HTTP:
    """An unauthenticated pybit HTTP session (market endpoints need no keys)."""
    session = HTTP(testnet=False, retry_delay=float(_setting("BYBIT_RETRY_DELAY", 3)), max_retries=3, timeout=10)
    endpoint = _setting("BYBIT_HTTP_ENDPOINT", None)
    if endpoint:
        session.endpoint = str(endpoint).rstrip("/")
    return session


def ws_public_endpoint() -> str | None:
    return _setting("BYBIT_WS_PUBLIC_ENDPOINT", None)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, FailedRequestError):
        # pybit's retries (10006/10002) ran out, or a body that was not JSON (an HTML error page at HTTP 200)
        return (exc.status_code == 400 and "Retries exceeded" in str(exc.message)) or (
            exc.status_code == 409 and "decode JSON" in str(exc.message))
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return True
    # pybit's time.sleep(negative) on a 10006 whose reset timestamp has passed
    return isinstance(exc, ValueError) and "sleep length" in str(exc)


def call(method: Callable[..., dict], *, what: str, sleep: Callable[[float], None] = time.sleep,
         **params: Any) -> dict:
    """``method(**params)`` with bounded retries; returns the response envelope (retCode 0)."""
    attempts = int(_setting("BYBIT_MAX_ATTEMPTS", 5))
    backoff = float(_setting("BYBIT_RETRY_BACKOFF", 1.0))
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            return method(**params)
        except InvalidRequestError as exc:
            raise BybitError(f"{what}: Bybit refused the request: retCode {exc.status_code} {exc.message}",
                             status=exc.status_code) from exc
        except (FailedRequestError, requests.exceptions.RequestException, ValueError) as exc:
            if not _retryable(exc):
                if isinstance(exc, FailedRequestError):
                    raise BybitError(f"{what}: Bybit answered HTTP {exc.status_code}: {exc.message}",
                                     status=exc.status_code) from exc
                raise
            last = exc
            wait = min(backoff * 2 ** (attempt - 1), 30.0)
            log.warning("%s: attempt %d/%d failed (%s); retrying in %.2f s", what, attempt, attempts, exc, wait)
            if attempt < attempts:
                sleep(wait)
    raise BybitError(f"{what}: gave up after {attempts} attempts: {last}")
