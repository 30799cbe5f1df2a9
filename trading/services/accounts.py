"""Deleting and archiving accounts: an account with anything open on its exchange is never deleted (that would
erase the desk's only record of a live position and leave it unwatched); archive it instead, which keeps its
history and stops it trading."""

from __future__ import annotations

from django.db import transaction

from strategies.models import StrategyConfig
from trading.choices import OrderStatus, PositionStatus
from trading.models import Account, Order, Position

OPEN_ORDER_STATUSES = (OrderStatus.PENDING, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class AccountInUse(Exception):
    """The account still has open positions or orders; the message says how many and what to do."""


def in_use_reason(*, account: Account) -> str | None:
    """Why ``account`` may not be deleted now, or None when it may."""
    positions = Position.objects.filter(account=account, status=PositionStatus.OPEN).count()
    orders = Order.objects.filter(account=account, status__in=OPEN_ORDER_STATUSES).count()
    if not positions and not orders:
        return None
    return (f"account {account.pk} ({account.name}) has {positions} open position(s) and {orders} open "
            "order(s): close them first (the kill switch closes everything) or archive the account instead")


@transaction.atomic
def delete_account(*, account: Account) -> None:
    """Delete the account and its history; AccountInUse while anything is open."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    reason = in_use_reason(account=account)
    if reason is not None:
        raise AccountInUse(reason)
    account.delete()


@transaction.atomic
def set_archived(*, account: Account, archived: bool) -> Account:
    """Archive (every config disabled, no new cycles) or unarchive (configs stay off) an account. Open
    positions keep being monitored and reconciled until they are closed."""
    Account.objects.filter(pk=account.pk).update(archived=archived)
    if archived:
        StrategyConfig.objects.filter(account_id=account.pk, enabled=True).update(enabled=False)
    account.refresh_from_db()
    return account
