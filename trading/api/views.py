"""API views: per-user querysets (staff see all), everything else in serializers, models and services."""

from __future__ import annotations

from rest_framework import viewsets

from strategies.models import Strategy, StrategyConfig
from trading.api.serializers import AccountSerializer, StrategyConfigSerializer, StrategySerializer
from trading.models import Account
from trading.selectors import accounts_for


class AccountViewSet(viewsets.ModelViewSet):
    serializer_class = AccountSerializer
    filterset_fields = ["mode"]
    ordering_fields = ["id", "name", "created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Account.objects.none()
        return accounts_for(user=self.request.user).order_by("id")


class StrategyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StrategySerializer
    queryset = Strategy.objects.order_by("key")


class StrategyConfigViewSet(viewsets.ModelViewSet):
    serializer_class = StrategyConfigSerializer
    filterset_fields = ["enabled", "account", "strategy", "timeframe"]
    ordering_fields = ["id", "name", "updated_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StrategyConfig.objects.none()
        return (StrategyConfig.objects.filter(account__in=accounts_for(user=self.request.user))
                .select_related("strategy").order_by("id"))
