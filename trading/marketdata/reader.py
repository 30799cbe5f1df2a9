"""Read stored candles as the OHLCV frames strategies take (UTC DatetimeIndex of open times, float64 columns).

:func:`read_window` is what a live cycle calls: one indexed query (``ORDER BY open_time DESC LIMIT bars`` on
the unique index symbol, interval, kind, open_time), prices cast to float in SQL, reversed in NumPy.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from django.db.models import FloatField
from django.db.models.functions import Cast

from trading.choices import TIMEFRAMES, CandleKind
from trading.models import Candle, FundingRate

COLUMNS = ["open", "high", "low", "close", "volume"]


def _check(symbol: str, interval: str, kind: str) -> None:
    if interval not in TIMEFRAMES:
        raise ValueError(f"interval: {interval!r} is not one of {', '.join(TIMEFRAMES)}")
    if kind not in CandleKind.values:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(CandleKind.values)}")
    if not symbol:
        raise ValueError("symbol: required")


def _float_rows(qs):
    """The queryset's open time and OHLCV, the prices cast to double precision in the database."""
    casts = {f"f_{c}": Cast(c, FloatField()) for c in COLUMNS}
    return qs.annotate(**casts).values_list("open_time", *casts)


def _frame(rows: list[tuple], *, newest_first: bool) -> pd.DataFrame:
    if not rows:
        index = pd.DatetimeIndex([], tz="UTC", name="open_time")
        return pd.DataFrame({c: np.empty(0, dtype="float64") for c in COLUMNS}, index=index)
    values = np.array([r[1:] for r in rows], dtype="float64")
    index = pd.DatetimeIndex([r[0] for r in rows], name="open_time")
    index = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
    if newest_first:
        values, index = values[::-1], index[::-1]
    return pd.DataFrame(values, index=index, columns=COLUMNS)


def read_window(*, symbol: str, interval: str, bars: int, end: datetime | None = None,
                kind: str = CandleKind.TRADE) -> pd.DataFrame:
    """The last ``bars`` stored bars whose open time is <= ``end`` (default: the newest), oldest first.

    Fewer rows come back when the store holds fewer. Exactly one query.
    """
    _check(symbol, interval, kind)
    if bars <= 0:
        raise ValueError(f"bars: {bars} must be > 0")
    qs = Candle.objects.filter(symbol=symbol, interval=interval, kind=kind)
    if end is not None:
        qs = qs.filter(open_time__lte=end)
    rows = list(_float_rows(qs.order_by("-open_time"))[:bars])
    return _frame(rows, newest_first=True)


def read_range(*, symbol: str, interval: str, start: datetime | None = None, end: datetime | None = None,
               kind: str = CandleKind.TRADE) -> pd.DataFrame:
    """Every stored bar with ``start <= open_time <= end`` (open bounds when None), oldest first."""
    _check(symbol, interval, kind)
    qs = Candle.objects.filter(symbol=symbol, interval=interval, kind=kind)
    if start is not None:
        qs = qs.filter(open_time__gte=start)
    if end is not None:
        qs = qs.filter(open_time__lte=end)
    return _frame(list(_float_rows(qs.order_by("open_time"))), newest_first=False)


def read_funding(*, symbol: str, start: datetime | None = None, end: datetime | None = None) -> pd.Series:
    """Funding rates (fraction per interval) indexed by funding time, oldest first."""
    qs = FundingRate.objects.filter(symbol=symbol)
    if start is not None:
        qs = qs.filter(funding_time__gte=start)
    if end is not None:
        qs = qs.filter(funding_time__lte=end)
    rows = list(qs.order_by("funding_time").annotate(f=Cast("rate", FloatField())).values_list("funding_time", "f"))
    index = pd.DatetimeIndex([r[0] for r in rows], name="funding_time")
    index = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
    return pd.Series(np.array([r[1] for r in rows], dtype="float64"), index=index, name="funding_rate")


def read_resampled(*, symbol: str, source: str, target: str, bars: int, end: datetime | None = None,
                   kind: str = CandleKind.TRADE) -> pd.DataFrame:
    """The last ``bars`` complete ``target`` bars built from stored ``source`` bars (one query)."""
    from .resample import ratio, resample_frame

    per = ratio(source=source, target=target)
    frame = read_window(symbol=symbol, interval=source, bars=(bars + 1) * per, end=end, kind=kind)
    return resample_frame(frame, source=source, target=target).iloc[-bars:]
