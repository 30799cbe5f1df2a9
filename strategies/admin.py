"""Admin for strategies (with their versions' bias checks and the modules that failed to load) and their configs;
the model's clean() runs every validation rule, and a config's params are edited through fields generated
from the strategy's schema."""

from __future__ import annotations

from django.contrib import admin

from strategies.admin_forms import StrategyConfigAdminForm
from strategies.models import BiasCheck, Strategy, StrategyConfig, StrategyLoadError


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("key", "label", "origin", "available", "source_sha256")
    list_filter = ("origin", "available")
    readonly_fields = ("origin", "source_path", "source_sha256", "schema", "available")


@admin.register(StrategyConfig)
class StrategyConfigAdmin(admin.ModelAdmin):
    form = StrategyConfigAdminForm
    list_display = ("name", "strategy", "account", "timeframe", "leverage", "sizing_mode", "allocation",
                    "kelly_fraction", "enabled")
    list_filter = ("enabled", "strategy", "timeframe")
    list_editable = ("enabled",)


@admin.register(BiasCheck)
class BiasCheckAdmin(admin.ModelAdmin):
    list_display = ("strategy", "source_sha256", "status", "passed", "blocking_failures", "bars_per_second",
                    "finished_at")
    list_filter = ("status", "passed")
    readonly_fields = [f.name for f in BiasCheck._meta.fields]


@admin.register(StrategyLoadError)
class StrategyLoadErrorAdmin(admin.ModelAdmin):
    list_display = ("path", "message", "seen_at")
    readonly_fields = ("path", "message", "traceback", "seen_at")
