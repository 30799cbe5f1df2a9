"""What a strategy reads from the store, the same way everywhere (backtests, sweeps, the API and the live cycle).

``read_strategy_context`` builds the ``StrategyContext`` a strategy declares with ``context_needs(symbol=)``: the
other symbols' candles at its own timeframe and its symbol's higher-timeframe candles, over one time range
(open times ``start..end``). A higher timeframe comes from the store when that interval is stored for the
symbol, else it is resampled (complete buckets only) from the stored bars of the strategy's timeframe.
``read_strategy_inputs`` adds the candles themselves, with the declared warm-up (``warmup_bars()``) read from
BEFORE ``start``, so a backtest's signals from ``start`` on are computed on the same history a live window holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from strategies.algos.base import Strategy, StrategyContext
from trading.choices import TIMEFRAMES
from trading.marketdata.reader import read_range, read_window
from trading.marketdata.resample import resample_frame
from trading.models import Candle


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


def _stored(symbol: str, interval: str) -> bool:
    return Candle.objects.filter(symbol=symbol, interval=interval, kind="trade").exists()


def _higher(symbol: str, timeframe: str, higher: str, start: datetime, end: datetime) -> pd.DataFrame:
    """``symbol``'s ``higher`` candles from the bucket holding ``start`` that have CLOSED by the close of the
    ``timeframe`` bar opening at ``end`` (what a live cycle at that close could have stored)."""
    seconds = TIMEFRAMES[higher][0]
    bucket_start = datetime.fromtimestamp(int(start.timestamp()) // seconds * seconds, tz=start.tzinfo)
    if _stored(symbol, higher):
        frame = read_range(symbol=symbol, interval=higher, start=bucket_start, end=end)
    else:
        base = read_range(symbol=symbol, interval=timeframe, start=bucket_start, end=end)
        if base.empty:
            return base
        frame = resample_frame(base, source=timeframe, target=higher)
    closed_by = pd.Timestamp(end) + pd.Timedelta(seconds=TIMEFRAMES[timeframe][0] - seconds)
    return frame[frame.index <= closed_by]


def read_strategy_context(*, strategy: Strategy, symbol: str, timeframe: str, start: datetime,
                          end: datetime) -> StrategyContext:
    """The context ``strategy`` declares for ``symbol``: ``other[s]`` = ``s``'s ``timeframe`` candles opening in
    ``start..end``; ``higher[tf]`` = ``symbol``'s ``tf`` candles from the ``tf`` bar holding ``start`` to ``end``.
    A declared series with no stored rows is left out (the strategy documents what it does without it)."""
    needs = strategy.context_needs(symbol=symbol)
    other = {}
    for s in needs.other_symbols:
        if s == symbol:
            continue
        frame = read_range(symbol=s, interval=timeframe, start=start, end=end)
        if not frame.empty:
            other[s] = frame
    higher = {}
    for tf in needs.higher_timeframes:
        if tf not in TIMEFRAMES:
            raise ValueError(f"{type(strategy).__name__}.context_needs: higher timeframe {tf!r} is not one of "
                             f"{', '.join(TIMEFRAMES)}")
        if TIMEFRAMES[tf][0] <= TIMEFRAMES[timeframe][0] or TIMEFRAMES[tf][0] % TIMEFRAMES[timeframe][0]:
            continue  # not a higher timeframe of this run's bars
        frame = _higher(symbol, timeframe, tf, start, end)
        if not frame.empty:
            higher[tf] = frame
    return StrategyContext(symbol=symbol, timeframe=timeframe, other=other, higher=higher)


def read_strategy_inputs(*, strategy: Strategy, symbol: str, timeframe: str, start: datetime,
                         end: datetime) -> StrategyInputs:
    """Candles opening in ``start..end`` preceded by up to ``strategy.warmup_bars()`` stored bars opening before
    ``start``, and the context over that whole span."""
    wanted = max(0, int(strategy.warmup_bars()))
    in_range = read_range(symbol=symbol, interval=timeframe, start=start, end=end)
    before = pd.DataFrame()
    if wanted:
        before = read_window(symbol=symbol, interval=timeframe, bars=wanted, end=start - timedelta(microseconds=1))
    candles = pd.concat([before, in_range]) if len(before) else in_range
    first = candles.index[0].to_pydatetime() if len(candles) else start
    context = read_strategy_context(strategy=strategy, symbol=symbol, timeframe=timeframe, start=first, end=end)
    return StrategyInputs(candles=candles, context=context, warmup_wanted=wanted, warmup_read=len(before))
