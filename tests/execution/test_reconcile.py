"""Reconciliation: the exchange is the truth for positions and stops."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.exchanges.types import OrderIntent
from trading.models import Fill, Position
from trading.services.positions import open_position
from trading.services.reconcile import reconcile_account

BAR = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_unknown_position_is_adopted_and_given_a_stop(desk, quotes):
    account, _, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    paper.set_leverage("BTCUSDT", Decimal("50"))
    paper.place_order(OrderIntent(symbol="BTCUSDT", side="Sell", qty=Decimal("0.002"), client_order_id="manual-1"))
    report = reconcile_account(account_id=account.pk, exchange=paper)
    assert report.sync.adopted == ["BTCUSDT"] and report.stops_set == ["BTCUSDT"]
    pos = Position.objects.get(account=account, status="open")
    assert pos.side == "short" and pos.qty == Decimal("0.002") and pos.config is None
    # no config: the default 0.25 % stop, capped at half the way to liquidation (1/50 - 0.005 = 1.5 % -> 0.75 %)
    # short: 96,000 x 1.0025 = 96,240
    assert pos.stop_loss == Decimal("96240")
    assert paper.positions()[0].stop_loss == Decimal("96240")
    assert reconcile_account(account_id=account.pk, exchange=paper).stops_set == []  # nothing left to repair


@pytest.mark.django_db(transaction=True)
def test_position_closed_on_the_exchange_by_its_stop(desk, quotes):
    account, config, paper = desk
    quotes.set("BTCUSDT", 96_000.0)
    open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=paper)
    quotes.set("BTCUSDT", 95_900.0)  # through the 95,950 stop: the exchange closes it on its own
    reconcile_account(account_id=account.pk, exchange=paper)
    pos = Position.objects.get(account=account)
    assert pos.status == "closed" and pos.exit_reason == "sl"
    exit_fill = Fill.objects.get(position=pos, exit_reason="sl")
    # the stop triggers on the tick and fills there: (95,900 - 96,000) x 0.00651 = -0.651
    assert exit_fill.price == Decimal("95900") and exit_fill.realised_pnl == Decimal("-0.651")
    assert exit_fill.fee == Decimal("0.3745854")  # 0.00651 x 95,900 = 624.309; x 0.0006
    assert pos.closed_at == exit_fill.executed_at
