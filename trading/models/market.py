"""Instruments with Bybit's filters and risk tiers, candles (last and mark price) and funding rates."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from trading.choices import TIMEFRAME_CHOICES, CandleKind

from .fields import price_field, qty_field, rate_field


class Instrument(models.Model):
    """A Bybit USDT perpetual (category linear) with its order filters and maintenance-margin tiers.

    ``risk_tiers`` is a list of ``{"risk_limit_value", "mmr", "imr", "max_leverage"}`` ordered by
    risk limit; mmDeduction is derived from it by the engine (specs/bybit.md section 4).
    """

    symbol = models.CharField(max_length=30, unique=True)
    base_coin = models.CharField(max_length=16)
    quote_coin = models.CharField(max_length=16, default="USDT")
    status = models.CharField(max_length=16, default="Trading")
    tick_size = price_field()
    qty_step = qty_field()
    min_qty = qty_field()
    max_qty = qty_field(null=True, blank=True)
    min_notional = price_field(default=Decimal("5"))
    max_leverage = models.DecimalField(max_digits=8, decimal_places=2)
    funding_interval_minutes = models.PositiveIntegerField(default=480)
    risk_tiers = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol

    def clean(self) -> None:
        from trading.validation import validate_instrument

        validate_instrument(self)


class Candle(models.Model):
    """One closed OHLCV bar; unique per symbol, interval, kind and open time."""

    symbol = models.CharField(max_length=30)
    interval = models.CharField(max_length=4, choices=TIMEFRAME_CHOICES)
    kind = models.CharField(max_length=5, choices=CandleKind.choices, default=CandleKind.TRADE)
    open_time = models.DateTimeField()
    open = price_field()
    high = price_field()
    low = price_field()
    close = price_field()
    volume = qty_field(default=Decimal("0"))
    turnover = models.DecimalField(max_digits=30, decimal_places=8, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "interval", "kind", "open_time"], name="candle_unique_bar"
            ),
            models.CheckConstraint(
                condition=models.Q(high__gte=models.F("low")), name="candle_high_not_below_low"
            ),
        ]
        # The unique constraint's index serves range reads: symbol, interval, kind, open_time.
        ordering = ["symbol", "interval", "open_time"]

    def __str__(self) -> str:
        return f"{self.symbol} {self.interval} {self.open_time:%Y-%m-%d %H:%M}"


class FundingRate(models.Model):
    """The funding rate settled at ``funding_time`` (fraction per interval; positive: longs pay)."""

    symbol = models.CharField(max_length=30)
    funding_time = models.DateTimeField()
    rate = rate_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["symbol", "funding_time"], name="funding_unique")]
        ordering = ["symbol", "funding_time"]

    def __str__(self) -> str:
        return f"{self.symbol} {self.funding_time:%Y-%m-%d %H:%M} {self.rate}"
