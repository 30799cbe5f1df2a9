"""DriftStrategy: the multi-layer drift forecaster. Every layer's value is a SignalFrame column.

Entry (signal = sign(drift)) needs |drift| > drift_threshold, confidence >= min_confidence and every enabled
filter agreeing. Context rules: the hourly filter uses ``context.higher["1h"]`` if given, else resamples the
candles; an hourly bar counts only once closed. The cross-asset filter uses ``context.other[partner]``; when the
partner's candles are absent it is neutral (passes) and ``cross_available`` is 0, so the dashboard can see that
the layer did not vote. Exits: drift flipped against the side (exit_long when drift < 0, exit_short when > 0).

Window independence: every layer is a finite look-back or a Kalman filter, which forgets its start after
``kalman.settle_bars``; the hourly filter's Kalman counts in hourly bars, so it sets the warm-up when it is on.
``context_needs`` declares the partner symbol and the higher timeframe, which the live cycle and backtests
pass over the same span as the candles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..base import (
    TIMEFRAME_SECONDS,
    ContextNeeds,
    DefaultSizing,
    ParamError,
    ParamSpec,
    Strategy,
    StrategyContext,
    bar_seconds,
)
from ..signal_frame import make_signal_frame
from . import filters, layers
from .kalman import kalman_smoother, settle_bars


def drift_layers(close: np.ndarray, horizon: float, process_noise: float, obs_noise: float) -> dict:
    """Layers 1-3 on one close series: level, velocity, acceleration, forecast, drift, confidence, snr."""
    level, vel, acc, var_v = kalman_smoother(np.log(close), process_noise, obs_noise)
    forecast, drift = layers.taylor_forecast(level, vel, acc, close, horizon)
    conf, snr = layers.velocity_confidence(vel, var_v)
    return {"level": level, "velocity": vel, "acceleration": acc, "forecast": forecast, "drift": drift,
            "confidence": conf, "snr": snr}


class DriftStrategy(Strategy):
    """Kalman + Taylor drift forecaster with order-flow, hourly and cross-asset confirmation."""

    name = "drift"
    label = "Drift forecaster (calculus)"
    timeframe = "5m"
    default_sizing = DefaultSizing(leverage=50, mode="kelly", kelly_fraction=0.5)
    PARAMS = (
        ParamSpec("horizon", "int", 12, 1, 2000, help="Forecast horizon in bars"),
        ParamSpec("process_noise", "float", 1e-6, 1e-12, 1.0, help="Kalman jerk noise std (log units per bar^3)"),
        ParamSpec("obs_noise", "float", 1e-3, 1e-9, 1.0, help="Kalman measurement noise std (log units)"),
        ParamSpec("drift_threshold", "float", 0.002, 0.0, 1.0, help="Minimum |drift| for an entry (fraction)"),
        ParamSpec("min_confidence", "float", 0.6, 0.0, 1.0, help="Minimum velocity confidence for an entry"),
        ParamSpec("half_life_window", "int", 288, 10, 100000, help="Bars in the AR(1) fit of deviations"),
        ParamSpec("mean_window", "int", 96, 2, 100000, help="Bars in the rolling mean the deviations are taken from"),
        ParamSpec("use_order_flow", "bool", True, help="Order flow must agree"),
        ParamSpec("flow_window", "int", 12, 1, 10000, help="Bars summed by the order-flow layer"),
        ParamSpec("use_htf_filter", "bool", True, help="Hourly drift must agree"),
        ParamSpec("htf", "choice", "1h", choices=("15m", "30m", "1h", "4h"), help="Higher timeframe"),
        ParamSpec("use_cross_asset", "bool", True, help="The partner asset's drift must agree (neutral if absent)"),
    )

    def warmup_bars(self) -> int:
        return self.warmup_bars_at(self.timeframe)

    def warmup_bars_at(self, timeframe: str) -> int:
        """The Kalman's settle time (the partner's too), the AR(1) fit's look-back (rolling mean, then the
        pairs), the order-flow sums, and with the hourly filter on the Kalman's settle time in hourly bars plus
        one hourly bar that may be partial at the window's start and one still open at its end, counted in bars
        of ``timeframe`` (at least one bar per higher bar)."""
        p = self.params
        kalman = settle_bars(p["process_noise"], p["obs_noise"])
        need = [kalman, p["mean_window"] + p["half_life_window"] + 1, p["flow_window"]]
        if p["use_htf_filter"]:
            if timeframe not in TIMEFRAME_SECONDS:
                raise ParamError("timeframe", f"{timeframe!r} is not one of {', '.join(TIMEFRAME_SECONDS)}")
            per = max(1, -(-TIMEFRAME_SECONDS[p["htf"]] // TIMEFRAME_SECONDS[timeframe]))
            need.append((kalman + 2) * per)
        return max(need)

    def context_needs(self, *, symbol: str) -> ContextNeeds:
        p = self.params
        return ContextNeeds(
            other_symbols=(filters.partner_symbol(symbol),) if p["use_cross_asset"] else (),
            higher_timeframes=(p["htf"],) if p["use_htf_filter"] else (),
        )

    def _compute(self, candles: pd.DataFrame, context: StrategyContext) -> pd.DataFrame:
        p = self.params
        close = candles["close"].to_numpy(np.float64)
        h = p["horizon"]
        base = drift_layers(close, h, p["process_noise"], p["obs_noise"])
        drift, conf = base["drift"], base["confidence"]
        direction = np.sign(np.nan_to_num(drift)).astype(np.int8)

        sec = bar_seconds(candles, context.timeframe or self.timeframe)
        dev = layers.deviations(np.log(close), p["mean_window"])
        hl_bars = layers.half_life(layers.ar1_coefficient(dev, p["half_life_window"]))

        flow, flow_source = filters.order_flow(candles, p["flow_window"])
        flow_ok = filters.agrees(direction, flow) if p["use_order_flow"] else np.ones(len(close), bool)

        if p["use_htf_filter"]:  # the hourly layer is computed only when it votes (NaN otherwise)
            htf_drift = self._htf_drift(candles, context, sec)
            htf_ok = filters.agrees(direction, htf_drift)
        else:
            htf_drift, htf_ok = np.full(len(close), np.nan), np.ones(len(close), bool)

        cross_drift, available = self._cross_drift(candles, context)
        if p["use_cross_asset"] and available:
            cross_ok = filters.agrees(direction, cross_drift)
        else:
            cross_ok = np.ones(len(close), bool)

        with np.errstate(invalid="ignore"):
            entry = (np.abs(drift) > p["drift_threshold"]) & (conf >= p["min_confidence"])
        entry &= flow_ok & htf_ok & cross_ok
        signal = np.where(entry, direction, 0)
        with np.errstate(invalid="ignore"):
            exit_long, exit_short = drift < 0, drift > 0
        return make_signal_frame(
            candles.index, signal, exit_long=exit_long, exit_short=exit_short, forecast=base["forecast"],
            drift=drift, confidence=conf, half_life=hl_bars * sec,
            layers={
                "level": base["level"], "velocity": base["velocity"], "acceleration": base["acceleration"],
                "snr": base["snr"], "half_life_bars": hl_bars, "order_flow": flow,
                "order_flow_from_taker": np.full(len(close), flow_source != "clv"), "order_flow_pass": flow_ok,
                "htf_drift": htf_drift, "htf_pass": htf_ok,
                "cross_drift": cross_drift, "cross_available": np.full(len(close), available), "cross_pass": cross_ok,
            },
        )

    def _htf_drift(self, candles: pd.DataFrame, context: StrategyContext, sec: float) -> np.ndarray:
        p = self.params
        rule = p["htf"]
        period = pd.Timedelta(rule.replace("m", "min"))
        higher = context.higher.get(rule)
        if higher is None:
            higher = filters.resample_closed(candles[["open", "high", "low", "close", "volume"]], period)
        hc = higher["close"].to_numpy(np.float64)
        horizon = p["horizon"] * sec / period.total_seconds()
        hd = drift_layers(hc, horizon, p["process_noise"], p["obs_noise"])["drift"]
        return filters.align_closed(pd.Series(hd, index=higher.index), period, candles.index,
                                    pd.Timedelta(seconds=sec))

    def _cross_drift(self, candles: pd.DataFrame, context: StrategyContext) -> tuple[np.ndarray, bool]:
        p = self.params
        other = context.other.get(filters.partner_symbol(context.symbol or "BTCUSDT"))
        if other is None:
            return np.full(len(candles), np.nan), False
        oc = other["close"].reindex(candles.index).to_numpy(np.float64)
        return drift_layers(oc, p["horizon"], p["process_noise"], p["obs_noise"])["drift"], True
