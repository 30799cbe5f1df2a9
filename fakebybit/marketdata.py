"""Market data the test loads into the fake: candles and mark-price candles per (symbol, interval),
funding history, and the live quote (last/bid/ask/mark) each symbol trades at; plus the kline and
funding-history queries (newest first) and the ticker shape."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from .catalog import Listing
from .formats import money, ms_str, plain

INTERVALS = ("1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M")
INTERVAL_MS = {i: int(i) * 60_000 for i in INTERVALS if i.isdigit()} | {"D": 86_400_000, "W": 604_800_000,
                                                                          "M": 2_592_000_000}


def _rows_from(rows) -> list[tuple]:
    """(start_ms, open, high, low, close[, volume[, turnover]]) tuples from a list or a pandas frame
    indexed by open time (columns open/high/low/close[/volume[/turnover]])."""
    if hasattr(rows, "index") and hasattr(rows, "columns"):
        starts = rows.index.as_unit("ms").asi8 if hasattr(rows.index, "as_unit") else rows.index
        cols = [c for c in ("open", "high", "low", "close", "volume", "turnover") if c in rows.columns]
        values = rows[cols].to_numpy(dtype="float64")
        return [(int(s), *map(float, v)) for s, v in zip(starts, values, strict=True)]
    return [(int(r[0]), *map(float, r[1:])) for r in rows]


class Series:
    """Bars of one (symbol, interval) keyed by start ms, kept sorted."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.bars: dict[int, tuple] = {}

    def upsert(self, row: tuple) -> None:
        start = int(row[0])
        if start not in self.bars:
            bisect.insort(self.starts, start)
        self.bars[start] = tuple(row)

    def query(self, start: int | None, end: int | None, limit: int) -> list[tuple]:
        """Newest first. Only ``start``: the ``limit`` oldest bars from start; otherwise the ``limit``
        newest bars at or before ``end`` (and at or after ``start``)."""
        lo = 0 if start is None else bisect.bisect_left(self.starts, start)
        hi = len(self.starts) if end is None else bisect.bisect_right(self.starts, end)
        keys = self.starts[lo:hi]
        keys = keys[:limit] if start is not None and end is None else keys[-limit:]
        return [self.bars[k] for k in reversed(keys)]


@dataclass
class Quote:
    """Top of book and reference prices for one symbol."""

    last: float
    bid: float
    ask: float
    mark: float
    index: float
    bid_size: float = 10.0
    ask_size: float = 10.0
    funding_rate: float = 0.0001
    next_funding_time: int = 0
    prev_24h: float | None = None
    high_24h: float | None = None
    low_24h: float | None = None
    volume_24h: float = 0.0
    turnover_24h: float = 0.0
    open_interest: float = 0.0
    tick_direction: str = "ZeroPlusTick"
    extra: dict = field(default_factory=dict)

    def ticker(self, lst: Listing) -> dict:
        """The ticker fields of REST /v5/market/tickers and the WS ``tickers`` snapshot."""
        prev = self.prev_24h if self.prev_24h is not None else self.last
        pcnt = (self.last - prev) / prev if prev else 0.0
        out = {
            "symbol": lst.symbol, "tickDirection": self.tick_direction, "price24hPcnt": money(pcnt, 6),
            "lastPrice": lst.price(self.last), "prevPrice24h": lst.price(prev),
            "highPrice24h": lst.price(self.high_24h if self.high_24h is not None else max(prev, self.last)),
            "lowPrice24h": lst.price(self.low_24h if self.low_24h is not None else min(prev, self.last)),
            "prevPrice1h": lst.price(prev), "markPrice": lst.price(self.mark), "indexPrice": lst.price(self.index),
            "openInterest": lst.qty(self.open_interest), "openInterestValue": money(self.open_interest * self.mark, 2),
            "turnover24h": money(self.turnover_24h, 4), "volume24h": lst.qty(self.volume_24h),
            "fundingRate": money(self.funding_rate, 8), "nextFundingTime": ms_str(self.next_funding_time),
            "fundingIntervalHour": str(lst.instrument.funding_interval_minutes // 60),
            "fundingCap": plain(lst.funding_cap), "predictedDeliveryPrice": "", "basisRate": "",
            "deliveryFeeRate": "", "deliveryTime": "0", "ask1Size": lst.qty(self.ask_size),
            "bid1Price": lst.price(self.bid), "ask1Price": lst.price(self.ask), "bid1Size": lst.qty(self.bid_size),
            "basis": "", "preOpenPrice": "", "preQty": "", "curPreListingPhase": "",
        }
        out.update(self.extra)
        return out


def next_funding_after(ts_ms: int, interval_minutes: int) -> int:
    step = interval_minutes * 60_000
    return (ts_ms // step + 1) * step


class MarketData:
    """Everything public the fake serves, loaded by the test."""

    def __init__(self) -> None:
        self.candles: dict[tuple[str, str], Series] = {}
        self.mark_candles: dict[tuple[str, str], Series] = {}
        self.funding: dict[str, dict[int, float]] = {}
        self.quotes: dict[str, Quote] = {}

    def load(self, book: dict, symbol: str, interval: str, rows) -> int:
        if interval not in INTERVALS:
            raise ValueError(f"interval: {interval!r} is not one of {INTERVALS}")
        series = book.setdefault((symbol, interval), Series())
        parsed = _rows_from(rows)
        for row in parsed:
            series.upsert(row)
        return len(parsed)

    def kline_rows(self, lst: Listing, interval: str, start, end, limit: int, mark: bool = False) -> list[list[str]]:
        book = self.mark_candles if mark else self.candles
        series = book.get((lst.symbol, interval))
        if series is None:
            return []
        out = []
        for row in series.query(start, end, limit):
            prices = [lst.price(v) for v in row[1:5]]
            if mark:
                out.append([ms_str(row[0]), *prices])
                continue
            volume = row[5] if len(row) > 5 else 0.0
            turnover = row[6] if len(row) > 6 else volume * (row[1] + row[4]) / 2.0
            out.append([ms_str(row[0]), *prices, lst.qty(volume), money(turnover, 4)])
        return out

    def load_funding(self, symbol: str, rows) -> int:
        """(funding_time_ms, rate) pairs, or a pandas Series of rates indexed by funding time."""
        book = self.funding.setdefault(symbol, {})
        if hasattr(rows, "index") and not isinstance(rows, list | tuple | dict):
            stamps = rows.index.as_unit("ms").asi8
            pairs = zip(stamps, rows.to_numpy(dtype="float64"), strict=True)
        else:
            pairs = rows.items() if isinstance(rows, dict) else rows
        n = 0
        for ts, rate in pairs:
            book[int(ts)] = float(rate)
            n += 1
        return n

    def funding_rows(self, symbol: str, start, end, limit: int) -> list[dict]:
        book = self.funding.get(symbol, {})
        stamps = sorted(t for t in book if (start is None or t >= start) and (end is None or t <= end))
        stamps = stamps[:limit] if start is not None and end is None else stamps[-limit:]
        return [{"symbol": symbol, "fundingRate": money(book[t], 8), "fundingRateTimestamp": ms_str(t)}
                for t in reversed(stamps)]
