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


GENERATED_START = 1_577_836_800  # 2020-01-01 00:00 UTC, epoch seconds


def generate_candles(n: int, *, symbol: str = "BTCUSDT", interval: str = "1m") -> None:
    """Insert ``n`` bars in one SQL statement (no Python row objects), on SQLite or PostgreSQL.

    Bar k opens at 2020-01-01 + k intervals; open = 1000 + k % 1000, high = open + 2, low = open - 1,
    close = open + 1, volume = k % 7.
    """
    from django.db import connection

    from trading.choices import TIMEFRAMES

    step = TIMEFRAMES[interval][0]
    # '%%' is a literal '%' for both backends' parameter styles
    values = ("1000 + (n %% 1000)", "1002 + (n %% 1000)", "999 + (n %% 1000)", "1001 + (n %% 1000)", "n %% 7", "0")
    columns = "symbol, interval, kind, open_time, open, high, low, close, volume, turnover"
    if connection.vendor == "postgresql":
        sql = (f"INSERT INTO trading_candle ({columns}) SELECT %s, %s, 'trade', to_timestamp({GENERATED_START} + n * "
               f"{step}), {', '.join(values)} FROM generate_series(0, %s) AS n")
    elif connection.vendor == "sqlite":
        # Django keeps SQLite datetimes as 'YYYY-MM-DD HH:MM:SS' UTC text, which is what datetime() writes.
        sql = (f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < %s) "
               f"INSERT INTO trading_candle ({columns}) SELECT %s, %s, 'trade', "
               f"datetime({GENERATED_START} + n * {step}, 'unixepoch'), {', '.join(values)} FROM seq")
    else:
        raise NotImplementedError(connection.vendor)
    params = [symbol, interval, n - 1] if connection.vendor == "postgresql" else [n - 1, symbol, interval]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def open_bar_start(step_ms: int, margin_ms: int = 60_000) -> int:
    """Start of the bar open now; first waits out the last ``margin_ms`` of a bar so it stays open meanwhile."""
    import time

    now = int(time.time() * 1000)
    if now % step_ms > step_ms - margin_ms:
        time.sleep((step_ms - now % step_ms) / 1000 + 1)
        now = int(time.time() * 1000)
    return now // step_ms * step_ms
