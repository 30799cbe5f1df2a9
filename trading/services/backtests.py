"""Backtests run from the browser or the API: ``start_backtest`` validates and queues a run (one Celery
task), ``start_config_backtest`` does the same for one StrategyConfig (its own leverage, sizing and TP/SL),
``run_backtest_job`` does the work inside the worker: load candles with the strategy's warm-up from before the
start and the context it declares (trading/services/strategy_context.py), funding and mark when stored, compute
the strategy's SignalFrame, run the engine over the chosen range with throttled progress (stored and pushed to
the owner's socket as ``backtest`` events), then store metrics, trades and a downsampled equity curve. A desk
run (several configs as one portfolio) is handed to trading/services/desk_backtests.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from trading.choices import RunStatus
from trading.events import publish_user
from trading.models import BacktestRun, Instrument
from trading.services.backtest_results import (
    MAX_EQUITY_POINTS,
    MAX_TRADES_STORED,
    context_summary,
    downsample_equity,
    json_safe,
    trades_to_json,
)
from trading.services.backtest_settings import (
    clean_backtest_inputs,
    config_settings,
    to_engine_config,
    with_default_range,
)

log = logging.getLogger(__name__)

MAX_CHART_BARS = 5_000  # the run stores its indicators for the first 5,000 bars (API readers); the result page
#                        draws them for any range on screen from /api/chart/indicators/?backtest=
PROGRESS_STEP = 0.05
# Share of the progress bar each phase fills: loading, computing signals, the engine.
LOADED, SIGNALS = 0.05, 0.20


def create_backtest(*, owner, strategy: str, params: dict | None, settings: dict[str, Any], name: str = "",
                    sweep_key: str = "") -> BacktestRun:
    """Validate (ValidationError {field: message}) and store a queued run; nothing is enqueued. A missing
    start/end is the stored range of the symbol at the timeframe."""
    clean_params, clean_settings = clean_backtest_inputs(strategy=strategy, params=params,
                                                         settings=with_default_range(settings))
    return BacktestRun.objects.create(owner=owner, name=name, strategy=strategy, params=clean_params,
                                      settings=clean_settings, sweep_key=sweep_key)


def start_backtest(*, owner, strategy: str, params: dict | None, settings: dict[str, Any],
                   name: str = "") -> BacktestRun:
    """Create a run and queue its Celery task once the row is committed."""
    run = create_backtest(owner=owner, strategy=strategy, params=params, settings=settings, name=name)
    transaction.on_commit(lambda: enqueue_backtest(run_id=run.pk))
    return run


def start_config_backtest(*, owner, config, settings: dict[str, Any], name: str = "") -> BacktestRun:
    """Queue a backtest of one StrategyConfig as it trades: its algorithm, parameters, timeframe, leverage,
    sizing and TP/SL, its account's fees and starting capital. ``settings`` holds the range (``start``/``end``,
    default: the stored range), ``funding`` and optionally ``symbol`` (one of the config's symbols)."""
    extra = sorted(set(settings) - {"start", "end", "funding", "symbol"})
    if extra:
        raise ValidationError({extra[0]: f"{extra[0]}: not allowed with a config (it brings its own); "
                                         "allowed: start, end, funding, symbol"})
    strategy, params, base = config_settings(config=config, symbol=settings.get("symbol"))
    merged = {**base, **{k: v for k, v in settings.items() if k != "symbol"}}
    with transaction.atomic():
        run = create_backtest(owner=owner, strategy=strategy, params=params, settings=merged,
                              name=name or config.name)
        run.settings = {**run.settings, "config": {"id": config.pk, "name": config.name}}
        run.save(update_fields=["settings"])
    transaction.on_commit(lambda: enqueue_backtest(run_id=run.pk))
    return run


def enqueue_backtest(*, run_id: int) -> str:
    from trading.tasks_backtest import run_backtest_task

    task_id = run_backtest_task.delay(run_id).id
    BacktestRun.objects.filter(pk=run_id).update(task_id=task_id)
    return task_id


# --- the worker side ----------------------------------------------------------------------------------

def run_backtest_job(*, run_id: int) -> BacktestRun | None:
    """Run one stored backtest to done or failed (never raises for a bad run: the error is stored).
    None when the run was deleted before the worker got to it."""
    run = BacktestRun.objects.select_related("owner").filter(pk=run_id).first()
    if run is None:
        log.info("backtest %s was deleted before it ran", run_id)
        return None
    if run.status in (RunStatus.DONE, RunStatus.FAILED):
        return run  # a redelivered task (acks_late) does not run twice
    run.status, run.started_at, run.progress, run.error = RunStatus.RUNNING, timezone.now(), 0.0, ""
    run.save(update_fields=["status", "started_at", "progress", "error"])
    reporter = _ProgressReporter(run)
    reporter(0.0, force=True)
    try:
        _execute(run, reporter)
    except Exception as exc:  # stored for the user; the traceback goes to the worker log
        log.exception("backtest %s failed", run.pk)
        run.status, run.error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        run.finished_at = timezone.now()
        _store(run, "status", "error", "finished_at")
        return run
    run.status, run.progress, run.finished_at = RunStatus.DONE, 1.0, timezone.now()
    _store(run, "status", "progress", "finished_at", "metrics", "trades", "equity_curve", "bias", "indicators")
    return run


def _store(run: BacktestRun, *fields: str) -> None:
    """Write the outcome with an UPDATE (a run deleted meanwhile is simply gone, not an error) and tell
    the owner."""
    BacktestRun.objects.filter(pk=run.pk).update(**{f: getattr(run, f) for f in fields})
    _publish(run)


def _execute(run: BacktestRun, reporter: Callable[..., None]) -> None:
    if run.settings.get("kind") == "portfolio":
        from trading.services.desk_execute import run_portfolio_job

        run_portfolio_job(run=run, reporter=reporter)
        return
    from strategies.algos import registry
    from trading.engine.backtest import run_backtest
    from trading.engine_adapters import engine_instrument
    from trading.services.strategy_context import read_strategy_inputs

    s = run.settings
    inst = Instrument.objects.get(symbol=s["symbol"])
    start, end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
    strategy = registry.get(run.strategy)(**run.params)
    inputs = read_strategy_inputs(strategy=strategy, symbol=s["symbol"], timeframe=s["timeframe"], start=start,
                                  end=end)
    candles = inputs.candles.iloc[inputs.first_in_range:]
    if len(candles) < 2:
        raise ValueError(f"only {len(candles)} candle(s) stored for {s['symbol']} {s['timeframe']} in the range")
    funding = None
    if s["funding"]:
        funding = load_funding(symbol=s["symbol"], start=start, end=end)
    # the mark drives liquidation whether or not funding is charged
    mark = load_mark_frames(symbol=s["symbol"], start=start, end=end)
    reporter(LOADED)
    from strategies.algos.plots import plot_series
    from strategies.services import bias_mark

    run.bias = bias_mark(key=run.strategy)  # a biased version still runs; the result says so
    signals = strategy.compute(inputs.candles, inputs.context).iloc[inputs.first_in_range:]
    run.indicators = plot_series(type(strategy).plots(), signals.iloc[:MAX_CHART_BARS], candles)
    reporter(SIGNALS)
    result = run_backtest(candles, signals, instrument=engine_instrument(inst), config=to_engine_config(s, inst),
                          funding=funding, mark=mark,
                          progress=lambda f: reporter(SIGNALS + (0.99 - SIGNALS) * f))
    run.metrics = json_safe(result.metrics())
    run.metrics.update(bars=len(candles), warmup_bars=inputs.warmup_read, warmup_bars_wanted=inputs.warmup_wanted,
                       context=context_summary(inputs.context),
                       trigger_series={s["symbol"]: str(getattr(result, "trigger_series", "last"))})
    trades = result.trades
    run.metrics["trades_stored"] = min(len(trades), MAX_TRADES_STORED)
    run.trades = trades_to_json(trades.iloc[:MAX_TRADES_STORED])
    run.equity_curve = downsample_equity(result.equity, max_points=MAX_EQUITY_POINTS)


class _ProgressReporter:
    """Store and publish progress when it has moved by PROGRESS_STEP or more (and at the ends)."""

    def __init__(self, run: BacktestRun):
        self.run, self.last = run, -1.0

    def __call__(self, fraction: float, *, force: bool = False) -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        if not force and fraction - self.last < PROGRESS_STEP and fraction < 1.0:
            return
        self.last = fraction
        self.run.progress = fraction
        BacktestRun.objects.filter(pk=self.run.pk).update(progress=fraction)
        _publish(self.run)


def _publish(run: BacktestRun) -> None:
    publish_user(user_id=run.owner_id, event_type="backtest", data=backtest_event(run))


def backtest_event(run: BacktestRun) -> dict[str, Any]:
    data = {"id": run.pk, "status": run.status, "progress": round(run.progress, 4), "error": run.error,
            "sweep_key": run.sweep_key, "biased": bool((run.bias or {}).get("biased"))}
    if run.status == RunStatus.DONE:
        data["metrics"] = {k: run.metrics.get(k) for k in ("total_return", "sharpe", "max_drawdown", "trade_count")}
    return data


# --- loading from the store ---------------------------------------------------------------------------

def load_candle_frame(*, symbol: str, interval: str, start: datetime, end: datetime,
                      kind: str = "trade") -> pd.DataFrame:
    """The columnar path (``trading.marketdata.reader.read_range``): one query, prices cast to doubles in SQL,
    rows from the cursor straight into one NumPy array; no model instances, no Decimals (a year of 5-minute
    bars loads in tens of milliseconds instead of seconds). Backtests and every sweep point load through it."""
    from trading.marketdata.reader import read_range

    return read_range(symbol=symbol, interval=interval, start=start, end=end, kind=kind)


def load_mark_frames(*, symbol: str, start: datetime, end: datetime) -> list[pd.DataFrame] | None:
    """Every stored mark-price interval over the range, finest first (the engine's liquidation trigger chain:
    trading/engine/portfolio_inputs.py); None when none are stored."""
    from trading.marketdata.reader import read_mark_layers

    return read_mark_layers(symbol=symbol, start=start, end=end) or None


def load_funding(*, symbol: str, start: datetime, end: datetime) -> pd.Series | None:
    from trading.marketdata.reader import read_funding

    series = read_funding(symbol=symbol, start=start, end=end)
    return series if len(series) else None
