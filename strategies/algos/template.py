'''The template ``manage.py strategies new NAME`` writes: a documented, working strategy (an EMA cross with an
ATR-based forecast, drift, confidence and half-life) and a test file for it. ``render(name)`` returns both
texts with NAME filled in; user_strategies/_example.py is ``render("example")``'s strategy.
'''

from __future__ import annotations

import re

from .loader import NAME_RE

STRATEGY = '''"""__LABEL__: an EMA cross with an ATR-based forecast (written by `manage.py strategies new __NAME__`).

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


class __CLASS__(Strategy):
    """EMA cross, always in the market once both EMAs exist; forecast = close + reach x ATR x clipped spread."""

    name = "__NAME__"
    label = "__LABEL__"
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
'''

TEST = '''"""Tests of the __NAME__ strategy (written by `manage.py strategies new __NAME__`).

Run them with: ./desk test user_strategies/tests/test___NAME__.py -q
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategies.algos.loader import load_folder

HERE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cls():
    loaded = load_folder(HERE)
    assert "__NAME__" in loaded.strategies, [e.message for e in loaded.errors]
    return loaded.strategies["__NAME__"]


def candles(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, n) + 0.0005 * np.sin(np.arange(n) / 150)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0, 0.001, n)) * close
    idx = pd.date_range("2025-01-01", periods=n, freq="5min", tz="UTC", name="open_time")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) + spread,
                         "low": np.minimum(open_, close) - spread, "close": close, "volume": 1.0}, index=idx)


def test_truncated_ema_by_hand(cls):
    module = __import__(cls.__module__, fromlist=["truncated_ema"])
    # span 3: alpha 0.5; its cut-off keeps n bars with weights 0.5, 0.25, ... normalised
    n = module.ema_cutoff(3)
    assert n == math.ceil(math.log(1e-9) / math.log(0.5)) == 30
    x = np.arange(40, dtype=float)
    w = 0.5 ** np.arange(n)
    w /= w.sum()
    expected = sum(w[k] * x[35 - k] for k in range(n))
    out = module.truncated_ema(x, 3)
    assert np.isnan(out[n - 2]) and out[35] == pytest.approx(expected, rel=1e-12)


def test_signal_follows_a_trend(cls):
    frame = cls().compute(candles())
    warm = cls().warmup_bars()
    after = frame.iloc[warm:]
    assert set(after["signal"].unique()) <= {-1, 1} and (after["signal"] == 1).any() and (after["signal"] == -1).any()
    close = candles()["close"].iloc[warm:]
    longs, shorts = after["signal"] == 1, after["signal"] == -1
    # a long forecasts a higher close (drift >= 0), a short a lower one; confidence stays in 0..1
    assert (after["forecast"][longs] >= close[longs]).all() and (after["drift"][longs] >= 0).all()
    assert (after["forecast"][shorts] <= close[shorts]).all() and (after["drift"][shorts] <= 0).all()
    assert after["confidence"].between(0, 1).all()
    # half-life: ln 2 / -ln(1 - 2 / (48 + 1)) bars of 300 s
    assert after["half_life"].iloc[-1] == pytest.approx(math.log(2) / -math.log(1 - 2 / 49) * 300)


def test_prefix_rows_equal_full_rows(cls):
    data = candles()
    strat = cls()
    full = strat.compute(data)
    for cut in (700, 1500, 2999):
        pd.testing.assert_frame_equal(strat.compute(data.iloc[:cut]), full.iloc[:cut], check_exact=True)


def test_every_window_after_the_warm_up_equals_the_full_run(cls):
    data = candles()
    strat = cls()
    full = strat.compute(data)
    warm = strat.warmup_bars()
    for end in range(warm + 10, len(data), 97):
        window = strat.compute(data.iloc[end - warm - 5:end])
        pd.testing.assert_frame_equal(window.iloc[warm:], full.iloc[end - 5:end], rtol=1e-9)


def test_slow_must_exceed_fast(cls):
    from strategies.algos.base import ParamError

    with pytest.raises(ParamError, match="slow"):
        cls(fast=20, slow=10)
'''


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Strategy"


def render(name: str) -> tuple[str, str]:
    """(strategy module text, test module text) for ``name``; ValueError for a name the registry refuses."""
    if not NAME_RE.match(name):
        raise ValueError(f"name: {name!r} must be 2-40 characters of a-z, 0-9 and _, starting with a letter")
    label = re.sub(r"_+", " ", name).strip().capitalize() + " EMA cross"
    subs = {"__NAME__": name, "__LABEL__": label, "__CLASS__": class_name(name)}
    out = []
    for text in (STRATEGY, TEST):
        for key, value in subs.items():
            text = text.replace(key, value)
        out.append(text)
    return out[0], out[1]
