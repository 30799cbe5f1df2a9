"""The indicators a config's strategy draws on the chart page: its declared plots (strategies/algos/plots.py)
computed over the latest stored bars, with the warm-up the strategy declares read before them so the drawn
rows equal the full-history rows."""

from __future__ import annotations

from typing import Any

from strategies.algos import registry
from strategies.algos.base import StrategyContext
from strategies.algos.plots import plot_series
from strategies.models import StrategyConfig
from trading.marketdata.reader import read_window

MAX_BARS = 5_000


def config_indicators(*, config: StrategyConfig, symbol: str, interval: str, bars: int = 500) -> dict[str, Any]:
    """``{"config", "strategy", "t", "plots", "missing"}`` for the last ``bars`` bars of ``symbol``."""
    if not 1 <= bars <= MAX_BARS:
        raise ValueError(f"bars: {bars} is outside 1..{MAX_BARS}")
    cls = registry.get(config.strategy.key)
    strategy = cls(**config.params)
    need = bars + strategy.warmup_bars()
    candles = read_window(symbol=symbol, interval=interval, bars=need)
    out: dict[str, Any] = {"config": config.pk, "strategy": cls.name, "label": cls.label}
    if candles.empty:
        return {**out, "t": [], "plots": [], "missing": []}
    needs = strategy.context_needs(symbol=symbol)
    other = {s: read_window(symbol=s, interval=interval, bars=need) for s in needs.other_symbols}
    context = StrategyContext(symbol=symbol, timeframe=interval, other={k: v for k, v in other.items() if not v.empty})
    frame = strategy.compute(candles, context)
    return {**out, **plot_series(cls.plots(), frame.iloc[-bars:], candles)}
