"""Request authentication exactly as spec §6.3: key known (10003), timestamp window (10002), then
HMAC-SHA256 over ts+key+recv_window+payload (10004), where payload is the RAW query string of a GET
or the RAW body bytes of a POST, never a re-serialised copy. Also the WebSocket auth signature."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

INVALID_KEY = 10003
BAD_TIMESTAMP = 10002
BAD_SIGN = 10004


def sign(secret: str, payload: bytes | str) -> str:
    data = payload if isinstance(payload, bytes) else payload.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuthError:
    code: int
    message: str


def check_rest(keys: dict[str, str], headers, payload: bytes, server_ms: int) -> AuthError | None:
    """None when the request is authentic, else the Bybit retCode and message."""
    key = headers.get("X-BAPI-API-KEY", "")
    if key not in keys:
        return AuthError(INVALID_KEY, "API key is invalid.")
    ts_text = headers.get("X-BAPI-TIMESTAMP", "")
    recv_text = headers.get("X-BAPI-RECV-WINDOW", "5000") or "5000"
    try:
        ts, recv = int(ts_text), int(recv_text)
    except ValueError:
        return AuthError(BAD_TIMESTAMP, f"invalid request, please check your server timestamp or recv_window param. "
                                        f"req_timestamp[{ts_text}],server_timestamp[{server_ms}],recv_window[{recv_text}]")
    if not server_ms - recv <= ts < server_ms + 1000:
        return AuthError(BAD_TIMESTAMP, f"invalid request, please check your server timestamp or recv_window param. "
                                        f"req_timestamp[{ts}],server_timestamp[{server_ms}],recv_window[{recv}]")
    origin = f"{ts_text}{key}{recv_text}".encode() + payload
    given = headers.get("X-BAPI-SIGN", "")
    if not hmac.compare_digest(sign(keys[key], origin), given):
        return AuthError(BAD_SIGN, f"error sign! origin_string[{origin.decode('utf-8', 'replace')}]")
    return None


def check_ws(keys: dict[str, str], args, server_ms: int) -> str | None:
    """None when a WS ``{"op":"auth","args":[key, expires, sig]}`` is valid, else the ret_msg."""
    if not isinstance(args, list) or len(args) != 3:
        return "Params Error"
    key, expires, given = args
    if key not in keys:
        return "Invalid apikey"
    try:
        exp = int(expires)
    except (TypeError, ValueError):
        return "Params Error"
    if exp <= server_ms:
        return "Params Error: expires is in the past"
    if not hmac.compare_digest(sign(keys[key], f"GET/realtime{expires}"), str(given)):
        return "Invalid sign"
    return None
