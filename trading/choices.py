"""Enumerations shared by models, serializers and services: sides, order types, statuses, exit reasons."""

from __future__ import annotations

from django.db import models


class AccountMode(models.TextChoices):
    PAPER = "paper", "Paper (simulated)"
    LIVE = "live", "Live (Bybit)"


class BybitEnvironment(models.TextChoices):
    """Which Bybit a live account talks to (hosts in trading/exchanges/bybit_hosts.py)."""

    MAINNET = "mainnet", "Mainnet (api.bybit.com, real money)"
    TESTNET = "testnet", "Testnet (api-testnet.bybit.com)"
    DEMO = "demo", "Demo trading (api-demo.bybit.com)"


class Side(models.TextChoices):
    LONG = "long", "Long"
    SHORT = "short", "Short"


class OrderSide(models.TextChoices):
    BUY = "Buy", "Buy"
    SELL = "Sell", "Sell"


class OrderType(models.TextChoices):
    MARKET = "Market", "Market"
    LIMIT = "Limit", "Limit"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending (not yet acknowledged)"
    NEW = "new", "New"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"


class OrderAction(models.TextChoices):
    OPEN = "open", "Open"
    REDUCE = "reduce", "Reduce"
    CLOSE = "close", "Close"
    PROTECT = "protect", "Set TP/SL"


class PositionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ExitReason(models.TextChoices):
    SIGNAL = "signal", "Strategy signal"
    TP = "tp", "Take profit"
    SL = "sl", "Stop loss"
    LIQUIDATION = "liquidation", "Liquidation"
    DRIFT_FLIP = "monitor-drift-flip", "Monitor: drift flipped"
    DECAY = "monitor-decay", "Monitor: drift decayed"
    TIMEOUT = "monitor-timeout", "Monitor: held past 2x half-life"
    CONFIDENCE = "monitor-confidence", "Monitor: confidence fell"
    MANUAL = "manual", "Manual / kill switch"
    RECONCILE = "reconcile", "Reconciliation with the exchange"


class ExecType(models.TextChoices):
    TRADE = "Trade", "Trade"
    FUNDING = "Funding", "Funding"
    BUST = "BustTrade", "Liquidation (bust)"


class SizingMode(models.TextChoices):
    KELLY = "kelly", "Kelly fraction of balance x leverage"
    FIXED = "fixed", "Fixed allocation of starting capital"


class DecisionAction(models.TextChoices):
    HOLD = "hold", "Hold"
    REDUCE = "reduce", "Reduce 50%"
    CLOSE = "close", "Close"


class CandleKind(models.TextChoices):
    TRADE = "trade", "Last-traded price"
    MARK = "mark", "Mark price"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


# Timeframe label -> (seconds, Bybit V5 kline interval code)
TIMEFRAMES: dict[str, tuple[int, str]] = {
    "1m": (60, "1"),
    "3m": (180, "3"),
    "5m": (300, "5"),
    "15m": (900, "15"),
    "30m": (1800, "30"),
    "1h": (3600, "60"),
    "2h": (7200, "120"),
    "4h": (14400, "240"),
    "6h": (21600, "360"),
    "12h": (43200, "720"),
    "1d": (86400, "D"),
}
TIMEFRAME_CHOICES = [(k, k) for k in TIMEFRAMES]
