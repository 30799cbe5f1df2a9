"""Validation of every model the desk edits (admin forms, API bodies, YAML), with messages that name the
field and the limit. Rules that belong to the engine (sizing bands, liquidation distance) or to an
algorithm (its parameter schema) are asked of them, never re-implemented here."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from trading.choices import TIMEFRAMES, AccountMode, OrderType

MAX_FEE_RATE = Decimal("0.01")
MAX_OPEN_POSITIONS = 50
MAX_CONFIG_SYMBOLS = 50
SYMBOL_RE = re.compile(r"[A-Z0-9]{2,30}")  # Bybit linear symbols: BTCUSDT, 1000PEPEUSDT


def _positive(errors: dict, field: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None:
        if not allow_none:
            errors[field] = f"{field}: required"
        return
    if Decimal(str(value)) <= 0:
        errors[field] = f"{field}: {value} must be greater than 0"


def _fee(errors: dict, field: str, value: Any) -> None:
    if value is None or not (0 <= Decimal(str(value)) <= MAX_FEE_RATE):
        errors[field] = f"{field}: {value} is outside 0..{MAX_FEE_RATE} (a fraction of notional, 0.0006 = 0.06 %)"


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _money_settings(obj) -> dict[str, str]:
    """Starting capital, fee rates and the open-position cap: the desk's defaults and each account's."""
    errors: dict[str, str] = {}
    _positive(errors, "starting_capital", obj.starting_capital)
    _fee(errors, "maker_fee", obj.maker_fee)
    _fee(errors, "taker_fee", obj.taker_fee)
    if not 1 <= int(obj.max_open_positions or 0) <= MAX_OPEN_POSITIONS:
        errors["max_open_positions"] = f"max_open_positions: {obj.max_open_positions} is outside 1..{MAX_OPEN_POSITIONS}"
    return errors


def validate_desk_numbers(desk) -> None:
    _raise(_money_settings(desk))


def validate_bands(bands: Any) -> None:
    from trading.engine.sizing import check_band_coverage, parse_bands

    try:
        check_band_coverage(parse_bands(bands))
    except ValueError as exc:
        raise ValidationError({"leverage_bands": str(exc)}) from exc


def _execution_errors(**settings) -> dict[str, str]:
    """The engine's execution-model limits (trading/engine/execution_model.py), as field errors."""
    from trading.engine.execution_model import ExecutionSettingError, validate_execution

    errors: dict[str, str] = {}
    for name in list(settings):
        try:
            validate_execution(**{name: settings[name]})
        except ExecutionSettingError as exc:
            errors[exc.field] = str(exc)
        except (TypeError, ValueError):
            errors[name] = f"{name}: {settings[name]!r} is not a number"
    return errors


def validate_account(account) -> None:
    errors = _money_settings(account)
    errors.update(_execution_errors(slippage_bps=account.slippage_bps,
                                    slippage_range_fraction=account.slippage_range_fraction))
    if account.mode == AccountMode.LIVE and not account.has_api_credentials:
        errors["mode"] = "mode: live needs an API key and secret on the account"
    if account.live_trading_enabled and account.mode != AccountMode.LIVE:
        errors["live_trading_enabled"] = "live_trading_enabled: only a live-mode account can enable live trading"
    if account.has_api_credentials and not account.api_keys_match_environment:
        errors["environment"] = (f"environment: the stored API key and secret were given for "
                                 f"{account.api_keys_environment or 'an unknown environment'}; give the "
                                 f"{account.environment} key and secret with the switch, or clear the keys "
                                 "(keys belong to one Bybit environment)")
    if account.mode == AccountMode.LIVE and account.pk is not None and "mode" not in errors:
        refused = _live_gate_refusals(account)
        if refused:
            errors["mode"] = (f"mode: going live needs a walk-forward verdict (or a recorded override) for every "
                              f"enabled config; refused for {'; '.join(refused)}. Disable them, switch, then enable "
                              "each with its verdict or an override")
    _raise(errors)


def _live_gate_refusals(account) -> list[str]:
    """The account's enabled configs the live gate would refuse on ``account`` as it would be saved."""
    from strategies.models import StrategyConfig
    from trading.services.research_gate import gate_refusal

    out = []
    for cfg in StrategyConfig.objects.filter(account_id=account.pk, enabled=True).select_related("strategy"):
        problem = gate_refusal(config=cfg, account=account)
        if problem:
            out.append(f"{cfg.name!r} ({problem})")
    return out


def validate_instrument(inst) -> None:
    errors: dict[str, str] = {}
    for field in ("tick_size", "qty_step", "min_qty"):
        _positive(errors, field, getattr(inst, field))
    if inst.min_notional is None or Decimal(str(inst.min_notional)) < 0:
        errors["min_notional"] = f"min_notional: {inst.min_notional} must be 0 or more"
    if inst.max_leverage is None or not 1 <= Decimal(str(inst.max_leverage)) <= 200:
        errors["max_leverage"] = f"max_leverage: {inst.max_leverage} is outside 1..200"
    if not errors:
        from trading.engine.instruments import parse_risk_tiers

        try:
            parse_risk_tiers(inst.risk_tiers or [])
        except ValueError as exc:
            errors["risk_tiers"] = f"risk_tiers: {exc}"
    _raise(errors)


def validate_strategy_key(key: str) -> None:
    from strategies.algos import registry

    if key not in registry.names():
        raise ValidationError({"key": f"key: unknown algorithm {key!r}; known: {', '.join(registry.names())}"})


def validate_params(strategy_key: str, params: Any) -> dict:
    """The algorithm's own schema validates its params; returns them with defaults filled in."""
    from strategies.algos import registry
    from strategies.algos.base import ParamError

    if not isinstance(params, dict):
        raise ValidationError({"params": "params: must be an object of parameter names to values"})
    try:
        cls = registry.get(strategy_key)
    except KeyError as exc:  # a user strategy whose file is gone or broken
        raise ValidationError({"strategy": f"strategy: {exc.args[0]}"}) from exc
    try:
        return cls.validate_params(params)
    except ParamError as exc:
        raise ValidationError({"params": f"params.{exc.field}: {exc}"}) from exc


def _symbols_error(symbols: Any) -> str | None:
    """Why a config's symbols list is refused (checked before any query: a NUL byte never reaches the
    database), or None."""
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
        return 'symbols: a non-empty list of symbols is required, e.g. ["BTCUSDT"]'
    if len(symbols) > MAX_CONFIG_SYMBOLS:
        return f"symbols: {len(symbols)} listed, over the limit of {MAX_CONFIG_SYMBOLS}"
    for i, symbol in enumerate(symbols):
        if "\x00" in symbol:
            return f"symbols[{i}]: contains a NUL character"
        if not SYMBOL_RE.fullmatch(symbol):
            return f"symbols[{i}]: {symbol[:40]!r} is not a symbol (2-30 capital letters and digits, e.g. BTCUSDT)"
    repeated = [s for s, n in Counter(symbols).items() if n > 1]
    if repeated:
        return f"symbols: {repeated[0]} is listed {symbols.count(repeated[0])} times; list each symbol once"
    return None


def validate_strategy_config(cfg) -> None:
    from trading.models import DeskSettings, Instrument

    errors: dict[str, str] = {}
    symbols = cfg.symbols
    instruments: list = []
    symbol_error = _symbols_error(symbols)
    if symbol_error:
        errors["symbols"] = symbol_error
    else:
        known = {i.symbol: i for i in Instrument.objects.filter(symbol__in=symbols)}
        unknown = [s for s in symbols if s not in known]
        if unknown:
            errors["symbols"] = f"symbols: unknown symbol(s) {', '.join(unknown)}; add the instrument first"
        instruments = [known[s] for s in symbols if s in known]
    if cfg.timeframe not in TIMEFRAMES:
        errors["timeframe"] = f"timeframe: {cfg.timeframe!r} is not one of {', '.join(TIMEFRAMES)}"
    if cfg.leverage is None or Decimal(str(cfg.leverage)) < 1:
        errors["leverage"] = f"leverage: {cfg.leverage} is below the minimum 1"
    else:
        for inst in instruments:
            if Decimal(str(cfg.leverage)) > inst.max_leverage:
                errors["leverage"] = (
                    f"leverage: {cfg.leverage} is above {inst.symbol}'s maximum {inst.max_leverage:g}"
                )
                break
    if "leverage" not in errors:
        capital = cfg.account.starting_capital if cfg.account_id else DeskSettings.current().starting_capital
        errors.update(_sizing_errors(cfg, DeskSettings.current().leverage_bands, initial_capital=capital))
    _positive(errors, "take_profit_pct", cfg.take_profit_pct, allow_none=True)
    _positive(errors, "stop_loss_pct", cfg.stop_loss_pct)
    errors.update(_execution_errors(entry_order=cfg.entry_order, entry_timeout_seconds=cfg.entry_timeout_seconds))
    if "stop_loss_pct" not in errors and "leverage" not in errors:
        errors.update(_stop_errors(cfg, instruments))
    if cfg.strategy_id is not None and cfg.enabled:
        from strategies.services import stored_refusal

        refusal = stored_refusal(strategy=cfg.strategy)
        if refusal:
            errors["enabled"] = refusal
    if cfg.enabled and cfg.account_id and "enabled" not in errors and "symbols" not in errors:
        from trading.services.research_gate import live_gate_error

        gate = live_gate_error(config=cfg)  # the live gate holds on every path that saves an enabled config
        if gate:
            errors["enabled"] = gate
    if cfg.strategy_id is not None:
        try:
            cfg.params = validate_params(cfg.strategy.key, cfg.params if cfg.params is not None else {})
        except ValidationError as exc:
            errors.update(exc.message_dict and {k: v[0] for k, v in exc.message_dict.items()})
    _raise(errors)


_ENGINE_FIELD = {"mode": "sizing_mode", "initial_capital": "starting_capital"}


def _sizing_errors(cfg, bands, *, initial_capital) -> dict[str, str]:
    """The engine's sizing rule (bands, fractions), reported under the model's field names."""
    from trading.engine.sizing import SizingError, validate_sizing

    try:
        validate_sizing(
            mode=cfg.sizing_mode,
            leverage=float(cfg.leverage),
            allocation=None if cfg.allocation is None else float(cfg.allocation),
            kelly_fraction=None if cfg.kelly_fraction is None else float(cfg.kelly_fraction),
            initial_capital=float(initial_capital),
            bands=bands,
        )
    except SizingError as exc:
        field = _ENGINE_FIELD.get(exc.field, exc.field)
        return {field: str(exc).replace(f"{exc.field}:", f"{field}:", 1)}
    return {}


def _stop_errors(cfg, instruments) -> dict[str, str]:
    """The stop-loss distance must sit strictly before liquidation at this leverage, for every symbol."""
    from trading.engine.margin import liquidation_distance
    from trading.engine_adapters import engine_instrument

    sl = float(cfg.stop_loss_pct) / 100.0
    for inst in instruments:
        mmr = engine_instrument(inst).tiers[0].mmr
        limit = liquidation_distance(leverage=float(cfg.leverage), mmr=mmr)
        if sl >= limit:
            return {
                "stop_loss_pct": (
                    f"stop_loss_pct: {cfg.stop_loss_pct} % is at or beyond liquidation on {inst.symbol} "
                    f"at {cfg.leverage:g}x (must be below {limit * 100:.4f} %)"
                )
            }
    return {}


def validate_position(pos) -> None:
    errors: dict[str, str] = {}
    _positive(errors, "entry_price", pos.entry_price)
    if pos.qty is None or Decimal(str(pos.qty)) < 0:
        errors["qty"] = f"qty: {pos.qty} must be 0 or more"
    if pos.leverage is None or Decimal(str(pos.leverage)) < 1:
        errors["leverage"] = f"leverage: {pos.leverage} is below the minimum 1"
    if pos.margin is None or Decimal(str(pos.margin)) < 0:
        errors["margin"] = f"margin: {pos.margin} must be 0 or more"
    for field in ("take_profit", "stop_loss", "liquidation_price"):
        _positive(errors, field, getattr(pos, field), allow_none=True)
    _raise(errors)


def validate_order(order) -> None:
    errors: dict[str, str] = {}
    _positive(errors, "qty", order.qty)
    _positive(errors, "price", order.price, allow_none=order.order_type != OrderType.LIMIT)
    for field in ("take_profit", "stop_loss"):
        _positive(errors, field, getattr(order, field), allow_none=True)
    _raise(errors)


def validate_strategy_defaults(strategy) -> None:
    """A strategy's default leverage and sizing obey the same bands as any config."""
    from trading.models import DeskSettings

    desk = DeskSettings.current()
    errors = _sizing_errors(
        _SizingView(
            strategy.default_sizing_mode, strategy.default_leverage,
            strategy.default_allocation, strategy.default_kelly_fraction,
        ),
        desk.leverage_bands,
        initial_capital=desk.starting_capital,
    )
    _raise({f"default_{k}": f"default_{v}" for k, v in errors.items()})


class _SizingView:
    """The four sizing numbers under the names ``_sizing_errors`` reads."""

    def __init__(self, sizing_mode, leverage, allocation, kelly_fraction):
        self.sizing_mode, self.leverage = sizing_mode, leverage
        self.allocation, self.kelly_fraction = allocation, kelly_fraction
