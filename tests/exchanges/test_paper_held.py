"""PaperExchange.held: the stored state is read once for a block of requests (a signal cycle), a request that
changes nothing writes nothing, and a write by anyone else in between is refused, never overwritten."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fakebybit.pytest_plugin import DEFAULT_QUOTES
from tests.exchanges.conftest import Quotes
from tests.factories import make_instrument, make_user
from trading.exchanges.paper import PaperExchange
from trading.exchanges.types import OrderIntent
from trading.models import Account, PaperAccountState


@pytest.fixture
def paper(db):
    make_instrument("BTCUSDT")
    acc = Account.objects.create(owner=make_user("held"), name="Paper", starting_capital=Decimal("10000"))
    return PaperExchange(acc, quote=Quotes(DEFAULT_QUOTES))


def _state_queries(ctx) -> list[str]:
    return [q["sql"].split()[0] for q in ctx.captured_queries if "paperaccountstate" in q["sql"]]


@pytest.mark.django_db(transaction=True)
def test_held_reads_once_and_writes_only_changes(paper):
    paper.wallet()  # the row exists
    with CaptureQueriesContext(connection) as ctx, paper.held():
        before = paper.wallet()
        paper.positions()
        paper.open_orders()
        paper.place_order(OrderIntent(symbol="BTCUSDT", side="Buy", qty=Decimal("0.01"), client_order_id="h-1"))
        after = paper.wallet()
    # one read and its save (the first request), then one write: the order's; the read-only requests wrote nothing
    assert _state_queries(ctx) == ["SELECT", "UPDATE", "UPDATE"]
    assert after.balance < before.balance  # the entry fee, so the order really went through the held state
    fresh = PaperExchange(paper.account, quote=paper.quote)  # the saved state is the one the block left
    assert [p.symbol for p in fresh.positions()] == ["BTCUSDT"] and fresh.wallet().balance == after.balance


@pytest.mark.django_db(transaction=True)
def test_held_refuses_to_overwrite_another_writer(paper):
    paper.wallet()
    with paper.held():
        paper.positions()
        other = PaperExchange(paper.account, quote=paper.quote)  # someone who did not take the account lock
        other.place_order(OrderIntent(symbol="BTCUSDT", side="Sell", qty=Decimal("0.01"), client_order_id="o-1"))
        saved = PaperAccountState.objects.get(account=paper.account).version
        with pytest.raises(RuntimeError, match="changed by another writer"):
            paper.place_order(OrderIntent(symbol="BTCUSDT", side="Buy", qty=Decimal("0.01"), client_order_id="h-2"))
        assert PaperAccountState.objects.get(account=paper.account).version == saved
        assert [(p.symbol, p.side) for p in paper.positions()] == [("BTCUSDT", "short")]  # re-read after the refusal
