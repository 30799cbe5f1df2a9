"""Exchange accounts (paper or live, API keys encrypted at rest) and the desk-wide sizing settings."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from trading import crypto
from trading.choices import AccountMode, BybitEnvironment

from .fields import money_field, rate_field


def default_bands() -> list[dict]:
    """DESIGN.md section 3: allowed allocation of starting capital by leverage band."""
    return [
        {"min_leverage": 50, "max_leverage": 125, "min_allocation": 0.01, "max_allocation": 0.10},
        {"min_leverage": 20, "max_leverage": 49, "min_allocation": 0.10, "max_allocation": 0.20},
        {"min_leverage": 1, "max_leverage": 19, "min_allocation": 0.20, "max_allocation": 1.00},
    ]


class DeskSettings(models.Model):
    """The desk's master sizing config (one row), imported from and exported to YAML."""

    starting_capital = money_field(default=Decimal("500"))
    max_open_positions = models.PositiveSmallIntegerField(default=2)
    maker_fee = rate_field(default=Decimal("0.0002"))
    taker_fee = rate_field(default=Decimal("0.0006"))
    leverage_bands = models.JSONField(default=default_bands)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "desk settings"

    def __str__(self) -> str:
        return f"Desk settings (capital {self.starting_capital} USDT)"

    @classmethod
    def current(cls) -> DeskSettings:
        obj = cls.objects.order_by("pk").first()
        return obj if obj is not None else cls.objects.create()

    def clean(self) -> None:
        from trading.validation import validate_bands, validate_desk_numbers

        validate_desk_numbers(self)
        validate_bands(self.leverage_bands)


class Account(models.Model):
    """One trading account: paper by default; live only with keys and an explicit switch."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(max_length=80)
    mode = models.CharField(max_length=8, choices=AccountMode.choices, default=AccountMode.PAPER)
    live_trading_enabled = models.BooleanField(
        default=False,
        help_text="The explicit per-account switch. Live orders are refused while this is off.",
    )
    environment = models.CharField(
        max_length=8, choices=BybitEnvironment.choices, default=BybitEnvironment.TESTNET,
        help_text="Which Bybit a live account trades on. API keys belong to one environment: switching needs "
                  "that environment's key and secret.",
    )
    # The environment the stored key and secret were given for: keys are never sent to another one.
    api_keys_environment = models.CharField(max_length=8, choices=BybitEnvironment.choices, blank=True,
                                            default="", editable=False)
    api_key_encrypted = models.TextField(blank=True, default="", editable=False)
    api_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    api_key_hint = models.CharField(max_length=12, blank=True, default="", editable=False)
    maker_fee = rate_field(default=Decimal("0.0002"))
    taker_fee = rate_field(default=Decimal("0.0006"))
    slippage_bps = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("1"),
        help_text="paper (and this account's backtests): market fills and triggered TP/SL move this many basis "
                  "points against the taker (0..100)",
    )
    slippage_range_fraction = models.DecimalField(
        max_digits=6, decimal_places=4, default=Decimal("0"),
        help_text="plus this share (0..1) of the last closed bar's high-low range",
    )
    starting_capital = money_field(default=Decimal("500"))
    max_open_positions = models.PositiveSmallIntegerField(default=2)
    kill_switch_engaged = models.BooleanField(default=False)
    kill_switch_engaged_at = models.DateTimeField(null=True, blank=True, editable=False)
    archived = models.BooleanField(
        default=False,
        help_text="An archived account trades no more (no cycles, monitor or reconciliation); "
                  "the safe alternative to deleting one that has a history.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="account_unique_name_per_owner")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.mode})"

    # Credentials are write-only: set them here, read them only inside the exchange adapter.
    def set_api_credentials(self, *, api_key: str, api_secret: str, environment: str | None = None) -> None:
        """Store the key and secret for ``environment`` (default: the account's current one)."""
        self.api_key_encrypted = crypto.encrypt(api_key)
        self.api_secret_encrypted = crypto.encrypt(api_secret)
        self.api_key_hint = crypto.mask(api_key)
        self.api_keys_environment = environment or self.environment

    def clear_api_credentials(self) -> None:
        self.api_key_encrypted = self.api_secret_encrypted = self.api_key_hint = self.api_keys_environment = ""

    @property
    def api_keys_match_environment(self) -> bool:
        return self.api_keys_environment == self.environment

    @property
    def has_api_credentials(self) -> bool:
        return bool(self.api_key_encrypted and self.api_secret_encrypted)

    def api_credentials(self) -> tuple[str, str]:
        return crypto.decrypt(self.api_key_encrypted), crypto.decrypt(self.api_secret_encrypted)

    @property
    def is_live(self) -> bool:
        return (self.mode == AccountMode.LIVE and self.live_trading_enabled and self.has_api_credentials
                and self.api_keys_match_environment)

    def clean(self) -> None:
        from trading.validation import validate_account

        validate_account(self)

    def __repr__(self) -> str:  # never leak ciphertext into logs either
        return f"<Account {self.pk} {self.name!r} mode={self.mode}>"
