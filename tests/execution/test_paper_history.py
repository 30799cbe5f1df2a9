"""The paper account's stored state is bounded: it keeps balances, open positions and open orders, and only recent
fills and finished orders; the history lives in the Fill and Order tables."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.exchanges import paper as paper_module
from trading.exchanges import paper_state  # where the history bounds live
from trading.exchanges.types import ExchangeError, OrderIntent
from trading.models import Fill, PaperAccountState
from trading.services.recording import sync_account


def _order(side: str, cid: str, *, reduce_only: bool = False) -> OrderIntent:
    return OrderIntent(symbol="BTCUSDT", side=side, qty=Decimal("0.001"), client_order_id=cid, reduce_only=reduce_only)


@pytest.mark.django_db
def test_state_keeps_open_things_and_recent_history_only(desk, quotes, monkeypatch):
    monkeypatch.setattr(paper_state, "HISTORY_MAX", 3)
    account, _, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    paper.set_leverage("BTCUSDT", Decimal("50"))
    for i in range(5):  # five round trips: 10 fills, 10 finished orders
        paper.place_order(_order("Buy", f"open-{i}"))
        quotes.set("BTCUSDT", 96_000.0 + i)
        paper.place_order(_order("Sell", f"close-{i}", reduce_only=True))
        sync_account(account=account, exchange=paper)  # each sync records what the state still holds
    paper.place_order(_order("Buy", "held"))  # one position left open
    sync_account(account=account, exchange=paper)
    state = PaperAccountState.objects.get(account=account).state
    assert len(state["fills"]) == 3 and [f["order_id"] for f in state["fills"]][-1] == state["orders"][-1]["order_id"]
    assert len(state["orders"]) == 3 and set(state["client_ids"]) == {"close-4", "held", "open-4"}
    assert list(state["positions"]) == ["BTCUSDT"] and state["positions"]["BTCUSDT"]["qty"] == pytest.approx(0.001)
    assert Fill.objects.filter(account=account).count() == 11  # the history is in the table
    with pytest.raises(ExchangeError):  # a recent client id is still refused as a duplicate...
        _dup(paper, "held")
    assert len(paper.positions()) == 1


def _dup(paper, cid: str) -> None:
    ack = paper.place_order(_order("Buy", cid))
    if ack.duplicate:
        raise ExchangeError(0, "duplicate")


@pytest.mark.django_db
def test_old_history_is_dropped_by_age(desk, quotes, monkeypatch):
    monkeypatch.setattr(paper_module, "now_ms", lambda: quotes.ts)  # orders stamped on the test's clock
    account, _, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    paper.place_order(_order("Buy", "old-open"))
    paper.place_order(_order("Sell", "old-close", reduce_only=True))
    assert len(PaperAccountState.objects.get(account=account).state["fills"]) == 2
    quotes.set("BTCUSDT", 96_000.0, step_ms=paper_state.HISTORY_MS + 1)  # a day and a millisecond later
    paper.place_order(_order("Buy", "new-open"))
    state = PaperAccountState.objects.get(account=account).state
    assert len(state["fills"]) == 1 and [o["client_order_id"] for o in state["orders"]] == ["new-open"]
