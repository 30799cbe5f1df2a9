"""Serializers of walk-forward studies (request body typed for the OpenAPI schema; rules in
trading/services/research.py) and of the live gate's override on configs/{id}/enable/."""

from __future__ import annotations

from rest_framework import serializers

from trading.api.serializers_backtest import BacktestSettingsSerializer
from trading.models import ResearchStudy


class EnableSerializer(serializers.Serializer):
    override_research = serializers.BooleanField(
        default=False, help_text="live accounts: enable without a walk-forward verdict on record (recorded)")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class StudyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    strategy = serializers.CharField(max_length=40)
    settings = BacktestSettingsSerializer()
    space = serializers.DictField(required=False, default=dict,
                                  help_text='{"params": {name: {"low", "high", "log"} | {"values": [...]}}, '
                                            '"fixed": {...}, "leverage": ..., "stop_loss_pct": ...}')
    folds = serializers.IntegerField(default=5)
    train_ratio = serializers.FloatField(default=3.0)
    anchored = serializers.BooleanField(default=False)
    trials = serializers.IntegerField(default=50, help_text="trials per fold")
    sampler = serializers.CharField(default="tpe", help_text="tpe, random or grid")
    seed = serializers.IntegerField(default=0)
    parallel = serializers.IntegerField(default=2, help_text="trial tasks in flight at once")
    config = serializers.IntegerField(required=False, allow_null=True, help_text="the config this study judges")


class StudySerializer(serializers.ModelSerializer):
    trials_total = serializers.SerializerMethodField()

    class Meta:
        model = ResearchStudy
        fields = ["id", "name", "strategy", "config", "settings", "space", "folds", "n_trials", "sampler", "seed",
                  "parallel", "status", "trials_done", "trials_total", "best_value", "verdict", "error",
                  "created_at", "started_at", "finished_at"]

    def get_trials_total(self, obj) -> int:
        return obj.n_trials * len(obj.folds or [])


class StudyDetailSerializer(StudySerializer):
    class Meta(StudySerializer.Meta):
        fields = [*StudySerializer.Meta.fields, "result"]


class StudyAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField()
