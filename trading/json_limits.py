"""Limits on untrusted JSON (API bodies, socket frames) checked before and after parsing: bracket nesting
counted on the text (so a 1,000-deep body never reaches the recursive parser), and NUL characters, which
PostgreSQL cannot store in text or jsonb, found with the path of the value that holds them."""

from __future__ import annotations

from typing import Any

MAX_BODY_DEPTH = 16  # the deepest legitimate body (a sweep grid inside a backtest body) is 3


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, counted outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "]}":
            depth -= 1
    return deepest


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (value or key) holding a NUL character, or None."""
    if isinstance(value, str):
        return path or "(body)" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return (path + "." if path else "") + repr(key)
            found = nul_path(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = nul_path(item, f"{path}[{i}]" if path else f"[{i}]")
            if found:
                return found
    return None
