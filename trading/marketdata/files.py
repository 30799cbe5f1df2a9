"""Read and validate candle and funding files (CSV, CSV.gz, Parquet) completely before anything is written.

Two candle layouts are detected by the header: the desk's own (``timestamp`` ISO-8601 UTC open time, open,
high, low, close, volume) and Bybit's kline order (``startMs``/``start``/``startTime``, open, high, low, close,
volume, turnover; also headerless when the first cell is an integer). Mark-price files may omit volume.
Gaps (a whole number of missing bars) are allowed; the importer reports them. Every rule violation is
reported with the file's line number (the header is line 1; Parquet: the row, from 1) and a reason; the
first ten per rule are kept. Numbers stay strings here so the store writes exact Decimals.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trading.choices import TIMEFRAMES

MAX_REPORTED = 10
BYBIT_ORDER = ["startms", "open", "high", "low", "close", "volume", "turnover"]
TIME_ALIASES = ("timestamp", "startms", "start", "starttime", "open_time", "time",
                "fundingratetimestamp", "funding_time")
RATE_ALIASES = ("funding_rate", "fundingrate", "rate")
MIN_MS = 1_262_304_000_000  # 2010-01-01: anything earlier is a unit mistake (seconds instead of ms)
MAX_MS = 4_102_444_800_000  # 2100-01-01
PRICE_LIMIT = 10**14  # price_field: 24 digits, 10 decimals
PRICE_DECIMALS = 10
PRICE_REL_TOLERANCE = 1e-6  # a price the 10-decimal store would move by more than 1 ppm is refused
TURNOVER_LIMIT = 10**22


@dataclass(frozen=True)
class RowError:
    line: int | None  # None: the whole file (e.g. a missing column)
    reason: str


class FileFormatError(ValueError):
    """A file that breaks a rule; ``errors[0]`` is the first problem in file order."""

    def __init__(self, path: Path | str, errors: list[RowError], *, unit: str = "line"):
        self.path = Path(path)
        self.errors = errors[:MAX_REPORTED]
        self.total = len(errors)
        self.unit = unit
        parts = [self.describe(e) for e in self.errors]
        more = f" (+{self.total - len(self.errors)} more)" if self.total > len(self.errors) else ""
        super().__init__(f"{self.path.name}: " + "; ".join(parts) + more)

    def describe(self, err: RowError) -> str:
        return err.reason if err.line is None else f"{self.unit} {err.line}: {err.reason}"

    @property
    def line(self) -> int | None:
        return self.errors[0].line

    @property
    def reason(self) -> str:
        return self.errors[0].reason


@dataclass
class CandleBatch:
    """Validated candles in time order (strictly increasing open times), prices as exact decimal strings."""

    open_ms: np.ndarray  # int64 epoch milliseconds of the bar open
    open: list[str]
    high: list[str]
    low: list[str]
    close: list[str]
    volume: list[str] | None  # None: the source has no such column (stored values are kept)
    turnover: list[str] | None
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.open_ms)


@dataclass
class FundingBatch:
    time_ms: np.ndarray
    rate: list[str]
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.time_ms)


def interval_ms(interval: str) -> int:
    if interval not in TIMEFRAMES:
        raise ValueError(f"interval: {interval!r} is not one of {', '.join(TIMEFRAMES)}")
    return TIMEFRAMES[interval][0] * 1000


class _Table:
    """The raw table plus how to turn a 0-based row index into the number a user sees."""

    def __init__(self, path: Path):
        self.path = path
        self.is_parquet = path.suffix.lower() in {".parquet", ".pq"}
        self.unit = "row" if self.is_parquet else "line"
        self.frame, self.first = self._read()
        self.frame.columns = [str(c).strip().lower() for c in self.frame.columns]

    def _read(self) -> tuple[pd.DataFrame, int]:
        if self.is_parquet:
            return self._read_parquet()
        try:
            return self._read_csv()
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            # a corrupt or truncated .gz, a binary file: one clear refusal, never a traceback
            what = "gzip-compressed CSV" if self.path.suffix.lower() == ".gz" else "UTF-8 CSV"
            raise FileFormatError(self.path, [RowError(None, f"not a readable {what}: {exc}")]) from exc

    def _read_parquet(self) -> tuple[pd.DataFrame, int]:
        try:
            frame = pd.read_parquet(self.path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise FileFormatError(self.path, [RowError(None, f"not a readable Parquet file: {exc}")]) from exc
        if not isinstance(frame.index, pd.RangeIndex):  # a frame saved with its open-time index
            frame = frame.reset_index()
        return frame, 1

    def _read_csv(self) -> tuple[pd.DataFrame, int]:
        opener = gzip.open if self.path.suffix.lower() == ".gz" else open
        with opener(self.path, "rt", encoding="utf-8-sig") as fh:
            first_line = fh.readline()
        if not first_line.strip():
            raise FileFormatError(self.path, [RowError(1, "the file is empty or starts with a blank line")])
        headerless = first_line.split(",")[0].strip().isdigit()
        kw = dict(dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig")
        if headerless:
            ncols = len(first_line.split(","))
            kw.update(header=None, names=BYBIT_ORDER[:ncols])
        try:
            frame = pd.read_csv(self.path, **kw)
        except pd.errors.ParserError as exc:
            match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
            if match:
                want, line, saw = match.groups()
                raise FileFormatError(self.path, [RowError(int(line), f"expected {want} fields, saw {saw}")]) \
                    from exc
            raise FileFormatError(self.path, [RowError(None, f"not a readable CSV: {exc}")]) from exc
        return frame.fillna(""), (1 if headerless else 2)

    def lines(self, mask: np.ndarray) -> np.ndarray:
        return np.flatnonzero(mask) + self.first

    def column(self, aliases: tuple[str, ...], label: str) -> pd.Series:
        for name in aliases:
            if name in self.frame.columns:
                return self.frame[name]
        found = ", ".join(self.frame.columns)
        raise FileFormatError(self.path, [RowError(None, f"missing column {label!r} (columns found: {found})")],
                              unit=self.unit)


class _Checker:
    """Collects row errors in file order across all rules."""

    def __init__(self, table: _Table):
        self.table = table
        self.errors: list[RowError] = []

    def add(self, mask: np.ndarray, reason) -> None:
        for idx in np.flatnonzero(mask)[:MAX_REPORTED]:
            self.errors.append(RowError(int(idx) + self.table.first, reason(int(idx))))

    def raise_if_any(self) -> None:
        if self.errors:
            self.errors.sort(key=lambda e: e.line or 0)
            raise FileFormatError(self.table.path, self.errors, unit=self.table.unit)


def _texts(col: pd.Series) -> pd.Series:
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        return col.astype(str).str.strip()
    return col.astype(str)  # Parquet numbers: repr-like shortest strings


def _numeric(chk: _Checker, col: pd.Series, name: str, *, sign: str, limit: int) -> tuple[np.ndarray, list[str]]:
    """``sign``: "positive" (> 0), "nonnegative" (>= 0) or "any"."""
    texts = _texts(col)
    empty = (texts == "") | col.isna().to_numpy()
    values = pd.to_numeric(texts.where(~empty), errors="coerce").to_numpy(dtype="float64")
    bad = ~empty & ~np.isfinite(values)
    chk.add(empty, lambda i: f"{name} is empty")
    chk.add(bad, lambda i: f"{name} {texts.iat[i]!r} is not a number")
    ok = np.isfinite(values)
    if sign != "any":
        low_bad = ok & ((values <= 0) if sign == "positive" else (values < 0))
        chk.add(low_bad, lambda i: f"{name} {texts.iat[i]} must be {'> 0' if sign == 'positive' else '>= 0'}")
    chk.add(ok & (np.abs(values) >= limit), lambda i: f"{name} {texts.iat[i]} is out of range (< {limit:.0e})")
    if sign == "positive":  # prices: the store keeps PRICE_DECIMALS places; never round one to 0 or far off it
        stored = np.round(values, PRICE_DECIMALS)
        lossy = ok & (values > 0) & ((stored == 0) | (np.abs(stored - values) > PRICE_REL_TOLERANCE * values))
        chk.add(lossy, lambda i: f"{name} {texts.iat[i]} cannot be stored: the store keeps {PRICE_DECIMALS} decimal "
                                 f"places and would make it {_stored_text(values[i])}")
    return values, texts.tolist()


def _stored_text(value: float) -> str:
    return f"{round(value, PRICE_DECIMALS):.{PRICE_DECIMALS}f}"


def _times(chk: _Checker, col: pd.Series) -> np.ndarray | None:
    """Epoch ms per row, or None when some rows could not be read (already reported)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        idx = pd.DatetimeIndex(col)
        idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
        ms, bad = idx.as_unit("ms").asi8.copy(), idx.isna()
        texts = pd.Series(idx.astype(str))
    elif pd.api.types.is_integer_dtype(col):
        ms, bad = col.to_numpy(dtype="int64"), np.zeros(len(col), bool)
        texts = col.astype(str)
    else:
        texts = _texts(col)
        empty = (texts == "").to_numpy()
        chk.add(empty, lambda i: "timestamp is empty")
        digits = texts.str.fullmatch(r"\d+").to_numpy()
        if digits[~empty].all():
            ms = pd.to_numeric(texts.where(~empty, "0")).to_numpy(dtype="int64")
            bad = empty
        else:
            parsed = pd.DatetimeIndex(pd.to_datetime(texts.where(~empty), utc=True, format="ISO8601",
                                                     errors="coerce"))
            bad = parsed.isna()
            chk.add(bad & ~empty, lambda i: f"timestamp {texts.iat[i]!r} is not ISO-8601 UTC or epoch ms")
            ms = np.where(bad, 0, parsed.as_unit("ms").asi8)
    out_of_range = ~bad & ((ms < MIN_MS) | (ms >= MAX_MS))
    chk.add(out_of_range, lambda i: f"timestamp {texts.iat[i]} is outside 2010..2100 (epoch ms expected)")
    return None if (bad | out_of_range).any() else ms


def _sequence(chk: _Checker, ms: np.ndarray, step_ms: int | None) -> None:
    diff = np.diff(ms)
    iso = pd.to_datetime(ms, unit="ms", utc=True).strftime("%Y-%m-%d %H:%M:%S")
    prev_line = lambda i: i - 1 + chk.table.first  # noqa: E731 (row i compared with row i-1)
    after = np.concatenate([[False], diff == 0])
    chk.add(after, lambda i: f"duplicate timestamp {iso[i]} (same as {chk.table.unit} {prev_line(i)})")
    before = np.concatenate([[False], diff < 0])
    chk.add(before, lambda i: f"unsorted timestamps: {iso[i]} comes after {iso[i - 1]} "
                              f"({chk.table.unit} {prev_line(i)})")
    if step_ms:
        minutes = step_ms // 60_000
        spacing = np.concatenate([[False], (diff > 0) & (diff % step_ms != 0)])
        chk.add(spacing, lambda i: f"wrong interval spacing: {iso[i]} is {(ms[i] - ms[i - 1]) / 60_000:g} min after "
                                   f"{chk.table.unit} {prev_line(i)}, expected a multiple of {minutes} min")
        off_grid = ~spacing & (ms % step_ms != 0)
        chk.add(off_grid, lambda i: f"wrong interval spacing: {iso[i]} is not on the {minutes}-minute grid")


def read_candle_file(path: Path | str, *, interval: str, kind: str = "trade") -> CandleBatch:
    """Parse and validate a whole candle file; raises :class:`FileFormatError` on the first problems."""
    path = Path(path)
    step = interval_ms(interval)
    table = _Table(path)
    time_col = table.column(TIME_ALIASES, "timestamp")
    cols = {name: table.column((name,), name) for name in ("open", "high", "low", "close")}
    n = len(table.frame)
    if "volume" in table.frame.columns:
        cols["volume"] = table.frame["volume"]
    elif kind == "trade":
        table.column(("volume",), "volume")
    if n == 0:
        raise FileFormatError(path, [RowError(None, "the file has no rows")], unit=table.unit)
    chk = _Checker(table)
    ms = _times(chk, time_col)
    nums: dict[str, np.ndarray] = {}
    texts: dict[str, list[str]] = {}
    for name, col in cols.items():
        nums[name], texts[name] = _numeric(chk, col, name, sign="nonnegative" if name == "volume" else "positive",
                                            limit=PRICE_LIMIT)
    if "turnover" in table.frame.columns:
        _, texts["turnover"] = _numeric(chk, table.frame["turnover"], "turnover", sign="nonnegative",
                                        limit=TURNOVER_LIMIT)
    o, h, lo, c = (nums[k] for k in ("open", "high", "low", "close"))
    with np.errstate(invalid="ignore"):
        hl = h < lo
        chk.add(hl, lambda i: f"high {texts['high'][i]} is below low {texts['low'][i]}")
        top = ~hl & (h < np.maximum(o, c))
        chk.add(top, lambda i: f"high {texts['high'][i]} is below max(open, close) "
                               f"{max(o[i], c[i]):g}")
        bottom = ~hl & (lo > np.minimum(o, c))
        chk.add(bottom, lambda i: f"low {texts['low'][i]} is above min(open, close) {min(o[i], c[i]):g}")
    if ms is not None:
        _sequence(chk, ms, step)
    chk.raise_if_any()
    return CandleBatch(path=path, open_ms=ms, open=texts["open"], high=texts["high"], low=texts["low"],
                       close=texts["close"], volume=texts.get("volume"), turnover=texts.get("turnover"))


def read_funding_file(path: Path | str) -> FundingBatch:
    """Parse and validate a funding-rate file (timestamp, funding_rate; or Bybit's field names)."""
    path = Path(path)
    table = _Table(path)
    time_col = table.column(TIME_ALIASES, "timestamp")
    rate_col = table.column(RATE_ALIASES, "funding_rate")
    if len(table.frame) == 0:
        raise FileFormatError(path, [RowError(None, "the file has no rows")], unit=table.unit)
    chk = _Checker(table)
    ms = _times(chk, time_col)
    _, texts = _numeric(chk, rate_col, "funding_rate", sign="any", limit=1)  # negative: shorts pay
    if ms is not None:
        _sequence(chk, ms, None)
    chk.raise_if_any()
    return FundingBatch(path=path, time_ms=ms, rate=texts)
