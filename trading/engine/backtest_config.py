"""BacktestConfig: one StrategyConfig's trading settings as the engine sees them (leverage, sizing,
protective stops, fees, funding, monitor thresholds), validated against an instrument."""

from __future__ import annotations

from dataclasses import dataclass, field

from .execution_model import (
    ENTRY_TIMEOUT_DEFAULT,
    MARKET,
    SLIPPAGE_BPS_DEFAULT,
    ExecutionSettingError,
    validate_execution,
)
from .fees import FeeSchedule
from .instruments import Instrument
from .rebalance import CONFIDENCE_DROP, DECAY_THRESHOLD, REDUCE_FRACTION, TIMEOUT_MULTIPLE
from .sizing import KELLY, SizingError, validate_sizing


@dataclass(frozen=True)
class BacktestConfig:
    """Leverage, sizing, protective stops (fractions of entry), fees, funding and monitor thresholds.

    ``funding_rate`` is a constant rate per funding interval, used when no funding series is passed.
    ``max_open_positions`` is validated for the desk, but a backtest holds one symbol and so at most one
    position at a time. Fills are market fills at the taker rate (``fees.taker``) moved against the taker by
    ``slippage_bps`` (+ ``slippage_range_fraction`` of the last closed detail bar's range), except entries
    with ``entry_order="post_only"``: a limit at the signal price that fills at the maker rate when a later
    (sub-)bar trades through it, else after ``entry_timeout_seconds`` a market fill (see rules.py)."""

    leverage: float = 50.0
    sizing: str = KELLY
    kelly_fraction: float = 0.5
    initial_capital: float = 500.0
    allocation: float = 0.05
    take_profit_pct: float | None = None
    stop_loss_pct: float | None = None
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    funding: bool = True
    funding_rate: float | None = None
    max_open_positions: int = 2
    decay_threshold: float = DECAY_THRESHOLD
    timeout_multiple: float = TIMEOUT_MULTIPLE
    confidence_drop: float = CONFIDENCE_DROP
    reduce_fraction: float = REDUCE_FRACTION
    entry_order: str = MARKET
    entry_timeout_seconds: float = ENTRY_TIMEOUT_DEFAULT
    slippage_bps: float = SLIPPAGE_BPS_DEFAULT
    slippage_range_fraction: float = 0.0

    def validate(self, instrument: Instrument) -> None:
        """SizingError naming the field and the limit for anything not allowed."""
        validate_sizing(mode=self.sizing, leverage=self.leverage, instrument=instrument,
                        kelly_fraction=self.kelly_fraction, initial_capital=self.initial_capital,
                        allocation=self.allocation)
        for name in ("take_profit_pct", "stop_loss_pct"):
            v = getattr(self, name)
            if v is not None and not 0.0 < v < 1.0:
                raise SizingError(name, f"{name}: {v} is outside (0, 1)")
        if self.stop_loss_pct is not None:
            room = 1.0 / self.leverage - instrument.tiers[0].mmr
            if self.stop_loss_pct >= room:
                raise SizingError(
                    "stop_loss_pct",
                    f"stop_loss_pct: {self.stop_loss_pct:g} must be below {room:g}, the liquidation distance "
                    f"at {self.leverage:g}x (1/leverage - MMR {instrument.tiers[0].mmr:g})",
                )
        try:
            validate_execution(entry_order=self.entry_order, entry_timeout_seconds=self.entry_timeout_seconds,
                               slippage_bps=self.slippage_bps, slippage_range_fraction=self.slippage_range_fraction)
        except ExecutionSettingError as exc:
            raise SizingError(exc.field, str(exc)) from exc
        if self.max_open_positions < 1:
            raise SizingError("max_open_positions", f"max_open_positions: {self.max_open_positions} must be >= 1")


