"""API serializers. Validation is the model's own clean() (one set of rules for admin, API and YAML);
exchange API credentials are write-only and never serialised back."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from strategies.models import Strategy, StrategyConfig
from trading.models import Account


class ModelCleanMixin:
    """Run the model's full_clean() on the would-be instance and report errors per field."""

    def apply_extra(self, instance, attrs) -> None:  # hook for non-model inputs
        pass

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = model(**{f.attname: getattr(self.instance, f.attname) for f in model._meta.concrete_fields}) \
            if self.instance is not None else model()
        if self.instance is not None:  # an update: unique constraints must not count the row itself
            instance._state.adding = False
        plain = {k: v for k, v in attrs.items() if k not in self.extra_input_fields}
        for key, value in plain.items():
            setattr(instance, key, value)
        self.apply_extra(instance, attrs)
        try:
            instance.full_clean(validate_unique=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        self._cleaned_instance = instance
        return attrs

    extra_input_fields: tuple[str, ...] = ()


class AccountSerializer(ModelCleanMixin, serializers.ModelSerializer):
    api_key = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=True)
    api_secret = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=True)
    has_api_credentials = serializers.BooleanField(read_only=True)
    extra_input_fields = ("api_key", "api_secret")

    class Meta:
        model = Account
        fields = [
            "id", "name", "mode", "live_trading_enabled", "environment", "maker_fee", "taker_fee",
            "slippage_bps", "slippage_range_fraction", "starting_capital", "max_open_positions", "kill_switch_engaged",
            "api_key", "api_secret", "has_api_credentials", "api_key_hint", "api_keys_environment", "created_at",
            "archived",
        ]
        read_only_fields = ["kill_switch_engaged", "api_key_hint", "api_keys_environment", "created_at", "archived"]

    def validate(self, attrs):
        key, secret = attrs.get("api_key"), attrs.get("api_secret")
        if bool(key) != bool(secret):
            missing = "api_secret" if key else "api_key"
            raise serializers.ValidationError({missing: f"{missing}: API key and secret must be given together"})
        return super().validate(attrs)

    def apply_extra(self, instance, attrs) -> None:
        if self.instance is None:
            instance.owner = self.context["request"].user
        if attrs.get("api_key") and attrs.get("api_secret"):
            instance.set_api_credentials(api_key=attrs["api_key"], api_secret=attrs["api_secret"])

    def _save(self, instance, attrs):
        key, secret = attrs.pop("api_key", None), attrs.pop("api_secret", None)
        for field, value in attrs.items():
            setattr(instance, field, value)
        if key and secret:
            instance.set_api_credentials(api_key=key, api_secret=secret)
        instance.save()
        return instance

    def create(self, validated_data):
        return self._save(Account(owner=self.context["request"].user), validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)


class StrategySerializer(serializers.ModelSerializer):
    param_schema = serializers.SerializerMethodField()
    plots = serializers.SerializerMethodField()
    bias_check = serializers.SerializerMethodField()

    class Meta:
        model = Strategy
        fields = ["id", "key", "label", "description", "default_leverage", "default_sizing_mode",
                  "default_allocation", "default_kelly_fraction", "default_timeframe", "param_schema", "plots",
                  "origin", "source_path", "source_sha256", "available", "bias_check"]

    def get_param_schema(self, obj) -> list[dict]:
        from strategies.algos import registry

        return registry.get(obj.key).schema_json()["params"] if obj.key in registry.names() else []

    def get_plots(self, obj) -> list[dict]:
        from strategies.algos import registry

        return registry.get(obj.key).schema_json()["plots"] if obj.key in registry.names() else []

    def get_bias_check(self, obj) -> dict | None:
        from strategies.selectors import bias_summary

        return bias_summary(strategy=obj)


class StrategyConfigSerializer(ModelCleanMixin, serializers.ModelSerializer):
    class Meta:
        model = StrategyConfig
        fields = [
            "id", "name", "strategy", "account", "symbols", "timeframe", "leverage", "sizing_mode",
            "allocation", "kelly_fraction", "take_profit_pct", "stop_loss_pct", "entry_order",
            "entry_timeout_seconds", "params", "enabled",
            "created_at", "updated_at", "last_verdict",
        ]
        read_only_fields = ["created_at", "updated_at"]

    last_verdict = serializers.SerializerMethodField(help_text="the latest walk-forward verdict on record, or null")

    def get_last_verdict(self, obj) -> dict | None:
        from trading.services.research_gate import last_verdict

        return last_verdict(config=obj) if obj.pk else None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "account" in self.fields:
            from trading.selectors import accounts_for

            self.fields["account"].queryset = accounts_for(user=request.user)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        attrs["params"] = self._cleaned_instance.params  # defaults filled in by the algorithm's schema
        # The live gate is part of the model's clean() (run above); its override goes through
        # POST configs/{id}/enable/, where it is recorded.
        return attrs
