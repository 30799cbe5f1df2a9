"""The object Simulator: Bybit-like validation codes, fills and fees, margin, TP/SL, liquidation,
funding and a JSON round trip of its state."""

import json

import pytest

from trading.engine.fees import FeeSchedule
from trading.engine.instruments import BTCUSDT, ETHUSDT
from trading.engine.orders import OrderRequest
from trading.engine.simulator import Simulator

SYM = "BTCUSDT"


def make(balance=1000.0, leverage=50, price=20_000.0, **kw):
    kw.setdefault("slippage_bps", 0.0)  # the worked numbers below fill at the quote (slippage: test_execution_model)
    sim = Simulator({SYM: BTCUSDT, "ETHUSDT": ETHUSDT}, balance, FeeSchedule(), **kw)
    assert sim.set_leverage(SYM, leverage).accepted
    sim.on_price(SYM, 0, price)
    return sim


def buy(qty, **kw):
    return OrderRequest(SYM, "Buy", "Market", qty, **kw)


def sell(qty, **kw):
    return OrderRequest(SYM, "Sell", "Market", qty, **kw)


def test_set_leverage_codes():
    sim = Simulator({SYM: BTCUSDT}, 100)
    assert sim.set_leverage(SYM, 101).code == 10001
    assert sim.set_leverage(SYM, 0.5).code == 10001
    assert sim.set_leverage(SYM, 25).accepted
    assert sim.set_leverage(SYM, 25).code == 110043


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (buy(0.0015), 10001),  # not on the 0.001 step
        (buy(0.0), 10001),
        (OrderRequest(SYM, "Buy", "Limit", 0.001, price=20_000.05), 10001),  # price off tick
        (OrderRequest(SYM, "Buy", "Limit", 0.001, price=4_000.0), 110094),  # 0.001 * 4,000 = 4 < 5 USDT
        (buy(3.0), 110007),  # cost 3 * 20,000 / 50 = 1,200 + fees > 1,000
        (sell(0.001, reduce_only=True), 110017),  # nothing to reduce
    ],
)
def test_place_order_rejections(request_, code):
    sim = make()
    result = sim.place_order(request_)
    assert result.code == code and not result.accepted
    assert sim.open_orders() == []


def test_risk_tier_limits():
    sim = make(balance=1_000_000, leverage=100, price=20_000)
    # 101 BTC * 20,000 = 2,020,000 > tier-1 limit: tier 2 allows 90x only -> 110013
    assert sim.place_order(buy(101)).code == 110013
    # 131 BTC * 20,000 = 2,620,000 > 2,600,000, the highest limit -> 110090
    assert sim.place_order(buy(131)).code == 110090


def test_duplicate_client_id_and_cancel_codes():
    sim = make()
    first = sim.place_order(OrderRequest(SYM, "Buy", "Limit", 0.01, price=19_000.0, client_order_id="a-1"))
    assert first.accepted
    assert sim.place_order(OrderRequest(SYM, "Buy", "Limit", 0.01, price=19_000.0, client_order_id="a-1")).code == 110072
    assert sim.cancel_order(first.order_id).accepted
    assert sim.cancel_order(first.order_id).code == 110001
    assert sim.cancel_order("nope").code == 110001


def test_market_fill_at_ask_partial_close_frees_margin_pro_rata():
    sim = make()
    assert sim.place_order(buy(0.1)).accepted
    sim.on_price(SYM, 1, 20_000, bid=19_990, ask=20_010)
    pos = sim.positions[SYM]
    # fill at the ask 20,010: fee 0.1 * 20,010 * 0.0006 = 1.2006; margin 2,001 / 50 = 40.02
    assert pos.entry_price == 20_010 and pos.margin == pytest.approx(40.02)
    assert sim.balance == pytest.approx(1000 - 1.2006)
    assert sim.fills[-1].liquidity == "taker" and sim.fills[-1].fee == pytest.approx(1.2006)
    assert sim.place_order(sell(0.05, reduce_only=True)).accepted
    sim.on_price(SYM, 2, 20_120, bid=20_110, ask=20_130)
    # close 0.05 at the bid 20,110: pnl 0.05 * 100 = 5; fee 0.05 * 20,110 * 0.0006 = 0.6033; margin 40.02 -> 20.01
    assert pos.qty == pytest.approx(0.05) and pos.margin == pytest.approx(20.01)
    assert sim.fills[-1].realised_pnl == pytest.approx(5.0)
    assert sim.balance == pytest.approx(1000 - 1.2006 + 5 - 0.6033)
    # isolated available = balance - position IM
    assert sim.available == pytest.approx(sim.balance - 20.01)


def test_reduce_only_larger_than_position_is_truncated():
    sim = make()
    sim.place_order(buy(0.05))
    sim.on_price(SYM, 1, 20_000)
    assert sim.place_order(sell(0.2, reduce_only=True)).accepted
    sim.on_price(SYM, 2, 20_000)
    assert SYM not in sim.positions
    assert sim.fills[-1].qty == pytest.approx(0.05)


def test_limit_rests_reserves_and_fills_at_maker():
    sim = make()
    r = sim.place_order(OrderRequest(SYM, "Buy", "Limit", 0.1, price=19_900.0))
    # reserve = IM 1,990/50 = 39.80 + open fee 1,990 * 0.0006 = 1.194 + close fee at 19,900*0.98=19,502 -> 1.17012
    assert sim.order_margin == pytest.approx(39.8 + 1.194 + 1.17012)
    sim.on_price(SYM, 1, 19_950)
    assert sim.orders[r.order_id].status == "New"
    sim.on_bar(SYM, 2, 19_950, 19_960, 19_880, 19_920)
    assert sim.orders[r.order_id].status == "Filled"
    assert sim.fills[-1].liquidity == "maker"
    assert sim.fills[-1].fee == pytest.approx(0.1 * 19_900 * 0.0002)  # 0.398
    assert sim.order_margin == 0


def test_stop_loss_must_sit_before_liquidation():
    sim = make()
    # long 0.1 @ 20,000 50x: liq 20,000 * (1 - 0.02 + 0.005) = 19,700
    bad = sim.place_order(buy(0.1, stop_loss=19_700.0))
    assert bad.code == 10001 and "strictly before the liquidation price 19700" in bad.message
    assert sim.place_order(buy(0.1, stop_loss=19_700.1, take_profit=20_500.0)).accepted
    sim.on_price(SYM, 1, 20_000)
    assert sim.set_trading_stop(SYM, stop_loss=19_650.0).code == 10001
    assert sim.set_trading_stop(SYM, stop_loss=19_800.0).accepted
    assert sim.positions[SYM].stop_loss == 19_800.0


def test_tp_trigger_pays_taker():
    sim = make()
    sim.place_order(buy(0.1, take_profit=20_500.0))
    sim.on_price(SYM, 1, 20_000)
    sim.on_bar(SYM, 2, 20_100, 20_600, 20_050, 20_550)
    fill = sim.fills[-1]
    # TP at 20,500: pnl 0.1 * 500 = 50; taker fee 0.1 * 20,500 * 0.0006 = 1.23
    assert (fill.exit_reason, fill.price, fill.liquidity) == ("tp", 20_500.0, "taker")
    assert fill.realised_pnl == pytest.approx(50.0) and fill.fee == pytest.approx(1.23)


def test_liquidation_on_mark_settles_at_bankruptcy_losing_all_margin():
    sim = make()
    sim.place_order(buy(0.1))
    sim.on_price(SYM, 1, 20_000)
    margin = sim.positions[SYM].margin  # 0.1 * 20,000 / 50 = 40
    balance = sim.balance
    sim.on_price(SYM, 2, 19_750, mark=19_710)  # mark above liq 19,700: nothing
    assert SYM in sim.positions
    sim.on_price(SYM, 3, 19_750, mark=19_690)  # mark crosses 19,700
    fill = sim.fills[-1]
    # settles at bankruptcy 20,000 * 0.98 = 19,600: pnl 0.1 * -400 = -40 = -margin; fee 0.1 * 19,600 * 0.0006
    assert (fill.exit_reason, fill.price) == ("liquidation", 19_600.0)
    assert fill.realised_pnl == pytest.approx(-margin) == pytest.approx(-40.0)
    assert fill.fee == pytest.approx(1.176)
    assert sim.balance == pytest.approx(balance - 40.0 - 1.176)
    assert sim.used_margin == 0


def test_funding_long_pays_short_receives():
    sim = make()
    sim.place_order(buy(0.1))
    sim.on_price(SYM, 1, 20_000)
    before = sim.balance
    # 0.1 * 21,000 * 0.0001 = 0.21
    assert sim.apply_funding(SYM, 2, 0.0001, 21_000) == pytest.approx(0.21)
    assert sim.balance == pytest.approx(before - 0.21)
    assert sim.fills[-1].kind == "funding" and sim.fills[-1].funding == pytest.approx(0.21)
    assert sim.apply_funding("ETHUSDT", 2, 0.0001, 3_000) == 0.0  # no position, nothing


def test_flip_with_one_order():
    sim = make()
    sim.place_order(buy(0.1))
    sim.on_price(SYM, 1, 20_000)
    sim.place_order(sell(0.3))
    sim.on_price(SYM, 2, 20_100)
    pos = sim.positions[SYM]
    assert pos.side == -1 and pos.qty == pytest.approx(0.2)
    assert [f.exit_reason for f in sim.fills[-2:]] == ["signal", "entry"]


def test_max_open_positions():
    sim = make(max_open_positions=1)
    sim.set_leverage("ETHUSDT", 10)
    sim.on_price("ETHUSDT", 0, 3_000)
    sim.place_order(buy(0.01))
    sim.on_price(SYM, 1, 20_000)
    r = sim.place_order(OrderRequest("ETHUSDT", "Buy", "Market", 0.1))
    assert r.code == 10001 and "max_open_positions 1" in r.message


def test_state_round_trips_through_json():
    sim = make()
    sim.place_order(buy(0.1, stop_loss=19_800.0, client_order_id="x"))
    sim.on_price(SYM, 1, 20_000)
    sim.place_order(OrderRequest(SYM, "Sell", "Limit", 0.05, price=20_400.0, reduce_only=True))
    state = json.loads(json.dumps(sim.to_state()))
    clone = Simulator.from_state(state)
    assert clone.to_state() == sim.to_state()
    assert clone.place_order(buy(0.001, client_order_id="x")).code == 110072
    for s in (sim, clone):
        s.on_bar(SYM, 2, 20_000, 20_450, 19_950, 20_300)
        s.on_bar(SYM, 3, 20_300, 20_350, 19_700, 19_750)
    assert clone.to_state() == sim.to_state()
    assert [f.exit_reason for f in sim.fills] == ["entry", "signal", "sl"]


def test_exchange_strings_are_accepted_and_bad_reasons_refused():
    from decimal import Decimal

    req = OrderRequest(SYM, "Buy", "Limit", "0.001", price=Decimal("19000.0"), stop_loss="18900")
    assert (req.qty, req.price, req.stop_loss) == (0.001, 19_000.0, 18_900.0)
    with pytest.raises(ValueError, match="exit_reason"):
        OrderRequest(SYM, "Buy", "Market", 0.001, exit_reason="because")


def test_partial_close_rederives_liq_across_a_tier_boundary():
    sim = make(balance=100_000, leverage=50, price=44_000)
    assert sim.place_order(buy(50)).accepted
    sim.on_price(SYM, 1, 44_000)
    pos = sim.positions[SYM]
    # PV 50 * 44,000 = 2,200,000 -> tier 2 (MMR 0.56 %, deduction 1,200): IM 44,000, MM 12,320 - 1,200 = 11,120
    # liq = 44,000 - (44,000 - 11,120) / 50 = 43,342.4
    assert pos.liq_price == pytest.approx(43_342.4)
    assert sim.place_order(sell(10, reduce_only=True)).accepted
    sim.on_price(SYM, 2, 44_000)
    # 40 BTC: PV 1,760,000 -> tier 1: liq = 44,000 * (1 - 0.02 + 0.005) = 43,340; margin 44,000 * 40/50 = 35,200
    assert pos.liq_price == pytest.approx(43_340.0)
    assert pos.margin == pytest.approx(35_200.0)
