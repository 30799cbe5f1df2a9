"""Read queries for the API, pages and consumers (what a user may see)."""

from __future__ import annotations

from trading.models import Account


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


def feed_subscriptions() -> tuple[list[str], list[str]]:
    """(symbols, timeframes) that enabled strategy configs trade: what the live feed subscribes to."""
    from strategies.models import StrategyConfig

    symbols: set[str] = set()
    timeframes: set[str] = set()
    for cfg_symbols, timeframe in StrategyConfig.objects.filter(enabled=True).values_list("symbols", "timeframe"):
        symbols.update(str(s).upper() for s in (cfg_symbols or []))
        timeframes.add(timeframe)
    return sorted(symbols), sorted(timeframes)
