"""Causal features of the logistic classifier: multi-horizon returns, RSI, ATR-normalised range, volume
z-score and (optionally) the TradingView scaled_loss distance. Row t uses bars <= t only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import pine
from ..warmup import rma_bars
from .tv_loss import scaled_loss


def feature_settle_bars(return_horizons=(1, 3, 12, 48), rsi_length: int = 14, atr_length: int = 14,
                        volume_window: int = 48) -> int:
    """Bars from the data's start until every feature equals its full-history value (to round-off): the longest
    finite look-back, and the settle time of the Wilder averages inside RSI (after its 1-bar change) and ATR.
    The scaled-loss distance looks back 2(p-1) + nlbk = 6 bars."""
    return max(max(return_horizons) + 1, rma_bars(rsi_length) + 1, rma_bars(atr_length), volume_window, 6)


def feature_matrix(candles: pd.DataFrame, return_horizons=(1, 3, 12, 48), rsi_length: int = 14,
                   atr_length: int = 14, volume_window: int = 48, use_scaled_loss: bool = True) -> pd.DataFrame:
    """One column per feature, NaN during warm-up."""
    o, h, lo, c, v = (candles[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume"))
    logc = np.log(c)
    cols: dict[str, np.ndarray] = {}
    for k in return_horizons:
        cols[f"ret_{k}"] = logc - pine.shift(logc, k)
    cols["rsi"] = (pine.rsi(c, rsi_length) - 50.0) / 50.0
    a = pine.atr(h, lo, c, atr_length)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["range_atr"] = (h - lo) / a
        cols["body_atr"] = (c - o) / a
        mean = pine.sma(v, volume_window)
        sd = np.sqrt(np.maximum(pine.sma(v * v, volume_window) - mean * mean, 0.0))
        cols["volume_z"] = np.where(sd > 0, (v - mean) / sd, 0.0)
        cols["volume_z"][np.isnan(mean)] = np.nan
        if use_scaled_loss:
            cols["loss_dist"] = (c - scaled_loss(c, 3, 2)) / a
    return pd.DataFrame(cols, index=candles.index)
