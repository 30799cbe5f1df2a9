"""BacktestResult: the equity curve and final state of a single-symbol run, with the fills and round-trip
trades tables built from the kernel's raw rows on first access (so pandas work stays out of the timed run)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .roundtrips import fills_frame, round_trips


@dataclass
class BacktestResult:
    """Equity at each bar close, the final wallet and open position, and lazily the fills and trades.

    ``fills``: one row per entry, exit (TP, SL, liquidation, signal, monitor-*) and funding record.
    ``trades``: one row per round trip (entry to final exit; earlier partial closes in ``partials``), with
    its fees and the funding paid while open; ``pnl`` is net (gross - fees - funding).
    ``decisions``: the monitor's reduces and closes with their inputs; ``trigger_series``: what drove
    liquidation (a TRIGGER_* label of portfolio_inputs.py: "mark", "last", ...)."""

    raw: object
    index: pd.DatetimeIndex
    initial_balance: float
    config: object
    instrument: object
    candles_close: pd.Series
    trigger_series: str = "last"

    @property
    def raw_fills(self):
        return self.raw.fills

    @cached_property
    def equity(self) -> pd.Series:
        return pd.Series(self.raw.equity, index=self.index, name="equity", copy=False)

    @property
    def final_balance(self) -> float:
        return self.raw.final_balance

    @cached_property
    def open_positions(self) -> list[dict]:
        return self.raw.open_positions([self.instrument.symbol], [self.instrument.symbol])

    @property
    def open_position(self) -> dict | None:
        return self.open_positions[0] if self.open_positions else None

    @cached_property
    def fills(self) -> pd.DataFrame:
        sym = [self.instrument.symbol]
        return fills_frame(self.raw.fills, self.raw.axis, self.raw.sub_ns, sym, sym)

    @cached_property
    def trades(self) -> pd.DataFrame:
        return round_trips(self.fills, {p["trade"] for p in self.open_positions})

    @cached_property
    def decisions(self) -> pd.DataFrame:
        from .portfolio_result import PortfolioResult

        sym = [self.instrument.symbol]
        return PortfolioResult(raw=self.raw, slots=sym, symbols=sym, initial_capital=self.initial_balance,
                               trigger_series={}, close_prices=np.empty((1, 0))).decisions

    def metrics(self, periods_per_year: float | None = None) -> dict:
        from .metrics import compute_metrics

        return compute_metrics(self, periods_per_year=periods_per_year)
