"""Every state change reaches the account's Channels group; equity is snapshotted from the exchange's wallet."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from trading.events import account_group
from trading.models import EquitySnapshot
from trading.services.equity import snapshot_equity
from trading.services.positions import open_position

BAR = datetime(2025, 2, 1, tzinfo=UTC)


def drain(layer, channel) -> list[dict]:
    out = []

    async def _read():
        import asyncio

        while True:
            try:
                out.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
            except TimeoutError:
                return

    async_to_sync(_read)()
    return [m["event"] for m in out]


@pytest.mark.django_db(transaction=True)
def test_open_broadcasts_order_fill_position_and_equity_snapshot(desk, quotes):
    account, config, paper = desk
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(account_group(account.pk), channel)
    quotes.set("BTCUSDT", 96_000.0)
    open_position(config=config, symbol="BTCUSDT", side=1, bar_time=BAR, exchange=paper)
    quotes.set("BTCUSDT", 96_100.0)  # below the 96,150 take-profit
    snap = snapshot_equity(account_id=account.pk, exchange=paper, now=datetime(2025, 2, 1, 0, 1, 30, tzinfo=UTC))
    types = [e["type"] for e in drain(layer, channel)]
    assert {"order", "fill", "position", "equity"} <= set(types), types
    # equity = balance + unrealised: (25 - entry fee 0.374976) + (96,100 - 96,000) x 0.00651 = 25.276024
    assert snap.balance == Decimal("24.625024") and snap.unrealised_pnl == Decimal("0.651")
    assert snap.equity == Decimal("25.276024") and snap.taken_at == datetime(2025, 2, 1, 0, 1, tzinfo=UTC)
    # margin in use 12.4992; available = balance - margin = 12.125824
    assert snap.margin_used == Decimal("12.4992") and snap.available == Decimal("12.125824")
    # two snapshots: the one the open's change took (at the fill's price: margin 12.4992, nothing unrealised)
    # and this minute's
    first = EquitySnapshot.objects.filter(account=account).exclude(pk=snap.pk).get()
    assert first.margin_used == Decimal("12.4992") and first.unrealised_pnl == 0
    assert first.equity == first.balance == Decimal("24.625024")
