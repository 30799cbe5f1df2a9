"""The persisted state of a paper account's simulator, so a restart loses nothing."""

from __future__ import annotations

from django.db import models


class PaperAccountState(models.Model):
    """``state`` is ``trading.engine.simulator.Simulator.to_state()``; ``version`` counts saves."""

    account = models.OneToOneField("trading.Account", on_delete=models.CASCADE, related_name="paper_state")
    state = models.JSONField(default=dict)
    version = models.PositiveBigIntegerField(default=0)
    marked = models.JSONField(default=dict, help_text="per symbol: ms of the last bar and tick applied")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"paper state of account {self.account_id} v{self.version}"
