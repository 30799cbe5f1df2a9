"""The resampler: a hand-worked 1m -> 5m case, dropped incomplete buckets, and pandas' own resample of the real
5m/1h data as the independent reference."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.shared_data import load_candles, load_mark
from trading.marketdata.resample import resample_frame

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def minutes(n: int, start: str = "2025-03-01 00:00") -> pd.DataFrame:
    """Bar i: open 100 + i, high open + 3 (+10 on bar 6), low open - 2, close open + 1, volume i + 1."""
    index = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="open_time")
    o = [100.0 + i for i in range(n)]
    high = [x + 3 + (10 if i == 6 else 0) for i, x in enumerate(o)]
    return pd.DataFrame({"open": o, "high": high, "low": [x - 2 for x in o], "close": [x + 1 for x in o],
                         "volume": [i + 1.0 for i in range(n)]}, index=index)


def test_one_minute_to_five_minutes_by_hand():
    out = resample_frame(minutes(12), source="1m", target="5m")
    # 00:00 <- bars 0..4: open 100, high 104 + 3 = 107, low 98, close 105, volume 1+2+3+4+5 = 15
    # 00:05 <- bars 5..9: open 105, high bar 6: 106 + 13 = 119, low 103, close 110, volume 6+..+10 = 40
    # 00:10 <- bars 10, 11 only: incomplete, dropped
    expected = pd.DataFrame({"open": [100.0, 105.0], "high": [107.0, 119.0], "low": [98.0, 103.0],
                             "close": [105.0, 110.0], "volume": [15.0, 40.0]},
                            index=pd.DatetimeIndex(["2025-03-01 00:00", "2025-03-01 00:05"], tz="UTC",
                                                   name="open_time"))
    pd.testing.assert_frame_equal(out, expected, check_freq=False)


def test_a_bucket_with_a_missing_bar_is_dropped_not_filled():
    frame = minutes(15).drop(pd.Timestamp("2025-03-01 00:07", tz="UTC"))
    out = resample_frame(frame, source="1m", target="5m")
    assert list(out.index.strftime("%H:%M")) == ["00:00", "00:10"]
    # a first bucket that starts mid-way (data from 00:02) is incomplete too
    late = resample_frame(minutes(13, start="2025-03-01 00:02"), source="1m", target="5m")
    assert list(late.index.strftime("%H:%M")) == ["00:05", "00:10"]


def test_rules():
    with pytest.raises(ValueError, match="target: 3m is not a whole multiple"):
        resample_frame(minutes(5), source="5m", target="3m")
    with pytest.raises(ValueError, match="target: 6h is not a whole multiple"):
        resample_frame(minutes(5), source="4h", target="6h")
    with pytest.raises(ValueError, match="strictly increasing"):
        resample_frame(minutes(5).iloc[::-1], source="1m", target="5m")
    with pytest.raises(ValueError, match="not on the 5m grid"):
        resample_frame(minutes(5), source="5m", target="15m")
    assert resample_frame(minutes(0), source="1m", target="5m").empty


def reference(frame: pd.DataFrame, rule: str, per: int) -> pd.DataFrame:
    """pandas' resample (left-closed, left-labelled, epoch-aligned) keeping only buckets of ``per`` bars."""
    agg = {k: v for k, v in AGG.items() if k in frame.columns}
    out = frame.resample(rule, origin="epoch", label="left", closed="left").agg(agg)
    counts = frame["close"].resample(rule, origin="epoch", label="left", closed="left").count()
    return out[counts == per]


@pytest.mark.realdata
@pytest.mark.parametrize(("target", "rule", "per"), [("15m", "15min", 3), ("1h", "1h", 12), ("4h", "4h", 48),
                                                     ("1d", "24h", 288)])
def test_real_5m_against_pandas_resample(target, rule, per):
    frame = load_candles("BTCUSDT")
    out = resample_frame(frame, source="5m", target=target)
    expected = reference(frame, rule, per)
    pd.testing.assert_frame_equal(out, expected, check_freq=False)
    # the file ends 2026-02-08 23:45, so the day and the 20:00 4h bucket of that day are incomplete
    assert len(out) == {"15m": 38_783, "1h": 9_695, "4h": 2_423, "1d": 403}[target]


@pytest.mark.realdata
def test_the_10_october_crash_hour_spans_its_twelve_5m_bars():
    """Independent of pandas: the 1h bars built from 5m bars open where they should and span their 5m range."""
    frame = load_candles("BTCUSDT")
    hourly = resample_frame(frame, source="5m", target="1h")
    hour = hourly.loc["2025-10-10 21:00"]
    bars = frame.loc["2025-10-10 21:00":"2025-10-10 21:55"]
    assert (hour["open"], hour["close"]) == (bars["open"].iloc[0], bars["close"].iloc[-1])
    assert (hour["high"], hour["low"]) == (bars["high"].max(), bars["low"].min())


@pytest.mark.realdata
def test_real_mark_1h_to_4h_without_volume():
    frame = load_mark("BTCUSDT")
    out = resample_frame(frame, source="1h", target="4h")
    assert list(out.columns) == ["open", "high", "low", "close"]
    pd.testing.assert_frame_equal(out, reference(frame, "4h", 4), check_freq=False)
