"""Bad files refused cleanly (issue 16): ``import_candles`` with a price the 10-decimal store would round to
0 (or far off), a corrupt or truncated ``.gz``, a binary file, a corrupt Parquet, and a turnover of 1e21
(which fits its 30-digit column and must be stored exactly, not crash the import halfway); ``sizing_config
import`` with ``.nan``, lists where maps belong, deep nesting, a binary file, ``max_open_positions: true``
and leverage bands with a hole. Each refusal names the line or field and the limit, and writes nothing."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.marketdata.helpers import HEADER, bar_rows, write_csv
from trading.models import Candle, DeskSettings
from trading.services.sizing_config import export_sizing_config, import_sizing_config

pytestmark = pytest.mark.django_db

SHIPPED = Path(settings.QUANTDESK_SIZING_CONFIG)


def import_candles(path: Path):
    call_command("import_candles", str(path), "--symbol", "PEPEUSDT", "--interval", "5m", "--no-progress")


def refused(path: Path, *words: str) -> str:
    with pytest.raises(CommandError) as info:
        import_candles(path)
    text = str(info.value)
    for word in words:
        assert word in text, text
    assert Candle.objects.count() == 0
    return text


# --- import_candles ---------------------------------------------------------------------------------------

def test_a_price_that_would_be_stored_as_0_is_refused_with_its_line(tmp_path):
    rows = [f"2025-03-01T00:0{5 * i}:00Z,0.000000000012,0.000000000013,0.000000000011,0.000000000012,1"
            if i == 1 else row for i, row in enumerate(bar_rows(2))]
    path = write_csv(tmp_path / "tiny.csv", HEADER, rows)
    refused(path, "line 3", "open 0.000000000012 cannot be stored", "10 decimal places",
            "would make it 0.0000000000")


def test_a_price_the_store_would_move_by_more_than_1_ppm_is_refused(tmp_path):
    # 1.5e-9 at 10 decimals is 0.0000000015 exactly (kept); 1.25e-10 would become 0.0000000001 (20 % off)
    ok = ["2025-03-01T00:00:00Z,0.0000000015,0.0000000016,0.0000000014,0.0000000015,1"]
    import_candles(write_csv(tmp_path / "ok.csv", HEADER, ok))
    assert Candle.objects.get().close == Decimal("0.0000000015")
    Candle.objects.all().delete()
    off = ["2025-03-01T00:00:00Z,0.000000000125,0.000000000125,0.000000000125,0.000000000125,1"]
    refused(write_csv(tmp_path / "off.csv", HEADER, off), "line 2", "close 0.000000000125 cannot be stored")


def test_a_corrupt_gz_is_refused_without_a_traceback(tmp_path):
    good = write_csv(tmp_path / "good.csv.gz", HEADER, bar_rows(50))
    data = bytearray(good.read_bytes())
    data[30:60] = b"\xff" * 30  # damage the deflate stream
    corrupt = tmp_path / "corrupt.csv.gz"
    corrupt.write_bytes(bytes(data))
    refused(corrupt, "rejected, nothing written", "corrupt.csv.gz", "not a readable gzip-compressed CSV")
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    refused(truncated, "truncated.csv.gz", "not a readable gzip-compressed CSV")
    not_gzip = tmp_path / "plain.csv.gz"
    not_gzip.write_text(HEADER + "\n")
    refused(not_gzip, "plain.csv.gz", "not a readable gzip-compressed CSV")


def test_a_binary_csv_and_a_corrupt_parquet_are_refused(tmp_path):
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"timestamp,open\n\xff\xfe\x00\x81" * 20)
    refused(binary, "blob.csv", "not a readable UTF-8 CSV")
    parquet = tmp_path / "broken.parquet"
    parquet.write_bytes(b"PAR1" + b"\x00garbage" * 10)
    refused(parquet, "broken.parquet", "not a readable Parquet file")


def test_a_turnover_of_1e21_is_stored_exactly(tmp_path):
    header = "startMs,open,high,low,close,volume,turnover"
    rows = ["1740787200000,96000.5,96010,95990,96005,12.5,1e21", "1740787500000,96005,96020,96000,96010,3,0.12345678"]
    path = write_csv(tmp_path / "big.csv", header, rows)
    import_candles(path)
    turnovers = list(Candle.objects.order_by("open_time").values_list("turnover", flat=True))
    assert turnovers == [Decimal("1000000000000000000000"), Decimal("0.12345678")]
    import_candles(path)  # re-importing changes nothing (and compares the big value exactly)
    assert Candle.objects.count() == 2


def test_a_turnover_over_the_column_is_refused(tmp_path):
    header = "startMs,open,high,low,close,volume,turnover"
    path = write_csv(tmp_path / "huge.csv", header, ["1740787200000,96000.5,96010,95990,96005,12.5,1e22"])
    refused(path, "line 2", "turnover 1e22 is out of range (< 1e+22)")


# --- sizing_config import --------------------------------------------------------------------------------

@pytest.fixture
def shipped_desk():
    import_sizing_config(text=SHIPPED.read_text())
    return export_sizing_config()


def shipped_text() -> str:
    return SHIPPED.read_text()


def swap(old: str, new: str) -> str:
    text = shipped_text()
    assert old in text
    return text.replace(old, new, 1)


DEEP = "strategies:\n  drift:\n    params: " + "[" * 1000 + "]" * 1000 + "\n"
DEEPISH = "starting_capital_usdt: 500\nextra: " + "[" * 50 + "]" * 50 + "\n"
BAD_YAML = [
    ("nan capital", swap("starting_capital_usdt: 500", "starting_capital_usdt: .nan"),
     "starting_capital_usdt: nan is not a finite number"),
    ("inf fee", swap("maker: 0.0002", "maker: .inf"), "fees.maker: inf is not a finite number"),
    ("nan leverage", swap("drift:      {leverage: 50", "drift:      {leverage: .nan"),
     "strategies.drift.leverage: nan is not a finite number"),
    ("nan band", swap("{min_leverage: 50, max_leverage: 125, min_allocation: 0.01",
                      "{min_leverage: 50, max_leverage: 125, min_allocation: .nan"),
     "leverage_bands: [0]: allocation nan..0.1 must lie within (0, 1]"),
    ("strategies as list", shipped_text().split("strategies:")[0] + "strategies: [lorentzian, drift]\n",
     "strategies: expected a mapping of strategy keys to settings, got a list"),
    ("fees as list", swap("fees:                             # fractions of notional, per account, editable later\n"
                          "  maker: 0.0002                   # 0.02 %\n  taker: 0.0006                   # 0.06 %\n",
                          "fees: [0.0002, 0.0006]\n"),
     "fees: expected a mapping with maker and taker, got a list"),
    ("strategy as list", swap("drift:      {leverage: 50, sizing_mode: kelly, kelly_fraction: 0.5, timeframe: 5m}",
                              "drift:      [50, kelly]"), "strategies.drift: expected a mapping, got a list"),
    ("leverage as map", swap("drift:      {leverage: 50", "drift:      {leverage: {x: 1}"),
     "strategies.drift.leverage: {'x': 1} is not a number"),
    ("bands as map", swap("leverage_bands:                   # allowed allocation of starting capital by leverage",
                          "leverage_bands: {a: 1}\nignored_bands:"), "leverage_bands: a non-empty list"),
    ("1000 deep", DEEP, "nested"),
    ("50 deep", DEEPISH, "the file is nested deeper than 6 levels"),
    ("bool max_open", swap("max_open_positions: 2", "max_open_positions: true"),
     "max_open_positions: True is outside 1..50"),
    ("band hole", swap("{min_leverage: 20, max_leverage: 49,", "{min_leverage: 25, max_leverage: 49,"),
     "leverage_bands: leverages from 20 up to 25 are in no band"),
    ("band hole at the top", swap("{min_leverage: 50, max_leverage: 125,", "{min_leverage: 50, max_leverage: 100,"),
     "leverage_bands: leverages from 101 to 125 are in no band"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_YAML, ids=[b[0] for b in BAD_YAML])
def test_a_bad_sizing_yaml_is_refused_naming_the_field_and_writes_nothing(shipped_desk, tmp_path, name, text,
                                                                          message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CommandError) as info:
        call_command("sizing_config", "import", str(path))
    assert message in str(info.value), str(info.value)
    assert export_sizing_config() == shipped_desk


@pytest.mark.parametrize(("name", "content", "message"), [
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not a text file (NUL byte at offset 8)"),
    ("latin-1", "starting_capital_usdt: 500 # caf\xe9\n".encode("latin-1"), "not UTF-8 text (byte 32 is 0xe9)"),
    ("gzip", gzip.compress(b"starting_capital_usdt: 500\n", mtime=0), "not a text file (NUL byte at offset 3)"),  # the flags byte
    ("oversized", b"# " + b"x" * 1_000_000 + b"\n", "1000003 bytes, over the limit of 1000000"),
])
def test_a_binary_sizing_file_is_refused(shipped_desk, tmp_path, name, content, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="bad.yaml") as info:
        call_command("sizing_config", "import", str(path))
    assert message in str(info.value)
    assert export_sizing_config() == shipped_desk


def test_band_hole_is_refused_by_the_admin_rule_too(db):
    from django.core.exceptions import ValidationError

    desk = DeskSettings.current()
    desk.leverage_bands = yaml.safe_load(swap("{min_leverage: 20, max_leverage: 49,",
                                              "{min_leverage: 21, max_leverage: 49,"))["leverage_bands"]
    with pytest.raises(ValidationError) as info:
        desk.full_clean()
    assert "leverages from 20 up to 21 are in no band" in str(info.value.message_dict["leverage_bands"])


def test_the_shipped_file_still_imports(shipped_desk):
    assert yaml.safe_load(shipped_desk)["max_open_positions"] == 2
