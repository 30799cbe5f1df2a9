"""LorentzianStrategy: the Lorentzian Classification indicator as a QuantDesk strategy (spec 1 and 5.1).

The SignalFrame ``signal`` is the position implied by the script's trade stream (open on startLong/startShort,
close on endLong/endShort, reverse on the opposite start); the script's own held signal is ``lc_signal``.

Window independence (``rolling`` mode): features normalised over ``normalize_window`` bars, the regime smoother
restarted ``filters.REGIME_LOOKBACK`` bars back, and no vote before every candidate's features have settled
(``vote_start``); ``warmup_bars`` adds ``STATE_SYNC_BARS`` for the held signal and trade state to meet the full
history's. ``pine`` mode reproduces TradingView (running normalize, training set at the data's start) and is not
window independent at any warm-up (``window_independent()`` is False).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import pine
from ..base import DefaultSizing, ParamError, ParamSpec, Strategy, StrategyContext, make_signal_frame
from ..warmup import ema_bars
from . import features, filters, kernels, neighbors, trades

#: bars after the first vote for the held signal, bars-held counter and trade state (which remember their last
#: event) to agree with the full history's; measured on real data (README: warm-up per strategy)
STATE_SYNC_BARS = 300

SOURCES = ("close", "open", "high", "low", "hl2", "hlc3", "ohlc4")
_DEFAULT_FEATURES = (("RSI", 14, 1), ("WT", 10, 11), ("CCI", 20, 1), ("ADX", 20, 2), ("RSI", 9, 1))


def _feature_params() -> list[ParamSpec]:
    out = []
    for n, (kind, a, b) in enumerate(_DEFAULT_FEATURES, start=1):
        out += [
            ParamSpec(f"f{n}_kind", "choice", kind, choices=features.FEATURE_KINDS, help=f"Feature {n} indicator"),
            ParamSpec(f"f{n}_param_a", "int", a, 1, 500, help=f"Feature {n} parameter A (length)"),
            ParamSpec(f"f{n}_param_b", "int", b, 1, 500, help=f"Feature {n} parameter B (smoothing; unused for ADX)"),
        ]
    return out


def source_series(candles: pd.DataFrame, source: str) -> np.ndarray:
    """The price series named by ``source`` (close, open, high, low, hl2, hlc3, ohlc4)."""
    o, h, lo, c = (candles[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    return {"close": c, "open": o, "high": h, "low": lo, "hl2": (h + lo) / 2.0,
            "hlc3": pine.hlc3(h, lo, c), "ohlc4": pine.ohlc4(o, h, lo, c)}[source]


class LorentzianStrategy(Strategy):
    """Machine Learning: Lorentzian Classification (jdehorty), with ``pine`` and ``rolling`` neighbour modes."""

    name = "lorentzian"
    label = "Lorentzian Classification"
    timeframe = "5m"
    default_sizing = DefaultSizing(leverage=75, mode="fixed", allocation=0.05)
    PARAMS = (
        ParamSpec("neighbors", "choice", "rolling", choices=("rolling", "pine"),
                  help="rolling: the maxBarsBack bars before t (causal); pine: the published training set"),
        ParamSpec("source", "choice", "close", choices=SOURCES, help="Price source for labels and kernel"),
        ParamSpec("neighbors_count", "int", 8, 1, 100, help="k, the number of neighbours"),
        ParamSpec("max_bars_back", "int", 2000, 20, 20000, help="Candidate window in bars"),
        ParamSpec("normalize_window", "int", 2000, 20, 20000,
                  help="rolling mode: bars of the min/max that scale the WT and CCI features (pine: since bar 0)"),
        ParamSpec("feature_count", "int", 5, 2, 5, help="Number of features used"),
        *_feature_params(),
        ParamSpec("use_dynamic_exits", "bool", False, help="Kernel-based exits (only without EMA/SMA filter or smoothing)"),
        ParamSpec("use_volatility_filter", "bool", True, help="ATR(1) > ATR(10)"),
        ParamSpec("use_regime_filter", "bool", True, help="Regime (slope decline) filter"),
        ParamSpec("regime_threshold", "float", -0.1, -10.0, 10.0, help="Regime filter threshold"),
        ParamSpec("use_adx_filter", "bool", False, help="ADX(14) filter"),
        ParamSpec("adx_threshold", "int", 20, 0, 100, help="ADX filter threshold"),
        ParamSpec("use_ema_filter", "bool", False, help="Trade only with close vs EMA"),
        ParamSpec("ema_period", "int", 200, 1, 1000, help="EMA filter period"),
        ParamSpec("use_sma_filter", "bool", False, help="Trade only with close vs SMA"),
        ParamSpec("sma_period", "int", 200, 1, 1000, help="SMA filter period"),
        ParamSpec("use_kernel_filter", "bool", True, help="Trade with the kernel regression"),
        ParamSpec("use_kernel_smoothing", "bool", False, help="Kernel crossover (yhat2 vs yhat1) instead of rate"),
        ParamSpec("kernel_lookback", "int", 8, 3, 100, help="Kernel lookback window h"),
        ParamSpec("kernel_relative_weight", "float", 8.0, 0.25, 100.0, help="Rational-quadratic relative weight r"),
        ParamSpec("kernel_regression_level", "int", 25, 2, 100, help="Kernel regression level x (start bar)"),
        ParamSpec("kernel_lag", "int", 2, 1, 10, help="Lag of the Gaussian kernel for crossovers"),
    )

    @classmethod
    def validate_params(cls, params):
        out = super().validate_params(params)
        if out["kernel_lag"] >= out["kernel_lookback"]:
            raise ParamError("kernel_lag", f"{out['kernel_lag']} must be below kernel_lookback {out['kernel_lookback']}")
        return out

    def feature_specs(self) -> list[tuple[str, int, int]]:
        p = self.params
        return [(p[f"f{n}_kind"], p[f"f{n}_param_a"], p[f"f{n}_param_b"]) for n in range(1, p["feature_count"] + 1)]

    @property
    def rolling(self) -> bool:
        return self.params["neighbors"] == "rolling"

    def window_independent(self) -> bool:
        return self.rolling

    def vote_start(self) -> int:
        """First bar (from the data's start) with a rolling-mode vote: every candidate's features have settled."""
        p = self.params
        settle = max(features.feature_settle_bars(k, a, b, p["normalize_window"]) for k, a, b in self.feature_specs())
        return settle + p["max_bars_back"]

    def warmup_bars(self) -> int:
        """The vote start, or the slowest enabled filter / trend average / kernel if later, plus
        ``STATE_SYNC_BARS``; pine mode declares the same (a live window as long), without the guarantee."""
        p = self.params
        need = [self.vote_start(), p["kernel_regression_level"] + 4,
                filters.settle_bars(volatility=p["use_volatility_filter"], regime=p["use_regime_filter"],
                                    adx_length=14 if p["use_adx_filter"] else None)]
        if p["use_ema_filter"]:
            need.append(ema_bars(p["ema_period"]) + 4)
        if p["use_sma_filter"]:
            need.append(p["sma_period"] + 4)
        return max(need) + STATE_SYNC_BARS

    def filters(self, candles: pd.DataFrame, src: np.ndarray) -> np.ndarray:
        """filter_all = volatility & regime & adx, each true when switched off."""
        p = self.params
        o, h, lo, c = (candles[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
        ok = np.ones(len(candles), dtype=bool)
        if p["use_volatility_filter"]:
            ok &= filters.volatility_filter(h, lo, c)
        if p["use_regime_filter"]:
            ok &= filters.regime_filter(pine.ohlc4(o, h, lo, c), h, lo, p["regime_threshold"],
                                        filters.REGIME_LOOKBACK if self.rolling else None)
        if p["use_adx_filter"]:
            ok &= filters.adx_filter(h, lo, src, p["adx_threshold"])
        return ok

    def trend_filters(self, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        up = np.ones(len(close), dtype=bool)
        down = up.copy()
        if p["use_ema_filter"]:
            e = pine.ema(close, p["ema_period"])
            up, down = up & (close > e), down & (close < e)
        if p["use_sma_filter"]:
            s = pine.sma(close, p["sma_period"])
            up, down = up & (close > s), down & (close < s)
        return up, down

    def predictions(self, feats: np.ndarray, src: np.ndarray) -> np.ndarray:
        p = self.params
        return neighbors.predict(feats, neighbors.training_labels(src), p["neighbors_count"],
                                 p["max_bars_back"], p["neighbors"], self.vote_start() if self.rolling else 0)

    def _compute(self, candles: pd.DataFrame, context: StrategyContext) -> pd.DataFrame:
        p = self.params
        src = source_series(candles, p["source"])
        close = candles["close"].to_numpy(np.float64)
        feats = features.build_features(candles, self.feature_specs(),
                                        p["normalize_window"] if self.rolling else None)
        prediction = self.predictions(feats, src)
        filter_all = self.filters(candles, src)
        yhat1 = kernels.rational_quadratic(src, p["kernel_lookback"], p["kernel_relative_weight"],
                                           p["kernel_regression_level"])
        yhat2 = kernels.gaussian(src, p["kernel_lookback"] - p["kernel_lag"], p["kernel_regression_level"])
        kstate = trades.kernel_state(yhat1, yhat2, p["use_kernel_filter"], p["use_kernel_smoothing"])
        up, down = self.trend_filters(close)
        dynamic = (p["use_dynamic_exits"] and not p["use_ema_filter"] and not p["use_sma_filter"]
                   and not p["use_kernel_smoothing"])
        ev = trades.trade_events(prediction, filter_all, up, down, kstate, dynamic)
        position = trades.position_from_events(ev["start_long"], ev["end_long"], ev["start_short"], ev["end_short"])
        layers = {f"feature_{n}": feats[n - 1] for n in range(1, feats.shape[0] + 1)}
        layers.update({"prediction": prediction.astype(np.int64), "filter_all": filter_all,
                       "kernel_estimate": yhat1, "kernel_smooth": yhat2})
        layers.update(ev)
        return make_signal_frame(
            candles.index, position, exit_long=ev["end_long"], exit_short=ev["end_short"],
            confidence=np.abs(prediction) / p["neighbors_count"], layers=layers,
        )
