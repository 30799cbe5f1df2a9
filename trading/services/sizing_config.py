"""Import and export of the desk's master sizing config (YAML): starting capital, fees, leverage bands and
per-strategy leverage/sizing. Import validates the whole file first and writes in one transaction.

The file is untrusted: binary content, a file over MAX_FILE_BYTES, nesting deeper than MAX_DEPTH, a list
where a mapping belongs, NaN/infinity, booleans where numbers belong and leverage bands with a hole are
each refused with a ConfigFileError naming the field (or the file) and the limit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from strategies.models import Strategy
from trading.choices import TIMEFRAMES, SizingMode
from trading.models import DeskSettings

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 6  # the shipped file is 3 deep (leverage_bands -> row -> value)


class ConfigFileError(ValueError):
    """A problem in the YAML file; the message starts with the dotted path of the field."""


def _depth(value: Any, limit: int, level: int = 1) -> int:
    """Nesting depth of parsed YAML, stopping once past ``limit`` (aliases cannot make it walk forever)."""
    if level > limit or not isinstance(value, dict | list):
        return level
    items = value.values() if isinstance(value, dict) else value
    return max((_depth(item, limit, level + 1) for item in items), default=level)


def _mapping(value: Any, where: str, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigFileError(f"{where}: expected a mapping of {what}, got a {type(value).__name__}")
    return value


def _number(data: dict, key: str, path: str = "", *, required: bool = True) -> Decimal | None:
    where = f"{path}.{key}" if path else key
    if key not in data or data[key] is None:
        if required:
            raise ConfigFileError(f"{where}: required")
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigFileError(f"{where}: {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigFileError(f"{where}: {value!r} is not a number") from exc
    if not number.is_finite():
        raise ConfigFileError(f"{where}: {value!r} is not a finite number")
    return number


def parse_sizing_config(text: str) -> dict[str, Any]:
    """Parse and fully validate the YAML text; returns normalised values or raises ConfigFileError."""
    from trading.engine.sizing import SizingError, check_band_coverage, parse_bands, validate_sizing
    from trading.validation import MAX_FEE_RATE, MAX_OPEN_POSITIONS

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigFileError(f"the file is nested too deeply (limit {MAX_DEPTH} levels)") from exc
    if not isinstance(data, dict):
        raise ConfigFileError("top level: expected a mapping")
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise ConfigFileError(f"the file is nested deeper than {MAX_DEPTH} levels")
    capital = _number(data, "starting_capital_usdt")
    if capital <= 0:
        raise ConfigFileError(f"starting_capital_usdt: {capital} must be greater than 0")
    max_open = data.get("max_open_positions", 2)
    if isinstance(max_open, bool) or not isinstance(max_open, int) or not 1 <= max_open <= MAX_OPEN_POSITIONS:
        raise ConfigFileError(f"max_open_positions: {max_open!r} is outside 1..{MAX_OPEN_POSITIONS}")
    fees = data.get("fees") or {}
    if not isinstance(fees, dict):
        raise ConfigFileError(f"fees: expected a mapping with maker and taker, got a {type(fees).__name__}")
    maker, taker = _number(fees, "maker", "fees"), _number(fees, "taker", "fees")
    for name, fee in (("maker", maker), ("taker", taker)):
        if not 0 <= fee <= MAX_FEE_RATE:
            raise ConfigFileError(f"fees.{name}: {fee} is outside 0..{MAX_FEE_RATE}")
    bands = data.get("leverage_bands")
    try:
        check_band_coverage(parse_bands(bands))
    except ValueError as exc:
        raise ConfigFileError(f"leverage_bands: {exc}") from exc
    strategies: dict[str, dict] = {}
    for key, entry in _mapping(data.get("strategies"), "strategies", "strategy keys to settings").items():
        path = f"strategies.{key}"
        if not isinstance(entry, dict):
            raise ConfigFileError(f"{path}: expected a mapping, got a {type(entry).__name__}")
        mode = entry.get("sizing_mode", SizingMode.FIXED)
        if mode not in SizingMode.values:
            raise ConfigFileError(f"{path}.sizing_mode: {mode!r} is not one of {', '.join(SizingMode.values)}")
        timeframe = entry.get("timeframe", "5m")
        if timeframe not in TIMEFRAMES:
            raise ConfigFileError(f"{path}.timeframe: {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
        leverage = _number(entry, "leverage", path)
        allocation = _number(entry, "allocation", path, required=False)
        kelly = _number(entry, "kelly_fraction", path, required=False)
        try:
            validate_sizing(mode=mode, leverage=float(leverage), initial_capital=float(capital),
                            allocation=None if allocation is None else float(allocation),
                            kelly_fraction=None if kelly is None else float(kelly), bands=bands)
        except SizingError as exc:
            raise ConfigFileError(f"{path}.{exc}") from exc
        strategies[key] = {"leverage": leverage, "sizing_mode": mode, "allocation": allocation,
                           "kelly_fraction": kelly, "timeframe": timeframe}
    return {"starting_capital": capital, "max_open_positions": max_open, "maker_fee": maker,
            "taker_fee": taker, "leverage_bands": bands, "strategies": strategies}


@transaction.atomic
def import_sizing_config(*, text: str) -> DeskSettings:
    """Validate the YAML whole, then write desk settings and strategy defaults together (or nothing)."""
    from strategies.algos import registry

    parsed = parse_sizing_config(text)
    unknown = [k for k in parsed["strategies"] if k not in registry.names()]
    if unknown:
        raise ConfigFileError(f"strategies.{unknown[0]}: unknown algorithm; known: {', '.join(registry.names())}")
    desk = DeskSettings.current()
    for field in ("starting_capital", "max_open_positions", "maker_fee", "taker_fee", "leverage_bands"):
        setattr(desk, field, parsed[field])
    desk.full_clean()
    desk.save()
    for key, values in parsed["strategies"].items():
        cls = registry.get(key)
        strategy, _ = Strategy.objects.get_or_create(key=key, defaults={"label": cls.label})
        strategy.default_leverage = values["leverage"]
        strategy.default_sizing_mode = values["sizing_mode"]
        strategy.default_allocation = values["allocation"]
        strategy.default_kelly_fraction = values["kelly_fraction"]
        strategy.default_timeframe = values["timeframe"]
        strategy.full_clean()
        strategy.save()
    return desk


def export_sizing_config() -> str:
    desk = DeskSettings.current()
    strategies = {}
    for s in Strategy.objects.order_by("key"):
        entry: dict[str, Any] = {"leverage": float(s.default_leverage), "sizing_mode": s.default_sizing_mode,
                                 "timeframe": s.default_timeframe}
        if s.default_allocation is not None:
            entry["allocation"] = float(s.default_allocation)
        if s.default_kelly_fraction is not None:
            entry["kelly_fraction"] = float(s.default_kelly_fraction)
        strategies[s.key] = entry
    doc = {
        "version": 1,
        "starting_capital_usdt": float(desk.starting_capital),
        "max_open_positions": desk.max_open_positions,
        "fees": {"maker": float(desk.maker_fee), "taker": float(desk.taker_fee)},
        "leverage_bands": desk.leverage_bands,
        "strategies": strategies,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def read_file(path: Path) -> str:
    """The file's text; a ConfigFileError for an unreadable, oversized or binary (non-UTF-8, NUL) file."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigFileError(f"{size} bytes, over the limit of {MAX_FILE_BYTES}")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"cannot read {path}: {exc.strerror}") from exc
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ConfigFileError(f"not a text file (NUL byte at offset {nul})")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})") from exc
