"""What the desk shows a trader besides the trading record: the event log (every refusal, error and skip a
user's action or a cycle caused, kept for a bounded time) and the audit log of actions taken by hand."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DeskEvent(models.Model):
    """One line of the desk's event log (written and published by ``trading.services.desk_events``)."""

    INFO, WARNING, ERROR = "info", "warning", "error"
    LEVELS = [(INFO, "Info"), (WARNING, "Warning"), (ERROR, "Error")]

    account = models.ForeignKey("trading.Account", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="desk_events")
    kind = models.CharField(max_length=40, help_text="order_refused, alert kind (no_price, missed_bars ...), manual")
    level = models.CharField(max_length=8, choices=LEVELS, default=INFO)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.level} {self.kind}: {self.message[:60]}"


class ManualAction(models.Model):
    """The audit log of manual control: who did what by hand to which position or config, and the outcome."""

    CLOSE, REDUCE, PROTECT, OPEN = "close", "reduce", "protect", "open"
    ACTIONS = [(CLOSE, "Close"), (REDUCE, "Reduce"), (PROTECT, "Move TP/SL"), (OPEN, "Open")]

    account = models.ForeignKey("trading.Account", on_delete=models.CASCADE, related_name="manual_actions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    action = models.CharField(max_length=8, choices=ACTIONS)
    position = models.ForeignKey("trading.Position", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="manual_actions")
    order = models.ForeignKey("trading.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(default=False)
    outcome = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"manual {self.action} on account {self.account_id}: {self.outcome[:60]}"
