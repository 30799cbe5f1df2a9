"""Where a user's alerts go: one Apprise URL per channel (Telegram, Discord, Slack, e-mail, a generic
webhook ...), the kinds of alert it takes, and its near-liquidation threshold. The URL carries the channel's
token, so it is encrypted at rest like exchange keys and only a hint is ever shown."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trading import crypto

ALERT_KINDS = ("fill", "liquidation", "near_liquidation", "stop_repaired", "kill_switch", "feed_down",
               "daily_pnl", "alert")


def all_kinds() -> list[str]:
    return list(ALERT_KINDS)


class AlertChannel(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_channels")
    name = models.CharField(max_length=80)
    url_encrypted = models.TextField(editable=False)
    url_hint = models.CharField(max_length=40, editable=False, blank=True, default="")
    kinds = models.JSONField(default=all_kinds, help_text=f"any of: {', '.join(ALERT_KINDS)}")
    near_liquidation_pct = models.DecimalField(
        max_digits=5, decimal_places=2, default=2,
        help_text="alert when a position's mark is within this % of its liquidation price")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url_hint})"

    def __repr__(self) -> str:  # the URL holds a token: never in logs
        return f"<AlertChannel {self.pk} {self.name!r}>"

    def set_url(self, url: str) -> None:
        self.url_encrypted = crypto.encrypt(url)
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        self.url_hint = f"{scheme}://{crypto.mask(url)}"

    def url(self) -> str:
        return crypto.decrypt(self.url_encrypted)
