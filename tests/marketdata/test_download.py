"""Download through the real pybit client from the fake Bybit V5 server: paging, resume, the open candle,
a 10006 burst, an HTTP 500, funding history, mark-price klines, instruments and risk tiers."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.marketdata.helpers import open_bar_start
from trading.marketdata.bybit import BybitError
from trading.marketdata.download import download_candles, download_funding
from trading.marketdata.instruments import download_instruments
from trading.models import Candle, FundingRate, Instrument

pytestmark = pytest.mark.django_db
HOUR = 3_600_000
KLINE = "/v5/market/kline"


def ms_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def bar(i: int) -> tuple[float, float, float, float, float]:
    """Bar i: open 60000 + 0.5 i, close open + 0.2, high open + 1, low open - 1, volume 1 + 0.001 (i % 10)."""
    o = 60_000 + 0.5 * i
    return o, o + 1.0, o - 1.0, o + 0.2, 1 + 0.001 * (i % 10)


def load_hours(fake, n_closed: int, *, mark: bool = False) -> int:
    """``n_closed`` closed 1h bars plus the open one into the fake; returns the first bar's open ms."""
    first = open_bar_start(HOUR) - n_closed * HOUR
    rows = [(first + i * HOUR, *bar(i)) for i in range(n_closed + 1)]
    if mark:
        fake.load_mark_candles("BTCUSDT", "60", [r[:5] for r in rows])
    else:
        fake.load_candles("BTCUSDT", "60", rows)
    return first


def stored(kind: str = "trade"):
    return Candle.objects.filter(symbol="BTCUSDT", interval="1h", kind=kind)


def test_pages_of_1000_store_every_closed_bar_and_not_the_open_one(bybit):
    first = load_hours(bybit, 2_500)
    report = download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first))
    # windows [0, 1000), [1000, 2000), [2000, 3000): the third holds bars 2000..2499 and the open bar 2500
    assert report.requests == 3 == bybit.counters.requests[KLINE]
    assert (report.counts.added, report.counts.updated, report.resumed, report.gaps) == (2_500, 0, False, [])
    assert stored().count() == 2_500
    assert stored().order_by("-open_time").first().open_time == ms_dt(first + 2_499 * HOUR)
    assert not stored().filter(open_time=ms_dt(first + 2_500 * HOUR)).exists()  # the open candle
    b = stored().get(open_time=ms_dt(first + 1_234 * HOUR))  # 60000 + 617 = 60617
    assert (b.open, b.high, b.low, b.close, b.volume) == (
        Decimal("60617"), Decimal("60618"), Decimal("60616"), Decimal("60617.2"), Decimal("1.004"))


def test_a_second_run_resumes_after_the_last_stored_bar(bybit):
    first = load_hours(bybit, 2_500)
    part = download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first), until=ms_dt(first + 1_500 * HOUR))
    assert (part.requests, part.counts.added) == (2, 1_500)
    rest = download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first))
    assert rest.resumed and rest.start == ms_dt(first + 1_500 * HOUR)
    assert (rest.requests, rest.counts.added, rest.counts.unchanged) == (1, 1_000, 0)
    again = download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first))
    assert (again.requests, again.counts.added, again.start) == (1, 0, ms_dt(first + 2_500 * HOUR))
    assert stored().count() == 2_500 and bybit.counters.requests[KLINE] == 4


def test_a_10006_burst_is_survived(bybit):
    first = load_hours(bybit, 2_500)
    # 4 x "Too many visits!": pybit's 3 attempts all meet 10006 and it gives up; our loop tries again,
    # pybit meets the 4th and then gets through.
    bybit.faults.next(KLINE, "rate_limit_10006", times=4, seconds=0.05)
    report = download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first))
    assert report.counts.added == 2_500 and report.requests == 3
    assert bybit.counters.requests[KLINE] == 3 + 4
    assert bybit.faults.fired[(KLINE, "rate_limit_10006")] == 4


def test_rate_limit_retries_are_bounded(bybit, settings):
    first = load_hours(bybit, 10)
    settings.BYBIT_MAX_ATTEMPTS = 2
    bybit.faults.next(KLINE, "rate_limit_10006", times=50, seconds=0.01)
    with pytest.raises(BybitError, match="gave up after 2 attempts"):
        download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first))
    assert bybit.counters.requests[KLINE] == 2 * 3  # 2 of ours x 3 of pybit's
    assert stored().count() == 0


def test_an_http_500_is_a_clear_error_and_that_page_writes_nothing(bybit):
    first = load_hours(bybit, 2_500)
    download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first), until=ms_dt(first + 1_000 * HOUR))
    bybit.faults.next(KLINE, "http_500")
    with pytest.raises(BybitError) as err:
        download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first))
    assert err.value.status == 500
    page = f"{ms_dt(first + 1_000 * HOUR):%Y-%m-%d %H:%M} .. {ms_dt(first + 2_000 * HOUR):%Y-%m-%d %H:%M}"
    assert str(err.value).startswith(f"BTCUSDT 1h trade bars {page}: Bybit answered HTTP 500")
    assert stored().count() == 1_000  # the earlier page stays, nothing of the failed one
    assert download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first)).counts.added == 1_500


def test_a_bad_bar_rejects_its_page_only(bybit):
    first = load_hours(bybit, 1_500)
    bybit.load_candles("BTCUSDT", "60", [(first + 1_200 * HOUR, 60_600.0, 60_590.0, 60_601.0, 60_600.0, 1.0)])
    with pytest.raises(BybitError, match="has high 60590.00 below low 60601.00"):
        download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first))
    assert stored().count() == 1_000


def test_mark_price_klines(bybit):
    first = load_hours(bybit, 1_200, mark=True)
    report = download_candles(symbol="BTCUSDT", interval="1h", since=ms_dt(first), kind="mark")
    assert (report.requests, report.counts.added) == (2, 1_200)
    assert bybit.counters.requests["/v5/market/mark-price-kline"] == 2
    b = stored("mark").get(open_time=ms_dt(first + 7 * HOUR))
    assert (b.open, b.close, b.volume) == (Decimal("60003.5"), Decimal("60003.7"), Decimal("0"))
    assert stored("trade").count() == 0


def test_funding_history_pages_backwards_and_resumes(bybit):
    eight = 8 * HOUR
    first = (int(time.time() * 1000) // eight - 450) * eight
    # rate i = (i % 7 - 3) / 100000: -0.00003 .. 0.00003
    bybit.load_funding("BTCUSDT", [(first + i * eight, (i % 7 - 3) / 100_000) for i in range(450)])
    report = download_funding(symbol="BTCUSDT", since=ms_dt(first))
    assert (report.requests, report.counts.added) == (3, 450)  # 200 + 200 + 50, newest first
    assert FundingRate.objects.get(funding_time=ms_dt(first + 10 * eight)).rate == Decimal("0.00000")
    assert FundingRate.objects.get(funding_time=ms_dt(first + 12 * eight)).rate == Decimal("0.00002")
    assert FundingRate.objects.get(funding_time=ms_dt(first + 14 * eight)).rate == Decimal("-0.00003")
    again = download_funding(symbol="BTCUSDT", since=ms_dt(first))
    assert again.resumed and (again.requests, again.counts.added) == (1, 0)
    assert bybit.counters.requests["/v5/market/funding/history"] == 4


def test_instruments_and_risk_tiers(bybit):
    changes = download_instruments(symbols=["btcusdt"])
    assert [(c.symbol, c.created, c.tiers) for c in changes] == [("BTCUSDT", True, 2)]
    inst = Instrument.objects.get(symbol="BTCUSDT")
    assert (inst.tick_size, inst.qty_step, inst.min_qty, inst.min_notional, inst.max_leverage) == (
        Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), Decimal("5"), Decimal("100"))
    assert (inst.base_coin, inst.quote_coin, inst.funding_interval_minutes) == ("BTC", "USDT", 480)
    # specs/bybit.md section 4: tier 1 <= 2,000,000 at MMR 0.5 %, IMR 1 %, 100x; tier 2 <= 2,600,000, MMR 0.56 %
    tiers = [{k: Decimal(v) for k, v in t.items()} for t in inst.risk_tiers]
    assert tiers[0] == {"risk_limit_value": Decimal(2_000_000), "mmr": Decimal("0.005"), "imr": Decimal("0.01"),
                        "max_leverage": Decimal(100)}
    assert (tiers[1]["risk_limit_value"], tiers[1]["mmr"], tiers[1]["max_leverage"]) == (
        Decimal(2_600_000), Decimal("0.0056"), Decimal(90))
    every = download_instruments()
    assert sorted((c.symbol, c.created) for c in every) == [("BTCUSDT", False), ("ETHUSDT", True)]
    assert Instrument.objects.get(symbol="ETHUSDT").tick_size == Decimal("0.01")
    with pytest.raises(BybitError, match="symbol invalid"):
        download_instruments(symbols=["DOGEUSDT"])


def test_commands(bybit, capsys):
    first = load_hours(bybit, 30)
    load_hours(bybit, 30, mark=True)
    bybit.load_funding("BTCUSDT", [(first + 8 * HOUR, 0.0001), (first + 16 * HOUR, -0.0002)])
    since = ms_dt(first).strftime("%Y-%m-%dT%H:%M")
    call_command("download_candles", "--symbol", "BTCUSDT", "--interval", "1h", "--since", since, "--funding",
                 "--no-progress")
    out = capsys.readouterr().out
    assert f"BTCUSDT 1h trade: 1 requests from {ms_dt(first):%Y-%m-%d %H:%M}; added 30, updated 0, unchanged 0" in out
    # the mark-price candles of the traded interval come with the trade candles (liquidation's trigger)
    assert f"BTCUSDT 1h mark: 1 requests from {ms_dt(first):%Y-%m-%d %H:%M}; added 30, updated 0, unchanged 0" in out
    assert stored("mark").filter(interval="1h").count() == 30
    assert bybit.counters.requests["/v5/market/mark-price-kline"] == 1
    assert "BTCUSDT funding: 1 requests" in out and "added 2, updated 0, unchanged 0" in out
    with pytest.raises(CommandError, match="'yesterday': not an ISO-8601 date"):
        call_command("download_candles", "--symbol", "BTCUSDT", "--since", "yesterday", "--no-progress")
    call_command("download_instruments", "--symbol", "ETHUSDT")
    assert "ETHUSDT: created, 2 risk tiers" in capsys.readouterr().out


def test_no_mark_downloads_trade_candles_only(bybit, capsys):
    first = load_hours(bybit, 5)
    load_hours(bybit, 5, mark=True)
    call_command("download_candles", "--symbol", "BTCUSDT", "--interval", "1h", "--since",
                 ms_dt(first).strftime("%Y-%m-%dT%H:%M"), "--no-mark", "--no-progress")
    assert " mark:" not in capsys.readouterr().out
    assert stored("trade").count() == 5 and not stored("mark").exists()
    assert bybit.counters.requests["/v5/market/mark-price-kline"] == 0
