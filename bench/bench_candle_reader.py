"""Benchmark: ``read_window`` (one indexed query, prices cast to float in SQL, reversed in NumPy) against a naive
ORM read (model objects, Decimals converted in Python), same process, same store.

It builds its own throw-away database (SQLite file under var/, or ``test_quantdesk_bench`` on the server of
``DATABASE_URL``), fills it with generated 1m candles in one SQL statement, prints medians and the ratio, and
drops the database again. Usage::

    python bench/bench_candle_reader.py [--rows 1000000] [--bars 2000 20000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quantdesk.settings")


def naive_window(*, symbol: str, interval: str, bars: int):
    import pandas as pd

    from trading.models import Candle

    objs = list(Candle.objects.filter(symbol=symbol, interval=interval, kind="trade").order_by("-open_time")[:bars])
    objs.reverse()
    index = pd.DatetimeIndex([c.open_time for c in objs], name="open_time")
    return pd.DataFrame({name: [float(getattr(c, name)) for c in objs]
                         for name in ("open", "high", "low", "close", "volume")}, index=index)


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bars", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    import pandas as pd
    from django.conf import settings

    settings.DEBUG = False  # no query log: time the reads, not Django's debug cursor
    from django.db import connection

    from quantdesk.env import VAR_DIR
    from tests.marketdata.helpers import generate_candles
    from trading.marketdata.reader import read_window

    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = ("test_quantdesk_bench" if connection.vendor == "postgresql"
                                         else str(VAR_DIR / "bench_candle_reader.sqlite3"))
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        t0 = time.perf_counter()
        generate_candles(args.rows, interval="1m")
        print(f"store: {args.rows:,} generated 1m candles on {connection.vendor} ({time.perf_counter() - t0:.1f} s to "
              f"insert); median of {args.repeat} reads each")
        for bars in args.bars:
            fast = read_window(symbol="BTCUSDT", interval="1m", bars=bars)
            slow = naive_window(symbol="BTCUSDT", interval="1m", bars=bars)
            pd.testing.assert_frame_equal(fast, slow, check_freq=False)  # same answer before timing it
            t_fast = median_ms(lambda b=bars: read_window(symbol="BTCUSDT", interval="1m", bars=b), args.repeat)
            t_slow = median_ms(lambda b=bars: naive_window(symbol="BTCUSDT", interval="1m", bars=b), args.repeat)
            print(f"{bars:>7,} bars: read_window {t_fast:8.2f} ms | naive ORM objects {t_slow:8.2f} ms | "
                  f"naive / read_window = {t_slow / t_fast:.1f}x")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
