"""The window reader (one indexed query, float64 frames like tests/shared_data) and the resampled reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.marketdata.helpers import GENERATED_START, generate_candles
from tests.shared_data import load_candles
from trading.marketdata.reader import read_range, read_resampled, read_window
from trading.marketdata.resample import resample_frame
from trading.models import Candle

pytestmark = pytest.mark.django_db


def store_frame(frame: pd.DataFrame, *, symbol: str = "BTCUSDT", interval: str = "5m") -> None:
    Candle.objects.bulk_create([
        Candle(symbol=symbol, interval=interval, open_time=t.to_pydatetime(), open=Decimal(repr(r.open)),
               high=Decimal(repr(r.high)), low=Decimal(repr(r.low)), close=Decimal(repr(r.close)),
               volume=Decimal(repr(r.volume)))
        for t, r in zip(frame.index, frame.itertuples(), strict=True)], batch_size=2000)


@pytest.fixture
def real_3000():
    frame = load_candles("BTCUSDT", nrows=3000)
    store_frame(frame)
    store_frame(load_candles("ETHUSDT", nrows=3000), symbol="ETHUSDT")  # another series in the same table
    return frame


def test_window_is_the_tail_in_the_shared_data_layout(real_3000, django_assert_num_queries):
    with django_assert_num_queries(1):
        window = read_window(symbol="BTCUSDT", interval="5m", bars=2000)
    pd.testing.assert_frame_equal(window, real_3000.iloc[-2000:], check_freq=False)
    assert list(window.columns) == ["open", "high", "low", "close", "volume"]
    assert str(window.index.tz) == "UTC" and window.index.name == "open_time"
    assert all(dtype == np.float64 for dtype in window.dtypes)


def test_window_ending_at_a_time(real_3000, django_assert_num_queries):
    end = real_3000.index[1500].to_pydatetime()
    with django_assert_num_queries(1):
        window = read_window(symbol="BTCUSDT", interval="5m", bars=100, end=end + timedelta(minutes=2))
    pd.testing.assert_frame_equal(window, real_3000.iloc[1401:1501], check_freq=False)  # the bar open at end is in
    everything = read_window(symbol="BTCUSDT", interval="5m", bars=10_000)
    assert len(everything) == 3000
    empty = read_window(symbol="BTCUSDT", interval="1h", bars=10)
    assert empty.empty and list(empty.columns) == list(window.columns) and str(empty.index.tz) == "UTC"
    with pytest.raises(ValueError, match="interval: '7m'"):
        read_window(symbol="BTCUSDT", interval="7m", bars=10)
    with pytest.raises(ValueError, match="bars: 0 must be > 0"):
        read_window(symbol="BTCUSDT", interval="5m", bars=0)


def test_range_and_resampled_window(real_3000, django_assert_num_queries):
    start, end = real_3000.index[100].to_pydatetime(), real_3000.index[199].to_pydatetime()
    pd.testing.assert_frame_equal(read_range(symbol="BTCUSDT", interval="5m", start=start, end=end),
                                  real_3000.iloc[100:200], check_freq=False)
    with django_assert_num_queries(1):
        hourly = read_resampled(symbol="BTCUSDT", source="5m", target="1h", bars=24)
    # 3,000 bars from 2025-01-01 00:00 end at 2025-01-11 09:55: the 09:00 hour is complete (12 bars)
    assert hourly.index[-1] == pd.Timestamp("2025-01-11 09:00", tz="UTC") and len(hourly) == 24
    pd.testing.assert_frame_equal(hourly, resample_frame(real_3000, source="5m", target="1h").iloc[-24:],
                                  check_freq=False)


@pytest.mark.slow
def test_a_2000_bar_window_from_a_million_candles_is_one_indexed_query(django_assert_num_queries):
    generate_candles(1_000_000)
    assert Candle.objects.count() == 1_000_000
    with django_assert_num_queries(1), CaptureQueriesContext(connection) as captured:
        window = read_window(symbol="BTCUSDT", interval="1m", bars=2000)
    t0 = datetime.fromtimestamp(GENERATED_START, tz=UTC)
    assert len(window) == 2000
    assert window.index[0] == t0 + timedelta(minutes=998_000) and window.index[-1] == t0 + timedelta(minutes=999_999)
    # bar k: open 1000 + k % 1000, close open + 1
    assert (window["open"].iloc[0], window["close"].iloc[-1], window["volume"].iloc[-1]) == (1000.0, 2000.0, 999_999 % 7)
    assert window.index.is_monotonic_increasing
    with django_assert_num_queries(1):
        middle = read_window(symbol="BTCUSDT", interval="1m", bars=2000, end=t0 + timedelta(minutes=500_000))
    assert middle.index[-1] == t0 + timedelta(minutes=500_000) and middle["close"].iloc[-1] == 1001.0
    # The plan walks the unique index backwards: no sort of the million rows.
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + captured.captured_queries[0]["sql"])
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            # SQLite names the unique constraint's index sqlite_autoindex_trading_candle_N
            assert "SEARCH trading_candle USING INDEX" in plan and "TEMP B-TREE" not in plan
        else:
            cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"])
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "Index Scan Backward using candle_unique_bar" in plan and "Sort" not in plan


def test_mark_layers_are_every_stored_mark_interval_finest_first():
    from trading.marketdata.reader import read_mark_layers

    t0 = datetime(2025, 3, 1, tzinfo=UTC)

    def mark(interval, step, n, low):
        Candle.objects.bulk_create([Candle(symbol="BTCUSDT", interval=interval, kind="mark",
                                           open_time=t0 + i * step, open=Decimal(100), high=Decimal(101),
                                           low=Decimal(low), close=Decimal(100)) for i in range(n)])

    mark("1h", timedelta(hours=1), 3, 90)
    mark("5m", timedelta(minutes=5), 24, 95)
    generate_candles(5, interval="5m")  # trade bars are not mark layers
    layers = read_mark_layers(symbol="BTCUSDT", start=t0, end=t0 + timedelta(hours=1))
    assert [len(f) for f in layers] == [13, 2]  # 5m bars 00:00..01:00 inclusive, then the 1h bars 00:00 and 01:00
    assert list(layers[0].columns) == ["open", "high", "low", "close"]
    assert layers[0]["low"].iloc[0] == 95.0 and layers[1]["low"].iloc[0] == 90.0
    assert read_mark_layers(symbol="ETHUSDT") == []
