"""Server-rendered pages (thin: selectors give the data)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from strategies.models import StrategyConfig
from trading.choices import PositionStatus
from trading.models import Position
from trading.selectors import accounts_for


@login_required
def desk(request):
    accounts = accounts_for(user=request.user)
    return render(request, "frontend/desk.html", {
        "accounts": accounts,
        "positions": Position.objects.filter(account__in=accounts, status=PositionStatus.OPEN),
        "configs": StrategyConfig.objects.filter(account__in=accounts).select_related("strategy", "account"),
    })
