"""Equity snapshots (each minute, and after every change the exchange reports: ``recording.sync_account``): the
exchange's wallet view of an account, stored per desk-clock minute (a replay's simulated time during a replay) and
broadcast."""

from __future__ import annotations

from datetime import datetime

from trading.exchanges.factory import exchange_for
from trading.exchanges.types import Exchange
from trading.marketdata.clock import desk_now
from trading.models import Account, EquitySnapshot
from trading.services.broadcast import broadcast_equity


def snapshot_equity(*, account_id: int, now: datetime | None = None,
                    exchange: Exchange | None = None) -> EquitySnapshot:
    account = Account.objects.get(pk=account_id)
    wallet = (exchange or exchange_for(account)).wallet()
    taken_at = (now or desk_now()).replace(second=0, microsecond=0)
    snap, _ = EquitySnapshot.objects.update_or_create(
        account=account, taken_at=taken_at,
        defaults=dict(balance=wallet.balance, equity=wallet.equity, unrealised_pnl=wallet.unrealised_pnl,
                      margin_used=wallet.used_margin, available=wallet.available))
    broadcast_equity(snapshot=snap)
    return snap
