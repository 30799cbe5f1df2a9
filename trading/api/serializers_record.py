"""Serializers of the trading record and market data: instruments (staff edit, validated by the model's
clean()), and read-only signals, orders, positions, fills, monitor decisions, equity snapshots, candles."""

from __future__ import annotations

from rest_framework import serializers

from trading.api.serializers import ModelCleanMixin
from trading.models import (
    Candle,
    EquitySnapshot,
    Fill,
    Instrument,
    MonitorDecision,
    Order,
    Position,
    RunRecord,
    Signal,
)


class InstrumentSerializer(ModelCleanMixin, serializers.ModelSerializer):
    class Meta:
        model = Instrument
        fields = ["id", "symbol", "base_coin", "quote_coin", "status", "tick_size", "qty_step", "min_qty",
                  "max_qty", "min_notional", "max_leverage", "funding_interval_minutes", "risk_tiers",
                  "updated_at"]
        read_only_fields = ["updated_at"]


class SignalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Signal
        fields = ["id", "config", "symbol", "bar_time", "signal", "exit_long", "exit_short", "price", "forecast",
                  "drift", "confidence", "half_life_seconds", "layers", "acted", "note", "created_at"]


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["id", "account", "config", "position", "client_order_id", "exchange_order_id", "symbol", "side",
                  "order_type", "action", "qty", "price", "reduce_only", "take_profit", "stop_loss", "leverage",
                  "status", "status_history", "reject_reason", "exit_reason", "filled_qty", "avg_fill_price",
                  "created_at", "updated_at"]


class PositionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Position
        fields = ["id", "account", "config", "symbol", "side", "status", "qty", "entry_price", "leverage",
                  "margin", "liquidation_price", "bankruptcy_price", "take_profit", "stop_loss", "entry_drift",
                  "drift_baseline", "entry_confidence", "half_life_seconds", "realised_pnl", "fees_paid",
                  "funding_paid", "exit_reason", "opened_at", "closed_at"]


class FillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Fill
        fields = ["id", "account", "order", "position", "exec_id", "exec_type", "symbol", "side", "qty", "price",
                  "fee", "fee_rate", "is_maker", "realised_pnl", "funding", "exit_reason", "executed_at"]


class MonitorDecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = MonitorDecision
        fields = ["id", "position", "decided_at", "action", "reason", "detail", "price", "drift", "baseline_drift",
                  "confidence", "entry_confidence", "age_seconds", "half_life_seconds", "order"]


class RunRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunRecord
        fields = ["id", "kind", "account", "config", "started_at", "duration_ms", "queries", "positions",
                  "cadence_ms", "overran"]


class EquitySnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = EquitySnapshot
        fields = ["id", "account", "taken_at", "balance", "equity", "unrealised_pnl", "margin_used", "available"]


class CandleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Candle
        fields = ["open_time", "open", "high", "low", "close", "volume"]
