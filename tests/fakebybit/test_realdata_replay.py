"""Replay the real 10 Oct 2025 BTCUSDT crash (shared data) through the fake: a 100x long opened before it
is liquidated on the mark price and settled at the engine's bankruptcy price, seen over REST and WS."""

from __future__ import annotations

import pandas as pd
import pytest

from fakebybit.pytest_plugin import API_SECRET
from tests.shared_data import load_candles
from trading.engine import margin

pytestmark = pytest.mark.realdata


def test_crash_liquidates_a_100x_long(fake_bybit, bybit_http, ws_factory, inbox):
    frame = load_candles("BTCUSDT")
    window = frame.loc[pd.Timestamp("2025-10-10 19:00", tz="UTC"):pd.Timestamp("2025-10-10 22:00", tz="UTC")]
    fake_bybit.load_candles("BTCUSDT", "5", window)
    rows = bybit_http.get_kline(category="linear", symbol="BTCUSDT", interval="5", limit=1000)["result"]["list"]
    assert len(rows) == len(window) and int(rows[-1][0]) == int(window.index[0].timestamp() * 1000)
    entry_close = float(window["close"].iloc[0])
    fake_bybit.set_price("BTCUSDT", entry_close, bid=entry_close - 0.1, ask=entry_close)
    bybit_http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="100", sellLeverage="100")
    bybit_http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.010")
    ws = ws_factory(channel_type="private", api_key=fake_bybit.api_key, api_secret=API_SECRET)
    ws.execution_stream(callback=inbox)
    fake_bybit.wait_subscribed("execution")
    for _, bar in window.iloc[1:].iterrows():
        fake_bybit.set_price("BTCUSDT", float(bar["low"]), publish=False)
        if bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]["size"] == "0":
            break
    bust = inbox.get()["data"][0]
    assert bust["execType"] == "BustTrade"
    assert bust["execPrice"] == f"{margin.bankruptcy_price('Buy', entry_close, 100):.2f}"
    wallet = bybit_http.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert float(wallet["totalWalletBalance"]) < 10_000 - 0.01 * entry_close / 100
