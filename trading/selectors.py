"""Read queries for the API, pages and consumers (what a user may see)."""

from __future__ import annotations

from trading.models import Account


def accounts_for(*, user):
    """Staff see every account; anyone else only their own; anonymous nothing."""
    if user is None or not user.is_authenticated:
        return Account.objects.none()
    qs = Account.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


def account_ids_for(*, user) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(accounts_for(user=user).values_list("id", flat=True))
