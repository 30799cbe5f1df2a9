"""Backtest runs: parameters, status and progress, metrics, and result artefacts (trades, equity curve, the
strategy's drawn indicators, its bias mark)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trading.choices import RunStatus


class BacktestRun(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtests")
    name = models.CharField(max_length=120, blank=True, default="")
    strategy = models.CharField(max_length=40, help_text="registry name of the algorithm")
    params = models.JSONField(default=dict, blank=True, help_text="the algorithm's parameters")
    settings = models.JSONField(
        default=dict,
        blank=True,
        help_text="symbol, timeframe, start, end, leverage, sizing, fees, funding on/off",
    )
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    metrics = models.JSONField(default=dict, blank=True)
    trades = models.JSONField(default=list, blank=True)
    equity_curve = models.JSONField(default=list, blank=True, help_text="[[iso time, equity], ...]")
    error = models.TextField(blank=True, default="")
    bias = models.JSONField(default=dict, blank=True,
                            help_text="the strategy version's bias checks when it ran: version, checked, biased, failures")
    indicators = models.JSONField(default=dict, blank=True,
                                  help_text="what the strategy draws (its plots), over the charted bars")
    task_id = models.CharField(max_length=64, blank=True, default="")
    sweep_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Backtest {self.pk} {self.strategy} [{self.status}]"
