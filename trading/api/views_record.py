"""API views of instruments (everyone reads, staff edit) and the read-only trading record and market data:
signals, orders, positions, fills, monitor decisions, equity snapshots, candles. Querysets come from
selectors, so a user sees only what hangs off their own accounts."""

from __future__ import annotations

from rest_framework import mixins, permissions, viewsets

from trading import selectors
from trading.api import filters
from trading.api.pagination import CandlePagination, CappedPagination
from trading.api.serializers_record import (
    CandleSerializer,
    EquitySnapshotSerializer,
    FillSerializer,
    InstrumentSerializer,
    MonitorDecisionSerializer,
    OrderSerializer,
    PositionSerializer,
    RunRecordSerializer,
    SignalSerializer,
)
from trading.models import (
    Candle,
    EquitySnapshot,
    Fill,
    Instrument,
    MonitorDecision,
    Order,
    Position,
    RunRecord,
    Signal,
)


class StaffWritesOthersRead(permissions.IsAuthenticated):
    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_staff


class InstrumentViewSet(viewsets.ModelViewSet):
    serializer_class = InstrumentSerializer
    permission_classes = [StaffWritesOthersRead]
    queryset = Instrument.objects.order_by("symbol")
    pagination_class = CappedPagination
    filterset_fields = ["symbol", "status", "base_coin"]
    ordering_fields = ["symbol", "max_leverage"]


class _UserScoped(viewsets.ReadOnlyModelViewSet):
    """A read-only list/detail whose queryset is ``selector(user=...)``."""

    model = None
    selector = None
    pagination_class = CappedPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return type(self).selector(user=self.request.user)


class SignalViewSet(_UserScoped):
    model, selector = Signal, staticmethod(selectors.signals_for)
    serializer_class = SignalSerializer
    filterset_class = filters.SignalFilter
    ordering_fields = ["bar_time", "id"]
    ordering = ["-bar_time", "-id"]


class OrderViewSet(_UserScoped):
    model, selector = Order, staticmethod(selectors.orders_for)
    serializer_class = OrderSerializer
    filterset_class = filters.OrderFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]


class PositionViewSet(_UserScoped):
    model, selector = Position, staticmethod(selectors.positions_for)
    serializer_class = PositionSerializer
    filterset_class = filters.PositionFilter
    ordering_fields = ["opened_at", "closed_at", "id"]
    ordering = ["-opened_at", "-id"]


class FillViewSet(_UserScoped):
    model, selector = Fill, staticmethod(selectors.fills_for)
    serializer_class = FillSerializer
    filterset_class = filters.FillFilter
    ordering_fields = ["executed_at", "id"]
    ordering = ["-executed_at", "-id"]


class MonitorDecisionViewSet(_UserScoped):
    model, selector = MonitorDecision, staticmethod(selectors.decisions_for)
    serializer_class = MonitorDecisionSerializer
    filterset_class = filters.DecisionFilter
    ordering_fields = ["decided_at", "id"]
    ordering = ["-decided_at", "-id"]


class RunRecordViewSet(_UserScoped):
    """Each monitor tick's and signal cycle's duration and query count (newest first)."""
    model, selector = RunRecord, staticmethod(selectors.runs_for)
    serializer_class = RunRecordSerializer
    filterset_class = filters.RunFilter
    ordering_fields = ["started_at", "duration_ms", "queries", "id"]
    ordering = ["-started_at", "-id"]


class EquitySnapshotViewSet(_UserScoped):
    model, selector = EquitySnapshot, staticmethod(selectors.equity_for)
    serializer_class = EquitySnapshotSerializer
    filterset_class = filters.EquityFilter
    ordering_fields = ["taken_at"]
    ordering = ["-taken_at"]


class CandleViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Closed bars, oldest first: ``?symbol=BTCUSDT&interval=5m&start=...&end=...`` (symbol and interval
    required; at most 5,000 per page)."""

    serializer_class = CandleSerializer
    queryset = Candle.objects.order_by("open_time")
    filterset_class = filters.CandleFilter
    pagination_class = CandlePagination
    ordering_fields = ["open_time"]
    ordering = ["open_time"]
