"""A live account is put in isolated margin and one-way mode before its first opening order; an exchange that
refuses the switch gets no order; closing never waits on it; fee rates come from the exchange."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from trading.exchanges import bybit_account
from trading.exchanges.bybit import BybitExchange
from trading.exchanges.bybit_account import MarginModeRefused, prepare_account
from trading.exchanges.types import OrderIntent

from .conftest import FAST

CREATE, SET_MODE = "/v5/order/create", "/v5/account/set-margin-mode"


@pytest.fixture(autouse=True)
def _no_cached_setup():
    bybit_account._ready.clear()
    yield
    bybit_account._ready.clear()


def intent(cid: str, *, reduce_only: bool = False, side: str = "Buy") -> OrderIntent:
    return OrderIntent(symbol="BTCUSDT", side=side, qty=Decimal("0.001"), client_order_id=cid,
                       reduce_only=reduce_only)


def replies(fake, until: str) -> list[str]:
    """The REST replies in the order the fake wrote them, once ``until`` is among them (an order's reply is
    marked just after it is flushed, so poll with a generous deadline)."""
    deadline = time.monotonic() + 90
    while True:
        names = [name for what, name in fake.counters.snapshot()["trace"] if what == "reply"]
        if until in names or time.monotonic() > deadline:
            return names
        time.sleep(0.05)


def test_a_cross_margin_account_is_switched_to_isolated_before_its_first_order(bybit, fake_bybit):
    assert fake_bybit.exchange.margin_mode == "REGULAR_MARGIN"  # Bybit's default: cross
    bybit.place_order(intent("first"))
    assert fake_bybit.exchange.margin_mode == "ISOLATED_MARGIN"
    trace = replies(fake_bybit, CREATE)
    assert trace.index(SET_MODE) < trace.index(CREATE)
    assert trace.index("/v5/position/switch-mode") < trace.index(CREATE)
    # verified once per process and TTL: the second order does not ask again
    bybit.place_order(intent("second"))
    assert fake_bybit.counters.requests[SET_MODE] == 1 and fake_bybit.counters.requests["/v5/account/info"] == 1


def test_an_account_already_isolated_is_not_switched_again(bybit, fake_bybit):
    fake_bybit.exchange.set_margin_mode("ISOLATED_MARGIN")
    setup = prepare_account(bybit, symbol="BTCUSDT")
    assert (setup.margin_mode_before, setup.switched_to_isolated) == ("ISOLATED_MARGIN", False)
    assert fake_bybit.counters.requests[SET_MODE] == 0


def test_a_refused_switch_sends_no_order_and_says_why(bybit, fake_bybit):
    fake_bybit.exchange.refuse_margin_mode = "Cross margin positions exist"
    with pytest.raises(MarginModeRefused) as exc:
        bybit.place_order(intent("refused"))
    assert "margin mode" in exc.value.message and "REGULAR_MARGIN" in exc.value.message
    assert "no order was sent" in exc.value.message and exc.value.code == 3400045
    assert fake_bybit.counters.requests[CREATE] == 0
    assert fake_bybit.exchange.margin_mode == "REGULAR_MARGIN"


def test_closing_never_waits_on_the_margin_mode(account, fake_bybit):
    # a position opened while the account was isolated; then the check would fail: a reduce-only order still goes
    fake_bybit.exchange.set_margin_mode("ISOLATED_MARGIN")
    ex = BybitExchange(account, endpoint=fake_bybit.urls.http, backoff=FAST)
    ex.place_order(intent("open"))
    bybit_account.forget(account.pk)
    fake_bybit.exchange.set_margin_mode("REGULAR_MARGIN")
    fake_bybit.exchange.refuse_margin_mode = "refused"
    ex.place_order(intent("close", reduce_only=True, side="Sell"))
    assert fake_bybit.counters.requests[CREATE] == 2
    assert ex.positions() == []


def test_fee_rates_are_read_from_the_exchange(bybit, fake_bybit):
    sim_fees = fake_bybit.exchange.account.sim.fees  # the fake charges what it reports
    setup = prepare_account(bybit, symbol="BTCUSDT")
    assert setup.maker_fee == Decimal(str(sim_fees.maker)) and setup.taker_fee == Decimal(str(sim_fees.taker))
