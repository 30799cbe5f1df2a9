"""The usage another test package copies: import the fixtures, load candles, point pybit at the fake,
inject a fault, read the counters."""

from __future__ import annotations

import pytest
from pybit.exceptions import FailedRequestError
from pybit.unified_trading import HTTP

from fakebybit.pytest_plugin import fake_bybit  # noqa: F401  (the fixture, requested by name below)


def test_documented_usage(fake_bybit):  # noqa: F811
    fake_bybit.load_candles("BTCUSDT", "5", [(1_735_689_600_000 + i * 300_000, 1.0, 2.0, 0.5, 1.5, 10.0)
                                             for i in range(3)])
    s = HTTP(api_key=fake_bybit.api_key, api_secret=fake_bybit.api_secret, retry_delay=0.05)
    s.endpoint = fake_bybit.urls.http
    assert len(s.get_kline(category="linear", symbol="BTCUSDT", interval="5")["result"]["list"]) == 3
    fake_bybit.faults.next("/v5/order/create", "http_500")
    with pytest.raises(FailedRequestError):
        s.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.001")
    s.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.001")
    seen = fake_bybit.counters.snapshot()
    assert seen["requests"]["/v5/order/create"] == 2 and seen["orders_accepted"] == 1
