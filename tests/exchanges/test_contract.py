"""The Exchange contract, run against BOTH adapters: paper (the engine's simulator, prices from a quote
function) and live Bybit (real pybit against the fake exchange). Both venues quote BTCUSDT last 65,000.0,
bid 64,999.9, ask 65,000.1 and charge the fake's taker fee 0.055 %."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.engine import margin
from trading.engine.instruments import BTCUSDT
from trading.exchanges.types import ExchangeError, OrderIntent

ASK, BID = Decimal("65000.1"), Decimal("64999.9")


def buy(qty: str, cid: str, **kw) -> OrderIntent:
    return OrderIntent(symbol="BTCUSDT", side="Buy", qty=Decimal(qty), client_order_id=cid, **kw)


def code_of(call, *args, **kwargs) -> int:
    with pytest.raises(ExchangeError) as e:
        call(*args, **kwargs)
    return e.value.code


def test_instrument_has_filters_and_tiers_with_mm_deduction(venue):
    inst = venue.exchange.instrument("BTCUSDT")
    assert (inst.tick_size, inst.qty_step, inst.min_qty, inst.max_leverage) == (0.1, 0.001, 0.001, 100.0)
    # tier 2: mmDeduction = RL_1 * (MMR_2 - MMR_1) = 2,000,000 * (0.0056 - 0.005) = 1,200
    assert [t.risk_limit_value for t in inst.tiers] == [2_000_000, 2_600_000]
    assert inst.tiers[1].mm_deduction == pytest.approx(1_200)


def test_set_leverage_twice_second_is_a_no_op(venue):
    venue.exchange.set_leverage("BTCUSDT", Decimal("20"))
    venue.exchange.set_leverage("BTCUSDT", Decimal("20"))  # 110043 "not modified" is success
    venue.exchange.place_order(buy("0.010", "lev-1"))
    assert venue.exchange.positions()[0].leverage == Decimal("20")


def test_market_buy_with_tp_sl_opens_at_ask_with_engine_liquidation(venue):
    ex = venue.exchange
    ex.set_leverage("BTCUSDT", Decimal("20"))
    ack = ex.place_order(buy("0.010", "entry-1", take_profit=Decimal("70000"), stop_loss=Decimal("63000")))
    assert ack.client_order_id == "entry-1" and ack.order_id and not ack.duplicate
    [pos] = ex.positions()
    assert (pos.symbol, pos.side, pos.qty, pos.entry_price) == ("BTCUSDT", "long", Decimal("0.010"), ASK)
    assert (pos.take_profit, pos.stop_loss) == (Decimal("70000"), Decimal("63000"))
    # long liq = entry * (1 - 1/lev + MMR) = 65,000.1 * (1 - 0.05 + 0.005) = 65,000.1 * 0.955 = 62,075.0955
    engine_liq = margin.liquidation_price(BTCUSDT, "Buy", 0.01, float(ASK), 20)
    assert engine_liq == pytest.approx(62_075.0955)
    # Bybit prints it at priceScale 2 ("62075.10"), paper at 8 places: equal within half a cent
    assert abs(pos.liquidation_price - Decimal("62075.0955")) <= Decimal("0.005")
    # bankruptcy = entry * (1 - 1/lev) = 65,000.1 * 0.95 = 61,750.095
    assert abs(pos.bankruptcy_price - Decimal("61750.095")) <= Decimal("0.005")
    # margin = IM = 0.01 * 65,000.1 / 20 = 32.500050
    assert abs(pos.margin - Decimal("32.50005")) <= Decimal("0.00001")
    order = ex.find_order("BTCUSDT", "entry-1")
    assert (order.order_id, order.status, order.filled_qty, order.avg_price) == (
        ack.order_id, "Filled", Decimal("0.010"), ASK)


def test_reduce_only_half_leaves_half_and_realises_the_price_pnl(venue):
    ex = venue.exchange
    ex.place_order(buy("0.010", "open-1"))
    ex.place_order(OrderIntent(symbol="BTCUSDT", side="Sell", qty=Decimal("0.005"), client_order_id="half-1",
                               reduce_only=True, exit_reason="monitor-decay"))
    [pos] = ex.positions()
    assert pos.qty == Decimal("0.005") and pos.entry_price == ASK
    close = [f for f in ex.executions(symbol="BTCUSDT") if f.client_order_id == "half-1"]
    assert len(close) == 1
    # sold 0.005 at the bid: pnl = 0.005 * (64,999.9 - 65,000.1) = -0.001
    assert (close[0].side, close[0].qty, close[0].price) == ("Sell", Decimal("0.005"), BID)
    assert close[0].realised_pnl == Decimal("-0.001")


def test_duplicate_client_order_id_is_reported_not_placed_again(venue):
    ex = venue.exchange
    first = ex.place_order(buy("0.010", "same-id"))
    before = venue.accepted()
    again = ex.place_order(buy("0.010", "same-id"))
    assert again.duplicate and again.order_id == first.order_id and again.client_order_id == "same-id"
    assert venue.accepted() == before
    assert ex.positions()[0].qty == Decimal("0.010")


def test_executions_carry_fee_qty_times_price_times_rate(venue):
    ex = venue.exchange
    ex.place_order(buy("0.010", "fee-1"))
    [fill] = ex.executions(symbol="BTCUSDT")
    # fee = 0.010 * 65,000.1 * 0.00055 = 0.35750055
    assert fill.fee == pytest.approx(Decimal("0.35750055"), abs=Decimal("1e-8"))
    assert fill.fee == pytest.approx(fill.qty * fill.price * venue.taker, abs=Decimal("1e-8"))
    assert (fill.fee_rate, fill.is_maker, fill.exec_type, fill.client_order_id) == (
        venue.taker, False, "Trade", "fee-1")
    assert fill.exec_id.startswith(f"{venue.name}-") and fill.realised_pnl == 0


def test_wallet_available_is_balance_less_used_margin(venue):
    ex = venue.exchange
    start = ex.wallet()
    ex.place_order(buy("0.010", "w-1"))
    w = ex.wallet()
    # balance paid the open fee 0.35750055; a position holds margin
    assert start.balance - w.balance == pytest.approx(Decimal("0.35750055"), abs=Decimal("1e-8"))
    assert w.used_margin > Decimal("32.5")
    assert w.available == w.balance - w.used_margin


def test_rejections_surface_bybit_codes(venue):
    ex = venue.exchange
    assert code_of(ex.place_order, buy("0.0105", "off-step")) == 10001  # qtyStep 0.001
    venue.set_price("ETHUSDT", 100.0, bid=99.99, ask=100.01)
    # 0.01 ETH * 100.01 = 1.0001 USDT < minNotionalValue 5
    eth = OrderIntent(symbol="ETHUSDT", side="Buy", qty=Decimal("0.01"), client_order_id="tiny-1")
    assert code_of(ex.place_order, eth) == 110094
    flat_close = OrderIntent(symbol="BTCUSDT", side="Sell", qty=Decimal("0.010"), client_order_id="ro-1",
                             reduce_only=True)
    assert code_of(ex.place_order, flat_close) == 110017
    assert ex.positions() == []


def test_last_price_is_the_quote(venue):
    assert venue.exchange.last_price("BTCUSDT") == Decimal("65000")
