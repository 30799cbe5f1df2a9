"""What the desk does at each step of a faithful replay (``trading/marketdata/replay.py``): which accounts hold
positions, paper stepping a sub-bar, the monitor tick and the signal cycles — the last two as Celery tasks on the
running worker, which the replay waits for (the replay never runs ahead of the desk).

Live accounts are never driven by a replay: replayed prices must not reach a real exchange, and while a replay
runs the desk's clock is simulated time (beat's wall-clock monitor stands aside), so a desk replay refuses to start
while a live account has an enabled config or an open position.
"""

from __future__ import annotations

import logging
import math

from trading.choices import AccountMode, PositionStatus
from trading.engine import rules
from trading.exchanges.paper import PaperExchange
from trading.models import Account, Order, Position, Signal

log = logging.getLogger(__name__)


class ReplayRefused(ValueError):
    """The desk cannot be replayed as it stands (the message names what to change)."""


class ReplayDesk:
    """See the module docstring. ``timeout``: seconds to wait for one task (generous: a loaded machine);
    ``lock_wait``: seconds a replayed task waits for its account's lock (a reconciliation may hold it)."""

    def __init__(self, *, timeout: float = 300.0, lock_wait: float = 60.0):
        from strategies.models import StrategyConfig

        live = set(StrategyConfig.objects.filter(enabled=True, account__mode=AccountMode.LIVE)
                   .values_list("account__name", flat=True))
        live |= set(Position.objects.filter(status=PositionStatus.OPEN, account__mode=AccountMode.LIVE)
                    .values_list("account__name", flat=True))
        if live:
            raise ReplayRefused(f"account: {', '.join(sorted(live))} is live (an enabled config or an open position); "
                                f"a replay moves the desk's clock and drives paper accounts only (disable its configs "
                                f"and close its positions, or switch it to paper first)")
        self.timeout = timeout
        self.lock_wait = lock_wait
        self._paper: dict[int, PaperExchange] = {}
        self.errors: list[str] = []
        self.watched: list[int] = []
        self._levels: dict[tuple[int, str], tuple[float, float, float, float]] = {}  # accounts whose open positions the monitor can act on

    def busy(self) -> dict[int, set[str]]:
        """Account id -> symbols it holds or rests a post-only entry on (paper steps those: the entry fills when a
        sub-bar trades through it); also refreshes ``watched`` (a resting entry is watched: the monitor tick after
        its timeout sends the market fallback)."""
        out: dict[int, set[str]] = {}
        watched: set[int] = set()
        self._levels = {}
        for account_id, symbol, config_id, half_life, conf_base, side, tp, sl, liq in Position.objects.filter(
                status=PositionStatus.OPEN).values_list("account_id", "symbol", "config_id", "half_life_seconds",
                                                        "confidence_baseline", "side", "take_profit", "stop_loss",
                                                        "liquidation_price"):
            out.setdefault(account_id, set()).add(symbol)
            self._levels[(account_id, symbol)] = (1.0 if side == "long" else -1.0, _f(tp), _f(sl), _f(liq))
            if account_id not in watched and not _inert(config_id, symbol, half_life, conf_base):
                watched.add(account_id)
        for account_id, symbol in resting_entries_everywhere():
            out.setdefault(account_id, set()).add(symbol)
            watched.add(account_id)
        self.watched = sorted(watched)
        return out

    def step(self, *, account_id: int, symbol: str, start: int, end: int,
             bar: tuple[float, float, float, float]) -> None:
        if not self._may_trigger(account_id, symbol, bar):
            return  # nothing inside this sub-bar: paper takes its close from the published price
        exchange = self._paper.get(account_id)
        if exchange is None:
            account = Account.objects.get(pk=account_id)
            if account.mode != AccountMode.PAPER:
                return
            exchange = self._paper[account_id] = PaperExchange(account)
        o, h, low, c = (float(x) for x in bar)
        exchange.step(symbol, start=start, end=end, open=o, high=h, low=low, close=c)

    def _may_trigger(self, account_id: int, symbol: str, bar) -> bool:
        """Whether the sub-bar can reach the position's TP, SL or liquidation (the recorded levels, widened by a
        millionth of the price so a rounding of the stored level never hides a touch): the same ``step_bar``
        paper runs, asked first so that a sub-bar touching nothing costs no paper transaction."""
        levels = self._levels.get((account_id, symbol))
        if levels is None:
            return True
        side, tp, sl, liq = levels
        o, h, low, _ = (float(x) for x in bar)
        pad = 1e-6 * o
        wide = (math.nan if math.isnan(tp) else tp - side * pad, math.nan if math.isnan(sl) else sl + side * pad,
                math.nan if math.isnan(liq) else liq + side * pad)
        event, _ = rules.step_bar(side, o, h, low, h, low, wide[0], wide[1], wide[2], math.nan)
        return event != rules.EV_NONE

    def monitor(self, *, account_ids: list[int]) -> None:
        from trading.tasks import monitor_account

        self._wait([monitor_account.delay(a, self.lock_wait) for a in account_ids], "monitor")

    def cycles(self) -> int:
        from trading.services.scheduling import due_cycles_by_account
        from trading.tasks import run_account_cycles

        due = due_cycles_by_account()
        self._wait([run_account_cycles.delay(a, [[c.config_id, c.bar_time.isoformat(), c.expires_ms] for c in d],
                                              self.lock_wait)
                    for a, d in due.items()], "signal cycles")
        return sum(len(d) for d in due.values())

    def _wait(self, results, what: str) -> None:
        for result in results:
            try:
                result.get(timeout=self.timeout, propagate=True, disable_sync_subtasks=False)
            except Exception as exc:  # a failed task is the desk's error; the replay records it and goes on
                log.warning("replay: %s task %s failed: %s", what, result.id, exc)
                self.errors.append(f"{what}: {exc}")


def resting_entries_everywhere() -> list[tuple[int, str]]:
    from trading.services.entries import RESTING

    return list(Order.objects.filter(action="open", order_type="Limit", status__in=RESTING)
                .values_list("account_id", "symbol"))


def _inert(config_id: int | None, symbol: str, half_life: float | None, confidence_baseline: float | None) -> bool:
    """True when the monitor provably holds this position at every tick until the next signal: no half-life (no
    timeout), no confidence baseline (no confidence rule) and a latest signal with neither forecast nor drift (no
    drift to flip or decay; ``rebalance.decide_code`` with those inputs NaN returns HOLD). A replay skips the
    monitor dispatch for such accounts, as it does for accounts with nothing open: the saving is most of a
    replay's wall time for always-in-the-market strategies without a forecast (Chandelier)."""
    if half_life is not None or confidence_baseline is not None or config_id is None:
        return False
    latest = (Signal.objects.filter(config_id=config_id, symbol=symbol).order_by("-bar_time")
              .values_list("forecast", "drift").first())
    return latest is not None and latest[0] is None and latest[1] is None


def _f(value) -> float:
    return math.nan if value is None else float(value)
