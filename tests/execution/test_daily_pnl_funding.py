"""PnL per UTC day includes funding: a Funding record (Bybit's execution row, mapped by ``fill_from`` and stored by
``recording``) keeps its amount on the Fill row and counts on the day it settled, so the days add up to the round
trip's net (realised - fees - funding), as the position row has it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.factories import make_account, make_user
from trading.exchanges.bybit_mapping import fill_from
from trading.models import Fill, Position
from trading.services.history import history
from trading.services.recording import _record_fill

pytestmark = pytest.mark.django_db


def ms(*args) -> str:
    return str(int(datetime(*args, tzinfo=UTC).timestamp() * 1000))


def row(exec_id, exec_type, side, qty, price, fee, pnl, when, fee_rate="0.00055"):
    return {"execId": exec_id, "orderId": f"o-{exec_id}", "symbol": "BTCUSDT", "side": side, "execQty": qty,
            "execPrice": price, "execFee": fee, "feeRate": fee_rate, "isMaker": False, "execPnl": pnl,
            "execType": exec_type, "execTime": when, "stopOrderType": ""}


def test_funding_counts_on_the_day_it_settled():
    user = make_user("alice")
    account = make_account(user, "Main")
    Position.objects.create(account=account, symbol="BTCUSDT", side="long", qty=Decimal("0.01"),
                            entry_price=Decimal("96000"), leverage=Decimal("50"), margin=Decimal("19.2"),
                            opened_at=datetime(2025, 10, 10, 22, tzinfo=UTC))
    # 10 Oct 22:00: buy 0.01 at 96,000, taker fee 0.00055 x 960 = 0.528
    _record_fill(account, fill_from(row("e1", "Trade", "Buy", "0.01", "96000", "0.528", "0", ms(2025, 10, 10, 22))))
    # 11 Oct 00:00 settlement: rate 0.0001 on the position's value 0.01 x 96,500 = 965 -> the long pays 0.0965
    _record_fill(account, fill_from(row("e2", "Funding", "Sell", "0.01", "96500", "0.0965", "0",
                                        ms(2025, 10, 11, 0), fee_rate="0.0001")))
    # 11 Oct 03:00: sell 0.01 at 96,400: gross (96,400 - 96,000) x 0.01 = 4.00, fee 0.00055 x 964 = 0.5302
    _record_fill(account, fill_from(row("e3", "Trade", "Sell", "0.01", "96400", "0.5302", "4",
                                        ms(2025, 10, 11, 3))))

    funding_fill = Fill.objects.get(exec_id="bybit-e2")
    assert (funding_fill.exec_type, funding_fill.fee, funding_fill.funding) == ("Funding", 0, Decimal("0.0965"))

    days = {d["day"]: d for d in history(user=user, account_id=account.pk, today=date(2025, 10, 11))["daily"]}
    # 10 Oct: only the opening fee
    assert days["2025-10-10"]["net_pnl"] == Decimal("-0.528")
    assert days["2025-10-10"]["funding"] == 0
    # 11 Oct: 4.00 - 0.5302 fee - 0.0965 funding = 3.3733 (without funding it would say 3.4698)
    assert days["2025-10-11"]["net_pnl"] == Decimal("3.3733")
    assert days["2025-10-11"]["funding"] == Decimal("0.0965")
    # the days add up to what the position row booked: 4 - 0.528 - 0.5302 - 0.0965 = 2.8453
    position = Position.objects.get(account=account)
    assert position.funding_paid == Decimal("0.0965")
    assert sum(d["net_pnl"] for d in days.values()) == position.realised_pnl == Decimal("2.8453")
