"""API of manual control and the desk's event log (thin: each view is one call into a service or selector).

- ``POST /api/positions/{id}/close/`` ``{"fraction": 1}``: close (or reduce by fraction) by hand;
- ``POST /api/positions/{id}/protection/`` ``{"stop_loss": "...", "take_profit": "..."}``: move TP/SL;
- ``POST /api/configs/{id}/open/`` ``{"symbol": "BTCUSDT", "side": "long"}``: open by hand with the config's sizing;
- ``GET /api/events/?account=&level=&kind=``: the event log (newest first).

The three actions share the per-user throttle scope ``orders``. A refusal (kill switch, risk checks, the
exchange) answers 409 with the reason; bad input 400 naming the field; a busy account 409 (try again)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from trading import selectors
from trading.api.pagination import CappedPagination
from trading.api.throttles import DeskScopedThrottle
from trading.api.views import drf_error
from trading.choices import PositionStatus
from trading.models import DeskEvent
from trading.services import manual
from trading.services.locks import AccountBusy


class CloseSerializer(serializers.Serializer):
    fraction = serializers.FloatField(required=False, default=1.0, min_value=0.0, max_value=1.0,
                                      help_text="1 closes the position; (0, 1) reduces it by that fraction")


class ProtectionSerializer(serializers.Serializer):
    stop_loss = serializers.DecimalField(max_digits=30, decimal_places=10, required=False, allow_null=True)
    take_profit = serializers.DecimalField(max_digits=30, decimal_places=10, required=False, allow_null=True,
                                           help_text="0 removes the take-profit")


class OpenSerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=30)
    side = serializers.ChoiceField(choices=["long", "short"])


class ManualResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    action_id = serializers.IntegerField()
    order = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField(allow_null=True)


class DeskEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeskEvent
        fields = ["id", "account", "kind", "level", "message", "data", "created_at"]


class _Manual(APIView):
    throttle_scope = "orders"

    def get_throttles(self):
        return [DeskScopedThrottle()]

    def run(self, fn, **kwargs) -> Response:
        try:
            result = fn(user=self.request.user, **kwargs)
        except DjangoValidationError as exc:
            raise drf_error(exc) from exc
        except AccountBusy as exc:  # busy (a cycle or the monitor holds it), or this request's lease was lost
            return Response({"detail": f"the account is busy: {exc}; try again"}, status=status.HTTP_409_CONFLICT)
        body = {"ok": result.ok, "message": result.message, "action_id": result.action_id,
                "order": None if result.order is None else result.order.pk,
                "position": None if result.position is None else result.position.pk}
        return Response(body, status=status.HTTP_200_OK if result.ok else status.HTTP_409_CONFLICT)


class ClosePositionView(_Manual):
    @extend_schema(request=CloseSerializer, responses={200: ManualResultSerializer, 409: ManualResultSerializer},
                   summary="Close a position by hand (or reduce it by a fraction); exit reason manual")
    def post(self, request, pk: int):
        position = get_object_or_404(selectors.positions_for(user=request.user), pk=pk)
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["fraction"] <= 0:
            raise serializers.ValidationError({"fraction": "fraction must be in (0, 1] (1 closes the position)"})
        return self.run(manual.close_by_hand, position=position, fraction=body.validated_data["fraction"])


class ProtectionView(_Manual):
    @extend_schema(request=ProtectionSerializer, responses={200: ManualResultSerializer, 409: ManualResultSerializer},
                   summary="Move a position's stop-loss / take-profit (checked against its liquidation price)")
    def post(self, request, pk: int):
        position = get_object_or_404(selectors.positions_for(user=request.user).filter(status=PositionStatus.OPEN),
                                     pk=pk)
        body = ProtectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.run(manual.move_protection, position=position, stop_loss=body.validated_data.get("stop_loss"),
                        take_profit=body.validated_data.get("take_profit"))


class OpenView(_Manual):
    @extend_schema(request=OpenSerializer, responses={200: ManualResultSerializer, 409: ManualResultSerializer},
                   summary="Open a position by hand with the config's sizing and a signal's risk checks")
    def post(self, request, pk: int):
        config = get_object_or_404(selectors.configs_for(user=request.user).select_related("account"), pk=pk)
        body = OpenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        symbol = body.validated_data["symbol"].upper()
        from trading.models import Instrument

        if not Instrument.objects.filter(symbol=symbol).exists():
            raise serializers.ValidationError({"symbol": f"symbol {symbol!r} is not a known instrument"})
        return self.run(manual.open_by_hand, config=config, symbol=symbol,
                        side=1 if body.validated_data["side"] == "long" else -1)


class EventListView(generics.ListAPIView):
    """The desk's event log, newest first: ``?account=ID&level=info|warning|error&kind=...``."""

    serializer_class = DeskEventSerializer
    pagination_class = CappedPagination
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DeskEvent.objects.none()
        qs = DeskEvent.objects.filter(account_id__in=selectors.account_ids_for(user=self.request.user))
        params = self.request.query_params
        if params.get("account"):
            try:
                qs = qs.filter(account_id=int(params["account"]))
            except ValueError:
                raise serializers.ValidationError({"account": "account must be an account id (an integer)"}) from None
        if params.get("level"):
            levels = params["level"].split(",")
            bad = [x for x in levels if x not in ("info", "warning", "error")]
            if bad:
                raise serializers.ValidationError({"level": f"level must be info, warning or error; got {bad[0]!r}"})
            qs = qs.filter(level__in=levels)
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        return qs.order_by("-created_at", "-id")
