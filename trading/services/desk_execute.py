"""The worker side of a desk (portfolio) backtest: build one ``PortfolioSlot`` per stored slot snapshot (signals
computed with the strategy's warm-up from before the start and its declared context, exactly as a single run
does), load each symbol's detail series (the finest stored trade interval that divides its slots' timeframes),
every stored mark interval (the liquidation trigger chain), funding when stored and on, run ``run_portfolio``
with the account's capital and position cap, and store metrics, round-trip trades (partial closes inside), refused entries, monitor decisions, the
trigger series per symbol and a downsampled equity curve on the run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from trading.choices import TIMEFRAMES
from trading.models import BacktestRun, Candle, Instrument
from trading.services.backtest_results import (
    MAX_EQUITY_POINTS,
    MAX_TRADES_STORED,
    context_summary,
    downsample_equity,
    json_safe,
    trades_to_json,
)
from trading.services.backtest_settings import to_engine_config

MAX_LISTED = 500  # refusals and monitor decisions listed on the run (all are counted)
SIGNALS = 0.20  # share of the progress bar filled by reading the data and computing every slot's signals


def detail_interval(*, symbol: str, timeframes: list[str]) -> str:
    """The finest stored trade interval of ``symbol`` that divides every one of ``timeframes`` (seconds)."""
    stored = set(Candle.objects.filter(symbol=symbol, kind="trade").values_list("interval", flat=True).distinct())
    need = [TIMEFRAMES[t][0] for t in timeframes]
    fits = [i for i in stored if i in TIMEFRAMES and all(n % TIMEFRAMES[i][0] == 0 for n in need)]
    if not fits:
        raise ValueError(f"{symbol}: no stored interval divides the timeframes {', '.join(timeframes)}")
    return min(fits, key=lambda i: TIMEFRAMES[i][0])


def _slot_signals(slot: dict[str, Any], start: datetime, end: datetime) -> tuple[pd.DataFrame, dict]:
    from strategies.algos import registry
    from trading.services.strategy_context import read_strategy_inputs

    strategy = registry.get(slot["strategy"])(**slot["params"])
    inputs = read_strategy_inputs(strategy=strategy, symbol=slot["symbol"], timeframe=slot["timeframe"], start=start,
                                  end=end)
    signals = strategy.compute(inputs.candles, inputs.context).iloc[inputs.first_in_range:]
    if len(signals) < 2:
        raise ValueError(f"slot {slot['key']}: only {len(signals)} {slot['symbol']} {slot['timeframe']} candle(s) "
                         "stored in the range")
    info = {"bars": len(signals), "warmup_bars": inputs.warmup_read, "warmup_bars_wanted": inputs.warmup_wanted,
            "context": context_summary(inputs.context)}
    return signals, info


def build_portfolio_inputs(*, settings: dict[str, Any],
                           progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """The keyword arguments of ``run_portfolio`` for a stored desk run (and a per-slot/symbol summary).
    ``progress(fraction)`` after each slot's signals (the slow part of the preparation)."""
    from trading.engine.portfolio import PortfolioSlot, PortfolioSpec
    from trading.engine_adapters import engine_instrument
    from trading.marketdata.reader import read_funding, read_mark_layers, read_range

    start, end = datetime.fromisoformat(settings["start"]), datetime.fromisoformat(settings["end"])
    slots, slot_info = [], {}
    for s in settings["slots"]:
        inst = Instrument.objects.get(symbol=s["symbol"])
        signals, info = _slot_signals(s, start, end)
        slots.append(PortfolioSlot(key=s["key"], symbol=s["symbol"], instrument=engine_instrument(inst),
                                   config=to_engine_config(s, inst), signals=signals,
                                   timeframe_seconds=TIMEFRAMES[s["timeframe"]][0]))
        slot_info[s["key"]] = {"config_id": s["config_id"], "config_name": s["config_name"], "strategy": s["strategy"],
                               "symbol": s["symbol"], "timeframe": s["timeframe"], **info}
        if progress is not None:
            progress(len(slots) / len(settings["slots"]))
    symbols = list(dict.fromkeys(s.symbol for s in slots))
    detail, mark, funding, symbol_info = {}, {}, {}, {}
    for symbol in symbols:
        tfs = [s["timeframe"] for s in settings["slots"] if s["symbol"] == symbol]
        interval = detail_interval(symbol=symbol, timeframes=tfs)
        last_close = end + timedelta(seconds=max(TIMEFRAMES[t][0] for t in tfs))
        until = last_close - timedelta(microseconds=1)
        detail[symbol] = read_range(symbol=symbol, interval=interval, start=start, end=until)
        symbol_info[symbol] = {"detail_interval": interval, "detail_bars": len(detail[symbol])}
        layers = read_mark_layers(symbol=symbol, start=start, end=until)  # liquidation's trigger, funding or not
        if layers:
            mark[symbol] = layers
        if settings["funding"]:
            f = read_funding(symbol=symbol, start=start, end=until)
            if len(f):
                funding[symbol] = f
    spec = PortfolioSpec(initial_capital=float(settings["initial_capital"]),
                         max_open_positions=int(settings["max_open_positions"]), funding=bool(settings["funding"]))
    return {"slots": slots, "detail": detail, "mark": mark or None, "funding": funding or None, "spec": spec,
            "slot_info": slot_info, "symbol_info": symbol_info}


def run_portfolio_job(*, run: BacktestRun, reporter: Callable[..., None]) -> None:
    from trading.engine.portfolio import run_portfolio

    kw = build_portfolio_inputs(settings=run.settings, progress=lambda f: reporter(SIGNALS * f))
    slot_info, symbol_info = kw.pop("slot_info"), kw.pop("symbol_info")
    reporter(SIGNALS)
    result = run_portfolio(**kw, progress=lambda f: reporter(SIGNALS + (0.99 - SIGNALS) * f))
    metrics = json_safe(result.metrics())
    trades = result.trades
    refusals, decisions = result.refusals, result.decisions
    metrics.update(
        bars=sum(v["detail_bars"] for v in symbol_info.values()), symbols=symbol_info, slots=slot_info,
        trigger_series=json_safe(dict(result.trigger_series)),
        refusals_by_reason=json_safe(refusals["reason"].value_counts().to_dict()) if len(refusals) else {},
        refusals=records(refusals.iloc[:MAX_LISTED]),
        monitor_decisions=len(decisions), decisions=records(decisions.iloc[:MAX_LISTED]),
        open_positions=json_safe(result.open_positions),
        trades_stored=min(len(trades), MAX_TRADES_STORED),
    )
    run.metrics = metrics
    run.trades = trades_to_json(trades.iloc[:MAX_TRADES_STORED])
    run.equity_curve = downsample_equity(result.equity, max_points=MAX_EQUITY_POINTS)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON dicts (categoricals as text, times ISO, NaN as null)."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append(json_safe({k: (str(v) if isinstance(v, str) or hasattr(v, "categories") else v)
                              for k, v in row.items()}))
    return out
