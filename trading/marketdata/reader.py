"""Read stored candles as the OHLCV frames strategies take (UTC DatetimeIndex of open times, float64 columns).

:func:`read_window` is what a live cycle calls: one indexed query (``ORDER BY open_time DESC LIMIT bars`` on
the unique index symbol, interval, kind, open_time), open times as Unix seconds and prices as doubles computed
in SQL, read straight from the cursor into one NumPy array and reversed there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from django.db.models import BigIntegerField, FloatField, Func
from django.db.models.functions import Cast
from django.db.models.sql.constants import MULTI

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


class EpochSeconds(Func):
    """A timestamp column as integer Unix seconds, computed by the database (no per-row Python datetimes)."""

    output_field = BigIntegerField()
    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS BIGINT)"  # PostgreSQL

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection,
                           template="CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS INTEGER)", **extra)


# PostgreSQL's binary COPY of (bigint, 5 x double precision) rows: a 16-bit field count, then per field a 32-bit
# length and the big-endian value; after a 19-byte header, before a 2-byte trailer.
_PG_ROW = np.dtype([("n", ">i2"), ("lt", ">i4"), ("t", ">i8")]
                   + [x for c in COLUMNS for x in ((f"l{c}", ">i4"), (c, ">f8"))])


def _rows_pg_copy(qs, query) -> np.ndarray | None:
    """The same rows through ``COPY (...) TO STDOUT (FORMAT binary)`` read into NumPy with one fixed-width record
    dtype: no Python object per value (a year of 5-minute bars in a few milliseconds of parsing). None when a
    value is NULL (the rows are then not fixed-width) so the caller takes the cursor path."""
    from django.db import connections

    sql, params = query.sql_with_params()
    buf = bytearray()
    with connections[qs.db].cursor() as cursor, cursor.cursor.copy(
            f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
        for data in copy:
            buf += data
    body = memoryview(buf)[19:-2]
    if len(body) % _PG_ROW.itemsize:
        return None
    rec = np.frombuffer(body, dtype=_PG_ROW)
    if len(rec) and not (rec["n"] == 6).all():
        return None
    out = np.empty((len(rec), 6), dtype="float64")
    out[:, 0] = rec["t"]
    for i, c in enumerate(COLUMNS, start=1):
        out[:, i] = rec[c]
    return out


def _rows(qs, *, copy: bool = False) -> np.ndarray:
    """(epoch seconds, open, high, low, close, volume) per row as one float64 array, in the queryset's order.

    The ORM builds the one SQL statement (values_list of database-side casts); the rows are taken straight from
    the cursor, skipping Django's per-value converters, which otherwise cost more than the query itself. With
    ``copy`` on PostgreSQL (long ranges) the rows come by binary COPY instead (``_rows_pg_copy``).
    """
    from django.db import connections

    casts = {"t": EpochSeconds("open_time")} | {f"f_{c}": Cast(c, FloatField()) for c in COLUMNS}
    query = qs.annotate(**casts).values_list(*casts).query
    if copy and connections[qs.db].vendor == "postgresql":
        rows = _rows_pg_copy(qs, query)
        if rows is not None:
            return rows
    chunks = query.get_compiler(using=qs.db).execute_sql(MULTI)
    rows = [row for chunk in chunks for row in chunk]
    return np.array(rows, dtype="float64").reshape(len(rows), len(casts))


def _frame(rows: np.ndarray, *, newest_first: bool) -> pd.DataFrame:
    if newest_first:
        rows = rows[::-1]
    seconds = rows[:, 0].astype(np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(seconds, unit="s", utc=True), name="open_time").as_unit("us")
    return pd.DataFrame(np.ascontiguousarray(rows[:, 1:]), index=index, columns=COLUMNS)


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
    return _frame(_rows(qs.order_by("-open_time")[:bars]), newest_first=True)


def _epoch(when: datetime) -> float:
    """Unix seconds of a bound; a naive one is UTC, as the database reads it (USE_TZ, UTC)."""
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()


def read_range(*, symbol: str, interval: str, start: datetime | None = None, end: datetime | None = None,
               kind: str = CandleKind.TRADE) -> pd.DataFrame:
    """Every stored bar with ``start <= open_time <= end`` (open bounds when None), oldest first. Trade candles
    come from the columnar cache (columnar.py) when it is on, else straight from the table."""
    _check(symbol, interval, kind)
    if kind == CandleKind.TRADE:
        from .columnar import series_rows

        rows = series_rows(symbol=symbol, interval=interval, read_rows=lambda q: _rows(q, copy=True))
        if rows is not None:
            t = rows[:, 0]
            lo = 0 if start is None else int(np.searchsorted(t, _epoch(start), side="left"))
            hi = len(t) if end is None else int(np.searchsorted(t, _epoch(end), side="right"))
            return _frame(rows[lo:hi], newest_first=False)
    qs = Candle.objects.filter(symbol=symbol, interval=interval, kind=kind)
    if start is not None:
        qs = qs.filter(open_time__gte=start)
    if end is not None:
        qs = qs.filter(open_time__lte=end)
    return _frame(_rows(qs.order_by("open_time"), copy=True), newest_first=False)


def read_mark_layers(*, symbol: str, start: datetime | None = None,
                     end: datetime | None = None) -> list[pd.DataFrame]:
    """Every stored mark-price interval of ``symbol`` over the range as open/high/low/close frames, finest first
    (empty ones dropped). The engine takes the list as a symbol's ``mark``: the finest layer that covers a detail
    bar triggers liquidation there, a coarser one bounds the last price (trading/engine/portfolio_inputs.py).
    ``finer_than``: skip intervals shorter than this one except the coarsest of them (a 1m mark under 5m detail
    bars is aggregated; reading it is only worth it when it is the finest stored)."""
    intervals = sorted((i for i in set(Candle.objects.filter(symbol=symbol, kind=CandleKind.MARK).order_by()
                                       .values_list("interval", flat=True).distinct()) if i in TIMEFRAMES),
                       key=lambda i: TIMEFRAMES[i][0])
    frames = []
    for interval in intervals:
        frame = read_range(symbol=symbol, interval=interval, start=start, end=end, kind=CandleKind.MARK)
        if len(frame):
            frames.append(frame[["open", "high", "low", "close"]])
    return frames


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


def stored_base_interval(*, symbol: str, interval: str) -> str | None:
    """``interval`` itself when the store holds it for ``symbol``, else the coarsest stored interval that
    divides it (the one to resample from); None when nothing usable is stored."""
    secs = TIMEFRAMES[interval][0]
    fits = sorted((i for i, (s, _) in TIMEFRAMES.items() if s <= secs and secs % s == 0),
                  key=lambda i: -TIMEFRAMES[i][0])  # the interval itself first, then coarsest to finest
    # one query of index seeks, EXISTS per candidate (a DISTINCT over the symbol's bars scanned all of them)
    from django.db import connections

    q = connections[Candle.objects.db].ops.quote_name
    probe = (f"EXISTS(SELECT 1 FROM {q(Candle._meta.db_table)} WHERE {q('symbol')} = %s AND {q('interval')} = %s "
             f"AND {q('kind')} = %s)")
    with connections[Candle.objects.db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join([probe] * len(fits)),
                       [x for i in fits for x in (symbol, i, str(CandleKind.TRADE))])
        found = cursor.fetchone()
    return next((i for i, hit in zip(fits, found, strict=True) if hit), None)


def read_bars(*, symbol: str, interval: str, bars: int, end: datetime | None = None) -> pd.DataFrame:
    """The last ``bars`` closed ``interval`` bars with open time <= ``end``: stored ones when the store holds the
    interval, else complete bars resampled from the stored base interval (``stored_base_interval``).

    ``end`` is the open time of the newest wanted bar, so a resampled read takes base bars up to that bar's last
    base bar (``end + interval - base``)."""
    _check(symbol, interval, CandleKind.TRADE)
    base = stored_base_interval(symbol=symbol, interval=interval)
    if base is None:
        return _frame(np.empty((0, 6)), newest_first=False)
    if base == interval:
        return read_window(symbol=symbol, interval=interval, bars=bars, end=end)
    from .resample import ratio, resample_frame

    per = ratio(source=base, target=interval)
    base_end = None if end is None else end + timedelta(seconds=TIMEFRAMES[interval][0] - TIMEFRAMES[base][0])
    frame = read_window(symbol=symbol, interval=base, bars=(bars + 1) * per, end=base_end)
    out = resample_frame(frame, source=base, target=interval)
    if end is not None:
        out = out[out.index <= end]
    return out.iloc[-bars:]
