"""Read queries for the API, pages and consumers (what a user may see)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import QuerySet

from strategies.algos.params import ParamError
from trading.models import (
    Account,
    BacktestRun,
    Candle,
    EquitySnapshot,
    Fill,
    MonitorDecision,
    Order,
    Position,
    RunRecord,
    Signal,
)

log = logging.getLogger(__name__)


def accounts_for(*, user):
    """Staff see every account; anyone else only their own; anonymous nothing."""
    if user is None or not user.is_authenticated:
        return Account.objects.none()
    qs = Account.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


def account_ids_for(*, user) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(accounts_for(user=user).values_list("id", flat=True))


# --- everything under a user's accounts (staff: everything) ------------------------------------------
# The user's account ids are read first (one tiny query) so the big tables are filtered by a literal
# ``account_id IN (...)``: the planner then walks their (account, -time) indexes instead of sorting
# every row of a subquery's result (bench/bench_api_lists.py measured 75 ms -> 6 ms per page).

def _scoped(qs: QuerySet, *, user, account_field: str) -> QuerySet:
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_staff:
        return qs
    return qs.filter(**{f"{account_field}__in": account_ids_for(user=user)})


def configs_for(*, user) -> QuerySet:
    from strategies.models import StrategyConfig

    return _scoped(StrategyConfig.objects.select_related("strategy", "account").order_by("id"),
                   user=user, account_field="account_id")


def positions_for(*, user) -> QuerySet[Position]:
    return _scoped(Position.objects.all(), user=user, account_field="account_id")


def orders_for(*, user) -> QuerySet[Order]:
    return _scoped(Order.objects.all(), user=user, account_field="account_id")


def fills_for(*, user) -> QuerySet[Fill]:
    return _scoped(Fill.objects.all(), user=user, account_field="account_id")


def signals_for(*, user) -> QuerySet[Signal]:
    return _scoped(Signal.objects.all(), user=user, account_field="config__account_id")


def decisions_for(*, user) -> QuerySet[MonitorDecision]:
    return _scoped(MonitorDecision.objects.all(), user=user, account_field="position__account_id")


def runs_for(*, user) -> QuerySet[RunRecord]:
    return _scoped(RunRecord.objects.all(), user=user, account_field="account_id")


def equity_for(*, user) -> QuerySet[EquitySnapshot]:
    return _scoped(EquitySnapshot.objects.all(), user=user, account_field="account_id")


def backtests_for(*, user) -> QuerySet[BacktestRun]:
    """Backtests belong to a user, not an account: owners see theirs, staff see all."""
    if user is None or not user.is_authenticated:
        return BacktestRun.objects.none()
    qs = BacktestRun.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


def studies_for(*, user) -> QuerySet:
    """Walk-forward studies: owners see theirs, staff see all (sweeps are studies too, served by the sweep
    endpoints and pages through their runs)."""
    from trading.models import ResearchStudy, StudyKind

    if user is None or not user.is_authenticated:
        return ResearchStudy.objects.none()
    qs = ResearchStudy.objects.filter(kind=StudyKind.WALKFORWARD)
    return qs if user.is_staff else qs.filter(owner=user)


def candles(*, symbol: str, interval: str, start: datetime | None = None, end: datetime | None = None,
            kind: str = "trade") -> QuerySet[Candle]:
    """Closed bars of one symbol and interval in [start, end], oldest first (the unique index serves it)."""
    qs = Candle.objects.filter(symbol=symbol, interval=interval, kind=kind)
    if start is not None:
        qs = qs.filter(open_time__gte=start)
    if end is not None:
        qs = qs.filter(open_time__lte=end)
    return qs.order_by("open_time")


def latest_decision_by_position(*, position_ids: list[int]) -> dict[int, MonitorDecision]:
    """The most recent monitor decision of each position (one query)."""
    out: dict[int, MonitorDecision] = {}
    for d in MonitorDecision.objects.filter(position_id__in=position_ids).order_by("position_id", "-decided_at"):
        out.setdefault(d.position_id, d)
    return out


def latest_signal_by_config(*, config_ids: list[int]) -> dict[int, Signal]:
    """The newest signal row of each config (one indexed query per config; configs are few)."""
    out: dict[int, Signal] = {}
    for config_id in config_ids:
        sig = Signal.objects.filter(config_id=config_id).order_by("-bar_time").first()
        if sig is not None:
            out[config_id] = sig
    return out


def latest_equity_by_account(*, account_ids: list[int]) -> dict[int, EquitySnapshot]:
    out: dict[int, EquitySnapshot] = {}
    for account_id in account_ids:
        snap = EquitySnapshot.objects.filter(account_id=account_id).order_by("-taken_at").first()
        if snap is not None:
            out[account_id] = snap
    return out


def feed_subscriptions() -> tuple[list[str], list[str]]:
    """(symbols, timeframes) that enabled strategy configs need: the symbols they trade, the partner symbols and
    higher timeframes their strategies declare (``context_needs``), and their timeframes. What the live feed
    subscribes to."""
    from strategies.algos import registry
    from strategies.models import StrategyConfig

    symbols: set[str] = set()
    timeframes: set[str] = set()
    for key, params, cfg_symbols, timeframe in StrategyConfig.objects.filter(enabled=True).values_list(
            "strategy__key", "params", "symbols", "timeframe"):
        traded = [str(s).upper() for s in (cfg_symbols or [])]
        symbols.update(traded)
        timeframes.add(timeframe)
        try:
            strategy = registry.get(key)(**(params or {}))
        except (KeyError, ParamError) as exc:  # unknown strategy or bad params: its own symbols still stream
            log.warning("feed subscriptions: strategy %s: %s", key, exc)
            continue
        for symbol in traded:
            needs = strategy.context_needs(symbol=symbol)
            symbols.update(s.upper() for s in needs.other_symbols)
            timeframes.update(needs.higher_timeframes)
    return sorted(symbols), sorted(timeframes)


def stored_ranges() -> dict[str, dict[str, list[str]]]:
    """{symbol: {interval: [first open time, last open time]}} of the stored trade candles (ISO text)."""
    from django.db.models import Max, Min

    rows = (Candle.objects.filter(kind="trade").values("symbol", "interval")
            .annotate(first=Min("open_time"), last=Max("open_time")).order_by("symbol", "interval"))
    out: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        out.setdefault(r["symbol"], {})[r["interval"]] = [r["first"].isoformat(), r["last"].isoformat()]
    return out
