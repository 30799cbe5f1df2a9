"""Public REST through the real pybit client: kline paging newest-first and limits, mark-price kline,
funding history, instruments-info / risk-limit / tickers / time shapes."""

from __future__ import annotations

import pytest
from pybit.exceptions import InvalidRequestError

from trading.engine.instruments import BTC_TIERS

T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC
M5 = 300_000


def _bars(n: int, start: int = T0, step: int = M5):
    return [(start + i * step, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 2.0 + i) for i in range(n)]


def test_kline_newest_first_default_limit_and_shape(fake_bybit, bybit_http):
    fake_bybit.load_candles("BTCUSDT", "5", _bars(500))
    res = bybit_http.get_kline(category="linear", symbol="BTCUSDT", interval="5")["result"]
    rows = res["list"]
    assert res["symbol"] == "BTCUSDT" and res["category"] == "linear"
    assert len(rows) == 200
    assert rows[0][0] == str(T0 + 499 * M5)
    starts = [int(r[0]) for r in rows]
    assert starts == sorted(starts, reverse=True)
    assert all(len(r) == 7 and all(isinstance(x, str) for x in r) for r in rows)
    assert rows[0][1:6] == ["599.00", "600.00", "598.00", "599.50", "501.000"]


def test_kline_paging_backwards_with_end_covers_every_bar_once(fake_bybit, bybit_http):
    fake_bybit.load_candles("ETHUSDT", "5", _bars(2500))
    seen, end = [], None
    while True:
        kw = {"category": "linear", "symbol": "ETHUSDT", "interval": "5", "limit": 1000}
        if end is not None:
            kw["end"] = end
        page = bybit_http.get_kline(**kw)["result"]["list"]
        if not page:
            break
        seen.extend(int(r[0]) for r in page)
        end = int(page[-1][0]) - 1
    assert len(seen) == 2500
    assert seen == sorted(set(seen), reverse=True)


def test_kline_limit_above_1000_is_capped_and_start_alone_anchors_oldest(fake_bybit, bybit_http):
    fake_bybit.load_candles("BTCUSDT", "5", _bars(1500))
    rows = bybit_http.get_kline(category="linear", symbol="BTCUSDT", interval="5", limit=5000)["result"]["list"]
    assert len(rows) == 1000 and rows[0][0] == str(T0 + 1499 * M5)
    rows = bybit_http.get_kline(category="linear", symbol="BTCUSDT", interval="5", start=T0 + 10 * M5,
                                limit=3)["result"]["list"]
    assert [int(r[0]) for r in rows] == [T0 + 12 * M5, T0 + 11 * M5, T0 + 10 * M5]
    rows = bybit_http.get_kline(category="linear", symbol="BTCUSDT", interval="5", start=T0 + 10 * M5,
                                end=T0 + 20 * M5, limit=3)["result"]["list"]
    assert [int(r[0]) for r in rows] == [T0 + 20 * M5, T0 + 19 * M5, T0 + 18 * M5]


def test_kline_bad_interval_and_symbol_are_10001(bybit_http):
    with pytest.raises(InvalidRequestError) as e:
        bybit_http.get_kline(category="linear", symbol="BTCUSDT", interval="7")
    assert e.value.status_code == 10001
    with pytest.raises(InvalidRequestError) as e:
        bybit_http.get_kline(category="linear", symbol="DOGEUSDT", interval="5")
    assert e.value.status_code == 10001


def test_kline_serves_real_shared_candles(fake_bybit, bybit_http):
    from tests.shared_data import load_candles

    frame = load_candles("BTCUSDT", nrows=300)
    assert fake_bybit.load_candles("BTCUSDT", "5", frame) == 300
    rows = bybit_http.get_kline(category="linear", symbol="BTCUSDT", interval="5", limit=3)["result"]["list"]
    last = frame.iloc[-1]
    assert int(rows[0][0]) == int(frame.index[-1].timestamp() * 1000)
    assert float(rows[0][1]) == pytest.approx(last["open"]) and float(rows[0][4]) == pytest.approx(last["close"])


def test_open_candle_pushed_becomes_row_zero(fake_bybit, bybit_http):
    fake_bybit.load_candles("BTCUSDT", "1", _bars(10, step=60_000))
    fake_bybit.push_kline("BTCUSDT", "1", T0 + 10 * 60_000, 110.0, 112.0, 109.0, 111.0, volume=1.5)
    rows = bybit_http.get_kline(category="linear", symbol="BTCUSDT", interval="1", limit=2)["result"]["list"]
    assert rows[0][:5] == [str(T0 + 600_000), "110.00", "112.00", "109.00", "111.00"]


def test_mark_price_kline_has_five_strings(fake_bybit, bybit_http):
    fake_bybit.load_mark_candles("BTCUSDT", "60", [(T0 + i * 3_600_000, 10.0, 11.0, 9.0, 10.5) for i in range(5)])
    rows = bybit_http.get_mark_price_kline(category="linear", symbol="BTCUSDT", interval="60")["result"]["list"]
    assert len(rows) == 5 and rows[0] == [str(T0 + 4 * 3_600_000), "10.00", "11.00", "9.00", "10.50"]


def test_funding_history_newest_first_with_limit_and_window(fake_bybit, bybit_http):
    h8 = 8 * 3_600_000
    fake_bybit.load_funding("BTCUSDT", [(T0 + i * h8, 0.0001 * (i + 1)) for i in range(300)])
    rows = bybit_http.get_funding_rate_history(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert len(rows) == 200
    assert rows[0] == {"symbol": "BTCUSDT", "fundingRate": "0.03", "fundingRateTimestamp": str(T0 + 299 * h8)}
    rows = bybit_http.get_funding_rate_history(category="linear", symbol="BTCUSDT", startTime=T0,
                                               endTime=T0 + 2 * h8)["result"]["list"]
    assert [r["fundingRateTimestamp"] for r in rows] == [str(T0 + 2 * h8), str(T0 + h8), str(T0)]
    with pytest.raises(InvalidRequestError) as e:
        bybit_http.get_funding_rate_history(category="linear", symbol="BTCUSDT", startTime=T0)
    assert e.value.status_code == 10001


def test_instruments_info_matches_the_documented_btc_example(bybit_http):
    rows = bybit_http.get_instruments_info(category="linear", symbol="BTCUSDT")["result"]["list"]
    info = rows[0]
    assert info["contractType"] == "LinearPerpetual" and info["status"] == "Trading"
    assert info["leverageFilter"] == {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"}
    assert info["priceFilter"]["tickSize"] == "0.10"
    lot = info["lotSizeFilter"]
    assert (lot["minOrderQty"], lot["qtyStep"], lot["minNotionalValue"]) == ("0.001", "0.001", "5")
    assert info["fundingInterval"] == 480 and isinstance(info["fundingInterval"], int)
    both = bybit_http.get_instruments_info(category="linear")["result"]
    assert sorted(r["symbol"] for r in both["list"]) == ["BTCUSDT", "ETHUSDT"] and both["nextPageCursor"] == ""


def test_risk_limit_rows_come_from_engine_tiers(bybit_http):
    rows = bybit_http.get_risk_limit(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert rows[0] == {"id": 1, "symbol": "BTCUSDT", "riskLimitValue": "2000000", "maintenanceMargin": "0.005",
                       "initialMargin": "0.01", "isLowestRisk": 1, "maxLeverage": "100.00", "mmDeduction": ""}
    assert len(rows) == len(BTC_TIERS)
    assert float(rows[1]["mmDeduction"]) == pytest.approx(BTC_TIERS[1].mm_deduction)


def test_tickers_and_server_time(fake_bybit, bybit_http):
    t = bybit_http.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (t["lastPrice"], t["bid1Price"], t["ask1Price"]) == ("65000.00", "64999.90", "65000.10")
    assert t["fundingIntervalHour"] == "8"
    fake_bybit.set_price("BTCUSDT", 66_000.0)
    assert bybit_http.get_tickers(category="linear")["result"]["list"][0]["lastPrice"] == "66000.00"
    res = bybit_http.get_server_time()
    assert res["result"]["timeNano"] == res["result"]["timeSecond"] + res["result"]["timeNano"][10:]
    assert isinstance(res["time"], int) and res["retExtInfo"] == {}
