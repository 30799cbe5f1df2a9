"""Orders, positions and account through the real pybit client, with the engine's Simulator as the
matching engine: fills at ask1/bid1 with Bybit's fees, TP/SL legs, liquidation price from the engine's
formula, every Bybit reject code the spec lists, limit orders, trading-stop, closed PnL and wallet."""

from __future__ import annotations

import pytest
from pybit.exceptions import InvalidRequestError

from trading.engine import margin
from trading.engine.instruments import BTCUSDT

ASK, BID = 65_000.1, 64_999.9


def _order(s, **kw):
    params = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.010"}
    params.update(kw)
    return s.place_order(**params)


def _code(call, *args, **kwargs) -> int:
    with pytest.raises(InvalidRequestError) as e:
        call(*args, **kwargs)
    return e.value.status_code


def test_market_order_with_tp_sl_fills_at_ask_and_position_carries_engine_liq(fake_bybit, bybit_http):
    bybit_http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="20", sellLeverage="20")
    ack = _order(bybit_http, takeProfit="70000", stopLoss="63000", orderLinkId="entry-1")
    assert ack["retCode"] == 0 and ack["result"]["orderLinkId"] == "entry-1" and ack["result"]["orderId"]
    pos = bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (pos["side"], pos["size"], pos["avgPrice"], pos["leverage"]) == ("Buy", "0.010", "65000.10", "20")
    assert (pos["takeProfit"], pos["stopLoss"]) == ("70000.00", "63000.00")
    liq = margin.liquidation_price(BTCUSDT, "Buy", 0.01, ASK, 20)
    assert pos["liqPrice"] == f"{liq:.2f}" == "62075.10"
    assert pos["bustPrice"] == f"{margin.bankruptcy_price('Buy', ASK, 20):.2f}"
    assert float(pos["positionIM"]) == pytest.approx(0.01 * ASK / 20)
    assert isinstance(pos["positionIdx"], int) and isinstance(pos["riskId"], int) and isinstance(pos["seq"], int)
    execs = bybit_http.get_executions(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert len(execs) == 1
    e = execs[0]
    assert (e["execPrice"], e["execQty"], e["feeRate"], e["isMaker"]) == ("65000.10", "0.010", "0.00055", False)
    assert float(e["execFee"]) == pytest.approx(0.01 * ASK * 0.00055)
    legs = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert sorted((o["stopOrderType"], o["triggerPrice"], o["orderStatus"]) for o in legs) == [
        ("StopLoss", "63000.00", "Untriggered"), ("TakeProfit", "70000.00", "Untriggered")]
    done = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId="entry-1")["result"]["list"]
    assert done[0]["orderStatus"] == "Filled" and done[0]["avgPrice"] == "65000.10"


def test_sell_fills_at_bid(fake_bybit, bybit_http):
    _order(bybit_http, side="Sell")
    pos = bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (pos["side"], pos["avgPrice"]) == ("Sell", "64999.90")


def test_reduce_only_that_would_increase_is_110017(fake_bybit, bybit_http):
    assert _code(_order, bybit_http, reduceOnly=True) == 110017
    _order(bybit_http)
    assert _code(_order, bybit_http, reduceOnly=True) == 110017
    assert fake_bybit.counters.snapshot()["orders_rejected"] == {110017: 2}


def test_duplicate_order_link_id_is_110072(fake_bybit, bybit_http):
    _order(bybit_http, orderLinkId="same-id")
    assert _code(_order, bybit_http, orderLinkId="same-id") == 110072


def test_set_leverage_unchanged_is_110043_unless_ignored(fake_bybit, bybit_http):
    bybit_http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="15", sellLeverage="15")
    assert _code(bybit_http.set_leverage, category="linear", symbol="BTCUSDT", buyLeverage="15",
                 sellLeverage="15") == 110043
    from fakebybit.pytest_plugin import pybit_http

    tolerant = pybit_http(fake_bybit, ignore_codes={110043})
    res = tolerant.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="15", sellLeverage="15")
    assert res["retCode"] == 110043 and res["result"] == {}
    assert _code(bybit_http.set_leverage, category="linear", symbol="BTCUSDT", buyLeverage="101",
                 sellLeverage="101") == 10001
    assert _code(bybit_http.set_leverage, category="linear", symbol="BTCUSDT", buyLeverage="5",
                 sellLeverage="6") == 10001


def test_qty_off_step_or_float_exponent_is_10001(fake_bybit, bybit_http):
    assert _code(_order, bybit_http, qty="0.0105") == 10001
    assert _code(_order, bybit_http, qty=0.00001) == 10001  # pybit sends str(0.00001) == '1e-05'
    assert _code(_order, bybit_http, qty="500.001") == 10001  # above maxMktOrderQty 500


def test_notional_below_5_is_110094(fake_bybit, bybit_http):
    fake_bybit.set_price("ETHUSDT", 100.0)
    assert _code(_order, bybit_http, symbol="ETHUSDT", qty="0.01") == 110094


def test_insufficient_balance_is_110007(fake_bybit, bybit_http):
    assert _code(_order, bybit_http, qty="2") == 110007


def test_tp_on_the_wrong_side_and_bad_link_id_are_10001(fake_bybit, bybit_http):
    assert _code(_order, bybit_http, takeProfit="60000") == 10001
    assert _code(_order, bybit_http, orderLinkId="has space") == 10001


def test_limit_order_rests_then_fills_at_maker_fee_and_cancel_of_finished_is_110001(fake_bybit, bybit_http):
    ack = _order(bybit_http, orderType="Limit", price="64000", qty="0.005")
    oid = ack["result"]["orderId"]
    open_ = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert [(o["orderId"], o["orderStatus"], o["price"], o["leavesQty"]) for o in open_] == [
        (oid, "New", "64000.00", "0.005")]
    wallet = bybit_http.get_wallet_balance(accountType="UNIFIED", coin="USDT")["result"]["list"][0]["coin"][0]
    assert float(wallet["totalOrderIM"]) > 0
    fake_bybit.set_price("BTCUSDT", 63_990.0, bid=63_989.9, ask=63_990.1)
    e = bybit_http.get_executions(category="linear", symbol="BTCUSDT", orderId=oid)["result"]["list"][0]
    assert (e["execPrice"], e["isMaker"], e["feeRate"]) == ("64000.00", True, "0.0002")
    assert _code(bybit_http.cancel_order, category="linear", symbol="BTCUSDT", orderId=oid) == 110001
    assert _code(bybit_http.cancel_order, category="linear", symbol="BTCUSDT", orderId="nope") == 110001


def test_cancel_resting_order_by_link_id(fake_bybit, bybit_http):
    _order(bybit_http, orderType="Limit", price="60000", qty="0.005", orderLinkId="rest-1")
    res = bybit_http.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="rest-1")
    assert res["result"]["orderLinkId"] == "rest-1"
    row = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId="rest-1")["result"]["list"][0]
    assert (row["orderStatus"], row["cancelType"]) == ("Cancelled", "CancelByUser")


def test_cancel_all_cancels_resting_orders_and_history_lists_them(fake_bybit, bybit_http):
    _order(bybit_http, takeProfit="70000")
    ids = {_order(bybit_http, orderType="Limit", price=p, qty="0.005")["result"]["orderId"] for p in ("60000", "61000")}
    res = bybit_http.cancel_all_orders(category="linear", symbol="BTCUSDT")["result"]
    assert {o["orderId"] for o in res["list"]} == ids and res["success"] == "1"
    still = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert [o["stopOrderType"] for o in still] == ["TakeProfit"]
    hist = bybit_http.get_order_history(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert sorted(o["orderStatus"] for o in hist) == ["Cancelled", "Cancelled", "Filled"]


def test_trading_stop_sets_and_cancels_legs(fake_bybit, bybit_http):
    _order(bybit_http)
    bybit_http.set_trading_stop(category="linear", symbol="BTCUSDT", tpslMode="Full", positionIdx=0,
                                takeProfit="71000", stopLoss="64000")
    pos = bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (pos["takeProfit"], pos["stopLoss"]) == ("71000.00", "64000.00")
    bybit_http.set_trading_stop(category="linear", symbol="BTCUSDT", tpslMode="Full", positionIdx=0, takeProfit="0")
    pos = bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (pos["takeProfit"], pos["stopLoss"]) == ("0", "64000.00")
    legs = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert [o["stopOrderType"] for o in legs] == ["StopLoss"]
    assert _code(bybit_http.set_trading_stop, category="linear", symbol="ETHUSDT", tpslMode="Full",
                 positionIdx=0, stopLoss="3000") == 10001


def test_cancelling_a_tp_sl_leg_by_order_id_removes_it_from_the_position(fake_bybit, bybit_http):
    _order(bybit_http, takeProfit="70000", stopLoss="64000")
    legs = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
    sl = next(o for o in legs if o["stopOrderType"] == "StopLoss")
    assert bybit_http.cancel_order(category="linear", symbol="BTCUSDT", orderId=sl["orderId"])["result"][
        "orderId"] == sl["orderId"]
    pos = bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (pos["takeProfit"], pos["stopLoss"]) == ("70000.00", "0")
    row = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT", orderId=sl["orderId"])["result"]["list"]
    assert row[0]["orderStatus"] == "Deactivated"
    assert _code(bybit_http.cancel_order, category="linear", symbol="BTCUSDT", orderId=sl["orderId"]) == 110001


def test_take_profit_trigger_closes_with_closed_pnl_and_wallet_consistent(fake_bybit, bybit_http):
    _order(bybit_http, takeProfit="66000", stopLoss="64000")
    fake_bybit.set_price("BTCUSDT", 66_100.0)  # a jump through the TP: the engine fills at that price (gap rule)
    pos = bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert pos["size"] == "0" and pos["side"] == ""
    rows = bybit_http.get_closed_pnl(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert len(rows) == 1
    r = rows[0]
    assert (r["side"], r["closedSize"], r["avgEntryPrice"], r["avgExitPrice"]) == ("Sell", "0.010", "65000.10",
                                                                                 "66100.00")
    open_fee, close_fee = 0.01 * ASK * 0.00055, 0.01 * 66_100 * 0.00055
    assert float(r["closedPnl"]) == pytest.approx(0.01 * (66_100 - ASK) - open_fee - close_fee, abs=1e-6)
    legs = bybit_http.get_open_orders(category="linear", symbol="BTCUSDT", openOnly=1)["result"]["list"]
    assert {(o["stopOrderType"], o["orderStatus"]) for o in legs if o["stopOrderType"]} == {
        ("TakeProfit", "Filled"), ("StopLoss", "Deactivated")}
    coin = bybit_http.get_wallet_balance(accountType="UNIFIED", coin="USDT")["result"]["list"][0]["coin"][0]
    assert float(coin["walletBalance"]) == pytest.approx(10_000 + float(r["closedPnl"]), abs=1e-6)


def test_available_balance_is_the_isolated_formula(fake_bybit, bybit_http):
    _order(bybit_http)
    _order(bybit_http, orderType="Limit", price="60000", qty="0.005")
    acct = bybit_http.get_wallet_balance(accountType="UNIFIED", coin="USDT")["result"]["list"][0]
    c = acct["coin"][0]
    expected = (float(c["walletBalance"]) - float(c["totalPositionIM"]) - float(c["totalOrderIM"])
                - float(c["locked"]) - float(c["bonus"]))
    assert float(acct["totalAvailableBalance"]) == pytest.approx(expected, abs=1e-6)


def test_liquidation_on_mark_settles_at_bankruptcy_as_bust_trade(fake_bybit, bybit_http):
    bybit_http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="50", sellLeverage="50")
    _order(bybit_http)
    liq = float(bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]["liqPrice"])
    fake_bybit.set_price("BTCUSDT", liq + 50, mark=liq - 1)
    execs = bybit_http.get_executions(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert execs[0]["execType"] == "BustTrade"
    assert execs[0]["execPrice"] == f"{margin.bankruptcy_price('Buy', ASK, 50):.2f}"
    assert bybit_http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]["size"] == "0"


def test_funding_appears_as_funding_execution(fake_bybit, bybit_http):
    _order(bybit_http)
    fake_bybit.apply_funding("BTCUSDT", 0.0001, mark=65_000.0)
    e = bybit_http.get_executions(category="linear", symbol="BTCUSDT", execType="Funding")["result"]["list"][0]
    assert float(e["execFee"]) == pytest.approx(0.01 * 65_000 * 0.0001) and e["feeRate"] == "0.0001"


def test_fee_rate_margin_mode_and_settle_coin_position_list(fake_bybit, bybit_http):
    rows = bybit_http.get_fee_rates(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert rows == [{"symbol": "BTCUSDT", "baseCoin": "", "takerFeeRate": "0.00055", "makerFeeRate": "0.0002"}]
    assert bybit_http.set_margin_mode(setMarginMode="ISOLATED_MARGIN")["result"] == {"reasons": []}
    assert bybit_http.get_positions(category="linear", settleCoin="USDT")["result"]["list"] == []
    _order(bybit_http)
    listed = bybit_http.get_positions(category="linear", settleCoin="USDT")["result"]["list"]
    assert [p["symbol"] for p in listed] == ["BTCUSDT"]
    assert _code(bybit_http.get_positions, category="linear") == 10001
