"""Read the shared Bybit data layout (``<dir>/<SYMBOL>_5m.csv.gz``, ``_mark_1h``, ``_funding_8h``) into the
frames the engine takes, for research runs outside the desk's database (a notebook, the command's
``--data-dir``, the benchmark). Frames: UTC DatetimeIndex of bar open times, float64 lower-case columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _utc(value) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _read(path: Path, start=None, end=None) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"data file {path} not found")
    frame = pd.read_csv(path)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True), name="open_time")
    frame = frame.astype("float64").sort_index()
    if start is not None:
        frame = frame[frame.index >= _utc(start)]
    if end is not None:
        frame = frame[frame.index <= _utc(end)]
    return frame


def load_shared(directory: str | Path, symbol: str, *, start=None, end=None, timeframe: str = "5m"
                ) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.Series | None]:
    """(candles, 1h mark candles or None, funding rates or None) of ``symbol`` between ``start`` and ``end``."""
    d = Path(directory)
    candles = _read(d / f"{symbol}_{timeframe}.csv.gz", start, end)
    mark_path, funding_path = d / f"{symbol}_mark_1h.csv.gz", d / f"{symbol}_funding_8h.csv.gz"
    mark = _read(mark_path, start, end)[["open", "high", "low", "close"]] if mark_path.exists() else None
    funding = _read(funding_path, start, end)["funding_rate"] if funding_path.exists() else None
    return candles, mark, funding
