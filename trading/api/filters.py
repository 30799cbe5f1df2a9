"""django-filter filtersets of the API lists: by account, symbol, status and time ranges."""

from __future__ import annotations

from datetime import UTC

import django_filters as df
from django.core.exceptions import ValidationError

from trading.choices import TIMEFRAME_CHOICES, CandleKind
from trading.models import (
    Account,
    Candle,
    EquitySnapshot,
    Fill,
    MonitorDecision,
    Order,
    Position,
    RunRecord,
    Signal,
)


class UTCDateTimeField(df.fields.IsoDateTimeField):
    """An ISO-8601 date-time, converted to UTC (PostgreSQL refuses offsets beyond +-15:59)."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(f"{value!r} is out of range once converted to UTC") from None


class UTCDateTimeFilter(df.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class SignalFilter(df.FilterSet):
    since = UTCDateTimeFilter(field_name="bar_time", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="bar_time", lookup_expr="lte")

    class Meta:
        model = Signal
        fields = ["config", "symbol", "signal", "acted"]


class OrderFilter(df.FilterSet):
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Order
        fields = ["account", "config", "position", "symbol", "status", "action", "side"]


class PositionFilter(df.FilterSet):
    class Meta:
        model = Position
        fields = ["account", "config", "symbol", "status", "side"]


class FillFilter(df.FilterSet):
    since = UTCDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="executed_at", lookup_expr="lte")

    class Meta:
        model = Fill
        fields = ["account", "order", "position", "symbol", "exec_type", "side", "exit_reason"]


class DecisionFilter(df.FilterSet):
    account = df.ModelChoiceFilter(field_name="position__account", queryset=Account.objects.all())

    class Meta:
        model = MonitorDecision
        fields = ["position", "action", "reason"]


class RunFilter(df.FilterSet):
    since = UTCDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="started_at", lookup_expr="lte")

    class Meta:
        model = RunRecord
        fields = ["account", "config", "kind", "overran"]


class EquityFilter(df.FilterSet):
    since = UTCDateTimeFilter(field_name="taken_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="taken_at", lookup_expr="lte")

    class Meta:
        model = EquitySnapshot
        fields = ["account"]


class CandleFilter(df.FilterSet):
    """symbol and interval are required; start/end bound the bar open time (inclusive)."""

    symbol = df.CharFilter(required=True)
    interval = df.ChoiceFilter(choices=TIMEFRAME_CHOICES, required=True)
    kind = df.ChoiceFilter(choices=CandleKind.choices, empty_label=None)
    start = UTCDateTimeFilter(field_name="open_time", lookup_expr="gte")
    end = UTCDateTimeFilter(field_name="open_time", lookup_expr="lte")

    class Meta:
        model = Candle
        fields = ["symbol", "interval", "kind", "start", "end"]

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("kind"):
            queryset = queryset.filter(kind=CandleKind.TRADE)
        return super().filter_queryset(queryset)
