"""Backtests and sweeps load candles through the columnar reader: the same frame the model-instance path gave
(the reference below is that old path), funding the same values, None when nothing is stored."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tests.desk_fixtures import T0, seed_candles, synthetic_candles
from trading.models import Candle, FundingRate
from trading.services.backtests import load_candle_frame, load_funding


def _reference(symbol, interval, start, end) -> pd.DataFrame:
    cols = ["open", "high", "low", "close", "volume"]
    rows = list(Candle.objects.filter(symbol=symbol, interval=interval, kind="trade", open_time__gte=start,
                                      open_time__lte=end).order_by("open_time").values_list("open_time", *cols))
    index = pd.DatetimeIndex([r[0] for r in rows], name="open_time").tz_convert("UTC")
    return pd.DataFrame(np.array([[float(v) for v in r[1:]] for r in rows]), index=index, columns=cols)


@pytest.mark.django_db
def test_service_load_equals_the_model_path():
    seed_candles(600)
    start, end = T0 + timedelta(minutes=5 * 100), T0 + timedelta(minutes=5 * 399)
    frame = load_candle_frame(symbol="BTCUSDT", interval="5m", start=start, end=end)
    assert len(frame) == 300 and frame.index[0] == start and frame.index[-1] == end
    ref = _reference("BTCUSDT", "5m", start, end)
    assert (frame.index == ref.index).all() and str(frame.index.tz) == "UTC"
    np.testing.assert_array_equal(frame.to_numpy(), ref.to_numpy())
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert load_candle_frame(symbol="BTCUSDT", interval="1h", start=start, end=end).empty


@pytest.mark.django_db
def test_funding_loaded_as_floats_or_none():
    assert load_funding(symbol="BTCUSDT", start=T0, end=T0 + timedelta(days=1)) is None
    FundingRate.objects.bulk_create([FundingRate(symbol="BTCUSDT", funding_time=T0 + timedelta(hours=8 * i),
                                                 rate=Decimal("0.0001") * (i + 1)) for i in range(3)])
    series = load_funding(symbol="BTCUSDT", start=T0, end=T0 + timedelta(hours=8))
    assert series.tolist() == [0.0001, 0.0002] and series.index[1] == T0 + timedelta(hours=8)


def _batch(times, closes):
    """A validated candle batch (what the importer and the feed hand to upsert_candles)."""
    from trading.marketdata.files import CandleBatch

    ms = np.array([int(t.timestamp() * 1000) for t in times], dtype=np.int64)
    text = [str(c) for c in closes]
    return CandleBatch(open_ms=ms, open=text, high=[str(c + 10) for c in closes], low=[str(c - 10) for c in closes],
                       close=text, volume=["1"] * len(times), turnover=None)


@pytest.fixture
def candle_cache(settings, tmp_path):
    settings.QUANTDESK_CANDLE_CACHE_DIR = str(tmp_path / "cache")
    return tmp_path / "cache"


@pytest.mark.django_db
def test_cached_range_equals_the_model_path_and_is_read_from_the_file(candle_cache, django_assert_num_queries):
    from trading.marketdata.reader import read_range

    seed_candles(600)
    start, end = T0 + timedelta(minutes=5 * 100), T0 + timedelta(minutes=5 * 399)
    first = read_range(symbol="BTCUSDT", interval="5m", start=start, end=end)
    assert len(list(candle_cache.rglob("BTCUSDT_5m.*.npy"))) == 1
    with django_assert_num_queries(1):  # the freshness check only: the rows come from the file
        again = read_range(symbol="BTCUSDT", interval="5m", start=start, end=end)
    ref = _reference("BTCUSDT", "5m", start, end)
    for frame in (first, again):
        assert (frame.index == ref.index).all() and str(frame.index.tz) == "UTC"
        np.testing.assert_array_equal(frame.to_numpy(), ref.to_numpy())
    whole = read_range(symbol="BTCUSDT", interval="5m")
    assert len(whole) == 600 and whole.index[0] == T0
    assert read_range(symbol="BTCUSDT", interval="1h").empty


@pytest.mark.django_db
def test_cache_sees_an_imported_candle_and_an_updated_one(candle_cache, django_capture_on_commit_callbacks):
    from trading.marketdata.reader import read_range
    from trading.marketdata.store import upsert_candles

    seed_candles(300)
    before = read_range(symbol="BTCUSDT", interval="5m")
    new_bar = T0 + timedelta(minutes=5 * 300)
    with django_capture_on_commit_callbacks(execute=True):  # the feed's closed bar, through the one write path
        upsert_candles(symbol="BTCUSDT", interval="5m", kind="trade", batch=_batch([new_bar], [91234.5]))
    after = read_range(symbol="BTCUSDT", interval="5m")
    assert len(after) == len(before) + 1 and after.index[-1] == new_bar and after["close"].iloc[-1] == 91234.5
    # a re-imported bar with a corrected close: same row count and times, so only the generation stamp tells
    last = T0 + timedelta(minutes=5 * 299)
    with django_capture_on_commit_callbacks(execute=True):
        upsert_candles(symbol="BTCUSDT", interval="5m", kind="trade", batch=_batch([last], [88888.8]))
    fixed = read_range(symbol="BTCUSDT", interval="5m")
    assert len(fixed) == len(after) and fixed.loc[last, "close"] == 88888.8
    np.testing.assert_array_equal(fixed.to_numpy(), _reference("BTCUSDT", "5m", T0, new_bar).to_numpy())


@pytest.mark.django_db
def test_cache_sees_rows_written_outside_the_importer(candle_cache):
    from trading.marketdata.reader import read_range

    seed_candles(200)
    assert len(read_range(symbol="BTCUSDT", interval="5m")) == 200
    Candle.objects.filter(open_time__gte=T0 + timedelta(minutes=5 * 150)).delete()
    assert len(read_range(symbol="BTCUSDT", interval="5m")) == 150
    Candle.objects.bulk_create(synthetic_candles(250)[150:])  # no bump: the row count and last time differ
    frame = read_range(symbol="BTCUSDT", interval="5m")
    assert len(frame) == 250
    np.testing.assert_array_equal(frame.to_numpy(), _reference("BTCUSDT", "5m", T0, frame.index[-1]).to_numpy())


@pytest.mark.django_db
def test_cache_sees_a_close_changed_outside_the_importer(candle_cache):
    from trading.marketdata.reader import read_range

    seed_candles(200)
    assert read_range(symbol="BTCUSDT", interval="5m")["close"].iloc[50] != 12345.0
    Candle.objects.filter(open_time=T0 + timedelta(minutes=5 * 50)).update(close=Decimal("12345"))  # no bump
    assert read_range(symbol="BTCUSDT", interval="5m")["close"].iloc[50] == 12345.0  # the sum of closes moved


class _Counting:
    """read_rows for columnar.series_rows that counts the rows it reads from the table."""

    def __init__(self):
        from trading.marketdata.reader import _rows

        self.read, self._rows = 0, _rows

    def __call__(self, qs):
        rows = self._rows(qs, copy=True)
        self.read += len(rows)
        return rows


def _series(counting) -> np.ndarray:
    from trading.marketdata.columnar import series_rows

    return series_rows(symbol="BTCUSDT", interval="5m", read_rows=counting)


def _assert_equals_table(rows: np.ndarray) -> None:
    ref = _reference("BTCUSDT", "5m", T0, T0 + timedelta(days=3650))
    assert len(rows) == len(ref)
    np.testing.assert_array_equal(rows[:, 0], [t.timestamp() for t in ref.index])
    np.testing.assert_array_equal(rows[:, 1:], ref.to_numpy())


def _upsert(capture, times, closes, **cols):
    from trading.marketdata.store import upsert_candles

    batch = _batch(times, closes)
    for name, texts in cols.items():
        setattr(batch, name, texts)
    with capture(execute=True):  # on_commit runs the bump, as after the importer's or the feed's commit
        upsert_candles(symbol="BTCUSDT", interval="5m", kind="trade", batch=batch)


@pytest.mark.django_db
def test_the_feeds_new_bar_extends_the_file_reading_one_row(candle_cache, django_capture_on_commit_callbacks):
    seed_candles(300)
    first = _Counting()
    _series(first)
    assert first.read == 300  # built whole
    _upsert(django_capture_on_commit_callbacks, [T0 + timedelta(minutes=5 * 300)], [91234.5])
    after = _Counting()
    rows = _series(after)
    assert after.read == 1  # only the new bar came from the table
    _assert_equals_table(rows)
    again = _Counting()
    np.testing.assert_array_equal(_series(again), rows)
    assert again.read == 0  # and the extended file is the current one


@pytest.mark.django_db
def test_an_old_bar_corrected_is_read_again_from_its_time(candle_cache, django_capture_on_commit_callbacks):
    seed_candles(300)
    _series(_Counting())
    old = T0 + timedelta(minutes=5 * 100)
    close = float(Candle.objects.get(symbol="BTCUSDT", interval="5m", open_time=old).close)
    # a re-imported bar whose HIGH was wrong (the close is the same: only the write's own note says where)
    _upsert(django_capture_on_commit_callbacks, [old], [close], high=[str(close + 500)])
    _upsert(django_capture_on_commit_callbacks, [T0 + timedelta(minutes=5 * 300)], [91234.5])
    counting = _Counting()
    rows = _series(counting)
    assert counting.read == 301 - 100  # from the earliest time written since the file was built
    assert rows[100, 2] == close + 500
    _assert_equals_table(rows)


@pytest.mark.django_db
def test_an_unannounced_change_before_the_write_reads_the_series_whole(candle_cache,
                                                                      django_capture_on_commit_callbacks):
    seed_candles(300)
    _series(_Counting())
    Candle.objects.filter(open_time=T0 + timedelta(minutes=5 * 50)).update(close=Decimal("12345"))  # no bump
    _upsert(django_capture_on_commit_callbacks, [T0 + timedelta(minutes=5 * 300)], [91234.5])
    counting = _Counting()
    rows = _series(counting)
    assert counting.read == 1 + 301  # the extension did not match the table's sum of closes: read whole
    assert rows[50, 4] == 12345.0
    _assert_equals_table(rows)


@pytest.mark.django_db
def test_a_file_older_than_the_remembered_writes_is_rebuilt(candle_cache, django_capture_on_commit_callbacks,
                                                            monkeypatch):
    from trading.marketdata import columnar

    monkeypatch.setattr(columnar, "BUMPS_KEPT", 2)
    seed_candles(300)
    _series(_Counting())
    for i in range(3):  # three writes: the one after the file's generation is forgotten
        _upsert(django_capture_on_commit_callbacks, [T0 + timedelta(minutes=5 * (300 + i))], [91000.0 + i])
    counting = _Counting()
    rows = _series(counting)
    assert counting.read == 303
    _assert_equals_table(rows)
