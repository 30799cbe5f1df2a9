"""Import services: a candle or funding file is validated whole, then upserted in one transaction.

Used by ``manage.py import_candles``; returns a report of rows added / updated / unchanged and the gaps
left in the store for that symbol, interval and kind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from trading.choices import CandleKind

from .files import read_candle_file, read_funding_file
from .store import Gap, find_gaps, ms_to_dt, upsert_candles, upsert_funding


@dataclass(frozen=True)
class ImportReport:
    symbol: str
    rows: int
    added: int
    updated: int
    unchanged: int
    first: datetime | None
    last: datetime | None
    seconds: float
    interval: str | None = None
    kind: str | None = None
    gaps: list[Gap] = field(default_factory=list)

    def summary(self) -> str:
        what = f"{self.symbol} {self.interval} {self.kind}" if self.interval else f"{self.symbol} funding"
        text = (f"{what}: {self.rows} rows ({self.first:%Y-%m-%d %H:%M} -> {self.last:%Y-%m-%d %H:%M}); "
                f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}; {self.seconds:.1f} s")
        if self.interval is not None:
            text += f"; gaps in store: {len(self.gaps)}"
        return text


def _bar(total: int, desc: str, enabled: bool):
    return tqdm(total=total, desc=desc, unit="row", disable=not enabled, leave=False)


def import_candles(*, path: Path | str, symbol: str, interval: str, kind: str = CandleKind.TRADE,
                   progress: bool = False) -> ImportReport:
    """Validate the whole file (raises :class:`~trading.marketdata.files.FileFormatError`), then upsert."""
    if kind not in CandleKind.values:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(CandleKind.values)}")
    symbol = symbol.upper()
    started = time.perf_counter()
    batch = read_candle_file(path, interval=interval, kind=kind)
    with _bar(len(batch), f"{symbol} {interval} {kind}", progress) as bar:
        counts = upsert_candles(symbol=symbol, interval=interval, kind=kind, batch=batch, progress=bar.update)
    gaps = find_gaps(symbol=symbol, interval=interval, kind=kind)
    return ImportReport(symbol=symbol, interval=interval, kind=kind, rows=len(batch), added=counts.added,
                        updated=counts.updated, unchanged=counts.unchanged, first=ms_to_dt(batch.open_ms[0]),
                        last=ms_to_dt(batch.open_ms[-1]), gaps=gaps, seconds=time.perf_counter() - started)


def import_funding(*, path: Path | str, symbol: str, progress: bool = False) -> ImportReport:
    symbol = symbol.upper()
    started = time.perf_counter()
    batch = read_funding_file(path)
    with _bar(len(batch), f"{symbol} funding", progress) as bar:
        counts = upsert_funding(symbol=symbol, batch=batch, progress=bar.update)
    return ImportReport(symbol=symbol, rows=len(batch), added=counts.added, updated=counts.updated,
                        unchanged=counts.unchanged, first=ms_to_dt(batch.time_ms[0]),
                        last=ms_to_dt(batch.time_ms[-1]), seconds=time.perf_counter() - started)
