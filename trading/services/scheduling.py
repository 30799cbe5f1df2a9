"""What the beat-driven tasks should work on now: configs with a newly closed bar, accounts to watch."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from strategies.models import StrategyConfig
from trading.choices import PositionStatus
from trading.models import Account, Candle, Signal

log = logging.getLogger(__name__)


class DueCycle(NamedTuple):
    """A cycle to run: the config, the bar (open time), when acting on it expires (desk clock, ms) and the
    config's account (so the per-account dispatcher groups without another query)."""

    config_id: int
    bar_time: datetime
    expires_ms: int
    account_id: int


def interval_ms(timeframe: str) -> int:
    from trading.marketdata.files import interval_ms as files_interval_ms

    return files_interval_ms(timeframe)


def newest_closed_bar(*, symbol: str, interval: str) -> datetime | None:
    """The feed's clock: the newest closed bar it handled (live or replayed); without a feed, the newest
    stored bar (candles are stored only once closed)."""
    from trading.marketdata.feed import last_closed_bar

    ms = last_closed_bar(symbol=symbol, interval=interval)
    if ms is not None:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    return (Candle.objects.filter(symbol=symbol, interval=interval, kind="trade")
            .order_by("-open_time").values_list("open_time", flat=True).first())


def due_signal_cycles() -> list[DueCycle]:
    """A DueCycle for every enabled config whose symbols have a closed bar newer than its last stored signal,
    by the feed's clock (so a replay drives the desk bar by bar). The signal may be acted on until one bar
    after its bar closed, by the desk clock (a replay's simulated time during a replay): a bar the desk reaches
    later (a feed that stalled, a task that waited) is recorded expired; bars skipped since the last signal are
    logged and sent to the account's sockets as a ``missed_bars`` alert."""
    due = []
    for config in StrategyConfig.objects.filter(enabled=True, account__kill_switch_engaged=False,
                                                account__archived=False):
        newest = None
        for symbol in config.symbols:
            t = newest_closed_bar(symbol=symbol, interval=config.timeframe)
            if t is not None and (newest is None or t > newest):
                newest = t
        if newest is None:
            continue
        last = Signal.objects.filter(config=config).order_by("-bar_time").values_list("bar_time", flat=True).first()
        if last is None or newest > last:
            step = interval_ms(config.timeframe)
            close_ms = int(newest.timestamp() * 1000) + step
            due.append(DueCycle(config.pk, newest, close_ms + step, config.account_id))
            if last is not None and newest - last > timedelta(milliseconds=step):
                _missed(config, last, newest, step)
    return due


def _missed(config, last: datetime, newest: datetime, step: int) -> None:
    from trading.services.desk_alerts import alert_account

    missed = int((newest - last).total_seconds() * 1000 // step) - 1
    message = (f"config {config.pk} ({config.name}): {missed} bar(s) between {last:%Y-%m-%d %H:%M} and "
               f"{newest:%Y-%m-%d %H:%M} got no signal cycle")
    log.warning(message)
    alert_account(account_id=config.account_id, kind="missed_bars", key=f"{config.pk}:{newest:%Y%m%d%H%M}",
                  title=f"{config.name}: {missed} bar(s) missed", message=message,
                  data={"config": config.pk, "missed": missed, "last": last, "newest": newest})


def due_cycles_by_account() -> dict[int, list[DueCycle]]:
    """``due_signal_cycles`` grouped by account, each account's cycles in config id order (one task per account
    per bar runs them in that order, as the portfolio backtest's slots act at a shared close)."""
    out: dict[int, list[DueCycle]] = {}
    for cycle in sorted(due_signal_cycles()):
        out.setdefault(cycle.account_id, []).append(cycle)
    return out


def beat_yields_to_replay() -> bool:
    """While a replay drives the desk's clock it runs the cycles and the monitor at simulated time itself (and
    waits for them); beat's wall-clock dispatchers then stand aside so nothing acts twice or off the clock."""
    from trading.marketdata.clock import replay_time_ms

    return replay_time_ms() is not None


def accounts_with_open_positions() -> list[int]:
    """Accounts the 30-s monitor ticks: an open position, or a post-only entry resting (its timeout)."""
    from trading.models import Order
    from trading.services.entries import RESTING

    held = set(Account.objects.filter(positions__status=PositionStatus.OPEN).values_list("pk", flat=True))
    held |= set(Order.objects.filter(action="open", order_type="Limit", status__in=RESTING)
                .values_list("account_id", flat=True))
    return sorted(held)


def active_accounts() -> list[int]:
    """Accounts that trade: any enabled config, or anything open."""
    ids = set(StrategyConfig.objects.filter(enabled=True).values_list("account_id", flat=True))
    return sorted(ids | set(accounts_with_open_positions()))
