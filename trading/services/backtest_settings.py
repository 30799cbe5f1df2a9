"""Validation of a backtest's inputs (strategy, params, symbol, range, leverage, sizing, TP/SL, fees,
funding) at the edge, and their conversion into the engine's ``BacktestConfig``. Errors name the field
and the limit; the sizing rules are asked of the engine (``validate_sizing``), never re-implemented."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from trading.choices import TIMEFRAMES, SizingMode

MAX_BARS = 2_000_000
FIELDS = ("symbol", "timeframe", "start", "end", "leverage", "sizing_mode", "allocation", "kelly_fraction",
          "initial_capital", "take_profit_pct", "stop_loss_pct", "maker_fee", "taker_fee", "funding", "entry_order",
          "entry_timeout_seconds", "slippage_bps", "slippage_range_fraction")


def _dt(errors: dict, field: str, value: Any) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    else:
        parsed = None
    if parsed is None:
        errors[field] = f"{field}: {value!r} is not an ISO-8601 date-time, e.g. 2025-01-01T00:00:00Z"
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)  # PostgreSQL refuses offsets beyond +-15:59
    except OverflowError:
        errors[field] = f"{field}: {value!r} is out of range once converted to UTC"
        return None


def _num(errors: dict, field: str, value: Any, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, allow_none: bool = False) -> float | None:
    if value is None or value == "":
        if not allow_none:
            errors[field] = f"{field}: required"
        return None
    try:
        x = float(Decimal(str(value)))
    except Exception:
        errors[field] = f"{field}: {value!r} is not a number"
        return None
    if x != x or x in (float("inf"), float("-inf")):
        errors[field] = f"{field}: {value!r} is not a finite number"
        return None
    if lo is not None and (x < lo or (lo_open and x <= lo)):
        errors[field] = f"{field}: {value} must be {'greater than' if lo_open else 'at least'} {lo:g}"
    elif hi is not None and x > hi:
        errors[field] = f"{field}: {value} is above the maximum {hi:g}"
    return x


def clean_backtest_inputs(*, strategy: str, params: Any, settings: dict[str, Any]) -> tuple[dict, dict]:
    """(params with defaults, settings as plain JSON) or ValidationError {field: message}."""
    from strategies.algos import registry
    from trading.models import DeskSettings, Instrument
    from trading.validation import validate_params

    errors: dict[str, str] = {}
    if strategy not in registry.names():
        raise ValidationError({"strategy": f"strategy: unknown algorithm {strategy!r}; known: "
                                           f"{', '.join(registry.names())}"})
    try:
        params = validate_params(strategy, params if params is not None else {})
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    unknown = sorted(set(settings) - set(FIELDS))
    if unknown:
        errors[unknown[0]] = f"{unknown[0]}: unknown setting; allowed: {', '.join(FIELDS)}"
    symbol = settings.get("symbol")
    inst = Instrument.objects.filter(symbol=symbol).first() if isinstance(symbol, str) else None
    if inst is None:
        errors["symbol"] = f"symbol: unknown symbol {symbol!r}; add the instrument first"
    timeframe = settings.get("timeframe", "5m")
    if timeframe not in TIMEFRAMES:
        errors["timeframe"] = f"timeframe: {timeframe!r} is not one of {', '.join(TIMEFRAMES)}"
    start, end = _dt(errors, "start", settings.get("start")), _dt(errors, "end", settings.get("end"))
    if start and end and end <= start:
        errors["end"] = f"end: {end.isoformat()} must be after start {start.isoformat()}"
    max_lev = float(inst.max_leverage) if inst else 125.0
    leverage = _num(errors, "leverage", settings.get("leverage"), lo=1, hi=max_lev)
    mode = settings.get("sizing_mode", SizingMode.KELLY)
    if mode not in SizingMode.values:
        errors["sizing_mode"] = f"sizing_mode: {mode!r} is not one of {', '.join(SizingMode.values)}"
    desk = DeskSettings.current()
    capital = _num(errors, "initial_capital", settings.get("initial_capital", desk.starting_capital),
                   lo=0, hi=1e12, lo_open=True)
    allocation = _num(errors, "allocation", settings.get("allocation"), lo=0, hi=1, lo_open=True,
                      allow_none=mode != SizingMode.FIXED)
    kelly = _num(errors, "kelly_fraction", settings.get("kelly_fraction"), lo=0, hi=1, lo_open=True,
                 allow_none=mode != SizingMode.KELLY)
    tp = _num(errors, "take_profit_pct", settings.get("take_profit_pct"), lo=0, hi=100, lo_open=True,
              allow_none=True)
    sl = _num(errors, "stop_loss_pct", settings.get("stop_loss_pct"), lo=0, hi=100, lo_open=True, allow_none=True)
    maker = _num(errors, "maker_fee", settings.get("maker_fee", desk.maker_fee), lo=0, hi=0.0099)
    taker = _num(errors, "taker_fee", settings.get("taker_fee", desk.taker_fee), lo=0, hi=0.0099)
    from trading.engine.execution_model import ENTRY_TIMEOUT_DEFAULT, MARKET, SLIPPAGE_BPS_DEFAULT

    entry_order = settings.get("entry_order", MARKET)
    timeout = _num(errors, "entry_timeout_seconds", settings.get("entry_timeout_seconds", ENTRY_TIMEOUT_DEFAULT),
                   lo=0, hi=1e9)
    slip = _num(errors, "slippage_bps", settings.get("slippage_bps", SLIPPAGE_BPS_DEFAULT), lo=0, hi=1e9)
    slip_range = _num(errors, "slippage_range_fraction", settings.get("slippage_range_fraction", 0), lo=0, hi=1e9)
    funding = settings.get("funding", True)
    if not isinstance(funding, bool):
        errors["funding"] = f"funding: {funding!r} is not true or false"
    if errors:
        raise ValidationError(errors)
    cleaned = {"symbol": symbol, "timeframe": timeframe, "start": start.isoformat(), "end": end.isoformat(),
               "leverage": leverage, "sizing_mode": mode, "allocation": allocation, "kelly_fraction": kelly,
               "initial_capital": capital, "take_profit_pct": tp, "stop_loss_pct": sl,
               "maker_fee": maker, "taker_fee": taker, "funding": funding, "entry_order": entry_order,
               "entry_timeout_seconds": timeout, "slippage_bps": slip, "slippage_range_fraction": slip_range}
    _engine_checks(cleaned, inst, desk.leverage_bands)
    bars = stored_bars(symbol=symbol, interval=timeframe, start=start, end=end)
    if bars < 2:
        raise ValidationError({"start": f"start: only {bars} {symbol} {timeframe} candle(s) stored between "
                                        f"{start.isoformat()} and {end.isoformat()}; at least 2 are needed"})
    if bars > MAX_BARS:
        raise ValidationError({"end": f"end: the range holds {bars} bars, above the limit {MAX_BARS}"})
    return params, cleaned


def _engine_checks(cleaned: dict, inst, bands) -> None:
    from trading.engine.sizing import SizingError, validate_sizing
    from trading.engine_adapters import engine_instrument

    fields = {"mode": "sizing_mode", "initial_capital": "initial_capital"}
    try:
        validate_sizing(mode=cleaned["sizing_mode"], leverage=cleaned["leverage"],
                        instrument=engine_instrument(inst), kelly_fraction=cleaned["kelly_fraction"],
                        initial_capital=cleaned["initial_capital"], allocation=cleaned["allocation"], bands=bands)
        to_engine_config(cleaned, inst).validate(engine_instrument(inst))
    except SizingError as exc:
        field = fields.get(exc.field, exc.field)
        raise ValidationError({field: str(exc).replace(f"{exc.field}:", f"{field}:", 1)}) from exc
    except ValueError as exc:  # the fee schedule's own bounds
        raise ValidationError({"taker_fee": f"taker_fee: {exc}"}) from exc


def to_engine_config(settings: dict, inst):
    """The engine's BacktestConfig for cleaned settings (percent inputs become fractions)."""
    from trading.engine.backtest import BacktestConfig
    from trading.engine.fees import FeeSchedule

    def frac(pct):
        return None if pct is None else float(pct) / 100.0

    kw = dict(
        leverage=float(settings["leverage"]), sizing=settings["sizing_mode"],
        initial_capital=float(settings["initial_capital"]),
        take_profit_pct=frac(settings.get("take_profit_pct")), stop_loss_pct=frac(settings.get("stop_loss_pct")),
        fees=FeeSchedule(maker=float(settings["maker_fee"]), taker=float(settings["taker_fee"])),
        funding=bool(settings["funding"]),
    )
    for name in ("entry_timeout_seconds", "slippage_bps", "slippage_range_fraction"):
        if settings.get(name) is not None:
            kw[name] = float(settings[name])
    if settings.get("entry_order") is not None:
        kw["entry_order"] = str(settings["entry_order"])
    if settings.get("kelly_fraction") is not None:
        kw["kelly_fraction"] = float(settings["kelly_fraction"])
    if settings.get("allocation") is not None:
        kw["allocation"] = float(settings["allocation"])
    return BacktestConfig(**kw)


def stored_bars(*, symbol: str, interval: str, start: datetime, end: datetime) -> int:
    """How many ``interval`` bars the store holds (or can resample from its base interval) in ``start..end``."""
    from trading.marketdata.reader import stored_base_interval
    from trading.models import Candle

    base = stored_base_interval(symbol=symbol, interval=interval)
    if base is None:
        return 0
    rows = Candle.objects.filter(symbol=symbol, interval=base, kind="trade", open_time__gte=start,
                                 open_time__lte=end).count()
    return rows // (TIMEFRAMES[interval][0] // TIMEFRAMES[base][0])


def stored_range(*, symbol: str, interval: str) -> tuple[datetime, datetime] | None:
    """(first, last) open time of the stored trade candles of ``symbol`` at ``interval`` (or at the base interval
    it is resampled from); None when none."""
    from django.db.models import Max, Min

    from trading.marketdata.reader import stored_base_interval
    from trading.models import Candle

    base = stored_base_interval(symbol=symbol, interval=interval)
    if base is None:
        return None
    agg = Candle.objects.filter(symbol=symbol, interval=base, kind="trade").aggregate(a=Min("open_time"),
                                                                                    b=Max("open_time"))
    return None if agg["a"] is None else (agg["a"], agg["b"])


def with_default_range(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with a missing start/end taken from the stored range of its symbol and timeframe."""
    if settings.get("start") not in (None, "") and settings.get("end") not in (None, ""):
        return settings
    symbol, timeframe = settings.get("symbol"), settings.get("timeframe", "5m")
    span = stored_range(symbol=symbol, interval=timeframe) if isinstance(symbol, str) and \
        timeframe in TIMEFRAMES else None
    if span is None:
        return settings  # clean_backtest_inputs names the missing field
    out = dict(settings)
    if out.get("start") in (None, ""):
        out["start"] = span[0].isoformat()
    if out.get("end") in (None, ""):
        out["end"] = span[1].isoformat()
    return out


def config_settings(*, config, symbol: str | None = None) -> tuple[str, dict, dict[str, Any]]:
    """(strategy, params, settings) a StrategyConfig stands for: its algorithm and parameters, symbol (the first of
    its symbols unless ``symbol`` names another of them), timeframe, leverage, sizing, TP/SL, and its account's
    fees and starting capital. ValidationError {"symbol": ...} for a symbol the config does not trade."""
    symbols = list(config.symbols or [])
    if symbol in (None, ""):
        if not symbols:
            raise ValidationError({"config": f"config: config {config.pk} ({config.name}) trades no symbol"})
        symbol = symbols[0]
    elif symbol not in symbols:
        raise ValidationError({"symbol": f"symbol: {symbol!r} is not one of config {config.pk}'s symbols "
                                         f"{', '.join(symbols) or '(none)'}"})

    def text(value):
        return None if value is None else str(value)

    account = config.account
    settings = {"symbol": symbol, "timeframe": config.timeframe, "leverage": text(config.leverage),
                "sizing_mode": config.sizing_mode, "allocation": text(config.allocation),
                "kelly_fraction": text(config.kelly_fraction), "take_profit_pct": text(config.take_profit_pct),
                "stop_loss_pct": text(config.stop_loss_pct), "initial_capital": text(account.starting_capital),
                "maker_fee": text(account.maker_fee), "taker_fee": text(account.taker_fee),
                "entry_order": config.entry_order, "entry_timeout_seconds": config.entry_timeout_seconds,
                "slippage_bps": text(account.slippage_bps),
                "slippage_range_fraction": text(account.slippage_range_fraction)}
    return config.strategy.key, dict(config.params or {}), settings
