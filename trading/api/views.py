"""API views of accounts (with the kill switch), strategies and configs (with enable/disable): per-user
querysets from selectors (staff see all; others' objects are 404), writes through serializers and services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from strategies.models import Strategy, StrategyConfig
from trading.api.filters import ConfigFilter
from trading.api.pagination import CappedPagination
from trading.api.serializers import AccountSerializer, StrategyConfigSerializer, StrategySerializer
from trading.api.serializers_backtest import (
    ArchiveSerializer,
    KillSwitchResultSerializer,
    KillSwitchSerializer,
)
from trading.api.throttles import DeskScopedThrottle
from trading.models import Account
from trading.selectors import accounts_for, configs_for
from trading.services import accounts, controls


def drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A service's ValidationError {field: message} as DRF's 400 body."""
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class AccountViewSet(viewsets.ModelViewSet):
    serializer_class = AccountSerializer
    pagination_class = CappedPagination
    filterset_fields = ["mode"]
    ordering_fields = ["id", "name", "created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Account.objects.none()
        return accounts_for(user=self.request.user).order_by("id")

    def get_throttles(self):
        return [DeskScopedThrottle()] if self.action == "kill_switch" else super().get_throttles()

    @property
    def throttle_scope(self):
        return "kill_switch" if self.action == "kill_switch" else None

    @extend_schema(responses={204: None, 409: dict}, summary="Delete the account (refused while anything is open)",
                   description="409 while the account has open positions or orders: close them first, or "
                               "archive the account (POST .../archive/) instead.")
    def destroy(self, request, *args, **kwargs):
        try:
            accounts.delete_account(account=self.get_object())
        except accounts.AccountInUse as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ArchiveSerializer, responses={200: AccountSerializer},
                   summary="Archive (or unarchive) the account: it keeps its history and stops trading")
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        body = ArchiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = accounts.set_archived(account=self.get_object(), archived=body.validated_data["archived"])
        return Response(self.get_serializer(account).data)

    @extend_schema(request=KillSwitchSerializer, responses={200: KillSwitchResultSerializer},
                   summary="Engage (or release) the account's kill switch",
                   description="Engage: mark the account, disable every config of it, request its open "
                               "positions be closed. Release: unmark it (configs stay disabled).")
    @action(detail=True, methods=["post"], url_path="kill-switch")
    def kill_switch(self, request, pk=None):
        account = self.get_object()
        body = KillSwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["engage"]:
            result = controls.engage_kill_switch(account=account, user=request.user,
                                                 reason=body.validated_data["reason"])
        else:
            result = controls.release_kill_switch(account=account, user=request.user)
        return Response(KillSwitchResultSerializer(result).data)


class StrategyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StrategySerializer
    queryset = Strategy.objects.order_by("key")
    pagination_class = CappedPagination
    filterset_fields = ["key"]
    ordering_fields = ["key", "label"]


class StrategyConfigViewSet(viewsets.ModelViewSet):
    serializer_class = StrategyConfigSerializer
    pagination_class = CappedPagination
    filterset_class = ConfigFilter
    ordering_fields = ["id", "name", "updated_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StrategyConfig.objects.none()
        return configs_for(user=self.request.user)

    def _set_enabled(self, enabled: bool):
        config = self.get_object()
        try:
            config = controls.set_config_enabled(config=config, enabled=enabled)
        except DjangoValidationError as exc:
            raise drf_error(exc) from exc
        return Response(self.get_serializer(config).data, status=status.HTTP_200_OK)

    @extend_schema(request=None, responses={200: StrategyConfigSerializer}, summary="Enable the config")
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        return self._set_enabled(True)

    @extend_schema(request=None, responses={200: StrategyConfigSerializer}, summary="Disable the config")
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        return self._set_enabled(False)
