"""Benchmark: the chart API's answer for a year of 5-minute bars (``chart_candles``: read, resample, downsample
to the point budget) against the floor of just reading those bars (``read_range``), same process, same store;
and what the page receives (points, JSON bytes) against what the paginated ``/api/candles/`` list would have to
send for the same year (every bar, 5,000 per page).

It builds its own throw-away database (SQLite file under var/, or ``test_quantdesk_bench`` on the server of
``DATABASE_URL``), fills it with generated 5m candles in one SQL statement, prints medians and ratios, and drops
the database again. Usage::

    python bench/bench_chart.py [--bars 105120] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quantdesk.settings")


def paired(fn, ref, repeat: int) -> tuple[float, float, float]:
    """Medians of ``fn`` and ``ref`` timed alternately (the machine's load hits both alike) and the median of
    the per-pair ratios fn / ref."""
    a, b, r = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        ref()
        t2 = time.perf_counter()
        a.append(t1 - t0)
        b.append(t2 - t1)
        r.append((t1 - t0) / (t2 - t1))
    return statistics.median(a) * 1000, statistics.median(b) * 1000, statistics.median(r)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=365 * 288)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    from django.db import connection

    from quantdesk.env import VAR_DIR
    from tests.marketdata.helpers import generate_candles
    from trading.marketdata import clock
    from trading.marketdata.reader import read_range
    from trading.services.chart_data import chart_candles

    clock.replay_time_ms = lambda client=None: None  # the wall clock: no Redis needed for this bench
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = ("test_quantdesk_bench" if connection.vendor == "postgresql"
                                         else str(VAR_DIR / "bench_chart.sqlite3"))
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        generate_candles(args.bars, interval="5m")
        from trading.models import Candle

        qs = Candle.objects.filter(symbol="BTCUSDT", interval="5m").order_by("open_time")
        first, last = qs.values_list("open_time", flat=True).first(), qs.reverse().values_list("open_time", flat=True).first()
        print(f"store: {args.bars:,} generated 5m candles on {connection.vendor}, {first:%Y-%m-%d} -> {last:%Y-%m-%d}; "
              f"median of {args.repeat}")
        def floor():
            return read_range(symbol="BTCUSDT", interval="5m", start=first, end=last)

        print("ratios: each chart answer against read_range of the same year (the floor), timed alternately")
        for interval in ("5m", "1h", "1d"):
            kw = dict(symbol="BTCUSDT", interval=interval, start=first, end=last, max_points=3000, desk_clock=False)
            body = chart_candles(**kw)
            size = len(json.dumps(body))
            t, t_floor, ratio = paired(lambda kw=kw: chart_candles(**kw), floor, args.repeat)
            print(f"chart {interval:>3} whole year: {t:8.1f} ms vs floor {t_floor:8.1f} ms = {ratio:4.2f}x; "
                  f"{len(body['t']):,} points at {body['step']} ({body['bars']:,} {interval} bars), {size / 1024:,.0f} KiB JSON")
        zoom = dict(symbol="BTCUSDT", interval="5m", start=last.replace(hour=0, minute=0), end=last, desk_clock=False)
        t, t_floor, ratio = paired(lambda: chart_candles(**zoom), floor, args.repeat)
        print(f"chart  5m zoom to the last day: {t:8.1f} ms vs the whole-year floor {t_floor:8.1f} ms = {ratio:4.2f}x")
        rows = list(qs.values("open_time", "open", "high", "low", "close", "volume")[:5000])
        page = len(json.dumps([{k: str(v) for k, v in r.items()} for r in rows]))
        pages = -(-args.bars // 5000)
        print(f"paginated /api/candles/ for the same year: {pages} pages, about {pages * page / 1024:,.0f} KiB of rows "
              "(the old chart asked for one page: the first 5,000 bars, 17 days)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
