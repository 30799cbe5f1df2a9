"""Import of candle and funding files: real files with known counts, idempotence, layouts, and one broken
file per rejection rule (line number, reason, untouched table)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.marketdata.helpers import HEADER, bar_rows, write_csv
from tests.shared_data import bybit_file, load_candles, load_funding, load_mark
from trading.marketdata.files import FileFormatError
from trading.marketdata.importer import import_candles, import_funding
from trading.marketdata.reader import read_funding, read_range
from trading.models import Candle, FundingRate

pytestmark = pytest.mark.django_db


@pytest.mark.realdata
def test_real_5m_file_imports_whole_and_a_second_import_adds_nothing():
    path = bybit_file("BTCUSDT_5m.csv.gz")
    first = import_candles(path=path, symbol="BTCUSDT", interval="5m")
    assert (first.rows, first.added, first.updated, first.unchanged) == (116_350, 116_350, 0, 0)
    assert first.gaps == []
    assert Candle.objects.filter(symbol="BTCUSDT", interval="5m", kind="trade").count() == 116_350
    second = import_candles(path=path, symbol="BTCUSDT", interval="5m")
    assert (second.added, second.updated, second.unchanged) == (0, 0, 116_350)
    assert Candle.objects.count() == 116_350
    # What was stored is what the independent reader of the same file gives, bar for bar.
    pd.testing.assert_frame_equal(read_range(symbol="BTCUSDT", interval="5m"), load_candles("BTCUSDT"),
                                  check_freq=False)


@pytest.mark.realdata
def test_real_funding_and_mark_files():
    funding = import_funding(path=bybit_file("BTCUSDT_funding_8h.csv.gz"), symbol="BTCUSDT")
    assert (funding.rows, funding.added) == (1_211, 1_211)
    assert FundingRate.objects.filter(symbol="BTCUSDT").count() == 1_211
    pd.testing.assert_series_equal(read_funding(symbol="BTCUSDT"), load_funding("BTCUSDT"),
                                   check_names=False, check_freq=False, check_index_type=False)
    mark = import_candles(path=bybit_file("BTCUSDT_mark_1h.csv.gz"), symbol="BTCUSDT", interval="1h", kind="mark")
    assert (mark.rows, mark.added, mark.gaps) == (9_695, 9_695, [])
    stored = read_range(symbol="BTCUSDT", interval="1h", kind="mark")
    assert (stored["volume"] == 0).all()  # mark-price klines carry no volume
    pd.testing.assert_frame_equal(stored[["open", "high", "low", "close"]], load_mark("BTCUSDT"), check_freq=False)
    assert import_funding(path=bybit_file("BTCUSDT_funding_8h.csv.gz"), symbol="BTCUSDT").added == 0


def test_changed_rows_are_updated_unchanged_skipped_and_gaps_reported(tmp_path):
    rows = bar_rows(6)
    import_candles(path=write_csv(tmp_path / "a.csv", HEADER, rows), symbol="BTCUSDT", interval="5m")
    changed = rows.copy()
    changed[2] = changed[2].replace(",102.5,", ",102.7,")  # close of bar 2: 102.5 -> 102.7 (high 103.5 still above)
    del changed[4]  # bar 4 missing in this file: not deleted from the store
    extra = bar_rows(10)[8:]  # bars 8 and 9: leaves bars 6 and 7 missing in the store
    report = import_candles(path=write_csv(tmp_path / "b.csv.gz", HEADER, changed + extra), symbol="BTCUSDT",
                            interval="5m")
    assert (report.rows, report.added, report.updated, report.unchanged) == (7, 2, 1, 4)
    assert Candle.objects.get(open_time="2025-03-01T00:10:00Z").close == Decimal("102.7")
    assert [(str(g.after), str(g.before), g.missing) for g in report.gaps] == [
        ("2025-03-01 00:25:00+00:00", "2025-03-01 00:40:00+00:00", 2)]
    assert "added 2, updated 1, unchanged 4" in report.summary() and "gaps in store: 1" in report.summary()


def test_bybit_kline_layout_with_and_without_header_and_parquet(tmp_path):
    # Bybit's order: startMs, open, high, low, close, volume, turnover. 1740787200000 = 2025-03-01 00:00 UTC.
    rows = ["1740787200000,100.0,101.5,99.0,100.5,2.5,250.75", "1740787500000,100.5,102.0,100.1,101.0,1,101"]
    write_csv(tmp_path / "k.csv", "startMs,open,high,low,close,volume,turnover", rows)
    report = import_candles(path=tmp_path / "k.csv", symbol="ethusdt", interval="5m")
    assert (report.symbol, report.added) == ("ETHUSDT", 2)
    bar = Candle.objects.get(symbol="ETHUSDT", open_time="2025-03-01T00:00:00Z")
    assert (bar.high, bar.volume, bar.turnover) == (Decimal("101.5"), Decimal("2.5"), Decimal("250.75"))
    (tmp_path / "raw.csv").write_text("\n".join(rows) + "\n")
    assert import_candles(path=tmp_path / "raw.csv", symbol="ETHUSDT", interval="5m").unchanged == 2
    frame = pd.DataFrame({"timestamp": pd.to_datetime([1740787200000, 1740787500000], unit="ms", utc=True),
                          "open": [100.0, 100.5], "high": [101.5, 102.0], "low": [99.0, 100.1],
                          "close": [100.5, 101.25], "volume": [2.5, 1.0]})
    frame.to_parquet(tmp_path / "k.parquet")
    report = import_candles(path=tmp_path / "k.parquet", symbol="ETHUSDT", interval="5m")
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)  # close 101.0 -> 101.25
    bar = Candle.objects.get(symbol="ETHUSDT", open_time="2025-03-01T00:05:00Z")
    # a file without a turnover column leaves the stored turnover alone
    assert (bar.close, bar.turnover) == (Decimal("101.25"), Decimal("101"))


def test_parquet_with_a_time_index_and_a_broken_row(tmp_path):
    frame = pd.DataFrame(
        {"open": [100.0, 101.0, 102.0], "high": [101.5, 102.5, 101.0], "low": [99.0, 100.0, 101.5],
         "close": [101.0, 102.0, 101.8], "volume": [1.0, 2.0, 3.0]},
        index=pd.DatetimeIndex(["2025-03-01 00:00", "2025-03-01 00:05", "2025-03-01 00:10"], tz="UTC",
                               name="open_time"))
    frame.to_parquet(tmp_path / "idx.parquet")
    with pytest.raises(FileFormatError) as err:
        import_candles(path=tmp_path / "idx.parquet", symbol="BTCUSDT", interval="5m")
    # rows count from 1 in a Parquet file: row 3 has high 101 < low 101.5
    assert (err.value.line, err.value.reason, err.value.unit) == (3, "high 101.0 is below low 101.5", "row")
    assert "row 3: high 101.0 is below low 101.5" in str(err.value) and Candle.objects.count() == 0
    frame.iloc[:2].to_parquet(tmp_path / "ok.parquet")
    assert import_candles(path=tmp_path / "ok.parquet", symbol="BTCUSDT", interval="5m").added == 2


# One broken file per rule: (rows after the header, expected line, expected words in the reason).
BROKEN = {
    "non-numeric price": (lambda r: r[:2] + [r[2].replace(",102.0,", ",10x2,")] + r[3:], 4,
                          "open '10x2' is not a number"),
    "high below low": (lambda r: r[:1] + ["2025-03-01T00:05:00Z,101,99.5,100,101,1"] + r[2:], 3,
                       "high 99.5 is below low 100"),
    "high below max(open, close)": (lambda r: r[:4] + ["2025-03-01T00:20:00Z,104,104.2,103,104.5,1"] + r[5:], 6,
                                    "high 104.2 is below max(open, close) 104.5"),
    "low above min(open, close)": (lambda r: r[:3] + ["2025-03-01T00:15:00Z,103,105,103.2,104,1"] + r[4:], 5,
                                   "low 103.2 is above min(open, close) 103"),
    "duplicate timestamp": (lambda r: r[:4] + [r[3]] + r[4:], 6,
                            "duplicate timestamp 2025-03-01 00:15:00 (same as line 5)"),
    "unsorted timestamps": (lambda r: [r[0], r[2], r[1]] + r[3:], 4,
                            "unsorted timestamps: 2025-03-01 00:05:00 comes after 2025-03-01 00:10:00 (line 3)"),
    "wrong interval spacing": (lambda r: r[:3] + ["2025-03-01T00:13:00Z,103,104.5,102,103.5,4"] + r[4:], 5,
                               "wrong interval spacing: 2025-03-01 00:13:00 is 3 min after line 4, "
                               "expected a multiple of 5 min"),
    "empty value": (lambda r: r[:5] + ["2025-03-01T00:25:00Z,105,106.5,,105.5,6"] + r[6:], 7, "low is empty"),
    "bad timestamp": (lambda r: ["2025-13-01T00:00:00Z,100,101.5,99,100.5,1"] + r[1:], 2,
                      "timestamp '2025-13-01T00:00:00Z' is not ISO-8601 UTC or epoch ms"),
    "extra field": (lambda r: r[:2] + [r[2] + ",7"] + r[3:], 4, "expected 6 fields, saw 7"),
}


@pytest.mark.parametrize("rule", list(BROKEN))
def test_a_broken_file_is_rejected_with_line_and_reason_and_writes_nothing(tmp_path, rule):
    import_candles(path=write_csv(tmp_path / "ok.csv", HEADER, bar_rows(3)), symbol="BTCUSDT", interval="5m")
    before = list(Candle.objects.order_by("open_time").values_list("open_time", "close"))
    mangle, line, reason = BROKEN[rule]
    # 12,000 rows (more than two write batches), the broken line near the top
    path = write_csv(tmp_path / "bad.csv", HEADER, mangle(bar_rows(12_000)))
    with pytest.raises(FileFormatError) as err:
        import_candles(path=path, symbol="BTCUSDT", interval="5m")
    assert (err.value.line, err.value.reason) == (line, reason)
    assert f"line {line}: {reason}" in str(err.value)
    assert list(Candle.objects.order_by("open_time").values_list("open_time", "close")) == before


def test_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path / "m.csv", "timestamp,open,low,close,volume", ["2025-03-01T00:00:00Z,1,1,1,1"])
    with pytest.raises(FileFormatError) as err:
        import_candles(path=path, symbol="BTCUSDT", interval="5m")
    assert err.value.line is None
    assert err.value.reason == "missing column 'high' (columns found: timestamp, open, low, close, volume)"
    assert Candle.objects.count() == 0


def test_a_failure_during_the_write_rolls_back_every_batch(tmp_path):
    """Validation passed, the database write fails after the first batch: the transaction leaves nothing."""
    from trading.marketdata.files import read_candle_file
    from trading.marketdata.store import upsert_candles

    batch = read_candle_file(write_csv(tmp_path / "ok.csv", HEADER, bar_rows(2_500)), interval="5m")
    calls = []

    def failing_progress(n):
        calls.append(n)
        if len(calls) == 3:  # 1: skipped rows, 2: first 1,000 written, 3: second batch written
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        upsert_candles(symbol="BTCUSDT", interval="5m", kind="trade", batch=batch, progress=failing_progress,
                       batch_size=1_000)
    assert calls == [0, 1_000, 1_000]
    assert Candle.objects.count() == 0


def test_funding_file_rules(tmp_path):
    good = write_csv(tmp_path / "f.csv", "timestamp,funding_rate",
                     ["2025-01-01T08:00:00Z,0.0001", "2025-01-01T16:00:00Z,-0.00002315"])
    assert import_funding(path=good, symbol="BTCUSDT").added == 2
    assert FundingRate.objects.get(funding_time="2025-01-01T16:00:00Z").rate == Decimal("-0.00002315")
    bad = write_csv(tmp_path / "g.csv", "fundingRateTimestamp,fundingRate",
                    ["1735718400000,0.0001", "1735747200000,abc", "1735747200000,0.0001"])
    with pytest.raises(FileFormatError) as err:
        import_funding(path=bad, symbol="BTCUSDT")
    assert [(e.line, e.reason) for e in err.value.errors] == [
        (3, "funding_rate 'abc' is not a number"),
        (4, "duplicate timestamp 2025-01-01 16:00:00 (same as line 3)"),
    ]
    assert FundingRate.objects.count() == 2


def test_command_prints_counts_and_rejects_with_the_line(tmp_path, capsys):
    path = write_csv(tmp_path / "c.csv", HEADER, bar_rows(4))
    call_command("import_candles", str(path), "--symbol", "BTCUSDT", "--interval", "5m", "--no-progress")
    out = capsys.readouterr().out
    assert "BTCUSDT 5m trade: 4 rows (2025-03-01 00:00 -> 2025-03-01 00:15); added 4, updated 0, unchanged 0" in out
    bad = write_csv(tmp_path / "d.csv", HEADER, bar_rows(4)[:2] + bar_rows(4)[1:])
    with pytest.raises(CommandError, match="rejected, nothing written: d.csv: line 4: duplicate timestamp"):
        call_command("import_candles", str(bad), "--symbol", "BTCUSDT", "--interval", "5m", "--no-progress")
    assert Candle.objects.count() == 4
