"""Backtest the desk: several StrategyConfigs of ONE account (``configs`` by id, or the account's enabled configs)
run over a range as one portfolio (``trading.engine.portfolio.run_portfolio``): one wallet with the account's
starting capital, its ``max_open_positions`` across symbols, each config with its own algorithm, parameters,
timeframe, leverage, sizing and TP/SL, the account's fees; between signal closes the monitor, TP/SL and
liquidation run on the finest stored bars of each symbol (the detail series), with mark and funding per symbol
when stored and funding is on.

``create_desk_backtest`` validates (every config x symbol through the same rules as a single backtest, errors
named ``configs`` / ``account``) and stores a queued run whose settings hold a snapshot of each slot, so a config
edited later does not change what the run means. The worker side is trading/services/desk_execute.py.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from trading.models import BacktestRun
from trading.selectors import accounts_for, configs_for
from trading.services.backtest_settings import clean_backtest_inputs, config_settings, stored_range

MAX_CONFIGS = 20
PORTFOLIO = "portfolio"


def resolve_desk_configs(*, user, config_ids: list[int] | None = None, account_id: int | None = None):
    """(account, configs in run order) for ``configs`` (the order given) or ``account`` (its enabled configs by
    id). A config or account the user may not see is reported exactly like one that does not exist."""
    if (config_ids is None) == (account_id is None):
        raise ValidationError({"configs": "configs: give either configs (a list of config ids) or account"})
    visible = configs_for(user=user)
    if account_id is not None:
        account = accounts_for(user=user).filter(pk=account_id).first()
        if account is None:
            raise ValidationError({"account": f"account: no account with id {account_id}"})
        configs = list(visible.filter(account=account, enabled=True).order_by("id"))
        if not configs:
            raise ValidationError({"account": f"account: account {account.pk} ({account.name}) has no enabled "
                                              "configs"})
        if len(configs) > MAX_CONFIGS:
            raise ValidationError({"account": f"account: {len(configs)} enabled configs, above the limit "
                                              f"{MAX_CONFIGS}"})
        return account, configs
    ids = list(config_ids)
    if not ids:
        raise ValidationError({"configs": "configs: at least one config id is required"})
    if len(ids) > MAX_CONFIGS:
        raise ValidationError({"configs": f"configs: {len(ids)} configs, above the limit {MAX_CONFIGS}"})
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValidationError({"configs": f"configs: config {dupes[0]} is listed more than once"})
    found = {c.pk: c for c in visible.filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError({"configs": f"configs: no config with id {missing[0]}"})
    configs = [found[i] for i in ids]
    accounts = {}
    for c in configs:
        accounts.setdefault(c.account_id, c.account)
    if len(accounts) > 1:
        names = ", ".join(f"{a.pk} ({a.name})" for a in accounts.values())
        raise ValidationError({"configs": f"configs: the configs of one portfolio run share one wallet, so they must "
                                          f"belong to one account; got accounts {names}"})
    return configs[0].account, configs


def _slot_settings(config, symbol: str, start, end, funding: bool, field: str) -> dict[str, Any]:
    """One slot's cleaned settings (the single backtest's rules), errors prefixed with the config and symbol."""
    label = f"config {config.pk} ({config.name}) {symbol}"
    try:
        strategy, params, base = config_settings(config=config, symbol=symbol)
        params, cleaned = clean_backtest_inputs(strategy=strategy, params=params,
                                                settings={**base, "start": start, "end": end, "funding": funding})
    except ValidationError as exc:
        messages = [f"{label}: {m}" for msgs in exc.message_dict.values() for m in msgs]
        raise ValidationError({field: messages}) from exc
    return {"key": f"{config.pk}" if len(config.symbols) == 1 else f"{config.pk}:{symbol}",
            "config_id": config.pk, "config_name": config.name, "strategy": strategy, "params": params, **cleaned}


def _default_range(configs) -> tuple[str, str] | None:
    """The span every slot has stored data for (latest first bar .. earliest last bar)."""
    spans = [stored_range(symbol=s, interval=c.timeframe) for c in configs for s in c.symbols]
    if not spans or any(span is None for span in spans):
        return None
    start, end = max(a for a, _ in spans), min(b for _, b in spans)
    return (start.isoformat(), end.isoformat()) if end > start else None


def create_desk_backtest(*, owner, user=None, config_ids: list[int] | None = None, account_id: int | None = None,
                         settings: dict[str, Any] | None = None, name: str = "") -> BacktestRun:
    """Validate and store a queued portfolio run (nothing enqueued). ``settings``: ``start``/``end`` (default:
    the span all the configs' symbols have stored), ``funding`` (default on). ``user`` (default ``owner``) is
    whose configs and accounts may be named."""
    settings = dict(settings or {})
    field = "account" if account_id is not None else "configs"
    extra = sorted(set(settings) - {"start", "end", "funding"})
    if extra:
        raise ValidationError({extra[0]: f"{extra[0]}: not allowed in a desk run (each config brings its own); "
                                         "allowed: start, end, funding"})
    account, configs = resolve_desk_configs(user=user or owner, config_ids=config_ids, account_id=account_id)
    start, end = settings.get("start"), settings.get("end")
    if start in (None, "") or end in (None, ""):
        span = _default_range(configs)
        if span is None:
            raise ValidationError({"start": "start: no span of stored candles covers every config's symbols; "
                                            "give start and end"})
        start, end = start or span[0], end or span[1]
    funding = settings.get("funding", True)
    if not isinstance(funding, bool):
        raise ValidationError({"funding": f"funding: {funding!r} is not true or false"})
    slots = [_slot_settings(c, s, start, end, funding, field) for c in configs for s in c.symbols]
    if not slots:
        raise ValidationError({field: f"{field}: the configs trade no symbol"})
    first = slots[0]
    symbols = list(dict.fromkeys(s["symbol"] for s in slots))
    run_settings = {
        "kind": PORTFOLIO, "account": {"id": account.pk, "name": account.name},
        "start": first["start"], "end": first["end"], "funding": funding,
        "initial_capital": float(account.starting_capital), "max_open_positions": int(account.max_open_positions),
        "maker_fee": float(account.maker_fee), "taker_fee": float(account.taker_fee),
        "symbol": ",".join(symbols), "timeframe": ",".join(dict.fromkeys(s["timeframe"] for s in slots)),
        "slots": slots,
    }
    return BacktestRun.objects.create(owner=owner, name=name or f"desk: {account.name}", strategy=PORTFOLIO,
                                      params={}, settings=run_settings)


def start_desk_backtest(*, owner, config_ids: list[int] | None = None, account_id: int | None = None,
                        settings: dict[str, Any] | None = None, name: str = "") -> BacktestRun:
    """Create a portfolio run and queue its Celery task once the row is committed."""
    from trading.services.backtests import enqueue_backtest

    run = create_desk_backtest(owner=owner, config_ids=config_ids, account_id=account_id, settings=settings,
                               name=name)
    transaction.on_commit(lambda: enqueue_backtest(run_id=run.pk))
    return run

