"""What a strategy reads from the store, ONE way for the live cycle, backtests, sweeps, research and the API.

``read_strategy_context`` builds exactly the ``StrategyContext`` a strategy declares with
``context_needs(symbol=)`` for a window of ``bars`` bars of ``timeframe`` ending at the bar opening at ``end``:
the other symbols' candles at the same timeframe over the same window, and the symbol's higher-timeframe candles
closed by that bar's close (stored ones, else resampled from the stored base interval: ``read_bars``). The live
signal cycle (signal_cycle.compute_frame) calls it with its window; a backtest calls it with its whole span
(warm-up + range), which is the window a live cycle at the range's last bar would read if it were that long.

A research study reads every trial's window through ``read_strategy_inputs`` too, with a ``SpanReader`` (the
study's span read once per worker, windows sliced from it) as its bar source.

``read_strategy_inputs`` is the backtest's read: candles opening in ``start..end`` preceded by the strategy's
declared warm-up (``warmup_bars_at(timeframe)`` bars opening BEFORE ``start``), and the context over that span.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from strategies.algos.base import Strategy, StrategyContext
from trading.choices import TIMEFRAMES
from trading.marketdata.reader import read_bars


def _higher_bars(*, timeframe: str, higher: str, bars: int) -> int:
    """Higher-timeframe bars covering the same span as ``bars`` bars of ``timeframe`` (plus one)."""
    ratio = TIMEFRAMES[higher][0] / TIMEFRAMES[timeframe][0]
    return int(math.ceil(bars / max(ratio, 1.0))) + 1


def _higher_end(*, end: datetime | None, timeframe: str, higher: str) -> datetime | None:
    """Open time of the newest ``higher`` bar closed by the close of the ``timeframe`` bar opening at ``end``."""
    if end is None:
        return None
    close = end.timestamp() + TIMEFRAMES[timeframe][0]
    h = TIMEFRAMES[higher][0]
    return datetime.fromtimestamp(math.floor(close / h) * h - h, tz=end.tzinfo)


BarReader = Callable[..., pd.DataFrame]  # read_bars' keyword signature: symbol, interval, bars, end


class SpanReader:
    """A bar source with ``read_bars``' signature for many windows inside one span (a research study's trials):
    each (symbol, interval) is read once up to the span's ``end`` and every window is sliced from that frame,
    so the bars a window gets are exactly the ones ``read_bars`` would return for it."""

    def __init__(self, *, end: datetime, reader: BarReader = read_bars):
        self.end, self.reader = end, reader
        self._frames: dict[tuple[str, str], tuple[pd.DataFrame, int]] = {}

    def __call__(self, *, symbol: str, interval: str, bars: int, end: datetime | None = None) -> pd.DataFrame:
        end = self.end if end is None else end
        if end > self.end:
            return self.reader(symbol=symbol, interval=interval, bars=bars, end=end)
        stamp = pd.Timestamp(end)
        frame, asked = self._frames.get((symbol, interval), (None, 0))
        while True:
            if frame is not None:
                sub = frame[frame.index <= stamp]
                if len(sub) >= bars or len(frame) < asked:  # enough, or the store holds no more
                    return sub.iloc[max(0, len(sub) - bars):] if bars > 0 else sub.iloc[:0]
            after = int((self.end - end).total_seconds() // TIMEFRAMES[interval][0]) + 1
            asked = max(2 * asked, bars + after + 1)
            frame = self.reader(symbol=symbol, interval=interval, bars=asked, end=self.end)
            self._frames[(symbol, interval)] = (frame, asked)


def read_strategy_context(*, strategy: Strategy, symbol: str, timeframe: str, bars: int,
                          end: datetime | None, reader: BarReader = read_bars) -> StrategyContext:
    """Exactly the context ``strategy.context_needs(symbol=)`` declares: partner symbols at ``timeframe`` over the
    same window, and this symbol's higher timeframes (closed bars only; resampled from the stored base
    interval when the store lacks them). A declared series with nothing stored is left out (each strategy
    documents what it does without it). ``reader``: where bars come from (``read_bars``, or a ``SpanReader``)."""
    needs = strategy.context_needs(symbol=symbol)
    other = {s: reader(symbol=s, interval=timeframe, bars=bars, end=end) for s in needs.other_symbols if s != symbol}
    higher = {}
    for h in needs.higher_timeframes:
        if h not in TIMEFRAMES:
            raise ValueError(f"{type(strategy).__name__}.context_needs: higher timeframe {h!r} is not one of "
                             f"{', '.join(TIMEFRAMES)}")
        frame = reader(symbol=symbol, interval=h, bars=_higher_bars(timeframe=timeframe, higher=h, bars=bars),
                          end=_higher_end(end=end, timeframe=timeframe, higher=h))
        higher[h] = frame
    return StrategyContext(symbol, timeframe, other={k: v for k, v in other.items() if not v.empty},
                           higher={k: v for k, v in higher.items() if not v.empty})


@dataclass(frozen=True)
class StrategyInputs:
    """Candles (warm-up + range), the context over the same span, and how much warm-up the store held."""

    candles: pd.DataFrame
    context: StrategyContext
    warmup_wanted: int
    warmup_read: int

    @property
    def first_in_range(self) -> int:
        """Row of ``candles`` where the chosen range starts (the warm-up rows come before it)."""
        return self.warmup_read


def read_strategy_inputs(*, strategy: Strategy, symbol: str, timeframe: str, start: datetime,
                         end: datetime, reader: BarReader = read_bars) -> StrategyInputs:
    """Candles opening in ``start..end`` (stored, or resampled from the stored base interval) preceded by up to
    ``strategy.warmup_bars_at(timeframe)`` bars opening before ``start``, and the context over that whole span."""
    wanted = max(0, int(strategy.warmup_bars_at(timeframe)))
    span = int((end - start).total_seconds() // TIMEFRAMES[timeframe][0]) + 1
    frame = reader(symbol=symbol, interval=timeframe, bars=wanted + span, end=end)
    stamp = pd.Timestamp(start)
    before, in_range = frame[frame.index < stamp], frame[frame.index >= stamp]
    before = before.iloc[len(before) - wanted:] if wanted else before.iloc[:0]
    candles = pd.concat([before, in_range]) if len(before) else in_range
    if candles.empty:
        context = StrategyContext(symbol, timeframe)
    else:
        context = read_strategy_context(strategy=strategy, symbol=symbol, timeframe=timeframe, bars=len(candles),
                                        end=candles.index[-1].to_pydatetime(), reader=reader)
    return StrategyInputs(candles=candles, context=context, warmup_wanted=wanted, warmup_read=len(before))
