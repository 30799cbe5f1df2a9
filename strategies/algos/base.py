"""The strategy interface (DESIGN section 2): Strategy, its sizing defaults, StrategyContext.

Re-exports ParamSpec/ParamError (params.py) and the SignalFrame helpers (signal_frame.py) so callers
need one import: ``from strategies.algos.base import Strategy, ParamSpec, ParamError, StrategyContext``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from .params import ParamError, ParamSpec, validate_params
from .signal_frame import CORE_COLUMNS, make_signal_frame, validate_signal_frame

__all__ = [
    "CORE_COLUMNS", "ContextNeeds", "DefaultSizing", "ParamError", "ParamSpec", "Strategy", "StrategyContext",
    "make_signal_frame", "validate_signal_frame", "REQUIRED_CANDLE_COLUMNS", "TIMEFRAME_SECONDS",
]

REQUIRED_CANDLE_COLUMNS = ("open", "high", "low", "close", "volume")
TIMEFRAME_SECONDS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200,
                     "4h": 14400, "1d": 86400}


@dataclass(frozen=True)
class DefaultSizing:
    """DESIGN section 3 defaults: ``mode`` "fixed" uses ``allocation`` of initial capital, "kelly" ``kelly_fraction``."""

    leverage: int
    mode: str
    allocation: float | None = None
    kelly_fraction: float | None = None

    def to_json(self) -> dict:
        return {"leverage": self.leverage, "mode": self.mode, "allocation": self.allocation,
                "kelly_fraction": self.kelly_fraction}


@dataclass(frozen=True)
class ContextNeeds:
    """What a strategy reads besides its own candles: ``other_symbols`` at its own timeframe (e.g. the drift
    forecaster trading BTCUSDT reads its partner ETHUSDT) and ``higher_timeframes`` of its own symbol."""

    other_symbols: tuple[str, ...] = ()
    higher_timeframes: tuple[str, ...] = ()


@dataclass
class StrategyContext:
    """What a strategy may see besides its own candles: other symbols' and higher timeframes' candles.

    ``other`` maps symbol -> candles of the same timeframe; ``higher`` maps timeframe ("1h") -> this symbol's
    candles at that timeframe, indexed by bar open time. Missing entries are allowed; strategies document
    what they do without them.
    """

    symbol: str = ""
    timeframe: str = "5m"
    other: dict[str, pd.DataFrame] = field(default_factory=dict)
    higher: dict[str, pd.DataFrame] = field(default_factory=dict)


class Strategy(ABC):
    """Base class: a name, a label, a default timeframe and sizing, a typed parameter set and ``compute``.

    ``Strategy(**params)`` validates the parameters (``ParamError`` on a bad one); ``compute(candles, context)``
    returns a SignalFrame with one row per candle, using only bars <= t for row t.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    timeframe: ClassVar[str] = "5m"
    default_sizing: ClassVar[DefaultSizing]
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()

    def __init__(self, **params: Any):
        self.params = self.validate_params(params)

    @classmethod
    def param_schema(cls) -> list[ParamSpec]:
        return list(cls.PARAMS)

    @classmethod
    def schema_json(cls) -> dict:
        """Everything a form or the REST API needs, as plain JSON types."""
        return {
            "name": cls.name,
            "label": cls.label,
            "timeframe": cls.timeframe,
            "default_sizing": cls.default_sizing.to_json(),
            "params": [p.to_json() for p in cls.PARAMS],
        }

    @classmethod
    def validate_params(cls, params: Mapping[str, Any] | None) -> dict:
        """All parameters, defaults filled in; raises ParamError for an unknown key or a value out of bounds."""
        return validate_params(cls.PARAMS, params)

    def warmup_bars(self) -> int:
        """Bars (of the strategy's timeframe) a window needs before its rows equal the full-history rows.

        The window-independence contract (DESIGN section 2): on any window at least this long, every row after
        the first ``warmup_bars()`` equals the full-history run's row. The live signal cycle reads this many
        bars plus one; backtests read them from before the chosen start. Strategies override it with what
        their parameters need."""
        return 3000

    def warmup_bars_at(self, timeframe: str) -> int:
        """``warmup_bars()`` in bars of ``timeframe`` when the strategy runs at a timeframe other than its default
        (a config's timeframe). The default is ``warmup_bars()``; a strategy whose warm-up is set by a higher
        timeframe (the drift forecaster's hourly filter) overrides this, so a 15-minute config reads a third of
        the 5-minute bars. Callers that know the timeframe call this one."""
        return self.warmup_bars()

    def window_independent(self) -> bool:
        """False for a mode that cannot honour the window-independence contract at any warm-up (Lorentzian
        ``pine`` mode reproduces TradingView, whose training set is the data's first bars); such a mode may be
        backtested but its live rows are not its backtest's."""
        return True

    def context_needs(self, *, symbol: str) -> ContextNeeds:
        """The other symbols and higher timeframes ``compute`` reads from its context when it trades ``symbol``
        (none by default).

        Backtests, sweeps and the live cycle pass exactly these, and the live feed subscribes every symbol an
        enabled config needs."""
        return ContextNeeds()

    def compute(self, candles: pd.DataFrame, context: StrategyContext | None = None) -> pd.DataFrame:
        """The SignalFrame for every bar of ``candles`` (checked against the shared contract)."""
        missing = [c for c in REQUIRED_CANDLE_COLUMNS if c not in candles.columns]
        if missing:
            raise ValueError(f"candles lack columns {missing}")
        frame = self._compute(candles, context or StrategyContext(timeframe=self.timeframe))
        return validate_signal_frame(frame, candles)

    @abstractmethod
    def _compute(self, candles: pd.DataFrame, context: StrategyContext) -> pd.DataFrame:
        """Strategy-specific work; return ``make_signal_frame(...)``."""


def bar_seconds(candles: pd.DataFrame, timeframe: str) -> float:
    """Seconds per bar: from the timeframe name, else from the median spacing of the index."""
    if timeframe in TIMEFRAME_SECONDS:
        return float(TIMEFRAME_SECONDS[timeframe])
    if isinstance(candles.index, pd.DatetimeIndex) and len(candles) > 1:
        return float(pd.Series(candles.index).diff().median().total_seconds())
    raise ParamError("timeframe", f"{timeframe!r} is not a known timeframe")


