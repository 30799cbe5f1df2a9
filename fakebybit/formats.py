"""Bybit V5 wire formats: the REST envelope, clock in ms, and numbers as plain decimal strings."""

from __future__ import annotations

import time
from decimal import Decimal

from trading.engine.rounding import to_decimal_str

OK_MSG = "OK"


def now_ms() -> int:
    """Wall clock in integer milliseconds (the unit of every Bybit timestamp)."""
    return int(time.time() * 1000)


def envelope(code: int = 0, msg: str = OK_MSG, result: dict | None = None, time_ms: int | None = None) -> dict:
    """``{"retCode","retMsg","result","retExtInfo":{},"time"}``; errors carry ``result: {}``."""
    return {"retCode": int(code), "retMsg": msg, "result": result if result is not None else {},
            "retExtInfo": {}, "time": now_ms() if time_ms is None else int(time_ms)}


def money(x: float, places: int = 8) -> str:
    """A USDT amount as a plain decimal string, at most ``places`` decimals, trailing zeros trimmed."""
    text = format(round(Decimal(repr(float(x))), places), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def fixed(x: float, places: int) -> str:
    """``x`` with exactly ``places`` decimals (price strings at priceScale: "65000.10")."""
    return format(round(Decimal(repr(float(x))), places), f".{places}f")


def plain(x: float | str | Decimal) -> str:
    """Any number as a plain decimal string without exponent ('0.00001', never '1e-05')."""
    return to_decimal_str(x)


def ms_str(ts: int | float) -> str:
    """A REST timestamp: integer milliseconds as a string."""
    return str(int(ts))


def flag(value) -> bool:
    """Bybit booleans arrive as JSON bools or strings ('true'/'True'/'1' from pybit's str())."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)
