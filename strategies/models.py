"""Strategies (an algorithm of the registry, shipped or from the user folder) and their configs: account,
symbols, leverage, sizing, TP/SL, typed parameters validated by the algorithm's own schema; the bias-check
results per strategy version and the user modules that failed to load."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from trading.choices import TIMEFRAME_CHOICES, SizingMode


class Strategy(models.Model):
    """A named algorithm from ``strategies.algos.registry``."""

    key = models.CharField(max_length=40, unique=True, help_text="registry name, e.g. lorentzian")
    label = models.CharField(max_length=80)
    description = models.TextField(blank=True, default="")
    # Desk defaults for new configs of this strategy (DESIGN.md section 3; the YAML master config).
    default_leverage = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("50"))
    default_sizing_mode = models.CharField(max_length=5, choices=SizingMode.choices, default=SizingMode.FIXED)
    default_allocation = models.DecimalField(max_digits=8, decimal_places=6, null=True, blank=True)
    default_kelly_fraction = models.DecimalField(max_digits=8, decimal_places=6, null=True, blank=True)
    default_timeframe = models.CharField(max_length=4, choices=TIMEFRAME_CHOICES, default="5m")
    # Filled by a scan (strategies/services.py): where the code lives and which version of it is loaded.
    origin = models.CharField(max_length=8, choices=[("shipped", "shipped"), ("user", "user folder")],
                              default="shipped")
    source_path = models.CharField(max_length=500, blank=True, default="")
    source_sha256 = models.CharField(max_length=64, blank=True, default="", help_text="version: sha256 of its source")
    schema = models.JSONField(default=dict, blank=True, help_text="parameter schema and plots, as the registry declares")
    available = models.BooleanField(default=True, help_text="found by the latest scan")

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "strategies"

    def __str__(self) -> str:
        return self.label or self.key

    def clean(self) -> None:
        from trading.validation import validate_strategy_defaults, validate_strategy_key

        validate_strategy_key(self.key)
        validate_strategy_defaults(self)


class StrategyConfig(models.Model):
    """How one strategy trades on one account: what, when, how big, with which protection."""

    name = models.CharField(max_length=80)
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="configs")
    account = models.ForeignKey("trading.Account", on_delete=models.CASCADE, related_name="configs")
    symbols = models.JSONField(default=list, help_text='e.g. ["BTCUSDT"]')
    timeframe = models.CharField(max_length=4, choices=TIMEFRAME_CHOICES, default="5m")
    leverage = models.DecimalField(max_digits=8, decimal_places=2)
    sizing_mode = models.CharField(max_length=5, choices=SizingMode.choices, default=SizingMode.FIXED)
    allocation = models.DecimalField(
        max_digits=8, decimal_places=6, null=True, blank=True,
        help_text="fixed mode: fraction of starting capital used as margin",
    )
    kelly_fraction = models.DecimalField(
        max_digits=8, decimal_places=6, null=True, blank=True,
        help_text="kelly mode: fraction of balance used as margin",
    )
    take_profit_pct = models.DecimalField(
        max_digits=8, decimal_places=5, null=True, blank=True,
        help_text="TP distance from entry in percent of price (e.g. 0.156)",
    )
    stop_loss_pct = models.DecimalField(
        max_digits=8, decimal_places=5, default=Decimal("0.25"),
        help_text="SL distance from entry in percent of price; must sit before liquidation",
    )
    entry_order = models.CharField(
        max_length=9, choices=[("market", "market"), ("post_only", "post-only limit at the touch")], default="market",
        help_text="post_only: a maker limit at the bid (long) / ask (short), replaced by a market order when not "
                  "filled within entry_timeout_seconds",
    )
    entry_timeout_seconds = models.PositiveIntegerField(
        default=60, help_text="post_only: seconds before the unfilled limit is cancelled (30..3600, multiple of 30)",
    )
    params = models.JSONField(default=dict, blank=True, help_text="the algorithm's parameters")
    enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="config_unique_name_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.strategy.key})"

    def clean(self) -> None:
        from trading.validation import validate_strategy_config

        validate_strategy_config(self)


class BiasCheck(models.Model):
    """The bias checks of one strategy version (sha256 of its source): lookahead, window independence,
    determinism, speed. A version failing lookahead or window independence cannot be enabled."""

    STATUS = [("pending", "pending"), ("running", "running"), ("done", "done"), ("error", "error")]

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="bias_checks")
    source_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=STATUS, default="pending")
    passed = models.BooleanField(null=True, help_text="every check passed")
    blocking_failures = models.JSONField(default=list, blank=True, help_text="failed checks that block enabling")
    results = models.JSONField(default=dict, blank=True, help_text="per check: passed, detail, failing bars")
    bars_per_second = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["strategy", "source_sha256"], name="bias_check_per_version")]

    def __str__(self) -> str:
        return f"{self.strategy.key} {self.source_sha256[:10]} {self.status}"


class StrategyLoadError(models.Model):
    """A module of the user strategies folder that the latest scan could not register, with its traceback."""

    path = models.CharField(max_length=500, unique=True)
    message = models.TextField()
    traceback = models.TextField(blank=True, default="")
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path
