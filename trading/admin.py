"""Admin registrations: configs editable with full validation, secrets never shown, the trading record
(orders, fills, decisions, signals, equity) read-only."""

from __future__ import annotations

from django.contrib import admin

from trading.admin_forms import AccountAdminForm, AlertChannelAdminForm
from trading.models import (
    Account,
    AlertChannel,
    BacktestRun,
    Candle,
    DeskEvent,
    DeskSettings,
    EquitySnapshot,
    Fill,
    FundingRate,
    Instrument,
    KillSwitchEvent,
    LiveGateOverride,
    ManualAction,
    MonitorDecision,
    Order,
    Position,
    ResearchStudy,
    RunRecord,
    Signal,
)
from trading.services import accounts as account_services


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
    """Deleting an account with anything open is refused with a message (archive it instead)."""

    form = AccountAdminForm
    list_display = ("name", "owner", "mode", "live_trading_enabled", "environment", "credentials", "kill_switch_engaged",
                    "archived")
    list_filter = ("mode", "live_trading_enabled", "environment", "archived")
    actions = ["archive_accounts"]
    readonly_fields = ("api_key_hint", "created_at")
    fieldsets = (
        (None, {"fields": ("owner", "name", "mode", "live_trading_enabled", "environment", "kill_switch_engaged",
                           "archived")}),
        ("Exchange credentials (write-only)", {"fields": ("api_key_hint", "api_key", "api_secret", "clear_api_credentials")}),
        ("Money", {"fields": ("starting_capital", "max_open_positions", "maker_fee", "taker_fee")}),
        ("Paper fills (and this account's backtests)", {"fields": ("slippage_bps", "slippage_range_fraction")}),
        ("Meta", {"fields": ("created_at",)}),
    )

    @admin.display(description="API keys")
    def credentials(self, obj: Account) -> str:
        return obj.api_key_hint if obj.has_api_credentials else "none"

    def get_deleted_objects(self, objs, request):
        """Both the delete page and the bulk action refuse (Django's "protected" page lists why) while an
        account has open positions or orders."""
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        reasons = [r for r in (account_services.in_use_reason(account=a) for a in objs) if r]
        if reasons:  # shown instead of the missing-permission list, which would hide why
            return deleted, counts, set(), [*reasons, *protected]
        return deleted, counts, perms, protected

    def delete_model(self, request, obj):
        account_services.delete_account(account=obj)  # re-checked in one transaction

    @admin.action(description="Archive the selected accounts (keep their history, stop trading)")
    def archive_accounts(self, request, queryset):
        for account in queryset:
            account_services.set_archived(account=account, archived=True)
        self.message_user(request, f"Archived {queryset.count()} account(s); their configs are disabled.")


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelAdminForm
    list_display = ["name", "owner", "url_hint", "enabled", "last_sent_at", "last_error"]
    readonly_fields = ["url_hint", "last_sent_at", "last_error"]


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


@admin.register(RunRecord)
class RunRecordAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "kind", "account", "config", "duration_ms", "queries", "positions", "overran")
    list_filter = ("kind", "overran")


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(ReadOnlyAdmin):
    list_display = ("taken_at", "account", "balance", "equity", "margin_used", "available")


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "strategy", "status", "progress")
    list_filter = ("status", "strategy")


@admin.register(KillSwitchEvent)
class KillSwitchEventAdmin(ReadOnlyAdmin):
    """The kill switch's audit log: who engaged or released it, why, and what the close job did per position."""

    list_display = ("created_at", "account", "action", "user", "reason", "status", "attempts", "finished_at")
    list_filter = ("action", "status")


@admin.register(ResearchStudy)
class ResearchStudyAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "strategy", "config", "status", "trials_done", "n_trials")
    list_filter = ("status", "strategy")


@admin.register(LiveGateOverride)
class LiveGateOverrideAdmin(ReadOnlyAdmin):
    """Who enabled which config for live trading without a walk-forward verdict, and when."""

    list_display = ("created_at", "user", "config", "reason")


@admin.register(ManualAction)
class ManualActionAdmin(ReadOnlyAdmin):
    """The audit log of manual control: who closed, reduced, moved TP/SL or opened by hand, and the outcome."""

    list_display = ("created_at", "account", "user", "action", "position", "ok", "outcome")
    list_filter = ("action", "ok")


@admin.register(DeskEvent)
class DeskEventAdmin(ReadOnlyAdmin):
    """The desk's event log: refusals, errors and skips."""

    list_display = ("created_at", "account", "level", "kind", "message")
    list_filter = ("level", "kind")
