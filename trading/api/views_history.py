"""API of the desk's history (thin: one call into ``trading.services.history``): ``GET /api/history/?account=``
(closed trades as round trips, per-config performance, PnL per day and today's) and ``GET /api/trades.csv
?account=`` (the round trips as CSV, the user's own accounts only)."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.marketdata.clock import desk_now
from trading.services.history import TRADE_COLUMNS, history, round_trips

ACCOUNT = OpenApiParameter("account", int, description="only this account (default: all of yours)")


def _account(request) -> int | None:
    raw = request.query_params.get("account")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise serializers.ValidationError({"account": "account must be an account id (an integer)"}) from None


class HistoryView(APIView):
    @extend_schema(parameters=[ACCOUNT], responses={200: dict},
                   summary="Closed trades, per-config performance, PnL per day and today's")
    def get(self, request):
        return Response(history(user=request.user, account_id=_account(request), today=desk_now().date()))


class TradesCsvView(APIView):
    @extend_schema(parameters=[ACCOUNT], responses={(200, "text/csv"): str},
                   summary="Closed trades (round trips) as CSV")
    def get(self, request):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=TRADE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in round_trips(user=request.user, account_id=_account(request), limit=100_000):
            writer.writerow({k: ("" if v is None else v.isoformat() if hasattr(v, "isoformat") else v)
                             for k, v in row.items()})
        response = HttpResponse(out.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="trades.csv"'
        return response
