"""Download candles (last-traded or mark price) and funding history from Bybit's REST API through pybit.

Candles go forward in windows of 1,000 bars (``start``/``end`` per request, Bybit answers newest first); each
window is written in its own transaction, so a failure keeps every earlier window and writes nothing of the
failing one, and the next run resumes after the last stored bar. A bar is stored only once closed: its open
time + interval <= the server time of the response (Bybit's row 0 is the still-open candle).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db.models import Max, Min
from tqdm import tqdm

from trading.choices import TIMEFRAMES, CandleKind
from trading.models import Candle, FundingRate

from .bybit import CATEGORY, BybitError, call, http_client
from .files import CandleBatch, FundingBatch
from .store import Gap, UpsertCounts, dt_to_ms, find_gaps, ms_to_dt, upsert_candles, upsert_funding

PAGE_BARS = 1000
FUNDING_PAGE = 200
MAX_PAGES = 100_000


@dataclass
class DownloadReport:
    symbol: str
    what: str
    requests: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    start: datetime | None = None  # where this run began (after resuming)
    resumed: bool = False
    last: datetime | None = None  # newest row stored by this run
    gaps: list[Gap] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        c = self.counts
        text = (f"{self.symbol} {self.what}: {self.requests} requests from {self.start:%Y-%m-%d %H:%M}"
                f"{' (resumed)' if self.resumed else ''}; added {c.added}, updated {c.updated}, "
                f"unchanged {c.unchanged}")
        if self.last is not None:
            text += f"; newest {self.last:%Y-%m-%d %H:%M}"
        if self.what != "funding":
            text += f"; gaps in store: {len(self.gaps)}"
        return text + f"; {self.seconds:.1f} s"


def _resume_point(first: datetime | None, last: datetime | None, start_ms: int, step_ms: int) -> tuple[int, bool]:
    """Continue after the last stored row when the store already covers ``start``; else begin at ``start``."""
    if first is not None and last is not None and dt_to_ms(first) <= start_ms <= dt_to_ms(last):
        return dt_to_ms(last) + step_ms, True
    return start_ms, False


def _page_batch(rows: list[list[str]], *, lo: int, hi: int, closed_before: int, step: int, mark: bool,
                what: str) -> CandleBatch:
    """Bybit rows (newest first) -> an ascending batch of closed bars with lo <= open < hi."""
    keep = sorted((r for r in rows if lo <= int(r[0]) < hi and int(r[0]) + step <= closed_before),
                  key=lambda r: int(r[0]))
    ms = np.array([int(r[0]) for r in keep], dtype=np.int64)
    if len(ms) and ((ms % step).any() or (np.diff(ms) <= 0).any()):
        raise BybitError(f"{what}: the answer has bars off the grid or repeated")
    for r in keep:
        if float(r[2]) < float(r[3]):
            raise BybitError(f"{what}: bar {ms_to_dt(int(r[0]))} has high {r[2]} below low {r[3]}")
    return CandleBatch(open_ms=ms, open=[r[1] for r in keep], high=[r[2] for r in keep],
                       low=[r[3] for r in keep], close=[r[4] for r in keep],
                       volume=None if mark else [r[5] for r in keep],
                       turnover=None if mark else [r[6] for r in keep])


def download_candles(*, symbol: str, interval: str, since: datetime, until: datetime | None = None,
                     kind: str = CandleKind.TRADE, progress: bool = False) -> DownloadReport:
    """Fetch closed bars with ``since <= open_time < until`` (default: up to now) into the store."""
    if interval not in TIMEFRAMES:
        raise ValueError(f"interval: {interval!r} is not one of {', '.join(TIMEFRAMES)}")
    if kind not in CandleKind.values:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(CandleKind.values)}")
    symbol = symbol.upper()
    started = time.perf_counter()
    seconds, code = TIMEFRAMES[interval]
    step = seconds * 1000
    mark = kind == CandleKind.MARK
    session = http_client()
    method = session.get_mark_price_kline if mark else session.get_kline
    since_ms = -(-dt_to_ms(since) // step) * step  # first bar open at or after since
    until_ms = dt_to_ms(until) if until is not None else int(time.time() * 1000) + step
    span = Candle.objects.filter(symbol=symbol, interval=interval, kind=kind).aggregate(
        first=Min("open_time"), last=Max("open_time"))
    cursor, resumed = _resume_point(span["first"], span["last"], since_ms, step)
    report = DownloadReport(symbol=symbol, what=f"{interval} {kind}", start=ms_to_dt(cursor), resumed=resumed)
    total = max(0, (until_ms - cursor) // step)
    with tqdm(total=total, desc=f"{symbol} {interval} {kind}", unit="bar", disable=not progress,
              leave=False) as bar:
        for _ in range(MAX_PAGES):
            if cursor >= until_ms:
                break
            hi = min(cursor + PAGE_BARS * step, until_ms)
            what = f"{symbol} {interval} {kind} bars {ms_to_dt(cursor):%Y-%m-%d %H:%M} .. {ms_to_dt(hi):%Y-%m-%d %H:%M}"
            resp = call(method, what=what, category=CATEGORY, symbol=symbol, interval=code, start=cursor,
                        end=hi - 1, limit=PAGE_BARS)
            report.requests += 1
            server_ms = int(resp.get("time") or time.time() * 1000)
            batch = _page_batch(resp["result"]["list"], lo=cursor, hi=hi, closed_before=server_ms, step=step,
                                mark=mark, what=what)
            report.counts += upsert_candles(symbol=symbol, interval=interval, kind=kind, batch=batch)
            if len(batch):
                report.last = ms_to_dt(batch.open_ms[-1])
            bar.update((hi - cursor) // step)
            if hi + step > server_ms:  # reached the live edge: the rest is not closed yet
                break
            cursor = hi
    report.gaps = find_gaps(symbol=symbol, interval=interval, kind=kind)
    report.seconds = time.perf_counter() - started
    return report


def download_candles_and_mark(*, symbol: str, interval: str, since: datetime, until: datetime | None = None,
                              progress: bool = False) -> list[DownloadReport]:
    """Trade candles and the mark-price candles of the same interval (the engine liquidates on the finest stored
    mark: a 5m backtest needs the 5m mark, a 1m detail series the 1m mark); one report each, trade first."""
    return [download_candles(symbol=symbol, interval=interval, since=since, until=until, kind=kind, progress=progress)
            for kind in (CandleKind.TRADE, CandleKind.MARK)]


def download_funding(*, symbol: str, since: datetime, until: datetime | None = None,
                     progress: bool = False) -> DownloadReport:
    """Funding history ``since <= funding_time <= until``, paged backwards 200 at a time, written at once."""
    symbol = symbol.upper()
    started = time.perf_counter()
    session = http_client()
    since_ms = dt_to_ms(since)
    end_ms = dt_to_ms(until) if until is not None else int(time.time() * 1000)
    span = FundingRate.objects.filter(symbol=symbol).aggregate(first=Min("funding_time"), last=Max("funding_time"))
    start_ms, resumed = _resume_point(span["first"], span["last"], since_ms, 1)
    report = DownloadReport(symbol=symbol, what="funding", start=ms_to_dt(start_ms), resumed=resumed)
    rates: dict[int, str] = {}
    cursor = end_ms
    with tqdm(desc=f"{symbol} funding", unit="rate", disable=not progress, leave=False) as bar:
        for _ in range(MAX_PAGES):
            if cursor < start_ms:
                break
            resp = call(session.get_funding_rate_history, what=f"{symbol} funding until {ms_to_dt(cursor)}",
                        category=CATEGORY, symbol=symbol, startTime=start_ms, endTime=cursor, limit=FUNDING_PAGE)
            report.requests += 1
            rows = resp["result"]["list"]
            for row in rows:
                rates[int(row["fundingRateTimestamp"])] = row["fundingRate"]
            bar.update(len(rows))
            if len(rows) < FUNDING_PAGE:
                break
            cursor = min(int(r["fundingRateTimestamp"]) for r in rows) - 1
    stamps = sorted(t for t in rates if start_ms <= t <= end_ms)
    batch = FundingBatch(time_ms=np.array(stamps, dtype=np.int64), rate=[rates[t] for t in stamps])
    report.counts = upsert_funding(symbol=symbol, batch=batch)
    report.last = ms_to_dt(stamps[-1]) if stamps else None
    report.seconds = time.perf_counter() - started
    return report
