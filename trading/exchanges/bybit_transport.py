"""One pybit call -> a result dict or an ExchangeError, and the bounded retry loop around it.

How pybit 5.17 fails (specs/bybit.md §1.3) and what each becomes here:
- non-zero retCode -> ``InvalidRequestError`` -> ``ExchangeError(retCode, retMsg)``; retryable only for the
  "try again" codes (10000 server timeout, 10002 clock, 10006 rate limit, 10016 server error);
- a retCode in pybit's ``ignore_codes`` comes back as a dict -> success if the caller allows that code;
- HTTP != 200 / undecodable body -> ``FailedRequestError`` -> ``ExchangeError(HTTP status, retryable=True)``
  except 401/404 (a bad key or path does not heal); pybit's own "Retries exceeded maximum" (10002/10006
  answered on every one of its attempts) keeps its status 400 and is retryable;
- ``requests`` timeouts / connection errors -> ``ExchangeError(-1, retryable=True)``;
- the ValueError pybit raises when a 10006 reset timestamp is already past (``time.sleep(negative)``) ->
  ``ExchangeError(10006, retryable=True)`` instead of a crash.
No message here carries credentials: pybit's messages hold the URL and body only, never headers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from .types import ExchangeError

log = logging.getLogger(__name__)

RETRYABLE_CODES = frozenset({10000, 10002, 10006, 10016})
RATE_LIMITED = 10006
TRANSPORT = -1
NOT_RETRYABLE_HTTP = frozenset({400, 401, 404})
RETRIES_EXCEEDED = "Retries exceeded"
IP_BANNED = 403
CONFIG_ERRORS = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                 requests.exceptions.InvalidSchema)


def translate(exc: BaseException) -> ExchangeError | None:
    """The ExchangeError for an exception raised inside a pybit call (None: not pybit's or ours to map)."""
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, InvalidRequestError):
        code = int(exc.status_code)
        return ExchangeError(code, str(exc.message), retryable=code in RETRYABLE_CODES)
    if isinstance(exc, FailedRequestError):
        status = int(exc.status_code)
        message = str(exc.message)
        if RETRIES_EXCEEDED in message:
            return ExchangeError(status, f"{message} (pybit retried 10002/10006 answers until its attempts "
                                         f"ran out)", retryable=True)
        return ExchangeError(status, f"HTTP {status}: {message}", retryable=status not in NOT_RETRYABLE_HTTP)
    if isinstance(exc, CONFIG_ERRORS):
        return ExchangeError(TRANSPORT, f"{type(exc).__name__}: {exc}", retryable=False)
    if isinstance(exc, requests.exceptions.RequestException):
        return ExchangeError(TRANSPORT, f"{type(exc).__name__}: {exc}", retryable=True)
    if isinstance(exc, ValueError) and "sleep length" in str(exc):
        return ExchangeError(RATE_LIMITED, "Too many visits! (the rate-limit reset time was already past, "
                                           "pybit could not sleep until it)", retryable=True)
    if isinstance(exc, PermissionError):
        return ExchangeError(10003, f"no API key/secret for a private call: {exc}")
    return None


def call(fn: Callable[..., dict], params: dict, *, ok_codes: frozenset[int] = frozenset()) -> dict:
    """One pybit call (pybit may still retry 10002/10006 inside it). Returns ``result`` (or {})."""
    try:
        reply = fn(**dict(params))
    except Exception as exc:  # noqa: BLE001 - every failure is translated or re-raised untouched
        err = translate(exc)
        if err is None:
            raise
        if err.code in ok_codes:  # a session built without ignore_codes raises what we accept
            return {}
        raise err from exc
    code = int(reply.get("retCode") or 0)
    if code and code not in ok_codes:
        raise ExchangeError(code, str(reply.get("retMsg", "")), retryable=code in RETRYABLE_CODES)
    return reply.get("result") or {}


def worth_retrying(err: ExchangeError) -> bool:
    """Retry here only what may heal within seconds: not an IP ban (403: retrying extends it) and not
    pybit's own exhausted 10002/10006 retries (it has already waited as long as Bybit asked)."""
    return err.retryable and err.code != IP_BANNED and RETRIES_EXCEEDED not in err.message


def pause(backoff: Sequence[float], attempt: int) -> None:
    """Sleep before retry number ``attempt`` (1-based): the attempt-th backoff, the last one repeated."""
    if backoff:
        time.sleep(float(backoff[min(attempt, len(backoff)) - 1]))


def with_retries(what: str, fn: Callable[[], dict], *, attempts: int, backoff: Sequence[float]) -> dict:
    """``fn()`` up to ``attempts`` times while it fails with a retryable ExchangeError (idempotent calls only)."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except ExchangeError as err:
            if attempt >= attempts or not worth_retrying(err):
                raise
            log.warning("bybit %s failed (%s, code %s), retry %d/%d", what, err.message, err.code, attempt,
                        attempts - 1)
            pause(backoff, attempt)
    raise AssertionError("unreachable")
