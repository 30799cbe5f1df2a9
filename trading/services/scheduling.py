"""What the beat-driven tasks should work on now: configs with a newly closed bar, accounts to watch."""

from __future__ import annotations

from datetime import UTC, datetime

from strategies.models import StrategyConfig
from trading.choices import PositionStatus
from trading.models import Account, Candle, Signal


def newest_closed_bar(*, symbol: str, interval: str) -> datetime | None:
    """The feed's clock: the newest closed bar it handled (live or replayed); without a feed, the newest
    stored bar (candles are stored only once closed)."""
    from trading.marketdata.feed import last_closed_bar

    ms = last_closed_bar(symbol=symbol, interval=interval)
    if ms is not None:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    return (Candle.objects.filter(symbol=symbol, interval=interval, kind="trade")
            .order_by("-open_time").values_list("open_time", flat=True).first())


def due_signal_cycles() -> list[tuple[int, datetime]]:
    """(config id, bar open time) for every enabled config whose symbols have a closed bar newer than its
    last stored signal, by the feed's clock (so a replay drives the desk bar by bar)."""
    due = []
    for config in StrategyConfig.objects.filter(enabled=True, account__kill_switch_engaged=False):
        newest = None
        for symbol in config.symbols:
            t = newest_closed_bar(symbol=symbol, interval=config.timeframe)
            if t is not None and (newest is None or t > newest):
                newest = t
        if newest is None:
            continue
        last = Signal.objects.filter(config=config).order_by("-bar_time").values_list("bar_time", flat=True).first()
        if last is None or newest > last:
            due.append((config.pk, newest))
    return due


def due_cycles_by_account() -> dict[int, list[tuple[int, datetime]]]:
    """``due_signal_cycles`` grouped by account, each account's cycles in config id order (one task per account
    per bar runs them in that order, as the portfolio backtest's slots act at a shared close)."""
    accounts = dict(StrategyConfig.objects.filter(enabled=True).values_list("pk", "account_id"))
    out: dict[int, list[tuple[int, datetime]]] = {}
    for config_id, end in sorted(due_signal_cycles()):
        out.setdefault(accounts[config_id], []).append((config_id, end))
    return out


def beat_yields_to_replay() -> bool:
    """While a replay drives the desk's clock it runs the cycles and the monitor at simulated time itself (and
    waits for them); beat's wall-clock dispatchers then stand aside so nothing acts twice or off the clock."""
    from trading.marketdata.clock import replay_time_ms

    return replay_time_ms() is not None


def accounts_with_open_positions() -> list[int]:
    return list(Account.objects.filter(positions__status=PositionStatus.OPEN).distinct().values_list("pk", flat=True))


def active_accounts() -> list[int]:
    """Accounts that trade: any enabled config, or anything open."""
    ids = set(StrategyConfig.objects.filter(enabled=True).values_list("account_id", flat=True))
    return sorted(ids | set(accounts_with_open_positions()))
