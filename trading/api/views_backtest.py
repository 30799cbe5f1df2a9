"""API views of backtests (POST queues a Celery task and answers 202 with the run's id; GET gives status,
progress, metrics, trades and equity) and sweeps (POST a parameter grid -> one run per point, run as the
trials of a grid research study, ranked by a metric; GET the ranked table). Each user sees only their own runs (staff: all)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from trading.api.pagination import CappedPagination
from trading.api.serializers_backtest import (
    CONFIG_KEYS,
    BacktestAcceptedSerializer,
    BacktestCreateSerializer,
    BacktestDetailSerializer,
    BacktestListSerializer,
    ConfigBacktestCreateSerializer,
    SweepAcceptedSerializer,
    SweepCreateSerializer,
    SweepSerializer,
)
from trading.api.throttles import ThrottledStarts
from trading.api.views import drf_error
from trading.models import BacktestRun
from trading.selectors import backtests_for, configs_for
from trading.services.backtests import start_backtest, start_config_backtest
from trading.services.desk_backtests import start_desk_backtest
from trading.services.sweeps import start_sweep, sweep_table


def _plain_settings(validated: dict) -> dict:
    """Typed serializer values -> the JSON-ish dict the service validates (numbers as text, times ISO)."""
    out = {}
    for key, value in validated.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else (
            str(value) if value is not None and not isinstance(value, bool | str) else value)
    return out


class BacktestViewSet(ThrottledStarts, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                      viewsets.ReadOnlyModelViewSet):
    pagination_class = CappedPagination
    filterset_fields = ["status", "strategy", "sweep_key"]
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BacktestRun.objects.none()
        qs = backtests_for(user=self.request.user)
        return qs.defer("trades", "equity_curve") if self.action == "list" else qs

    def get_serializer_class(self):
        return {"create": BacktestCreateSerializer, "retrieve": BacktestDetailSerializer}.get(
            self.action, BacktestListSerializer)

    @extend_schema(request=PolymorphicProxySerializer(
        component_name="BacktestRequest", resource_type_field_name=None,
        serializers=[BacktestCreateSerializer, ConfigBacktestCreateSerializer]),
        responses={202: BacktestAcceptedSerializer},
        summary="Start a backtest (queued as a Celery task): a strategy with settings, one config, or a desk run "
                "of several configs / an account's enabled configs as one portfolio")
    def create(self, request, *args, **kwargs):
        by_config = isinstance(request.data, dict) and any(k in request.data for k in CONFIG_KEYS)
        body = (ConfigBacktestCreateSerializer if by_config else BacktestCreateSerializer)(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            if not by_config:
                run = start_backtest(owner=request.user, strategy=data["strategy"], params=data["params"],
                                     settings=_plain_settings(data["settings"]), name=data["name"])
            elif "config" in data:
                run = start_config_backtest(owner=request.user, config=_config(request.user, data["config"]),
                                            settings=_plain_settings(data.get("settings", {})), name=data["name"])
            else:
                run = start_desk_backtest(owner=request.user, config_ids=data.get("configs"),
                                          account_id=data.get("account"),
                                          settings=_plain_settings(data.get("settings", {})), name=data["name"])
        except DjangoValidationError as exc:
            raise drf_error(exc) from exc
        return Response({"id": run.pk, "status": run.status, "url": f"/api/backtests/{run.pk}/"},
                        status=status.HTTP_202_ACCEPTED)


def _config(user, config_id: int):
    """The user's config, or the same 400 as for one that does not exist."""
    from rest_framework.exceptions import ValidationError

    config = configs_for(user=user).filter(pk=config_id).first()
    if config is None:
        raise ValidationError({"config": [f"config: no config with id {config_id}"]})
    return config


class SweepViewSet(ThrottledStarts, viewsets.ViewSet):
    """A sweep is the set of a user's runs sharing a sweep key."""

    lookup_field = "sweep_key"
    lookup_value_regex = "[0-9a-f]{32}"
    serializer_class = SweepSerializer

    @extend_schema(responses={200: SweepSerializer(many=True)}, summary="The user's sweeps, newest first")
    def list(self, request):
        keys = (backtests_for(user=request.user).exclude(sweep_key="").order_by("-created_at")
                .values_list("sweep_key", flat=True))
        seen: list[str] = []
        for key in keys:
            if key not in seen:
                seen.append(key)
            if len(seen) >= 50:
                break
        return Response([self._table(key) for key in seen])

    def _table(self, key: str) -> dict:
        runs = list(backtests_for(user=self.request.user).filter(sweep_key=key).defer("trades", "equity_curve")
                    .order_by("id"))
        if not runs:
            raise Http404
        return sweep_table(runs=runs)

    @extend_schema(responses={200: SweepSerializer}, summary="A sweep's ranked table and its verdict")
    def retrieve(self, request, sweep_key=None):
        from trading.services.research_verdicts import sweep_verdict

        table = self._table(sweep_key)
        runs = list(backtests_for(user=self.request.user).filter(sweep_key=sweep_key).order_by("id"))
        return Response({**table, "verdict": sweep_verdict(runs=runs, metric=table.get("metric") or "sharpe")})

    @extend_schema(request=SweepCreateSerializer, responses={202: SweepAcceptedSerializer},
                   summary="Start a sweep: one backtest run per grid point (a grid study's trials), ranked by a metric")
    def create(self, request):
        body = SweepCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            key = start_sweep(owner=request.user, strategy=data["strategy"], base_params=data["params"],
                              grid=data["grid"], settings=_plain_settings(data["settings"]),
                              metric=data["metric"], name=data["name"])
        except DjangoValidationError as exc:
            raise drf_error(exc) from exc
        points = backtests_for(user=request.user).filter(sweep_key=key).count()
        return Response({"sweep_key": key, "points": points, "url": f"/api/sweeps/{key}/"},
                        status=status.HTTP_202_ACCEPTED)
