"""BacktestResult: the equity curve and final state of a run, with the fills and trades tables built
from the kernel's raw fill rows on first access (so pandas work stays out of the timed run)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import backtest_kernel as K
from . import reasons as R

SIDES = ("long", "short")


def _labels(codes: np.ndarray, names: tuple[str, ...]) -> pd.Categorical:
    """Integer codes as a categorical of names (cheap for many rows; compares equal to plain strings)."""
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(names))


@dataclass
class BacktestResult:
    """Equity at each bar close, the final wallet and open position, and lazily the fills and trades.

    ``fills``: one row per entry, exit (TP, SL, liquidation, signal, monitor-*) and funding record.
    ``trades``: one row per closing fill (a partial reduce is its own trade), with its share of the entry
    fee and of the funding paid while open; ``pnl`` is net (gross - fees - funding)."""

    raw_fills: np.ndarray
    index: pd.DatetimeIndex
    equity: pd.Series
    initial_balance: float
    final_balance: float
    open_position: dict | None
    config: object
    instrument: object
    candles_close: pd.Series

    @cached_property
    def fills(self) -> pd.DataFrame:
        raw = self.raw_fills
        bars = raw[:, K.F_BAR].astype(np.int64)
        return pd.DataFrame({
            "time": self.index[bars],
            "kind": _labels(raw[:, K.F_KIND], R.KINDS),
            "side": _labels(raw[:, K.F_SIDE] < 0, SIDES),
            "qty": raw[:, K.F_QTY],
            "price": raw[:, K.F_PRICE],
            "fee": raw[:, K.F_FEE],
            "pnl": raw[:, K.F_PNL],
            "reason": _labels(raw[:, K.F_REASON], R.EXIT_REASONS),
            "bar": bars,
        }, copy=False)

    @cached_property
    def trades(self) -> pd.DataFrame:
        raw = self.raw_fills
        ex = raw[raw[:, K.F_KIND] == R.KIND_EXIT]
        entry_bars = ex[:, K.F_ENTRY_BAR].astype(np.int64)
        exit_bars = ex[:, K.F_BAR].astype(np.int64)
        fees = ex[:, K.F_FEE] + ex[:, K.F_ENTRY_FEE]
        return pd.DataFrame({
            "entry_time": self.index[entry_bars],
            "exit_time": self.index[exit_bars],
            "side": _labels(ex[:, K.F_SIDE] < 0, SIDES),
            "qty": ex[:, K.F_QTY],
            "entry_price": ex[:, K.F_ENTRY_PRICE],
            "exit_price": ex[:, K.F_PRICE],
            "fees": fees,
            "funding": ex[:, K.F_FUNDING],
            "gross_pnl": ex[:, K.F_PNL],
            "pnl": ex[:, K.F_PNL] - fees - ex[:, K.F_FUNDING],
            "exit_reason": _labels(ex[:, K.F_REASON], R.EXIT_REASONS),
            "entry_bar": entry_bars,
            "exit_bar": exit_bars,
        }, copy=False)

    def metrics(self, periods_per_year: float | None = None) -> dict:
        from .metrics import compute_metrics

        return compute_metrics(self, periods_per_year=periods_per_year)
