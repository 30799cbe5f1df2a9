"""LogisticStrategy: a genuine walk-forward logistic classifier (spec 5.2), not the degenerate TradingView rule.

signal = +1 when P(up over ``horizon``) > threshold, -1 when it is < 1 - threshold; confidence = probability
of the chosen side (max(p, 1-p) on flat bars); drift = expm1((2p - 1) * mean |horizon-bar log move| of the
training window); forecast = close * (1 + drift). exit_long when the model turns short, exit_short when it turns
long. Window independence: refits happen when the bar's open time enters a new block of ``refit_every`` bars of
absolute time (not every n bars from the data's start), each on exactly the ``window`` newest labelled bars after
the features have settled; ``fitted_at`` is the refit bar's open time (epoch seconds). ``out_of_sample_accuracy`` scores the signals afterwards (it needs the realised future, so it is not a column).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import pine
from ..base import DefaultSizing, ParamSpec, Strategy, StrategyContext, bar_seconds, make_signal_frame
from .features import feature_matrix, feature_settle_bars
from .walkforward import refit_bars, walk_forward_proba


class LogisticStrategy(Strategy):
    """Walk-forward L2 logistic regression on causal price/volume features."""

    name = "logistic"
    label = "Logistic Regression"
    timeframe = "5m"
    default_sizing = DefaultSizing(leverage=50, mode="fixed", allocation=0.07)
    PARAMS = (
        ParamSpec("horizon", "int", 12, 1, 1000, help="Bars ahead the label looks (sign of the forward return)"),
        ParamSpec("window", "int", 4032, 100, 200000, help="Training window in bars (fixed length, trailing)"),
        ParamSpec("refit_every", "int", 288, 1, 100000,
                  help="Refit when the bar time enters a new block of this many bars (absolute time)"),
        ParamSpec("min_train", "int", 500, 50, 200000, help="Fewest valid labelled rows in the window needed to fit"),
        ParamSpec("threshold", "float", 0.53, 0.5, 0.99, help="Long above, short below 1 - threshold"),
        ParamSpec("l2", "float", 1.0, 0.0, 1e6, help="L2 penalty on the standardised weights"),
        ParamSpec("fit_intercept", "bool", False,
                  help="Learn a bias; off keeps the window's base rate (trend) from tilting every prediction"),
        ParamSpec("use_scaled_loss", "bool", True, help="Add the TradingView scaled_loss distance as a feature"),
    )

    def warmup_bars(self) -> int:
        """Features settle (``feature_settle_bars``), then a full training window plus the horizon its labels
        need, plus one refit block: the first row after the warm-up may use a model refitted up to
        ``refit_every - 1`` bars earlier."""
        p = self.params
        return feature_settle_bars() + p["window"] + p["horizon"] + p["refit_every"] - 1

    def _compute(self, candles: pd.DataFrame, context: StrategyContext) -> pd.DataFrame:
        p = self.params
        close = candles["close"].to_numpy(np.float64)
        feats = feature_matrix(candles, use_scaled_loss=p["use_scaled_loss"])
        sec = bar_seconds(candles, context.timeframe or self.timeframe)
        open_ns = pd.DatetimeIndex(candles.index).as_unit("ns").asi8
        refits = refit_bars(open_ns, int(round(p["refit_every"] * sec * 1e9)))
        proba, fitted_at = walk_forward_proba(
            feats.to_numpy(), close, p["horizon"], p["window"], refits, p["min_train"], p["l2"],
            p["fit_intercept"], first_row=feature_settle_bars())
        fitted_time = np.where(fitted_at >= 0, open_ns[np.maximum(fitted_at, 0)] / 1e9, np.nan)
        with np.errstate(invalid="ignore"):
            signal = np.where(proba > p["threshold"], 1, np.where(proba < 1.0 - p["threshold"], -1, 0))
        confidence = np.where(signal == -1, 1.0 - proba, np.where(signal == 1, proba, np.maximum(proba, 1 - proba)))
        logc = np.log(close)
        move = np.abs(logc - pine.shift(logc, p["horizon"]))
        typical = pd.Series(move).rolling(p["window"]).mean().to_numpy()
        drift = np.expm1((2.0 * proba - 1.0) * typical)
        return make_signal_frame(
            candles.index, signal, exit_long=signal == -1, exit_short=signal == 1,
            forecast=close * (1.0 + drift), drift=drift, confidence=confidence,
            layers={"probability": proba, "fitted_at": fitted_time, **{f"x_{k}": v.to_numpy() for k, v in feats.items()}},
        )


def out_of_sample_accuracy(frame: pd.DataFrame, candles: pd.DataFrame, horizon: int) -> dict:
    """Hit rate of the signals against the realised sign of the forward return (bars whose label is known).

    Every prediction is out of sample: each model only saw labels that had ended before its refit bar.
    ``signal_accuracy`` counts bars with signal != 0; ``direction_accuracy`` all bars with a probability (p > 0.5 = up).
    """
    close = candles["close"].to_numpy(np.float64)
    fwd = pine.shift(close[::-1], horizon)[::-1] - close  # close[t + horizon] - close[t]
    known = ~np.isnan(fwd) & (fwd != 0)
    sig = frame["signal"].to_numpy()
    has_sig = known & (sig != 0)
    prob = frame["probability"].to_numpy()
    has_p = known & ~np.isnan(prob)
    return {
        "signals": int(has_sig.sum()),
        "signal_accuracy": float(np.mean(np.sign(fwd[has_sig]) == sig[has_sig])) if has_sig.any() else float("nan"),
        "predictions": int(has_p.sum()),
        "direction_accuracy": float(np.mean((prob[has_p] > 0.5) == (fwd[has_p] > 0))) if has_p.any() else float("nan"),
    }
