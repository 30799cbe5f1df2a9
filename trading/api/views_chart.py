"""API of the chart pages (thin: the query is validated here, the work is ``trading.services.chart_data`` and
``trading.services.indicators``):

- ``GET /api/chart/candles/?symbol=&interval=&start=&end=&max_points=&desk_clock=``: candles of any interval
  (resampled from the stored base interval), at most ``max_points`` for the range (downsampled to a coarser step
  when the range holds more; the answer says ``base``, ``step`` and ``downsampled``). Not paginated: a chart
  never depends on a page size.
- ``GET /api/chart/marks/?symbol=&start=&end=&step=``: the user's signals, fills, forecast and open positions.
- ``GET /api/chart/indicators/?config=|backtest=&symbol=&interval=&start=&end=&step=``: a config's (or a
  backtest run's) strategy's declared plots over the range, one point per display step.
"""

from __future__ import annotations

from datetime import UTC, datetime

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.api.filters import UTCDateTimeField
from trading.choices import TIMEFRAMES
from trading.services import chart_data

EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


class _UTC(serializers.DateTimeField):
    """An ISO-8601 time as aware UTC (a naive one is read as UTC), between 1970 and 2200."""

    def to_internal_value(self, value):
        try:
            out = UTCDateTimeField().clean(value)
        except Exception as exc:  # django's ValidationError: one message naming the value
            raise serializers.ValidationError(f"{value!r} is not an ISO-8601 date-time") from exc
        if out is None:
            raise serializers.ValidationError("a date-time is required")
        if not EARLIEST <= out < LATEST:
            raise serializers.ValidationError(f"{value!r} is outside {EARLIEST:%Y}..{LATEST:%Y}")
        return out


class RangeQuery(serializers.Serializer):
    symbol = serializers.CharField(max_length=30)
    start = _UTC(required=False)
    end = _UTC(required=False)

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": f"start {attrs['start'].isoformat()} is after end "
                                                        f"{attrs['end'].isoformat()}"})
        return attrs


class CandlesQuery(RangeQuery):
    interval = serializers.ChoiceField(choices=list(TIMEFRAMES))
    max_points = serializers.IntegerField(min_value=chart_data.MIN_POINTS, max_value=chart_data.MAX_POINTS,
                                          default=chart_data.DEFAULT_MAX_POINTS)
    desk_clock = serializers.BooleanField(default=True, help_text="end no later than the desk's (replay) clock")


class MarksQuery(RangeQuery):
    start = _UTC()
    end = _UTC()
    step = serializers.IntegerField(min_value=60, max_value=86400 * 366, default=300,
                                    help_text="the chart's display step in seconds (one forecast point per step)")


class IndicatorsQuery(MarksQuery):
    interval = serializers.ChoiceField(choices=list(TIMEFRAMES))
    config = serializers.IntegerField(required=False)
    backtest = serializers.IntegerField(required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if (attrs.get("config") is None) == (attrs.get("backtest") is None):
            raise serializers.ValidationError({"config": "give exactly one of config or backtest"})
        return attrs


def _query(cls, request) -> dict:
    q = cls(data=request.query_params)
    q.is_valid(raise_exception=True)
    return q.validated_data


def _field_error(exc: ValueError) -> serializers.ValidationError:
    field, _, _ = str(exc).partition(":")
    return serializers.ValidationError({field if field.isidentifier() else "detail": [str(exc)]})


class ChartCandlesView(APIView):
    @extend_schema(parameters=[CandlesQuery], responses={200: dict},
                   summary="Candles of any interval for a range, at most max_points (downsampled beyond)")
    def get(self, request):
        q = _query(CandlesQuery, request)
        try:
            return Response(chart_data.chart_candles(
                symbol=q["symbol"], interval=q["interval"], start=q.get("start"), end=q.get("end"),
                max_points=q["max_points"], desk_clock=q["desk_clock"]))
        except ValueError as exc:
            raise _field_error(exc) from exc


class ChartMarksView(APIView):
    @extend_schema(parameters=[MarksQuery], responses={200: dict},
                   summary="Your signals, fills, forecast and open positions on a symbol for a range")
    def get(self, request):
        q = _query(MarksQuery, request)
        return Response(chart_data.chart_marks(user=request.user, symbol=q["symbol"], start=q["start"],
                                               end=q["end"], step_seconds=q["step"]))


class ChartIndicatorsView(APIView):
    @extend_schema(parameters=[IndicatorsQuery], responses={200: dict},
                   summary="A config's or a backtest run's strategy indicators over a range")
    def get(self, request):
        from trading.selectors import backtests_for, configs_for
        from trading.services.indicators import range_indicators

        q = _query(IndicatorsQuery, request)
        if q.get("config") is not None:
            config = configs_for(user=request.user).filter(pk=q["config"]).select_related("strategy").first()
            if config is None:
                raise serializers.ValidationError({"config": f"config {q['config']} is not one of yours"})
            key, params = config.strategy.key, config.params or {}
        else:
            run = backtests_for(user=request.user).filter(pk=q["backtest"]).only("strategy", "params").first()
            if run is None:
                raise serializers.ValidationError({"backtest": f"backtest {q['backtest']} is not one of yours"})
            key, params = run.strategy, run.params or {}
        try:
            return Response(range_indicators(strategy_key=key, params=params, symbol=q["symbol"],
                                              interval=q["interval"], start=q["start"], end=q["end"],
                                              step_seconds=q["step"]))
        except ValueError as exc:
            raise _field_error(exc) from exc
