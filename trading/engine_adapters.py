"""Conversions between the Django models and the engine's plain objects (instruments, fee schedules)."""

from __future__ import annotations

from trading.engine.fees import FeeSchedule
from trading.engine.instruments import Instrument as EngineInstrument
from trading.engine.instruments import parse_risk_tiers


def engine_instrument(inst) -> EngineInstrument:
    """The engine's Instrument for a ``trading.models.Instrument`` row."""
    return EngineInstrument(
        symbol=inst.symbol,
        tick_size=float(inst.tick_size),
        qty_step=float(inst.qty_step),
        min_qty=float(inst.min_qty),
        max_leverage=float(inst.max_leverage),
        tiers=parse_risk_tiers(inst.risk_tiers),
        min_notional=float(inst.min_notional),
        funding_interval_minutes=int(inst.funding_interval_minutes),
    )


def engine_fees(account) -> FeeSchedule:
    return FeeSchedule(maker=float(account.maker_fee), taker=float(account.taker_fee))
