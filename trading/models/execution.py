"""Orders (with their status history), positions (with monitor baselines) and fills."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from trading.choices import (
    ExecType,
    ExitReason,
    OrderAction,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionStatus,
    Side,
)
from trading.marketdata.clock import desk_now

from .fields import money_field, price_field, qty_field, rate_field


class Position(models.Model):
    """An isolated-margin position; at most one open per account and symbol."""

    account = models.ForeignKey("trading.Account", on_delete=models.CASCADE, related_name="positions")
    config = models.ForeignKey(
        "strategies.StrategyConfig", null=True, blank=True, on_delete=models.SET_NULL, related_name="positions"
    )
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=5, choices=Side.choices)
    status = models.CharField(max_length=6, choices=PositionStatus.choices, default=PositionStatus.OPEN)
    qty = qty_field()
    entry_price = price_field()
    leverage = models.DecimalField(max_digits=8, decimal_places=2)
    margin = money_field()
    liquidation_price = price_field(null=True, blank=True)
    bankruptcy_price = price_field(null=True, blank=True)
    take_profit = price_field(null=True, blank=True)
    stop_loss = price_field(null=True, blank=True)
    entry_drift = models.FloatField(null=True, blank=True)
    drift_baseline = models.FloatField(null=True, blank=True)
    entry_confidence = models.FloatField(null=True, blank=True)
    confidence_baseline = models.FloatField(null=True, blank=True)
    half_life_seconds = models.FloatField(null=True, blank=True)
    realised_pnl = money_field(default=Decimal("0"))
    fees_paid = money_field(default=Decimal("0"))
    funding_paid = money_field(default=Decimal("0"))
    exit_reason = models.CharField(max_length=24, choices=ExitReason.choices, blank=True, default="")
    opened_at = models.DateTimeField(default=desk_now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol"],
                condition=models.Q(status="open"),
                name="position_one_open_per_symbol",
            ),
            models.CheckConstraint(condition=models.Q(qty__gte=0), name="position_qty_not_negative"),
        ]
        # The API's list filters (account scope, symbol, side) in its order (newest first), so a page is an
        # index range, not a sort of every row.
        indexes = [models.Index(fields=["account", "status"]),
                   models.Index(fields=["account", "-opened_at", "-id"], name="position_account_time"),
                   models.Index(fields=["account", "symbol", "-opened_at"], name="position_account_symbol")]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol} @ {self.entry_price} ({self.status})"

    @property
    def notional(self) -> Decimal:
        return self.qty * self.entry_price

    def clean(self) -> None:
        from trading.validation import validate_position

        validate_position(self)


class Order(models.Model):
    """An order as sent to the exchange (paper or Bybit), keyed by a deterministic client order id."""

    account = models.ForeignKey("trading.Account", on_delete=models.CASCADE, related_name="orders")
    config = models.ForeignKey(
        "strategies.StrategyConfig", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    client_order_id = models.CharField(max_length=36, unique=True)
    exchange_order_id = models.CharField(max_length=64, blank=True, default="")
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    order_type = models.CharField(max_length=6, choices=OrderType.choices, default=OrderType.MARKET)
    action = models.CharField(max_length=8, choices=OrderAction.choices, default=OrderAction.OPEN)
    qty = qty_field()
    price = price_field(null=True, blank=True)
    reduce_only = models.BooleanField(default=False)
    take_profit = price_field(null=True, blank=True)
    stop_loss = price_field(null=True, blank=True)
    leverage = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    status_history = models.JSONField(default=list, blank=True)
    reject_reason = models.CharField(max_length=300, blank=True, default="")
    exit_reason = models.CharField(max_length=24, choices=ExitReason.choices, blank=True, default="")
    filled_qty = qty_field(default=Decimal("0"))
    avg_fill_price = price_field(null=True, blank=True)
    created_at = models.DateTimeField(default=desk_now, editable=False)  # replay time during a replay
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"]), models.Index(fields=["status"]),
                   models.Index(fields=["account", "symbol", "-created_at"], name="order_account_symbol"),
                   models.Index(fields=["account", "side", "-created_at"], name="order_account_side")]
        constraints = [
            models.CheckConstraint(condition=models.Q(qty__gt=0), name="order_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol} [{self.status}] {self.client_order_id}"

    def record_status(self, status: str, *, note: str = "", at=None) -> None:
        """Move to ``status`` and append it to the history (the caller saves)."""
        when = at or desk_now()
        self.status = status
        self.status_history = [*self.status_history, {"status": status, "at": when.isoformat(), "note": note}]

    def clean(self) -> None:
        from trading.validation import validate_order

        validate_order(self)


class Fill(models.Model):
    """One execution: a trade fill, a liquidation (bust) or a funding payment, with its fee and PnL."""

    account = models.ForeignKey("trading.Account", on_delete=models.CASCADE, related_name="fills")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="fills")
    position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.SET_NULL, related_name="fills"
    )
    exec_id = models.CharField(max_length=64, unique=True)
    exec_type = models.CharField(max_length=10, choices=ExecType.choices, default=ExecType.TRADE)
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    qty = qty_field()
    price = price_field()
    fee = money_field(default=Decimal("0"))
    fee_rate = rate_field(default=Decimal("0"))
    is_maker = models.BooleanField(default=False)
    realised_pnl = money_field(default=Decimal("0"))
    funding = money_field(default=Decimal("0"), help_text="funding paid (+) or received (-) by a Funding record")
    exit_reason = models.CharField(max_length=24, choices=ExitReason.choices, blank=True, default="")
    executed_at = models.DateTimeField()

    class Meta:
        ordering = ["-executed_at"]
        indexes = [models.Index(fields=["account", "-executed_at", "-id"], name="fill_account_time"),
                   models.Index(fields=["account", "symbol", "-executed_at"], name="fill_account_symbol"),
                   models.Index(fields=["account", "side", "-executed_at"], name="fill_account_side"),
                   models.Index(fields=["-executed_at", "-id"], name="fill_time")]

    def __str__(self) -> str:
        return f"{self.exec_type} {self.side} {self.qty} {self.symbol} @ {self.price}"
