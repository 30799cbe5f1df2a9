"""django-filter filtersets of the API lists: by account, symbol, status and time ranges.

Filters that take an id (account, config, order, position) choose only among the requesting user's own
objects, so an id that is someone else's and an id that does not exist get the same 400 ("Select a valid
choice"): the lists cannot be used to enumerate the desk's ids."""

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


def _own(name: str, user):
    from trading import selectors

    if name == "account":
        return selectors.accounts_for(user=user)
    return {"config": selectors.configs_for, "order": selectors.orders_for,
            "position": selectors.positions_for}[name](user=user)


class OwnedIdsFilterSet(df.FilterSet):
    """A FilterSet whose id filters (account, config, order, position) accept only the user's own ids."""

    SCOPED = ("account", "config", "order", "position")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        user = getattr(request, "user", None)
        for name in self.SCOPED:
            if name in self.filters:
                self.filters[name].queryset = _own(name, user)


class SignalFilter(OwnedIdsFilterSet):
    since = UTCDateTimeFilter(field_name="bar_time", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="bar_time", lookup_expr="lte")

    class Meta:
        model = Signal
        fields = ["config", "symbol", "signal", "acted"]


class OrderFilter(OwnedIdsFilterSet):
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Order
        fields = ["account", "config", "position", "symbol", "status", "action", "side"]


class PositionFilter(OwnedIdsFilterSet):
    class Meta:
        model = Position
        fields = ["account", "config", "symbol", "status", "side"]


class FillFilter(OwnedIdsFilterSet):
    since = UTCDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="executed_at", lookup_expr="lte")

    class Meta:
        model = Fill
        fields = ["account", "order", "position", "symbol", "exec_type", "side", "exit_reason"]


class DecisionFilter(OwnedIdsFilterSet):
    account = df.ModelChoiceFilter(field_name="position__account", queryset=Account.objects.all())

    class Meta:
        model = MonitorDecision
        fields = ["position", "action", "reason"]


class RunFilter(OwnedIdsFilterSet):
    since = UTCDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="started_at", lookup_expr="lte")

    class Meta:
        model = RunRecord
        fields = ["account", "config", "kind", "overran"]


class EquityFilter(OwnedIdsFilterSet):
    since = UTCDateTimeFilter(field_name="taken_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="taken_at", lookup_expr="lte")

    class Meta:
        model = EquitySnapshot
        fields = ["account"]


class ConfigFilter(OwnedIdsFilterSet):
    class Meta:
        from strategies.models import StrategyConfig

        model = StrategyConfig
        fields = ["enabled", "account", "strategy", "timeframe"]


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
