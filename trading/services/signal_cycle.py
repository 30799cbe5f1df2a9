"""One signal cycle of one StrategyConfig at its timeframe's close: read the window, compute the strategy's
SignalFrame (the same ``compute`` a backtest runs), store the last bar's Signal with every layer, and act on it
with the engine's bar-close rule (exit / reverse / enter) through the account's exchange.

A signal has an age: given ``expires_ms`` (desk clock; the dispatcher sets it one bar after the bar closed),
a cycle that runs later (a task retried, delayed behind a dead worker, or redelivered by the broker) stores
the signal with outcome ``expired`` and places nothing."""

from __future__ import annotations

import logging
import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from strategies.algos import registry
from strategies.models import StrategyConfig
from trading.choices import TIMEFRAMES, PositionStatus
from trading.engine import rules
from trading.exchanges.factory import exchange_for
from trading.exchanges.types import Exchange
from trading.marketdata.clock import desk_now_ms
from trading.marketdata.reader import read_bars
from trading.models import Position, Signal
from trading.services.broadcast import broadcast_signal
from trading.services.locks import account_lock
from trading.services.positions import close_position, open_position
from trading.services.recording import sync_account
from trading.services.run_records import measured_run
from trading.services.strategy_context import read_strategy_context

log = logging.getLogger(__name__)
LAYER_SKIP = {"signal", "exit_long", "exit_short", "forecast", "drift", "confidence", "half_life"}


@dataclass
class CycleReport:
    config_id: int
    signals: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def window_bars(strategy, timeframe: str) -> int:
    """Bars a cycle reads: the strategy's declared warm-up at the config's timeframe plus the bar being decided."""
    return int(strategy.warmup_bars_at(timeframe)) + 1


def compute_frame(*, config: StrategyConfig, symbol: str, end: datetime | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(candles, SignalFrame) over the window the strategy declares (``warmup_bars() + 1`` closed bars at the
    config's timeframe ending at ``end`` when given, resampled from the stored base interval if needed) with the
    context it declares."""
    strategy = registry.get(config.strategy.key)(**config.params)
    bars = window_bars(strategy, config.timeframe)
    candles = read_bars(symbol=symbol, interval=config.timeframe, bars=bars, end=end)
    if candles.empty:
        return candles, pd.DataFrame()
    context = read_strategy_context(strategy=strategy, symbol=symbol, timeframe=config.timeframe, bars=bars, end=end)
    return candles, strategy.compute(candles, context)


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def store_signal(*, config: StrategyConfig, symbol: str, frame: pd.DataFrame, close: float) -> Signal:
    row = frame.iloc[-1]
    layers = {k: _num(v) if isinstance(v, float) else (v.item() if hasattr(v, "item") else v)
              for k, v in row.items() if k not in LAYER_SKIP}
    signal, _ = Signal.objects.get_or_create(
        config=config, symbol=symbol, bar_time=frame.index[-1].to_pydatetime(),
        defaults=dict(signal=int(row["signal"]), exit_long=bool(row["exit_long"]), exit_short=bool(row["exit_short"]),
                      price=close, forecast=_num(row.get("forecast")), drift=_num(row.get("drift")),
                      confidence=_num(row.get("confidence")), half_life_seconds=_num(row.get("half_life")),
                      layers={k: v for k, v in layers.items() if isinstance(v, (int, float, bool, str, type(None)))}))
    broadcast_signal(signal=signal)
    return signal


def act_on_signal(*, config: StrategyConfig, signal: Signal, exchange: Exchange) -> str:
    """Apply the engine's bar-close rule to the stored signal; returns what was done (for the record)."""
    pos = Position.objects.filter(account=config.account, symbol=signal.symbol, status=PositionStatus.OPEN).first()
    side = 0.0 if pos is None else (1.0 if pos.side == "long" else -1.0)
    do_exit, enter = rules.signal_decision(side, float(signal.signal), signal.exit_long, signal.exit_short)
    notes = []
    if do_exit and pos is not None:
        if pos.config_id not in (None, config.pk):
            return f"position on {signal.symbol} belongs to config {pos.config_id}; not touched"
        outcome = close_position(position=pos, reason="signal", at=signal.bar_time, exchange=exchange)
        notes.append(f"close: {outcome.order.status if outcome.order else outcome.refused}")
    if enter:
        outcome = open_position(config=config, symbol=signal.symbol, side=int(enter), bar_time=signal.bar_time,
                                exchange=exchange, drift=signal.drift, confidence=signal.confidence,
                                half_life_seconds=signal.half_life_seconds)
        notes.append(f"open {'long' if enter > 0 else 'short'}: "
                     f"{outcome.order.status if outcome.order else 'refused, ' + outcome.refused}")
    return "; ".join(notes) or "hold"


def run_signal_cycle(*, config_id: int, end: datetime | None = None, exchange: Exchange | None = None,
                     expires_ms: int | None = None, lock_wait: float = 2.0) -> CycleReport:
    """``lock_wait``: seconds to wait for the account's lock before AccountBusy (the task then retries in 1-2 s;
    a replay waits longer)."""
    config = StrategyConfig.objects.select_related("strategy", "account").get(pk=config_id)
    report = CycleReport(config_id=config_id)
    if not config.enabled or config.account.kill_switch_engaged:
        report.notes.append("config disabled or kill switch engaged")
        return report
    exchange = exchange or exchange_for(config.account)
    cadence_ms = TIMEFRAMES[config.timeframe][0] * 1000
    at_close = getattr(exchange, "funding_at_close", nullcontext)  # paper: funding due AT this close is paid by
    with (measured_run(kind="cycle", account_id=config.account_id, config_id=config.pk,  # what is held before acting
                       cadence_ms=cadence_ms) as meter,
          account_lock(config.account_id, wait=lock_wait),
          getattr(exchange, "held", nullcontext)(), at_close()):  # paper: the stored state read once per cycle
        meter.positions = len(config.symbols)
        sync_account(account=config.account, exchange=exchange)
        for symbol in config.symbols:
            candles, frame = compute_frame(config=config, symbol=symbol, end=end)
            if frame.empty:
                report.notes.append(f"{symbol}: no candles")
                continue
            signal = store_signal(config=config, symbol=symbol, frame=frame, close=float(candles["close"].iloc[-1]))
            if signal.acted or signal.outcome:
                report.notes.append(f"{symbol}: bar {signal.bar_time:%Y-%m-%d %H:%M} already "
                                    f"{signal.outcome or 'acted'}")
                continue
            late_ms = None if expires_ms is None else desk_now_ms() - int(expires_ms)
            if late_ms is not None and late_ms > 0:
                note = f"expired: {late_ms / 1000:.0f} s past its bar; nothing placed"
                Signal.objects.filter(pk=signal.pk).update(outcome="expired", note=note[:200])
                log.warning("config %s %s bar %s: %s", config.pk, symbol, signal.bar_time, note)
                report.notes.append(f"{symbol}: {note}")
                continue
            note = act_on_signal(config=config, signal=signal, exchange=exchange)
            Signal.objects.filter(pk=signal.pk).update(acted=True, outcome="acted", note=note[:200])
            report.signals.append(signal.pk)
            report.notes.append(f"{symbol}: {note}")
    return report


def run_account_cycles(*, account_id: int, due: list[tuple], lock_wait: float = 2.0) -> list[CycleReport]:
    """The due cycles of one account at one bar close, one after another in config id order: the order the
    portfolio backtest's slots act in at a shared close, so ``max_open_positions`` is decided the same way.
    ``due``: (config id, bar open time) or (config id, bar open time, expires_ms) per cycle."""
    reports = []
    for config_id, end, *rest in sorted(due, key=lambda d: d[0]):
        config = StrategyConfig.objects.filter(pk=config_id, account_id=account_id).only("pk").first()
        if config is None:
            continue
        reports.append(run_signal_cycle(config_id=config_id, end=end, lock_wait=lock_wait,
                                        expires_ms=rest[0] if rest else None))
    return reports
