"""The live adapter alone, real pybit against the fake: what goes on the wire (qty/price strings, the
order/create body), the records it maps (orders, TP/SL legs, executions with exit reasons, funding,
liquidation), the isolated wallet formula, paging, and that credentials never show."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fakebybit.catalog import listing_for
from fakebybit.pytest_plugin import pybit_http, start_fake
from tests.factories import make_user
from trading.engine.instruments import BTCUSDT_FINE
from trading.exchanges.bybit import BybitExchange
from trading.exchanges.types import ExchangeError, OrderIntent

from .conftest import FAST, live_account
from .wire import WireRelay

CREATE = "/v5/order/create"
EXPONENT = re.compile(r"\d[eE][+-]?\d")  # '1e-05', '8E-5'


def buy(qty, cid: str, **kw) -> OrderIntent:
    return OrderIntent(symbol="BTCUSDT", side="Buy", qty=qty, client_order_id=cid, **kw)


@pytest.fixture
def relay(fake_bybit):  # noqa: F811 (fixture from conftest's import)
    r = WireRelay(fake_bybit.urls.http).start()
    yield r
    r.stop()


def test_order_body_on_the_wire_is_decimal_strings_on_step(account, fake_bybit, relay):
    ex = BybitExchange(account, endpoint=relay.url, backoff=FAST)
    ex.place_order(buy(Decimal("0.001"), "wire-1", take_profit=Decimal("70000.04"), stop_loss=Decimal("63000")))
    [raw] = relay.bodies(CREATE)
    assert '"qty": "0.001"' in raw and not EXPONENT.search(raw)
    body = json.loads(raw)
    # TP 70,000.04 snaps to the 0.1 tick -> "70000.0"; Market -> IOC; one-way positionIdx 0 (a JSON int)
    assert body == {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
                    "qty": "0.001", "positionIdx": 0, "orderLinkId": "wire-1", "timeInForce": "IOC",
                    "tpslMode": "Full", "takeProfit": "70000.0", "tpTriggerBy": "LastPrice",
                    "stopLoss": "63000.0", "slTriggerBy": "LastPrice"}
    assert fake_bybit.counters.snapshot()["orders_accepted"] == 1


def test_fine_step_qty_never_goes_out_in_exponent_form(db):
    fake = start_fake(listings={"BTCUSDT": listing_for(BTCUSDT_FINE)}, quotes={"BTCUSDT": (65_000.0, 64_999.9,
                                                                                           65_000.1)})
    relay = WireRelay(fake.urls.http).start()
    try:
        acc = live_account(make_user("fine"), fake.api_key, fake.api_secret)
        ex = BybitExchange(acc, endpoint=relay.url, backoff=FAST)
        # str(0.00008) == '8e-05'; 0.00008 BTC * 65,000.1 = 5.2 USDT >= 5
        assert str(0.00008) == "8e-05"
        ex.place_order(buy(Decimal(0.00008), "fine-1"))  # a binary-float Decimal, as a careless caller makes
        ex.place_order(buy(Decimal("0.00651"), "fine-2"))  # DESIGN.md's worked sizing example
        assert not any(EXPONENT.search(b) for b in relay.bodies(CREATE))
        sent = [json.loads(b)["qty"] for b in relay.bodies(CREATE)]
        assert sent == ["0.00008", "0.00651"]
        assert [p.qty for p in ex.positions()] == [Decimal("0.00659")]
    finally:
        relay.stop()
        fake.stop()


def test_limit_price_on_tick_gtc_reduce_only_flag_and_leverage_as_strings(account, fake_bybit, relay):
    ex = BybitExchange(account, endpoint=relay.url, backoff=FAST)
    ex.set_leverage("BTCUSDT", Decimal("12.50"))
    ex.place_order(buy(Decimal("0.002"), "lim-1", order_type="Limit", price=Decimal("60000.04")))
    ex.place_order(buy(Decimal("0.002"), "mkt-1"))
    ex.place_order(OrderIntent(symbol="BTCUSDT", side="Sell", qty=Decimal("0.001"), client_order_id="ro-1",
                               reduce_only=True))
    lev = [json.loads(b) for b in relay.bodies("/v5/position/set-leverage")]
    assert lev == [{"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "12.5", "sellLeverage": "12.5"}]
    limit, _, reduce = (json.loads(b) for b in relay.bodies(CREATE))
    assert (limit["price"], limit["timeInForce"]) == ("60000.0", "GTC")
    assert reduce["reduceOnly"] is True and "takeProfit" not in reduce


def test_off_step_qty_is_refused_before_anything_is_sent(bybit, fake_bybit):
    with pytest.raises(ExchangeError) as e:
        bybit.place_order(buy(Decimal("0.0105"), "off-1"))
    assert e.value.code == 10001 and "qtyStep 0.001" in e.value.message
    assert fake_bybit.counters.snapshot()["requests"].get(CREATE, 0) == 0


def test_instrument_is_cached_per_adapter(bybit, fake_bybit):
    bybit.instrument("BTCUSDT")
    bybit.instrument("BTCUSDT")
    seen = fake_bybit.counters.snapshot()["requests"]
    assert seen["/v5/market/instruments-info"] == 1 and seen["/v5/market/risk-limit"] == 1
    with pytest.raises(ExchangeError) as e:
        bybit.instrument("DOGEUSDT")
    assert e.value.code == 10001


def test_wallet_is_the_isolated_formula(bybit, fake_bybit):
    bybit.place_order(buy(Decimal("0.010"), "w-1"))
    bybit.place_order(buy(Decimal("0.005"), "w-2", order_type="Limit", price=Decimal("60000")))
    raw = pybit_http(fake_bybit).get_wallet_balance(accountType="UNIFIED", coin="USDT")["result"]["list"][0]
    c = raw["coin"][0]
    w = bybit.wallet()
    # walletBalance = 10,000 - open fee 0.010 * 65,000.1 * 0.00055 = 10,000 - 0.35750055
    assert w.balance == Decimal("9999.64249945") == Decimal(c["walletBalance"])
    expected = (Decimal(c["walletBalance"]) - Decimal(c["totalPositionIM"]) - Decimal(c["totalOrderIM"])
                - Decimal(c["locked"]) - Decimal(c["bonus"]))
    assert w.available == expected == Decimal(raw["totalAvailableBalance"])
    assert w.used_margin == Decimal(c["totalPositionIM"]) + Decimal(c["totalOrderIM"])
    assert Decimal(c["totalOrderIM"]) > 0


def test_open_orders_find_cancel_and_position_legs(bybit, fake_bybit):
    bybit.place_order(buy(Decimal("0.010"), "e-1", take_profit=Decimal("70000"), stop_loss=Decimal("63000")))
    ack = bybit.place_order(buy(Decimal("0.005"), "rest-1", order_type="Limit", price=Decimal("60000")))
    [o] = bybit.open_orders()  # the TP/SL legs belong to the position, not to this list
    assert (o.order_id, o.client_order_id, o.status, o.price, o.qty, o.filled_qty) == (
        ack.order_id, "rest-1", "New", Decimal("60000"), Decimal("0.005"), Decimal("0"))
    assert bybit.open_orders("ETHUSDT") == []
    bybit.cancel_order("BTCUSDT", order_id=ack.order_id)
    assert bybit.open_orders("BTCUSDT") == []
    assert bybit.find_order("BTCUSDT", "rest-1").status == "Cancelled"
    with pytest.raises(ExchangeError) as e:
        bybit.cancel_order("BTCUSDT", order_id=ack.order_id)
    assert e.value.code == 110001
    before = fake_bybit.counters.snapshot()["requests"]
    assert bybit.find_order("BTCUSDT", "never-sent") is None
    after = fake_bybit.counters.snapshot()["requests"]
    assert after["/v5/order/realtime"] - before["/v5/order/realtime"] == 1
    assert after["/v5/order/history"] - before.get("/v5/order/history", 0) == 1


def test_open_orders_pages_past_fifty(bybit, fake_bybit):
    fake_bybit.set_rate_limit(CREATE, 1000)
    for i in range(55):
        bybit.place_order(buy(Decimal("0.001"), f"p-{i}", order_type="Limit", price=Decimal(50_000 + i)))
    assert len({o.client_order_id for o in bybit.open_orders("BTCUSDT")}) == 55


def test_trading_stop_sets_and_cancels_a_leg(bybit):
    bybit.place_order(buy(Decimal("0.010"), "ts-1"))
    bybit.set_trading_stop("BTCUSDT", take_profit=Decimal("71000"), stop_loss=Decimal("64000"))
    pos = bybit.positions()[0]
    assert (pos.take_profit, pos.stop_loss) == (Decimal("71000"), Decimal("64000"))
    bybit.set_trading_stop("BTCUSDT", take_profit=Decimal("0"))
    pos = bybit.positions()[0]
    assert (pos.take_profit, pos.stop_loss) == (None, Decimal("64000"))
    with pytest.raises(ExchangeError) as e:
        bybit.set_trading_stop("ETHUSDT", stop_loss=Decimal("3000"))  # no ETH position
    assert e.value.code == 10001


def test_take_profit_fill_is_exit_reason_tp_and_since_filters(bybit, fake_bybit):
    bybit.place_order(buy(Decimal("0.010"), "tp-1", take_profit=Decimal("66000"), stop_loss=Decimal("64000")))
    entry = bybit.executions()[0]
    fake_bybit.set_price("BTCUSDT", 66_100.0)  # jumps through the TP: the fill is at 66,100
    fills = bybit.executions(symbol="BTCUSDT")
    assert [f.exit_reason for f in fills] == ["", "tp"]
    tp = fills[1]
    # pnl = 0.010 * (66,100 - 65,000.1) = 10.999; fee = 0.010 * 66,100 * 0.00055 = 0.363550
    assert (tp.side, tp.qty, tp.price, tp.realised_pnl) == ("Sell", Decimal("0.010"), Decimal("66100"),
                                                           Decimal("10.999"))
    assert tp.fee == Decimal("0.36355")
    assert bybit.positions() == []
    later = bybit.executions(since=datetime.fromtimestamp(entry.executed_at.timestamp() + 0.001, tz=UTC))
    assert [f.exec_id for f in later] == [tp.exec_id]
    old = bybit.executions(since=datetime(2026, 1, 1, tzinfo=UTC))  # several 7-day windows, same two fills
    assert [f.exec_id for f in old] == [entry.exec_id, tp.exec_id]


def test_liquidation_is_bust_trade_and_funding_is_funding(bybit, fake_bybit):
    bybit.place_order(buy(Decimal("0.010"), "f-1"))
    fake_bybit.apply_funding("BTCUSDT", 0.0001, mark=65_000.0)
    funding = [f for f in bybit.executions() if f.exec_type == "Funding"]
    # a long pays size * mark * rate = 0.010 * 65,000 * 0.0001 = 0.065
    assert [(f.funding, f.fee, f.exit_reason) for f in funding] == [(Decimal("0.065"), Decimal("0"), "")]
    bybit.set_leverage("ETHUSDT", Decimal("50"))
    bybit.place_order(OrderIntent(symbol="ETHUSDT", side="Buy", qty=Decimal("1.00"), client_order_id="liq-1"))
    liq = bybit.positions()[-1].liquidation_price
    fake_bybit.set_price("ETHUSDT", float(liq) + 5, mark=float(liq) - 1)
    bust = [f for f in bybit.executions(symbol="ETHUSDT") if f.exec_type == "BustTrade"]
    assert len(bust) == 1 and bust[0].exit_reason == "liquidation"
    # settled at bankruptcy = entry * (1 - 1/50) = 3,500.01 * 0.98 = 3,430.0098 -> "3430.01"
    assert bust[0].price == Decimal("3430.01")
    assert [p.symbol for p in bybit.positions()] == ["BTCUSDT"]


def test_set_leverage_above_the_cap_is_10001(bybit):
    with pytest.raises(ExchangeError) as e:
        bybit.set_leverage("BTCUSDT", Decimal("101"))
    assert e.value.code == 10001 and not e.value.retryable


def test_credentials_never_show(account, fake_bybit, settings):
    settings.BYBIT_HTTP_ENDPOINT = fake_bybit.urls.http
    ex = BybitExchange(account, backoff=FAST)
    assert ex.endpoint == fake_bybit.urls.http  # from settings when no endpoint is passed
    shown = repr(ex) + str(ex) + repr(vars(ex).keys())
    assert fake_bybit.api_key not in shown and fake_bybit.api_secret not in shown
    assert ex.last_price("BTCUSDT") == Decimal("65000")
    settings.BYBIT_HTTP_ENDPOINT = None  # no override anywhere -> the account environment's host (testnet)
    assert BybitExchange(account).endpoint == "https://api-testnet.bybit.com"


def test_an_injected_pybit_session_is_used_as_is(account, fake_bybit):
    ex = BybitExchange(account, http=pybit_http(fake_bybit), backoff=FAST)
    assert ex.endpoint == fake_bybit.urls.http and ex.last_price("ETHUSDT") == Decimal("3500")


def test_an_injected_session_without_ignore_codes_still_treats_110043_as_success(account, fake_bybit):
    ex = BybitExchange(account, http=pybit_http(fake_bybit), backoff=FAST)  # pybit raises 110043 here
    ex.set_leverage("BTCUSDT", Decimal("10"))  # the fake's default leverage: "not modified"
    assert fake_bybit.counters.snapshot()["ret_codes"] == {110043: 1}


def test_executions_page_past_one_hundred(bybit, fake_bybit):
    fake_bybit.set_rate_limit(CREATE, 1000)
    for i in range(101):  # 101 fills: execution/list answers at most 100 per page
        bybit.place_order(buy(Decimal("0.001"), f"x-{i}"))
    fills = bybit.executions(symbol="BTCUSDT")
    assert len(fills) == len({f.exec_id for f in fills}) == 101
    assert [f.executed_at for f in fills] == sorted(f.executed_at for f in fills)
    assert fake_bybit.counters.snapshot()["requests"]["/v5/execution/list"] == 2
