"""Orders go out once: a retried or interrupted send finds the order the exchange already has."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.exchanges.types import ExchangeError, OrderIntent
from trading.models import Order
from trading.services.client_ids import client_order_id
from trading.services.orders import submit_order

BAR = datetime(2025, 10, 10, 21, 0, tzinfo=UTC)


class FlakyPaper:
    """The paper exchange, but the first ``fail`` sends die in transport AFTER the exchange took the order
    (``after_accept``) or before it (not ``after_accept``): the two ways a reply can be lost."""

    def __init__(self, inner, *, fail: int, after_accept: bool):
        self.inner, self.fail, self.after_accept = inner, fail, after_accept
        self.sends = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def place_order(self, intent):
        self.sends += 1
        if self.fail > 0:
            self.fail -= 1
            if self.after_accept:
                self.inner.place_order(intent)
            raise ExchangeError(-1, "connection dropped", retryable=True)
        return self.inner.place_order(intent)


def test_client_ids_are_deterministic_and_fit_bybit():
    a = client_order_id(account_id=1, config_id=2, symbol="BTCUSDT", bar_time=BAR, action="open")
    assert a == client_order_id(account_id=1, config_id=2, symbol="BTCUSDT", bar_time=BAR, action="open")
    assert a != client_order_id(account_id=1, config_id=2, symbol="BTCUSDT", bar_time=BAR, action="close")
    assert len(a) <= 36 and all(c.isalnum() or c in "-_" for c in a)


def intent(cid: str) -> OrderIntent:
    return OrderIntent(symbol="BTCUSDT", side="Buy", qty=Decimal("0.001"), client_order_id=cid)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("after_accept", [True, False])
def test_lost_reply_then_retry_places_one_order(desk, quotes, after_accept):
    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    flaky = FlakyPaper(paper, fail=1, after_accept=after_accept)
    cid = client_order_id(account_id=account.pk, config_id=config.pk, symbol="BTCUSDT", bar_time=BAR, action="open")
    with pytest.raises(ExchangeError):
        submit_order(account=account, exchange=flaky, intent=intent(cid), action="open")
    assert Order.objects.get(client_order_id=cid).status == "pending"
    order = submit_order(account=account, exchange=flaky, intent=intent(cid), action="open")  # the retry
    assert order.status == "new" and order.exchange_order_id
    on_exchange = [o for o in paper.positions()]
    assert len(on_exchange) == 1 and on_exchange[0].qty == Decimal("0.001")  # one order filled, not two
    # a retry that found the order asked the exchange instead of sending; one that did not sent once more
    assert flaky.sends == (1 if after_accept else 2)
    again = submit_order(account=account, exchange=flaky, intent=intent(cid), action="open")
    assert again.pk == order.pk and flaky.sends == (1 if after_accept else 2)  # settled: nothing sent


@pytest.mark.django_db(transaction=True)
def test_duplicate_client_id_is_already_placed(desk, quotes):
    account, _, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    paper.place_order(intent("qd-dup"))  # placed by an earlier run whose Order row was lost
    order = submit_order(account=account, exchange=paper, intent=intent("qd-dup"), action="open")
    assert order.status == "new" and "already on the exchange" in order.status_history[-1]["note"]
    assert paper.positions()[0].qty == Decimal("0.001")


@pytest.mark.django_db(transaction=True)
def test_refusal_is_recorded_with_code_and_message(desk, quotes):
    account, _, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    tiny = OrderIntent(symbol="BTCUSDT", side="Buy", qty=Decimal("0.00001"), client_order_id="qd-tiny")
    order = submit_order(account=account, exchange=paper, intent=tiny, action="open")
    # 0.00001 x 96,000 = 0.96 USDT < the 5 USDT minimum order value
    assert order.status == "rejected" and order.reject_reason.startswith("110094:")
