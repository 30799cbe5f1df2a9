"""Admin for strategies and their configs; the model's clean() runs every validation rule."""

from __future__ import annotations

from django.contrib import admin

from strategies.models import Strategy, StrategyConfig


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("key", "label")


@admin.register(StrategyConfig)
class StrategyConfigAdmin(admin.ModelAdmin):
    list_display = ("name", "strategy", "account", "timeframe", "leverage", "sizing_mode", "allocation",
                    "kelly_fraction", "enabled")
    list_filter = ("enabled", "strategy", "timeframe")
    list_editable = ("enabled",)
