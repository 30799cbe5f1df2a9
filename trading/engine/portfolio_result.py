"""PortfolioResult: what a portfolio run did, as tables built on first access from the kernel's raw rows:
fills, round-trip trades, monitor decisions (reduce / close, with their inputs), refused entries, the equity
curve on the detail axis, the liquidation trigger series per symbol, open positions and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import portfolio_layout as K
from .rebalance import ACTIONS, REASONS
from .roundtrips import SIDES, fill_times, fills_frame, labels, round_trips


@dataclass
class Raw:
    """The kernel's output for one run."""

    given_index: pd.DatetimeIndex | None  # the detail axis; None: built from ``axis`` on first use
    axis: np.ndarray
    sub_ns: int
    equity: np.ndarray
    fills: np.ndarray
    decisions: np.ndarray
    refusals: np.ndarray
    final_balance: float
    positions: np.ndarray

    @cached_property
    def index(self) -> pd.DatetimeIndex:
        if self.given_index is not None:
            return self.given_index
        return pd.DatetimeIndex(self.axis.view("datetime64[ns]"), copy=False).tz_localize("UTC")

    def open_positions(self, slots: list[str], symbols: list[str]) -> list[dict]:
        out = []
        for x, row in enumerate(self.positions):
            if row[K.X_SIDE] == 0.0:
                continue
            entry_ns = self.axis[0] + int(round(row[K.X_ETIME] * 1e9))
            out.append({
                "slot": slots[int(row[K.X_OWNER])], "symbol": symbols[x],
                "side": "long" if row[K.X_SIDE] > 0 else "short", "qty": float(row[K.X_QTY]),
                "entry_price": float(row[K.X_ENTRY]), "margin": float(row[K.X_MARGIN]),
                "liq_price": float(row[K.X_LIQ]), "bankruptcy_price": float(row[K.X_BK]),
                "entry_time": pd.Timestamp(entry_ns, unit="ns", tz="UTC"), "trade": int(row[K.X_TRADE]),
            })
        return out


@dataclass
class PortfolioResult:
    """See the module doc. ``equity`` is wallet + unrealised at every detail bar's close; ``equity_sampled``
    downsamples it for output."""

    raw: Raw
    slots: list[str]
    symbols: list[str]
    initial_capital: float
    trigger_series: dict
    close_prices: np.ndarray  # (symbols, detail bars), NaN where a symbol has no bar

    @property
    def initial_balance(self) -> float:
        return self.initial_capital

    @property
    def final_balance(self) -> float:
        return self.raw.final_balance

    @cached_property
    def equity(self) -> pd.Series:
        return pd.Series(self.raw.equity, index=self.raw.index, name="equity", copy=False)

    def equity_sampled(self, rule: str = "1h") -> pd.Series:
        """The equity at the last detail close of each ``rule`` period (for charts and storage)."""
        return self.equity.resample(rule).last().dropna()

    @cached_property
    def open_positions(self) -> list[dict]:
        return self.raw.open_positions(self.slots, self.symbols)

    @property
    def open_position(self) -> dict | None:
        """The first open position (single-slot callers), None when flat."""
        return self.open_positions[0] if self.open_positions else None

    @cached_property
    def fills(self) -> pd.DataFrame:
        return fills_frame(self.raw.fills, self.raw.axis, self.raw.sub_ns, self.slots, self.symbols)

    @cached_property
    def trades(self) -> pd.DataFrame:
        return round_trips(self.fills, {p["trade"] for p in self.open_positions})

    @cached_property
    def decisions(self) -> pd.DataFrame:
        """Every monitor reduce / close, with the inputs that produced it (holds are not listed)."""
        d = self.raw.decisions
        return pd.DataFrame({
            "time": fill_times(d, self.raw.axis, self.raw.sub_ns, K.D_STEP, K.D_OFF),
            "slot": labels(d[:, K.D_SLOT], self.slots),
            "symbol": labels(d[:, K.D_SYM], self.symbols),
            "action": labels(d[:, K.D_ACTION], ACTIONS),
            "reason": labels(d[:, K.D_REASON], REASONS),
            "price": d[:, K.D_PRICE],
            "drift": d[:, K.D_DRIFT],
            "baseline_drift": d[:, K.D_BASE],
            "confidence": d[:, K.D_CONF],
            "confidence_baseline": d[:, K.D_CBASE],
            "age_seconds": d[:, K.D_AGE],
            "half_life_seconds": d[:, K.D_HL],
            "qty": d[:, K.D_QTY],
            "trade": d[:, K.D_TRADE].astype(np.int64),
        }, copy=False)

    @cached_property
    def refusals(self) -> pd.DataFrame:
        """Entries a signal asked for and the desk's rules refused, with the reason (and the holding slot)."""
        r = self.raw.refusals
        other = r[:, K.RF_OTHER].astype(np.int64)
        steps = r[:, K.RF_STEP].astype(np.int64)
        return pd.DataFrame({
            "time": self.raw.index[steps],
            "slot": labels(r[:, K.RF_SLOT], self.slots),
            "symbol": labels(r[:, K.RF_SYM], self.symbols),
            "side": labels(r[:, K.RF_SIDE] < 0, SIDES),
            "reason": [K.REFUSALS[int(c)] for c in r[:, K.RF_CODE]],
            "held_by": [self.slots[o] if o >= 0 else None for o in other],
        })

    @cached_property
    def candles_close(self) -> pd.DataFrame:
        """Each symbol's detail close on the axis (carried over its gaps), for buy-and-hold."""
        return pd.DataFrame(self.close_prices.T, index=self.raw.index, columns=self.symbols).ffill()

    def metrics(self, periods_per_year: float | None = None) -> dict:
        from .metrics import compute_metrics

        return compute_metrics(self, periods_per_year=periods_per_year)
