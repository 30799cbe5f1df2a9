"""WebSocket through the real pybit client (and raw websocket-client, the library pybit uses, where a
frame's exact shape matters): public kline / tickers / publicTrade, private auth and the order ->
execution -> position -> wallet pushes after an order, ping/pong shapes, req_id echo, reconnect."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import websocket
from pybit._websocket_stream import _WebSocketManager

from fakebybit.pytest_plugin import API_SECRET


def _raw(url: str) -> websocket.WebSocket:
    ws = websocket.create_connection(url, timeout=60)
    return ws


def _auth_args(key: str, secret: str, expires: int) -> list:
    sig = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    return [key, expires, sig]


def test_public_kline_open_then_confirmed(fake_bybit, ws_factory, inbox):
    ws = ws_factory()
    ws.kline_stream(interval=1, symbol="BTCUSDT", callback=inbox)
    fake_bybit.wait_subscribed("kline.1.BTCUSDT")
    start = 1_735_689_600_000
    fake_bybit.push_kline("BTCUSDT", "1", start, 100.0, 101.0, 99.5, 100.5, volume=3.0)
    fake_bybit.push_kline("BTCUSDT", "1", start, 100.0, 102.0, 99.5, 101.5, volume=4.0, confirm=True)
    first, second = inbox.take(2)
    assert first["topic"] == "kline.1.BTCUSDT" and first["type"] == "snapshot"
    bar = first["data"][0]
    assert (bar["start"], bar["end"], bar["interval"], bar["confirm"]) == (start, start + 59_999, "1", False)
    assert (bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"]) == (
        "100.00", "101.00", "99.50", "100.50", "3.000")
    assert isinstance(bar["timestamp"], int)
    assert second["data"][0]["confirm"] is True and second["data"][0]["close"] == "101.50"


def test_ticker_snapshot_first_then_deltas_merged_by_pybit(fake_bybit, ws_factory, inbox):
    ws = ws_factory()
    ws.ticker_stream(symbol="BTCUSDT", callback=inbox)
    snap = inbox.get()
    assert snap["topic"] == "tickers.BTCUSDT" and snap["data"]["lastPrice"] == "65000.00"
    assert snap["data"]["ask1Price"] == "65000.10" and isinstance(snap["cs"], int)
    fake_bybit.set_price("BTCUSDT", 65_100.0, bid=65_099.9, ask=65_100.1)
    merged = inbox.get()
    assert merged["type"] == "snapshot"  # pybit folds the delta into its stored snapshot
    assert (merged["data"]["lastPrice"], merged["data"]["ask1Price"]) == ("65100.00", "65100.10")
    assert merged["data"]["fundingIntervalHour"] == "8"  # kept from the snapshot, not in the delta


def test_raw_ticker_frames_are_snapshot_then_delta_with_changed_fields_only(fake_bybit):
    ws = _raw(fake_bybit.urls.ws_public)
    try:
        ws.send(json.dumps({"op": "subscribe", "req_id": "t-1", "args": ["tickers.ETHUSDT"]}))
        ack = json.loads(ws.recv())
        assert (ack["op"], ack["success"], ack["req_id"]) == ("subscribe", True, "t-1")
        snap = json.loads(ws.recv())
        assert snap["type"] == "snapshot" and snap["data"]["symbol"] == "ETHUSDT"
        fake_bybit.set_price("ETHUSDT", 3_501.0, bid=3_499.99, ask=3_500.01)
        delta = json.loads(ws.recv())
        assert delta["type"] == "delta" and delta["topic"] == "tickers.ETHUSDT"
        assert "bid1Price" not in delta["data"] and delta["data"]["lastPrice"] == "3501.00"
        assert delta["data"]["symbol"] == "ETHUSDT"
    finally:
        ws.close()


def test_public_trade_snapshot_array(fake_bybit, ws_factory, inbox):
    ws = ws_factory()
    ws.trade_stream(symbol="ETHUSDT", callback=inbox)
    fake_bybit.wait_subscribed("publicTrade.ETHUSDT")
    fake_bybit.push_trade("ETHUSDT", 3_500.5, 1.25, side="Sell")
    msg = inbox.get()
    t = msg["data"][0]
    assert msg["topic"] == "publicTrade.ETHUSDT" and msg["type"] == "snapshot"
    assert (t["s"], t["S"], t["p"], t["v"], t["BT"], t["RPI"]) == ("ETHUSDT", "Sell", "3500.50", "1.25", False, False)
    assert isinstance(t["T"], int) and isinstance(t["seq"], int)


def test_private_pushes_follow_the_order_in_bybit_order(fake_bybit, bybit_http, ws_factory, inbox):
    ws = ws_factory(channel_type="private", api_key=fake_bybit.api_key, api_secret=API_SECRET)
    for stream in (ws.order_stream, ws.execution_stream, ws.position_stream, ws.wallet_stream):
        stream(callback=inbox)
    for topic in ("order", "execution", "position", "wallet"):
        fake_bybit.wait_subscribed(topic)
    ack = bybit_http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market",
                                 qty="0.010", stopLoss="63000", orderLinkId="ws-1")
    frames = inbox.take(4)
    assert [f["topic"] for f in frames] == ["order", "execution", "position", "wallet"]
    assert all(isinstance(f["creationTime"], int) and f["id"] for f in frames)
    order, execution, position, wallet = (f["data"] for f in frames)
    main = next(o for o in order if o["orderId"] == ack["result"]["orderId"])
    assert (main["orderLinkId"], main["orderStatus"], main["cumExecQty"]) == ("ws-1", "Filled", "0.010")
    assert [o["stopOrderType"] for o in order if o["stopOrderType"]] == ["StopLoss"]
    assert (execution[0]["execPrice"], execution[0]["orderLinkId"]) == ("65000.10", "ws-1")
    assert (position[0]["entryPrice"], position[0]["size"], position[0]["side"]) == ("65000.10", "0.010", "Buy")
    assert wallet[0]["accountType"] == "UNIFIED" and wallet[0]["coin"][0]["coin"] == "USDT"
    trace = fake_bybit.counters.snapshot()["trace"]
    i = trace.index(("reply", "/v5/order/create"))
    assert trace[i + 1:i + 5] == [("push", "order"), ("push", "execution"), ("push", "position"), ("push", "wallet")]


def test_stop_loss_trigger_pushes_leg_fill_execution_position_wallet(fake_bybit, bybit_http, ws_factory, inbox):
    bybit_http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.010",
                           stopLoss="64000")
    ws = ws_factory(channel_type="private", api_key=fake_bybit.api_key, api_secret=API_SECRET)
    for stream in (ws.order_stream, ws.execution_stream, ws.position_stream, ws.wallet_stream):
        stream(callback=inbox)
    for topic in ("order", "execution", "position", "wallet"):
        fake_bybit.wait_subscribed(topic)
    fake_bybit.set_price("BTCUSDT", 63_900.0)
    frames = inbox.take(4)
    assert [f["topic"] for f in frames] == ["order", "execution", "position", "wallet"]
    leg = frames[0]["data"][0]
    assert (leg["stopOrderType"], leg["orderStatus"]) == ("StopLoss", "Filled")
    assert frames[1]["data"][0]["orderId"] == leg["orderId"]
    assert frames[2]["data"][0]["size"] == "0"


def test_private_auth_checks_signature_and_expiry(fake_bybit):
    ws = _raw(fake_bybit.urls.ws_private)
    try:
        ws.send(json.dumps({"op": "subscribe", "req_id": "early", "args": ["order"]}))
        early = json.loads(ws.recv())
        assert (early["success"], early["req_id"]) == (False, "early")
        future = int(time.time() * 1000) + 10_000
        ws.send(json.dumps({"op": "auth", "args": _auth_args(fake_bybit.api_key, "wrong", future)}))
        assert json.loads(ws.recv())["success"] is False
        past = int(time.time() * 1000) - 1
        ws.send(json.dumps({"op": "auth", "args": _auth_args(fake_bybit.api_key, API_SECRET, past)}))
        assert json.loads(ws.recv())["success"] is False
        ws.send(json.dumps({"op": "auth", "args": _auth_args(fake_bybit.api_key, API_SECRET, future)}))
        ok = json.loads(ws.recv())
        assert (ok["op"], ok["success"], ok["ret_msg"]) == ("auth", True, "") and ok["conn_id"]
        ws.send(json.dumps({"op": "subscribe", "req_id": "late", "args": ["order", "wallet"]}))
        late = json.loads(ws.recv())
        assert (late["op"], late["success"], late["req_id"]) == ("subscribe", True, "late")
    finally:
        ws.close()


@pytest.mark.parametrize("private", [False, True])
def test_ping_gets_the_pong_shape_pybit_recognises(fake_bybit, private):
    url = fake_bybit.urls.ws_private if private else fake_bybit.urls.ws_public
    ws = _raw(url)
    try:
        ws.send(json.dumps({"op": "ping"}))
        pong = json.loads(ws.recv())
        if private:
            assert pong["op"] == "pong" and pong["args"][0].isdigit()
        else:
            assert (pong["op"], pong["success"], pong["ret_msg"]) == ("ping", True, "pong")
        assert _WebSocketManager._is_custom_pong(pong)
        ws.ping("frame")
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_PONG and frame.data == b"frame"
    finally:
        ws.close()


def test_pybit_reconnects_and_resubscribes_after_drop(fake_bybit, ws_factory, inbox):
    ws = ws_factory()
    ws.kline_stream(interval=5, symbol="ETHUSDT", callback=inbox)
    fake_bybit.wait_subscribed("kline.5.ETHUSDT")
    assert fake_bybit.drop_ws() == 1
    fake_bybit.wait_subscribed("kline.5.ETHUSDT")
    fake_bybit.push_kline("ETHUSDT", "5", 1_735_689_600_000, 1.0, 2.0, 0.5, 1.5)
    assert inbox.get()["data"][0]["close"] == "1.50"
    assert fake_bybit.counters.snapshot()["ws_ops"]["public:subscribe"] == 2
