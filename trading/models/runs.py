"""What each monitor tick and signal cycle cost: its duration, its SQL query count and whether it overran its
cadence (one row per run; shown in the admin and ``/api/runs/``)."""

from __future__ import annotations

from django.db import models

from trading.marketdata.clock import desk_now


class RunRecord(models.Model):
    KINDS = [("monitor", "Monitor tick"), ("cycle", "Signal cycle")]

    kind = models.CharField(max_length=8, choices=KINDS)
    account = models.ForeignKey("trading.Account", on_delete=models.CASCADE, related_name="run_records")
    config = models.ForeignKey("strategies.StrategyConfig", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="run_records")
    started_at = models.DateTimeField(default=desk_now)
    duration_ms = models.FloatField()
    queries = models.PositiveIntegerField()
    positions = models.PositiveIntegerField(default=0)  # open positions handled (monitor) / symbols (cycle)
    cadence_ms = models.PositiveIntegerField()  # the interval the run must finish within
    overran = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["account", "kind", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} account {self.account_id}: {self.duration_ms:.0f} ms, {self.queries} queries"
