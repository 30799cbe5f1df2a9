"""Builders of small candle files for the market-data tests (written into tmp_path, never into the repo)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    """A candle/funding CSV exactly as given (gzip when the name ends in .gz); the header is line 1."""
    text = "\n".join([header, *rows]) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def bar_rows(n: int, *, start: str = "2025-03-01T00:00:00Z", minutes: int = 5, base: float = 100.0) -> list[str]:
    """``n`` valid bars: open = base + i, close = open + 0.5, high = close + 1, low = open - 1, volume = i + 1."""
    t0 = pd.Timestamp(start)
    rows = []
    for i in range(n):
        o = base + i
        t = (t0 + pd.Timedelta(minutes=minutes * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(f"{t},{o},{o + 1.5},{o - 1},{o + 0.5},{i + 1}")
    return rows


HEADER = "timestamp,open,high,low,close,volume"
