"""Locate and read the real Bybit candles kept beside the project in ``../shared/data`` (never copied here).

Tests call these helpers and skip with a clear message when the data is absent (a fresh clone elsewhere).
Frames: a UTC DatetimeIndex of bar open times, float64 columns in lower case.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """``$QUANTDESK_SHARED_DATA`` if set, else ``<repo>/../shared/data``."""
    env = os.environ.get("QUANTDESK_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def bybit_file(name: str) -> Path:
    """Path of one file under ``shared/data/bybit``; skips the calling test when it is missing."""
    path = shared_data_dir() / "bybit" / name
    if not path.exists():
        pytest.skip(f"real market data not found at {path} (set QUANTDESK_SHARED_DATA to ../shared/data)")
    return path


def _read(name: str, nrows: int | None) -> pd.DataFrame:
    frame = pd.read_csv(bybit_file(name), nrows=nrows)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True), name="open_time")
    return frame.astype("float64")


def load_candles(symbol: str = "BTCUSDT", nrows: int | None = None) -> pd.DataFrame:
    """5-minute OHLCV candles: columns open, high, low, close, volume."""
    return _read(f"{symbol}_5m.csv.gz", nrows)


def load_mark(symbol: str = "BTCUSDT", nrows: int | None = None) -> pd.DataFrame:
    """1-hour mark-price candles: columns open, high, low, close."""
    return _read(f"{symbol}_mark_1h.csv.gz", nrows)


def load_funding(symbol: str = "BTCUSDT") -> pd.Series:
    """Funding rate per 8 h (fraction), indexed by funding time."""
    return _read(f"{symbol}_funding_8h.csv.gz", None)["funding_rate"]
