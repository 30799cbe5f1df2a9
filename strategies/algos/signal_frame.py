"""The SignalFrame every strategy returns: one row per candle, the DESIGN section-2 columns first."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

CORE_COLUMNS = ("signal", "exit_long", "exit_short", "forecast", "drift", "confidence", "half_life")
FLOAT_COLUMNS = ("forecast", "drift", "confidence", "half_life")


def _column(value, n: int, dtype) -> np.ndarray:
    if value is None:
        return np.full(n, np.nan if dtype == np.float64 else 0, dtype=dtype)
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ValueError(f"column has shape {arr.shape}, expected ({n},)")
    return arr


def make_signal_frame(
    index: pd.Index,
    signal,
    exit_long=None,
    exit_short=None,
    forecast=None,
    drift=None,
    confidence=None,
    half_life=None,
    layers: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Build a SignalFrame indexed like the candles: core columns with their dtypes, then the layer columns.

    ``half_life`` is in seconds (DESIGN section 2); absent float columns are NaN, absent exits False.
    """
    n = len(index)
    sig = _column(signal, n, np.int8)
    if np.any(np.isnan(sig.astype(np.float64))):
        raise ValueError("signal contains NaN")
    data = {
        "signal": np.sign(sig).astype(np.int8),
        "exit_long": _column(exit_long, n, bool).astype(bool),
        "exit_short": _column(exit_short, n, bool).astype(bool),
    }
    for name, value in zip(FLOAT_COLUMNS, (forecast, drift, confidence, half_life), strict=True):
        data[name] = _column(value, n, np.float64).astype(np.float64)
    for name, value in (layers or {}).items():
        if name in data:
            raise ValueError(f"layer column {name!r} clashes with a core column")
        data[name] = _column(value, n, np.float64)
    return pd.DataFrame(data, index=index)


def validate_signal_frame(frame: pd.DataFrame, candles: pd.DataFrame) -> pd.DataFrame:
    """Check the SignalFrame contract (index, columns, dtypes, value ranges); return the frame or raise."""
    if not frame.index.equals(candles.index):
        raise ValueError("SignalFrame index differs from the candles' index")
    missing = [c for c in CORE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"SignalFrame lacks columns {missing}")
    if list(frame.columns[: len(CORE_COLUMNS)]) != list(CORE_COLUMNS):
        raise ValueError("SignalFrame core columns are out of order")
    if frame["signal"].dtype != np.int8 or not frame["signal"].isin((-1, 0, 1)).all():
        raise ValueError("signal must be int8 in {-1, 0, 1}")
    for name in ("exit_long", "exit_short"):
        if frame[name].dtype != bool:
            raise ValueError(f"{name} must be bool")
    for name in FLOAT_COLUMNS:
        if frame[name].dtype != np.float64:
            raise ValueError(f"{name} must be float64")
    conf = frame["confidence"].to_numpy()
    if np.any((conf < 0) | (conf > 1)):
        raise ValueError("confidence must lie in [0, 1]")
    return frame
