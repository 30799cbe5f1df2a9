"""Benchmark: ``read_window`` (one indexed query, prices cast to float in SQL, reversed in NumPy) against a naive
ORM read (model objects, Decimals converted in Python), same process, same store.

It builds its own throw-away database (SQLite file under var/, or ``test_quantdesk_bench`` on the server of
``DATABASE_URL``), fills it with generated 1m candles in one SQL statement, prints medians and the ratio, and
drops the database again. Usage::

    python bench/bench_candle_reader.py [--rows 1000000] [--bars 2000 20000] [--repeat 20] [--range-bars 116000]

It also loads a ``--range-bars`` range (a year of 5-minute bars is about 105k-116k) the way backtests and sweeps
do: ``trading.services.backtests.load_candle_frame`` (now the columnar ``read_range``) against the service's
previous path (``values_list`` rows, Decimals converted per value), same process; goal >= 10x.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench_timing import median_ms  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quantdesk.settings")


def naive_window(*, symbol: str, interval: str, bars: int):
    import pandas as pd

    from trading.models import Candle

    objs = list(Candle.objects.filter(symbol=symbol, interval=interval, kind="trade").order_by("-open_time")[:bars])
    objs.reverse()
    index = pd.DatetimeIndex([c.open_time for c in objs], name="open_time")
    return pd.DataFrame({name: [float(getattr(c, name)) for c in objs]
                         for name in ("open", "high", "low", "close", "volume")}, index=index)


def previous_service_load(*, symbol: str, interval: str, start, end):
    """What ``load_candle_frame`` did before the columnar path: values_list rows, a float() per Decimal."""
    import numpy as np
    import pandas as pd

    from trading.models import Candle

    cols = ["open", "high", "low", "close", "volume"]
    rows = list(Candle.objects.filter(symbol=symbol, interval=interval, kind="trade", open_time__gte=start,
                                      open_time__lte=end).order_by("open_time").values_list("open_time", *cols))
    times = pd.DatetimeIndex([r[0] for r in rows], name="open_time")
    times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    return pd.DataFrame(np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64), index=times,
                        columns=cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bars", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--range-bars", type=int, default=116_000)
    parser.add_argument("--range-repeat", type=int, default=3)
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
        if args.range_bars:
            from trading.models import Candle
            from trading.services.backtests import load_candle_frame

            times = list(Candle.objects.filter(symbol="BTCUSDT", interval="1m").order_by("open_time")
                         .values_list("open_time", flat=True)[:args.range_bars])
            kw = dict(symbol="BTCUSDT", interval="1m", start=times[0], end=times[-1])
            new, old = load_candle_frame(**kw), previous_service_load(**kw)
            assert len(new) == len(old) == len(times) and (new.index == old.index).all()
            pd.testing.assert_frame_equal(new.reset_index(drop=True), old.reset_index(drop=True))
            t_new = median_ms(lambda: load_candle_frame(**kw), args.range_repeat)
            t_old = median_ms(lambda: previous_service_load(**kw), args.range_repeat)
            print(f"{len(times):>7,} bar range (backtest/sweep load): load_candle_frame {t_new:8.2f} ms | previous "
                  f"service path {t_old:8.2f} ms | previous / new = {t_old / t_new:.1f}x (median of "
                  f"{args.range_repeat}; goal >= 10x)")
            with tempfile.TemporaryDirectory() as tmp:  # the columnar file cache off, then on (a fresh directory)
                settings.QUANTDESK_CANDLE_CACHE_DIR = None
                t_cursor = median_ms(lambda: load_candle_frame(**kw), args.range_repeat)
                settings.QUANTDESK_CANDLE_CACHE_DIR = tmp
                t0 = time.perf_counter()
                built = load_candle_frame(**kw)
                t_build = (time.perf_counter() - t0) * 1000
                pd.testing.assert_frame_equal(built, new)
                t_cached = median_ms(lambda: load_candle_frame(**kw), args.range_repeat)
                print(f"    columnar cache: first read (builds the file) {t_build:8.2f} ms | cached {t_cached:8.2f} ms "
                      f"| cursor path without the cache {t_cursor:8.2f} ms | previous / cached = "
                      f"{t_old / t_cached:.1f}x | cursor / cached = {t_cursor / t_cached:.1f}x")
                # the feed's next closed bar through the one write path (autocommit: its on_commit bump runs at once)
                import numpy as np

                from trading.marketdata.files import CandleBatch
                from trading.marketdata.store import upsert_candles

                last_t, last_c = (Candle.objects.filter(symbol="BTCUSDT", interval="1m").order_by("-open_time")
                                  .values_list("open_time", "close").first())
                c = str(last_c)
                upsert_candles(symbol="BTCUSDT", interval="1m", kind="trade", batch=CandleBatch(
                    open_ms=np.array([int(last_t.timestamp() * 1000) + 60_000]), open=[c], high=[c], low=[c],
                    close=[c], volume=["1"], turnover=None))
                t0 = time.perf_counter()
                after = load_candle_frame(**kw)
                t_next = (time.perf_counter() - t0) * 1000
                pd.testing.assert_frame_equal(after, new)
                print(f"    after the feed's next bar: the next read {t_next:8.2f} ms (the file extended by the one "
                      f"new row; built whole it took {t_build:.2f} ms: {t_build / t_next:.1f}x)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
