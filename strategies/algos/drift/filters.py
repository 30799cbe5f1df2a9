"""Layers 5-7 of the drift forecaster: order flow, higher timeframe and cross asset. Each returns a value column;
a filter passes when that value's sign agrees with the drift's."""

from __future__ import annotations

import numpy as np
import pandas as pd

TAKER_BUY_COLUMNS = ("taker_buy_volume", "buy_volume")


def order_flow(candles: pd.DataFrame, window: int) -> tuple[np.ndarray, str]:
    """Layer 5: net buying pressure in [-1, 1] over ``window`` bars and its source.

    With a taker-buy column: (2 * taker_buy - volume) / volume; else the close-location value
    ((c - l) - (h - c)) / (h - l) weighted by volume (0 on a flat bar).
    """
    v = candles["volume"].to_numpy(np.float64)
    col = next((c for c in TAKER_BUY_COLUMNS if c in candles.columns), None)
    if col is not None:
        signed = 2.0 * candles[col].to_numpy(np.float64) - v
        source = col
    else:
        h, lo, c = (candles[k].to_numpy(np.float64) for k in ("high", "low", "close"))
        rng = h - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            clv = np.where(rng > 0, ((c - lo) - (h - c)) / rng, 0.0)
        signed = clv * v
        source = "clv"
    num = pd.Series(signed).rolling(window).sum().to_numpy()
    den = pd.Series(v).rolling(window).sum().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, 0.0) * np.where(np.isnan(den), np.nan, 1.0), source


def resample_closed(candles: pd.DataFrame, rule: str = "1h") -> pd.DataFrame:
    """Higher-timeframe OHLCV from lower bars, indexed by the higher bar's open time (its close may be partial)."""
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    return candles[list(agg)].resample(rule, label="left", closed="left").agg(agg).dropna(subset=["close"])


def align_closed(higher_values: pd.Series, higher_period: pd.Timedelta, index: pd.DatetimeIndex,
                 bar_period: pd.Timedelta) -> np.ndarray:
    """Map higher-timeframe values onto lower bars causally: a higher bar counts only once it has closed.

    Higher bar H is available at H + higher_period; lower bar T is decided at its close T + bar_period. The value
    used at T is the newest higher bar with H + higher_period <= T + bar_period (NaN before the first).
    """
    avail = (pd.DatetimeIndex(higher_values.index) + higher_period).as_unit("ns").asi8
    decided = (pd.DatetimeIndex(index) + bar_period).as_unit("ns").asi8
    pos = np.searchsorted(avail, decided, side="right") - 1
    vals = higher_values.to_numpy(np.float64)
    out = np.full(len(index), np.nan)
    ok = pos >= 0
    out[ok] = vals[pos[ok]]
    return out


def partner_symbol(symbol: str) -> str:
    """Layer 7's correlated asset: ETH for BTC, BTC for everything else."""
    return "ETHUSDT" if symbol.upper().startswith("BTC") else "BTCUSDT"


def agrees(direction: np.ndarray, value: np.ndarray) -> np.ndarray:
    """True where sign(value) equals the direction (+1/-1); false on NaN or a zero value."""
    with np.errstate(invalid="ignore"):
        return np.sign(np.nan_to_num(value)) == direction
