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
