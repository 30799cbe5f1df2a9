"""The kill switch's audit log: who engaged or released it, when, why, and what happened to each position
the durable close job worked on."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class KillSwitchEvent(models.Model):
    """One engage or release of an account's kill switch. An engage starts ``closing``; the close job (a
    Celery task with retries) records each position's outcome in ``outcomes`` and sets ``done`` once nothing
    of the account is open any more."""

    ENGAGE, RELEASE = "engage", "release"
    CLOSING, DONE = "closing", "done"

    account = models.ForeignKey("trading.Account", on_delete=models.CASCADE, related_name="kill_switch_events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    action = models.CharField(max_length=8, choices=[(ENGAGE, "Engage"), (RELEASE, "Release")])
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=8, choices=[(CLOSING, "Closing positions"), (DONE, "Done")],
                              default=DONE)
    configs_disabled = models.JSONField(default=list, blank=True)
    positions = models.JSONField(default=list, blank=True, help_text="position ids open when it was engaged")
    outcomes = models.JSONField(default=dict, blank=True, help_text="position id -> what the close did")
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return f"kill switch {self.action} on account {self.account_id} ({self.status})"
