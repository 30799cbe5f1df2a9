"""Field factories so every money, price and quantity column has the same precision."""

from __future__ import annotations

from django.db import models


def money_field(**kw) -> models.DecimalField:
    """USDT amounts: balances, margins, PnL, fees."""
    return models.DecimalField(max_digits=24, decimal_places=8, **kw)


def price_field(**kw) -> models.DecimalField:
    return models.DecimalField(max_digits=24, decimal_places=10, **kw)


def qty_field(**kw) -> models.DecimalField:
    return models.DecimalField(max_digits=24, decimal_places=10, **kw)


def rate_field(**kw) -> models.DecimalField:
    """Fractions: fee rates, funding rates, allocations."""
    return models.DecimalField(max_digits=12, decimal_places=8, **kw)
