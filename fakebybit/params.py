"""Request parameters: the raw query string split without re-encoding, the raw JSON body, and typed
getters that answer Bybit's 10001 params errors."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote


class ParamError(Exception):
    """A request parameter is missing or malformed: retCode 10001."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_query(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in raw.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        out[unquote(key)] = unquote(value)
    return out


def parse_body(raw: bytes) -> dict:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as e:
        raise ParamError(f"params error: request body is not JSON ({e.msg})") from e
    if not isinstance(body, dict):
        raise ParamError("params error: request body must be a JSON object")
    return body


def text(params: dict, name: str, required: bool = False, default: str | None = None) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ParamError(f"params error: {name} is required")
        return default
    return str(value)


def number(params: dict, name: str, required: bool = False) -> float | None:
    """A decimal parameter (string or JSON number); ``None`` when absent or empty."""
    value = text(params, name, required)
    if value is None:
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise ParamError(f"params error: {name} {value!r} is not a number") from None
    if not d.is_finite():
        raise ParamError(f"params error: {name} {value!r} is not a number")
    return float(d)


def integer(params: dict, name: str, default: int | None = None, lo: int | None = None,
            hi: int | None = None, clamp: bool = False) -> int | None:
    value = text(params, name)
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise ParamError(f"params error: {name} {value!r} is not an integer") from None
    if lo is not None and n < lo:
        raise ParamError(f"params error: {name} {n} is below {lo}")
    if hi is not None and n > hi:
        if not clamp:
            raise ParamError(f"params error: {name} {n} is above {hi}")
        n = hi
    return n


def page(rows: list, limit: int, cursor: str | None) -> tuple[list, str]:
    """Offset paging: (rows of this page, nextPageCursor or "")."""
    try:
        start = int(cursor) if cursor else 0
    except ValueError:
        raise ParamError(f"params error: cursor {cursor!r} is invalid") from None
    chunk = rows[start:start + limit]
    nxt = str(start + limit) if start + limit < len(rows) else ""
    return chunk, nxt
