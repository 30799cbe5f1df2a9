"""What the desk decided and why: strategy signals with every layer, monitor decisions, equity snapshots."""

from __future__ import annotations

from django.db import models

from trading.choices import DecisionAction, ExitReason
from trading.marketdata.clock import desk_now

from .fields import money_field, price_field


class Signal(models.Model):
    """One strategy output row for one bar: the signal and every layer's value."""

    config = models.ForeignKey("strategies.StrategyConfig", on_delete=models.CASCADE, related_name="signals")
    symbol = models.CharField(max_length=30)
    bar_time = models.DateTimeField()
    signal = models.SmallIntegerField(help_text="+1 long, -1 short, 0 none")
    exit_long = models.BooleanField(default=False)
    exit_short = models.BooleanField(default=False)
    price = price_field(null=True, blank=True)
    forecast = price_field(null=True, blank=True)
    drift = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    half_life_seconds = models.FloatField(null=True, blank=True)
    layers = models.JSONField(default=dict, blank=True)
    acted = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True, default="")
    outcome = models.CharField(
        max_length=8, blank=True, default="",
        choices=[("acted", "Acted on within its bar"), ("expired", "Expired: its bar was over, nothing placed")],
    )
    created_at = models.DateTimeField(default=desk_now, editable=False)  # replay time during a replay

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["config", "symbol", "bar_time"], name="signal_unique_bar"),
        ]
        indexes = [models.Index(fields=["symbol", "-bar_time"])]
        ordering = ["-bar_time"]

    def __str__(self) -> str:
        return f"{self.symbol} {self.bar_time:%Y-%m-%d %H:%M} {self.signal:+d}"


class MonitorDecision(models.Model):
    """The inputs and outcome of one 30-second rule check on one open position."""

    position = models.ForeignKey("trading.Position", on_delete=models.CASCADE, related_name="decisions")
    decided_at = models.DateTimeField()
    action = models.CharField(max_length=8, choices=DecisionAction.choices)
    reason = models.CharField(max_length=24, choices=ExitReason.choices, blank=True, default="")
    detail = models.CharField(max_length=200, blank=True, default="")
    price = price_field(null=True, blank=True)
    drift = models.FloatField(null=True, blank=True)
    baseline_drift = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    entry_confidence = models.FloatField(null=True, blank=True)
    age_seconds = models.FloatField()
    half_life_seconds = models.FloatField(null=True, blank=True)
    order = models.ForeignKey("trading.Order", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-decided_at"]
        indexes = [models.Index(fields=["position", "-decided_at"])]

    def __str__(self) -> str:
        return f"{self.position_id} {self.action} {self.reason}"


class EquitySnapshot(models.Model):
    """Account equity at a point in time (taken each minute by the worker)."""

    account = models.ForeignKey("trading.Account", on_delete=models.CASCADE, related_name="equity_snapshots")
    taken_at = models.DateTimeField()
    balance = money_field()
    equity = money_field()
    unrealised_pnl = money_field()
    margin_used = money_field()
    available = money_field()

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "taken_at"], name="equity_unique_time"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.taken_at:%Y-%m-%d %H:%M} {self.equity}"
