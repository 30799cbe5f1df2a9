"""Post-only entries through the services (entries.py) on BOTH adapters: paper, and live Bybit (real pybit against
the fake exchange, which rests PostOnly limits in the engine's Simulator and cancels one that would cross). The
venues quote BTCUSDT last 65,000.0, bid 64,999.9, ask 65,000.1; maker 0.02 %, taker 0.055 %; no slippage.

Config: 10x, fixed allocation 20 % of the account's starting capital, post-only with a 60 s timeout. Each order
is sent once: the counts come from the venue (the fake's accepted order/create calls, paper's order book)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import make_config, make_instrument, make_strategy
from trading.models import Account, Fill, Instrument, Order
from trading.services.entries import place_post_only, settle_entries
from trading.services.positions import open_position
from trading.services.recording import sync_account

BAR = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
BID, ASK = Decimal("64999.9"), Decimal("65000.1")
MAKER = Decimal("0.0002")


def post_only_config(venue):
    account = venue.exchange.account
    if not Instrument.objects.filter(symbol="BTCUSDT").exists():  # the live venue's listing, as the desk stores it
        make_instrument("BTCUSDT")
    return make_config(account, make_strategy("chandelier"), leverage=Decimal("10"), sizing_mode="fixed",
                       allocation=Decimal("0.2"), kelly_fraction=None, stop_loss_pct=Decimal("1"),
                       entry_order="post_only", entry_timeout_seconds=60)


def expected_qty(account) -> Decimal:
    # margin = capital x 20 %, notional = margin x 10, qty = notional / bid rounded down to the 0.001 step
    notional = account.starting_capital * Decimal("0.2") * 10
    return (notional / BID).quantize(Decimal("0.001"), rounding="ROUND_DOWN")


@pytest.mark.django_db(transaction=True)
def test_a_resting_entry_traded_through_fills_at_the_bid_at_maker(venue):
    config = post_only_config(venue)
    account = config.account
    out = open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=venue.exchange)
    order = out.order
    assert (order.order_type, order.price, order.status) == ("Limit", BID, "new"), order.status_history
    assert not venue.exchange.positions()
    venue.set_price("BTCUSDT", 64_999.9, bid=64_999.8, ask=65_000.0)  # a touch of the limit: not a fill
    assert not venue.exchange.positions()
    venue.set_price("BTCUSDT", 64_990.0, bid=64_989.9, ask=64_990.1)  # traded through: filled at the limit
    sync_account(account=account, exchange=venue.exchange)
    [pos] = venue.exchange.positions()
    qty = expected_qty(account)
    assert (pos.qty, pos.entry_price) == (qty, BID)
    fill = Fill.objects.get(order__pk=order.pk)
    assert fill.is_maker and fill.price == BID
    assert abs(fill.fee - qty * BID * MAKER) <= Decimal("0.000001")  # maker: qty x 64,999.9 x 0.0002
    assert settle_entries(account=account, exchange=venue.exchange, now=order.created_at + timedelta(seconds=120)) == []
    assert venue.accepted() == 1  # the limit only
    order.refresh_from_db()
    assert order.status == "filled"


@pytest.mark.django_db(transaction=True)
def test_an_unfilled_entry_is_cancelled_at_the_timeout_and_sent_as_one_market_order(venue):
    config = post_only_config(venue)
    account = config.account
    order = open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=venue.exchange).order
    assert settle_entries(account=account, exchange=venue.exchange,
                          now=order.created_at + timedelta(seconds=59)) == []  # before the timeout: it rests
    [taker] = settle_entries(account=account, exchange=venue.exchange, now=order.created_at + timedelta(seconds=60))
    assert taker.client_order_id != order.client_order_id and taker.order_type == "Market"
    order.refresh_from_db()
    assert order.status == "cancelled"
    [pos] = venue.exchange.positions()
    qty = expected_qty(account)
    assert (pos.qty, pos.entry_price) == (qty, ASK)  # the market buy at the ask
    fill = Fill.objects.get(order__pk=taker.pk)
    assert not fill.is_maker and abs(fill.fee - qty * ASK * venue.taker) <= Decimal("0.000001")
    assert pos.stop_loss is not None  # the fallback carries the config's stop
    # a second tick (a retried task) sends nothing more
    assert settle_entries(account=account, exchange=venue.exchange, now=order.created_at + timedelta(seconds=90)) == []
    assert venue.accepted() == 2
    assert Order.objects.filter(account=account).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_post_only_that_would_cross_goes_to_market_at_once(venue):
    config = post_only_config(venue)
    account = config.account
    venue.exchange.set_leverage("BTCUSDT", Decimal("10"))
    got = place_post_only(config=config, symbol="BTCUSDT", side=1, qty="0.010", price=float(ASK), take_profit=None,
                          stop_loss=Decimal("64000"), bar_time=BAR, exchange=venue.exchange)
    limit = Order.objects.get(account=account, order_type="Limit")
    assert limit.status == "cancelled"
    assert "EC_PostOnlyWillTakeLiquidity" in limit.status_history[-1]["note"]  # Bybit's reason, from both venues
    assert got.order_type == "Market" and got.status in ("new", "filled")
    sync_account(account=account, exchange=venue.exchange)
    [pos] = venue.exchange.positions()
    assert (pos.qty, pos.entry_price) == (Decimal("0.010"), ASK)
    assert venue.accepted() == 2  # the limit (cancelled by the venue) and the market order, once each


@pytest.mark.django_db(transaction=True)
def test_the_kill_switch_cancels_a_resting_entry_without_a_fallback(venue):
    config = post_only_config(venue)
    account = config.account
    order = open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=venue.exchange).order
    Account.objects.filter(pk=account.pk).update(kill_switch_engaged=True)
    account = Account.objects.get(pk=account.pk)  # the monitor tick reads the account at its start
    assert settle_entries(account=account, exchange=venue.exchange, now=order.created_at + timedelta(seconds=120)) == []
    order.refresh_from_db()
    assert order.status == "cancelled" and "kill switch" in order.status_history[-1]["note"]
    venue.set_price("BTCUSDT", 64_990.0, bid=64_989.9, ask=64_990.1)  # trades through: nothing rests to fill
    assert not venue.exchange.positions() and not venue.exchange.open_orders("BTCUSDT")
    assert venue.accepted() == 1
