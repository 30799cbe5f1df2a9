"""The candle and funding store: idempotent bulk upserts that count what they did, and gap detection.

Upserts compare the incoming rows with what is stored (one range query) and write only new or changed
rows with ``bulk_create(update_conflicts=True)`` in batches, all inside one transaction, so importing or
downloading the same data twice writes nothing and a failure leaves the table as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal

import numpy as np
from django.db import transaction

from trading.models import Candle, FundingRate

from . import columnar
from .files import CandleBatch, FundingBatch, interval_ms

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Q10 = Decimal("1e-10")  # price_field / qty_field scale
Q8 = Decimal("1e-8")  # turnover and rate_field scale
# Enough digits for the widest column (turnover: 30 digits); the default context's 28 made a turnover of
# 1e21 at 8 decimals raise InvalidOperation halfway through an import.
EXACT = Context(prec=40)
BATCH_SIZE = 5000
CANDLE_UNIQUE = ["symbol", "interval", "kind", "open_time"]


def ms_to_dt(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=int(ms))


def dt_to_ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def parse_utc(text: str) -> datetime:
    """'2025-01-01', '2025-01-01T12:00' or a full ISO-8601 date-time; naive means UTC."""
    from django.utils.dateparse import parse_datetime

    value = parse_datetime(text) or parse_datetime(f"{text}T00:00:00")
    if value is None:
        raise ValueError(f"{text!r}: not an ISO-8601 date or date-time")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(self.added + other.added, self.updated + other.updated,
                            self.unchanged + other.unchanged)


@dataclass(frozen=True)
class Gap:
    """Bars missing between two stored bars: ``after`` and ``before`` are the stored neighbours."""

    after: datetime
    before: datetime
    missing: int

    def __str__(self) -> str:
        return f"{self.after:%Y-%m-%d %H:%M} -> {self.before:%Y-%m-%d %H:%M} ({self.missing} bars missing)"


Progress = Callable[[int], None]


def _columns(batch: CandleBatch) -> list[tuple[str, list[str], Decimal]]:
    """The value columns this batch carries (volume/turnover only when its source had them)."""
    cols = [(name, getattr(batch, name), Q10) for name in ("open", "high", "low", "close")]
    if batch.volume is not None:
        cols.append(("volume", batch.volume, Q10))
    if batch.turnover is not None:
        cols.append(("turnover", batch.turnover, Q8))
    return cols


def _write(model, objs: list, *, unique_fields: list[str], update_fields: list[str], progress: Progress | None,
           batch_size: int) -> None:
    for start in range(0, len(objs), batch_size):
        chunk = objs[start:start + batch_size]
        model.objects.bulk_create(chunk, update_conflicts=True, unique_fields=unique_fields,
                                  update_fields=update_fields, batch_size=batch_size)
        if progress:
            progress(len(chunk))


def upsert_candles(*, symbol: str, interval: str, kind: str, batch: CandleBatch,
                   progress: Progress | None = None, batch_size: int = BATCH_SIZE) -> UpsertCounts:
    """Write a validated batch; returns rows added, updated and unchanged (skipped). All or nothing."""
    if len(batch) == 0:
        return UpsertCounts()
    first, last = ms_to_dt(batch.open_ms[0]), ms_to_dt(batch.open_ms[-1])
    cols = _columns(batch)
    names = [name for name, _, _ in cols]
    with transaction.atomic():
        stored = {
            dt_to_ms(row[0]): tuple(row[1:])
            for row in Candle.objects.filter(symbol=symbol, interval=interval, kind=kind,
                                             open_time__gte=first, open_time__lte=last)
            .values_list("open_time", *names).order_by()
        }
        objs, added, updated = [], 0, 0
        for i, ms in enumerate(batch.open_ms.tolist()):
            values = tuple(Decimal(texts[i]).quantize(q, context=EXACT) for _, texts, q in cols)
            old = stored.get(ms)
            if old == values:
                continue
            if old is None:
                added += 1
            else:
                updated += 1
            objs.append(Candle(symbol=symbol, interval=interval, kind=kind, open_time=ms_to_dt(ms),
                               **dict(zip(names, values, strict=True))))
        if progress:
            progress(len(batch) - len(objs))
        _write(Candle, objs, unique_fields=CANDLE_UNIQUE, update_fields=names, progress=progress,
               batch_size=batch_size)
        if objs and kind == "trade":  # the research cache of this series is stale once this commits
            since = min(o.open_time for o in objs)  # the cache re-reads from here (columnar.py)
            transaction.on_commit(lambda: columnar.bump(symbol=symbol, interval=interval, since=since))
    return UpsertCounts(added=added, updated=updated, unchanged=len(batch) - len(objs))


def upsert_funding(*, symbol: str, batch: FundingBatch, progress: Progress | None = None) -> UpsertCounts:
    if len(batch) == 0:
        return UpsertCounts()
    first, last = ms_to_dt(batch.time_ms[0]), ms_to_dt(batch.time_ms[-1])
    with transaction.atomic():
        stored = {
            dt_to_ms(t): rate
            for t, rate in FundingRate.objects.filter(symbol=symbol, funding_time__gte=first,
                                                      funding_time__lte=last)
            .values_list("funding_time", "rate").order_by()
        }
        objs, added = [], 0
        for ms, text in zip(batch.time_ms.tolist(), batch.rate, strict=True):
            rate = Decimal(text).quantize(Q8, context=EXACT)
            old = stored.get(ms)
            if old == rate:
                continue
            added += old is None
            objs.append(FundingRate(symbol=symbol, funding_time=ms_to_dt(ms), rate=rate))
        if progress:
            progress(len(batch) - len(objs))
        _write(FundingRate, objs, unique_fields=["symbol", "funding_time"], update_fields=["rate"],
               progress=progress, batch_size=BATCH_SIZE)
    return UpsertCounts(added=added, updated=len(objs) - added, unchanged=len(batch) - len(objs))


def stored_open_times(*, symbol: str, interval: str, kind: str = "trade", start: datetime | None = None,
                      end: datetime | None = None) -> np.ndarray:
    """Epoch-ms open times of the stored bars, ascending (inclusive bounds)."""
    qs = Candle.objects.filter(symbol=symbol, interval=interval, kind=kind)
    if start is not None:
        qs = qs.filter(open_time__gte=start)
    if end is not None:
        qs = qs.filter(open_time__lte=end)
    times = qs.order_by("open_time").values_list("open_time", flat=True)
    return np.fromiter((dt_to_ms(t) for t in times), dtype=np.int64)


def find_gaps(*, symbol: str, interval: str, kind: str = "trade", start: datetime | None = None,
              end: datetime | None = None) -> list[Gap]:
    """Holes between consecutive stored bars (nothing before the first or after the last stored bar)."""
    step = interval_ms(interval)
    ms = stored_open_times(symbol=symbol, interval=interval, kind=kind, start=start, end=end)
    if len(ms) < 2:
        return []
    diff = np.diff(ms)
    holes = np.flatnonzero(diff > step)
    return [Gap(after=ms_to_dt(ms[i]), before=ms_to_dt(ms[i + 1]), missing=int(diff[i] // step - 1))
            for i in holes]


def last_open_time(*, symbol: str, interval: str, kind: str = "trade") -> datetime | None:
    return (Candle.objects.filter(symbol=symbol, interval=interval, kind=kind)
            .order_by("-open_time").values_list("open_time", flat=True).first())
