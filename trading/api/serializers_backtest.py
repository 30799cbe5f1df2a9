"""Serializers of backtests and sweeps: typed request bodies (so the OpenAPI schema describes them) whose
rules live in trading/services/backtest_settings.py, and the run as the API shows it."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from trading.choices import TIMEFRAME_CHOICES, SizingMode
from trading.models import BacktestRun
from trading.services.desk_backtests import MAX_CONFIGS
from trading.services.sweeps import MAX_POINTS, RANKABLE


class StrictFields:
    """Refuse keys the serializer does not define (DRF would drop them silently: a misspelt setting must not
    quietly fall back to its default)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({unknown[0]: [
                    f"{unknown[0]}: unknown field; allowed: {', '.join(self.fields)}"]})
        return super().to_internal_value(data)


class BacktestSettingsSerializer(StrictFields, serializers.Serializer):
    """What to test and how: symbol, timeframe, range (default: the stored data's range), leverage, sizing, TP/SL
    (percent of price), fees, funding."""

    symbol = serializers.CharField(max_length=30)
    timeframe = serializers.ChoiceField(choices=TIMEFRAME_CHOICES, default="5m")
    start = serializers.DateTimeField(required=False, help_text="default: the first stored bar")
    end = serializers.DateTimeField(required=False, help_text="default: the last stored bar")
    leverage = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=1, max_value=125)
    sizing_mode = serializers.ChoiceField(choices=SizingMode.choices, default=SizingMode.KELLY)
    allocation = serializers.DecimalField(max_digits=8, decimal_places=6, min_value=0, max_value=1,
                                          required=False, allow_null=True)
    kelly_fraction = serializers.DecimalField(max_digits=8, decimal_places=6, min_value=0, max_value=1,
                                              required=False, allow_null=True)
    initial_capital = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False)
    take_profit_pct = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=0, max_value=100,
                                               required=False, allow_null=True)
    stop_loss_pct = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=0, max_value=100,
                                             required=False, allow_null=True)
    maker_fee = serializers.DecimalField(max_digits=10, decimal_places=8, min_value=0, max_value=Decimal("0.0099"),
                                         required=False)
    taker_fee = serializers.DecimalField(max_digits=10, decimal_places=8, min_value=0, max_value=Decimal("0.0099"),
                                         required=False)
    funding = serializers.BooleanField(default=True)
    entry_order = serializers.ChoiceField(choices=["market", "post_only"], default="market",
                                          help_text="post_only: a maker limit at the signal price, market at the timeout")
    entry_timeout_seconds = serializers.IntegerField(min_value=30, max_value=3600, required=False,
                                                     help_text="post_only: 30..3600, a multiple of 30 (default 60)")
    slippage_bps = serializers.DecimalField(max_digits=6, decimal_places=3, min_value=0, max_value=100,
                                            required=False, help_text="against the taker, default 1 bp")
    slippage_range_fraction = serializers.DecimalField(max_digits=6, decimal_places=4, min_value=0, max_value=1,
                                                       required=False, help_text="share of the last closed bar's range")


class BacktestCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    strategy = serializers.CharField(max_length=40)
    params = serializers.DictField(required=False, default=dict)
    settings = BacktestSettingsSerializer()


class RunRangeSerializer(StrictFields, serializers.Serializer):
    """The range of a config or desk run (default: the stored data's range) and the funding switch."""

    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    funding = serializers.BooleanField(default=True)
    symbol = serializers.CharField(max_length=30, required=False,
                                   help_text="with `config` only: which of its symbols (default: the first)")


class ConfigBacktestCreateSerializer(StrictFields, serializers.Serializer):
    """Backtest configs as they trade. `config`: one config, single-symbol run with its own leverage, sizing and
    TP/SL. `configs` (ids, run in that order) or `account` (its enabled configs): ONE portfolio run with the
    account's wallet, starting capital and max_open_positions."""

    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    config = serializers.IntegerField(min_value=1, required=False)
    configs = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, min_length=1,
                                    max_length=MAX_CONFIGS)
    account = serializers.IntegerField(min_value=1, required=False)
    settings = RunRangeSerializer(required=False)

    def validate(self, attrs):
        given = [k for k in ("config", "configs", "account") if k in attrs]
        if len(given) != 1:
            raise serializers.ValidationError({"configs": "configs: give exactly one of config, configs or account"
                                                          + (f" (got {', '.join(given)})" if given else "")})
        if "symbol" in attrs.get("settings", {}) and "config" not in attrs:
            raise serializers.ValidationError({"symbol": "symbol: only with config; a desk run trades each "
                                                         "config's own symbols"})
        return attrs


CONFIG_KEYS = ("config", "configs", "account")


class SweepCreateSerializer(BacktestCreateSerializer):
    grid = serializers.DictField(child=serializers.ListField(min_length=1, max_length=MAX_POINTS),
                                 help_text=f"parameter -> list of values; at most {MAX_POINTS} points in all")
    metric = serializers.ChoiceField(choices=[(m, m) for m in RANKABLE], default="sharpe")


class BacktestListSerializer(serializers.ModelSerializer):
    class Meta:
        model = BacktestRun
        fields = ["id", "name", "strategy", "params", "settings", "status", "progress", "metrics", "error",
                  "bias", "sweep_key", "created_at", "started_at", "finished_at"]


class BacktestDetailSerializer(serializers.ModelSerializer):
    verdict = serializers.SerializerMethodField(help_text="red/amber/green with reasons (null until done)")

    class Meta:
        model = BacktestRun
        fields = [*BacktestListSerializer.Meta.fields, "trades", "equity_curve", "indicators", "verdict"]

    def get_verdict(self, obj) -> dict | None:
        from trading.services.research_verdicts import backtest_verdict

        return backtest_verdict(run=obj)


class BacktestAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField()


class SweepAcceptedSerializer(serializers.Serializer):
    sweep_key = serializers.CharField()
    points = serializers.IntegerField()
    url = serializers.CharField()


class SweepRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    run = serializers.IntegerField()
    status = serializers.CharField()
    params = serializers.DictField()
    metric = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    total_return = serializers.FloatField(allow_null=True)
    sharpe = serializers.FloatField(allow_null=True)
    max_drawdown = serializers.FloatField(allow_null=True)
    trade_count = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class SweepSerializer(serializers.Serializer):
    sweep_key = serializers.CharField()
    strategy = serializers.CharField()
    metric = serializers.CharField()
    grid = serializers.DictField()
    points = serializers.IntegerField()
    finished = serializers.IntegerField()
    status = serializers.CharField()
    rows = SweepRowSerializer(many=True)
    verdict = serializers.DictField(required=False, allow_null=True, help_text="on the detail only: the best "
                                    "point, deflated by the points tried, with PBO over them")


class KillSwitchSerializer(serializers.Serializer):
    engage = serializers.BooleanField(default=True, help_text="true engages, false releases the switch")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ArchiveSerializer(serializers.Serializer):
    archived = serializers.BooleanField(default=True, help_text="true archives, false unarchives")


class KillSwitchResultSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    engaged = serializers.BooleanField()
    configs_disabled = serializers.ListField(child=serializers.IntegerField())
    close_requested = serializers.ListField(child=serializers.IntegerField())
    close_results = serializers.DictField(child=serializers.CharField(),
                                          help_text="position id -> closed / order status / why not")
    still_closing = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="positions not closed yet: the durable close job keeps working on them")
    audit_id = serializers.IntegerField(allow_null=True, help_text="the KillSwitchEvent recording this")
