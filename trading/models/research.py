"""Research studies (a walk-forward optimisation, or a grid sweep run by the same trial machinery: inputs,
progress, result and verdict; the trials themselves live in Optuna's tables in the same database) and live-gate overrides (who enabled a config for
live trading without a walk-forward verdict, and when)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StudyStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHING = "finishing", "Finishing (out-of-sample runs)"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class StudyKind(models.TextChoices):
    WALKFORWARD = "walkforward", "Walk-forward optimisation"
    SWEEP = "sweep", "Grid sweep (one BacktestRun per point)"


class ResearchStudy(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="studies")
    config = models.ForeignKey("strategies.StrategyConfig", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="studies", help_text="the config this study judges, if any")
    name = models.CharField(max_length=120, blank=True, default="")
    kind = models.CharField(max_length=12, choices=StudyKind.choices, default=StudyKind.WALKFORWARD)
    sweep_key = models.CharField(max_length=32, blank=True, default="", db_index=True,
                                 help_text="a sweep: the key its BacktestRuns share")
    strategy = models.CharField(max_length=40, help_text="registry name of the algorithm")
    settings = models.JSONField(default=dict, help_text="the backtest settings (symbol, range, fees, sizing...)")
    space = models.JSONField(default=dict, blank=True, help_text="the search space as given")
    folds = models.JSONField(default=list, help_text="[{number, train_start, train_end, test_start, test_end}]")
    n_trials = models.PositiveIntegerField(help_text="trials per fold")
    sampler = models.CharField(max_length=8, default="tpe")
    seed = models.IntegerField(default=0)
    parallel = models.PositiveSmallIntegerField(default=2, help_text="trial tasks in flight at once")
    status = models.CharField(max_length=10, choices=StudyStatus.choices, default=StudyStatus.QUEUED)
    trials_done = models.PositiveIntegerField(default=0)
    best_value = models.FloatField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    verdict = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "research studies"

    def __str__(self) -> str:
        return f"Study {self.pk} {self.strategy} [{self.status}]"

    def optuna_name(self, fold: int) -> str:
        """The fold's Optuna study name (the creation time keeps it unique if a primary key is ever reused)."""
        return f"qd-study-{self.pk}-{int(self.created_at.timestamp() * 1e6)}-fold-{fold}"


class LiveGateOverride(models.Model):
    """A user enabled a config on a live account without a usable walk-forward verdict on record (none, or red)."""

    config = models.ForeignKey("strategies.StrategyConfig", on_delete=models.CASCADE, related_name="gate_overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="gate_overrides")
    reason = models.CharField(max_length=200, blank=True, default="")
    scope = models.JSONField(default=dict, blank=True,
                             help_text="what was overridden: {strategy, symbols, timeframe}; the override counts only "
                                       "while the config still trades exactly that")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
