"""The indicators a strategy draws on the chart pages: its declared plots (strategies/algos/plots.py) computed
over the latest stored bars (``config_indicators``) or over any range at the chart's display step
(``range_indicators``), with the warm-up the strategy declares read before them so the drawn rows equal the
full-history rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from strategies.algos import registry
from strategies.algos.base import StrategyContext
from strategies.algos.plots import plot_series
from strategies.models import StrategyConfig
from trading.marketdata.reader import read_window

MAX_BARS = 5_000


def config_indicators(*, config: StrategyConfig, symbol: str, interval: str, bars: int = 500) -> dict[str, Any]:
    """``{"config", "strategy", "t", "plots", "missing"}`` for the last ``bars`` bars of ``symbol``.

    ValueError (message starting with the field) for bad input, a strategy no longer loaded, or one whose
    ``compute`` fails on these bars (user code: the page shows why instead of a server error)."""
    if not 1 <= bars <= MAX_BARS:
        raise ValueError(f"bars: {bars} is outside 1..{MAX_BARS}")
    try:
        cls = registry.get(config.strategy.key)
        strategy = cls(**config.params)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"strategy: {exc}") from exc
    need = bars + strategy.warmup_bars()
    candles = read_window(symbol=symbol, interval=interval, bars=need)
    out: dict[str, Any] = {"config": config.pk, "strategy": cls.name, "label": cls.label}
    if candles.empty:
        return {**out, "t": [], "plots": [], "missing": []}
    needs = strategy.context_needs(symbol=symbol)
    other = {s: read_window(symbol=s, interval=interval, bars=need) for s in needs.other_symbols}
    context = StrategyContext(symbol=symbol, timeframe=interval, other={k: v for k, v in other.items() if not v.empty})
    try:
        frame = strategy.compute(candles, context)
    except Exception as exc:
        raise ValueError(f"strategy: {cls.name} failed on these bars: {type(exc).__name__}: {exc}") from exc
    return {**out, **plot_series(cls.plots(), frame.iloc[-bars:], candles)}


MAX_RANGE_BARS = 110_000  # a year of 5-minute bars and a little more (the bias checks' speed run is 105,120)


def range_indicators(*, strategy_key: str, params: dict, symbol: str, interval: str, start: datetime,
                     end: datetime, step_seconds: int) -> dict[str, Any]:
    """A strategy's declared plots on the ``interval`` bars opening in [start, end] (read with the strategy's
    warm-up before ``start``; resampled from the stored base interval like the chart's candles), reduced to one
    point per ``step_seconds`` bucket (the last value in it) when the chart is downsampled, so the lines sit on the
    chart's candles. ValueError (message starting with the field) for a range over ``MAX_RANGE_BARS`` bars, a
    strategy no longer loaded, or one whose ``compute`` fails."""
    from trading.choices import TIMEFRAMES
    from trading.marketdata.reader import read_range, stored_base_interval
    from trading.marketdata.resample import resample_frame

    iv = TIMEFRAMES[interval][0]
    if step_seconds < iv or step_seconds % iv:
        raise ValueError(f"step: {step_seconds} s is not a whole multiple of the interval's {iv} s")
    n = int((end - start).total_seconds() // iv) + 1
    if n > MAX_RANGE_BARS:
        raise ValueError(f"end: the range holds {n} {interval} bars, more than {MAX_RANGE_BARS}: zoom in "
                         "or pick a coarser interval")
    try:
        cls = registry.get(strategy_key)
        strategy = cls(**(params or {}))
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"strategy: {exc}") from exc
    out: dict[str, Any] = {"strategy": cls.name, "label": cls.label, "t": [], "plots": [], "missing": []}
    base = stored_base_interval(symbol=symbol, interval=interval)
    if base is None:
        return out
    base_s = TIMEFRAMES[base][0]
    first = start - timedelta(seconds=iv * strategy.warmup_bars())
    last = end + timedelta(seconds=iv - base_s)

    def bars(sym: str) -> pd.DataFrame:
        frame = read_range(symbol=sym, interval=base, start=first, end=last)
        return frame if base == interval else resample_frame(frame, source=base, target=interval)

    candles = bars(symbol)
    if candles.empty:
        return out
    needs = strategy.context_needs(symbol=symbol)
    other = {s: bars(s) for s in needs.other_symbols}
    context = StrategyContext(symbol=symbol, timeframe=interval, other={k: v for k, v in other.items() if not v.empty})
    try:
        frame = strategy.compute(candles, context)
    except Exception as exc:
        raise ValueError(f"strategy: {cls.name} failed on these bars: {type(exc).__name__}: {exc}") from exc
    shown = frame[frame.index >= pd.Timestamp(start)]
    series = plot_series(cls.plots(), shown, candles)
    if step_seconds == iv or not series["t"]:
        return {**out, **series}
    bucket = (shown.index.as_unit("s").asi8 // step_seconds) * step_seconds
    times = np.unique(bucket)
    for plot in series["plots"]:
        y = pd.Series(np.array([np.nan if v is None else v for v in plot["y"]], dtype="float64"))
        last_y = y.groupby(bucket).last().reindex(times)  # the last non-NaN value in each bucket
        plot["y"] = [None if not np.isfinite(v) else float(v) for v in last_y.to_numpy()]
    series["t"] = [pd.Timestamp(int(t), unit="s", tz="UTC").isoformat() for t in times]
    return {**out, **series}
