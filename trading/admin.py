"""Admin registrations: configs editable with full validation, secrets never shown, the trading record
(orders, fills, decisions, signals, equity) read-only."""

from __future__ import annotations

from django.contrib import admin

from trading.admin_forms import AccountAdminForm
from trading.models import (
    Account,
    BacktestRun,
    Candle,
    DeskSettings,
    EquitySnapshot,
    Fill,
    FundingRate,
    Instrument,
    LiveGateOverride,
    MonitorDecision,
    Order,
    Position,
    ResearchStudy,
    Signal,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The record of what happened is written by services only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeskSettings)
class DeskSettingsAdmin(admin.ModelAdmin):
    list_display = ("starting_capital", "max_open_positions", "maker_fee", "taker_fee", "updated_at")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = ("name", "owner", "mode", "live_trading_enabled", "testnet", "credentials", "kill_switch_engaged")
    list_filter = ("mode", "live_trading_enabled", "testnet")
    readonly_fields = ("api_key_hint", "created_at")
    fieldsets = (
        (None, {"fields": ("owner", "name", "mode", "live_trading_enabled", "testnet", "kill_switch_engaged")}),
        ("Exchange credentials (write-only)", {"fields": ("api_key_hint", "api_key", "api_secret", "clear_api_credentials")}),
        ("Money", {"fields": ("starting_capital", "max_open_positions", "maker_fee", "taker_fee")}),
        ("Meta", {"fields": ("created_at",)}),
    )

    @admin.display(description="API keys")
    def credentials(self, obj: Account) -> str:
        return obj.api_key_hint if obj.has_api_credentials else "none"


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("symbol", "tick_size", "qty_step", "min_qty", "min_notional", "max_leverage", "status")
    search_fields = ("symbol",)


@admin.register(Candle)
class CandleAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "interval", "kind", "open_time", "open", "high", "low", "close", "volume")
    list_filter = ("symbol", "interval", "kind")
    date_hierarchy = "open_time"
    show_full_result_count = False


@admin.register(FundingRate)
class FundingRateAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "funding_time", "rate")
    list_filter = ("symbol",)


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = ("bar_time", "config", "symbol", "signal", "drift", "confidence", "acted", "note")
    list_filter = ("symbol", "signal", "acted")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "symbol", "side", "action", "qty", "status", "client_order_id")
    list_filter = ("status", "action", "symbol")
    search_fields = ("client_order_id", "exchange_order_id")


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("opened_at", "account", "symbol", "side", "qty", "entry_price", "leverage", "status", "exit_reason")
    list_filter = ("status", "symbol", "side")


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ("executed_at", "account", "symbol", "exec_type", "side", "qty", "price", "fee", "realised_pnl")
    list_filter = ("exec_type", "symbol", "exit_reason")


@admin.register(MonitorDecision)
class MonitorDecisionAdmin(ReadOnlyAdmin):
    list_display = ("decided_at", "position", "action", "reason", "drift", "baseline_drift", "confidence", "age_seconds")
    list_filter = ("action", "reason")


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(ReadOnlyAdmin):
    list_display = ("taken_at", "account", "balance", "equity", "margin_used", "available")


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "strategy", "status", "progress")
    list_filter = ("status", "strategy")


@admin.register(ResearchStudy)
class ResearchStudyAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "strategy", "config", "status", "trials_done", "n_trials")
    list_filter = ("status", "strategy")


@admin.register(LiveGateOverride)
class LiveGateOverrideAdmin(ReadOnlyAdmin):
    """Who enabled which config for live trading without a walk-forward verdict, and when."""

    list_display = ("created_at", "user", "config", "reason")
