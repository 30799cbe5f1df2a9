"""Example EMA cross: an EMA cross with an ATR-based forecast (written by `manage.py strategies new example`).

How a strategy file works (edit freely; the desk re-imports the file when it changes):
- A subclass of Strategy with a unique ``name`` (the key configs and backtests use), a ``label``, a default
  ``timeframe`` and ``default_sizing``, and ``PARAMS``: typed parameters with bounds, defaults and help. The
  desk builds its forms from them and rejects values outside the bounds, naming the parameter.
- ``_compute(candles, context)`` gets OHLCV candles indexed by bar open time (UTC) and returns one row per
  bar through ``make_signal_frame``: signal (+1 long, -1 short, 0 none), exit flags, and for the 30-second
  monitor forecast (a price), drift ((forecast - close) / close), confidence (0..1) and half_life (seconds).
- Two contracts, checked automatically before a config may be enabled for paper or live trading:
  1. no lookahead: row t uses bars <= t only (never ``shift(-1)``, centred windows or full-data statistics);
  2. window independence: on any window at least ``warmup_bars()`` long, each row after the warm-up equals
     the row of the full-history run. So no state anchored at the first bar (no running max since bar 0,
     no recursive filter without a cut-off). This template uses EMAs truncated to a finite window and an
     ATR that is a plain moving average, so every row depends on a fixed number of past bars only.
- ``plots()`` says what the charts draw: lines over price ("overlay"), in a pane below ("pane"), markers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from strategies.algos.base import (
    DefaultSizing,
    ParamError,
    ParamSpec,
    PlotSpec,
    Strategy,
    StrategyContext,
    bar_seconds,
    make_signal_frame,
)

TOLERANCE = 1e-9  # an EMA is cut where its remaining weight falls below this


def ema_cutoff(span: int) -> int:
    """Bars an EMA of ``span`` keeps: the weights left after them sum to less than TOLERANCE."""
    alpha = 2.0 / (span + 1.0)
    return int(math.ceil(math.log(TOLERANCE) / math.log(1.0 - alpha)))


def truncated_ema(values: np.ndarray, span: int) -> np.ndarray:
    """EMA weights alpha * (1 - alpha)^k for the last ``ema_cutoff(span)`` bars, normalised to sum 1; NaN before.

    Unlike a recursive EMA it does not remember the first bar, so any window long enough gives the same row."""
    alpha = 2.0 / (span + 1.0)
    n = ema_cutoff(span)
    weights = alpha * (1.0 - alpha) ** np.arange(n)
    weights /= weights.sum()
    out = np.full(len(values), np.nan)
    if len(values) >= n:
        out[n - 1:] = np.convolve(values, weights, mode="valid")
    return out


def sma_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, length: int) -> np.ndarray:
    """Average true range as a simple moving average (finite memory: ``length`` + 1 bars)."""
    prev = np.concatenate(([np.nan], close[:-1]))
    tr = np.fmax(high - low, np.fmax(np.abs(high - prev), np.abs(low - prev)))
    return pd.Series(tr).rolling(length, min_periods=length).mean().to_numpy()


class ExampleStrategy(Strategy):
    """EMA cross, always in the market once both EMAs exist; forecast = close + reach x ATR x clipped spread."""

    name = "example"
    label = "Example EMA cross"
    timeframe = "5m"
    default_sizing = DefaultSizing(leverage=20, mode="fixed", allocation=0.10)
    PARAMS = (
        ParamSpec("fast", "int", 12, 2, 500, help="Span of the fast EMA (bars)"),
        ParamSpec("slow", "int", 48, 3, 2000, help="Span of the slow EMA (bars); must exceed fast"),
        ParamSpec("atr_length", "int", 14, 1, 500, help="Bars of the average true range"),
        ParamSpec("reach", "float", 1.0, 0.0, 10.0, help="Forecast distance in ATRs at full conviction"),
        ParamSpec("full_spread", "float", 1.0, 0.05, 20.0,
                  help="EMA spread (in ATRs) that counts as full conviction (confidence 1)"),
    )

    @classmethod
    def validate_params(cls, params):
        """The schema's checks, then the rule that ties two parameters (forms and the API show this message)."""
        out = super().validate_params(params)
        if out["slow"] <= out["fast"]:
            raise ParamError("slow", f"{out['slow']} must be above fast ({out['fast']})")
        return out

    def warmup_bars(self) -> int:
        # the slow EMA's window, or the ATR's (plus the previous close), plus one bar for the cross test
        return max(ema_cutoff(self.params["slow"]), self.params["atr_length"] + 1) + 1

    @classmethod
    def plots(cls):
        return (
            PlotSpec("fast EMA", "ema_fast", "overlay", "#6fb3ff"),
            PlotSpec("slow EMA", "ema_slow", "overlay", "#f0c674"),
            PlotSpec("spread (ATRs)", "spread", "pane", "#c792ea"),
            PlotSpec("cross up", "cross_up", "marker", "#2ecc71", symbol="triangle-up"),
            PlotSpec("cross down", "cross_down", "marker", "#e74c3c", symbol="triangle-down"),
        )

    def _compute(self, candles: pd.DataFrame, context: StrategyContext) -> pd.DataFrame:
        p = self.params
        high, low, close = (candles[k].to_numpy(np.float64) for k in ("high", "low", "close"))
        fast, slow = truncated_ema(close, p["fast"]), truncated_ema(close, p["slow"])
        atr = sma_atr(high, low, close, p["atr_length"])
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = (fast - slow) / atr
        ready = np.isfinite(spread)
        signal = np.where(ready, np.sign(spread), 0).astype(np.int8)
        prev = np.concatenate(([0], signal[:-1]))
        cross_up = (signal == 1) & (prev == -1)
        cross_down = (signal == -1) & (prev == 1)
        conviction = np.clip(np.nan_to_num(spread) / p["full_spread"], -1.0, 1.0)
        forecast = np.where(ready, close + p["reach"] * np.nan_to_num(atr) * conviction, np.nan)
        drift = (forecast - close) / close
        confidence = np.where(ready, np.abs(conviction), np.nan)
        # the edge fades with the slow EMA: its half-life in bars, in seconds
        alpha = 2.0 / (p["slow"] + 1.0)
        half_life = np.where(ready, math.log(2.0) / -math.log(1.0 - alpha) * bar_seconds(candles, self.timeframe),
                             np.nan)
        return make_signal_frame(candles.index, signal, exit_long=cross_down, exit_short=cross_up,
                                 forecast=forecast, drift=drift, confidence=confidence, half_life=half_life,
                                 layers={"ema_fast": fast, "ema_slow": slow, "atr": atr, "spread": spread,
                                         "cross_up": cross_up.astype(np.float64),
                                         "cross_down": cross_down.astype(np.float64)})
