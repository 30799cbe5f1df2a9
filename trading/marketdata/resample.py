"""Resample OHLCV frames to a whole multiple of their interval (1m -> 5m/15m/1h, 5m -> 1h, 1h -> 4h, ...).

Buckets are aligned to the Unix epoch, which is how Bybit aligns its klines (every interval up to 1d starts on
a multiple of its length since 1970-01-01 UTC). Only complete buckets are returned: a bucket with a missing
source bar (a gap, or the not-yet-finished last bucket) is dropped, never filled. Aggregation: first open,
max high, min low, last close, summed volume (and turnover when present). Pure pandas/NumPy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading.choices import TIMEFRAMES

EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


def interval_seconds(interval: str) -> int:
    if interval not in TIMEFRAMES:
        raise ValueError(f"interval: {interval!r} is not one of {', '.join(TIMEFRAMES)}")
    return TIMEFRAMES[interval][0]


def ratio(*, source: str, target: str) -> int:
    src, tgt = interval_seconds(source), interval_seconds(target)
    if tgt <= src or tgt % src:
        raise ValueError(f"target: {target} is not a whole multiple (> 1) of source {source}")
    return tgt // src


def _epoch_seconds(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DatetimeIndex]:
    index = pd.DatetimeIndex(frame.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    secs = np.asarray((index - EPOCH) // pd.Timedelta(seconds=1), dtype=np.int64)
    if (np.diff(secs) <= 0).any():
        raise ValueError("frame: open times must be strictly increasing")
    return secs, index


def _aggregate(frame: pd.DataFrame, secs: np.ndarray, bucket_seconds: int) -> tuple[np.ndarray, np.ndarray,
                                                                                      dict[str, np.ndarray]]:
    """The one OHLCV aggregation rule: per epoch-aligned bucket of ``bucket_seconds``, first open, max high,
    min low, last close, summed volume/turnover. Returns (bucket start seconds, source rows per bucket, columns)."""
    bucket = secs // bucket_seconds
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(secs)]
    out: dict[str, np.ndarray] = {}
    for col in frame.columns:
        values = frame[col].to_numpy(dtype="float64")
        if col == "open":
            out[col] = values[starts]
        elif col == "high":
            out[col] = np.maximum.reduceat(values, starts)
        elif col == "low":
            out[col] = np.minimum.reduceat(values, starts)
        elif col == "close":
            out[col] = values[ends - 1]
        elif col in ("volume", "turnover"):
            out[col] = np.add.reduceat(values, starts)
        else:
            raise ValueError(f"frame: no aggregation rule for column {col!r}")
    return bucket[starts] * bucket_seconds, ends - starts, out


def _framed(frame: pd.DataFrame, index: pd.DatetimeIndex, times: np.ndarray, cols: dict[str, np.ndarray],
            keep: np.ndarray | slice) -> pd.DataFrame:
    new_index = pd.DatetimeIndex(pd.to_datetime(times[keep], unit="s", utc=True),
                                 name=frame.index.name).as_unit(index.unit)
    return pd.DataFrame({c: v[keep] for c, v in cols.items()}, index=new_index, columns=list(frame.columns))


def resample_frame(frame: pd.DataFrame, *, source: str, target: str) -> pd.DataFrame:
    """``frame``: open/high/low/close[/volume[/turnover]] indexed by UTC bar open time, strictly increasing,
    on the ``source`` grid. Returns the complete ``target`` bars, same columns, float64."""
    n_per = ratio(source=source, target=target)
    src_s, tgt_s = interval_seconds(source), interval_seconds(target)
    if frame.empty:
        return frame.astype("float64").copy()
    secs, index = _epoch_seconds(frame)
    if (secs % src_s).any():
        raise ValueError(f"frame: open times are not on the {source} grid")
    times, counts, cols = _aggregate(frame, secs, tgt_s)
    return _framed(frame, index, times, cols, counts == n_per)


def downsample_frame(frame: pd.DataFrame, *, seconds: int) -> pd.DataFrame:
    """For display only: ``frame``'s bars aggregated into epoch-aligned buckets of ``seconds`` (a multiple of
    the frame's interval) by the same rule as :func:`resample_frame`, keeping the partial buckets at the edges
    (so the first bar's open and the last bar's close are in the result: a chart of a range shows both ends)."""
    if seconds <= 0:
        raise ValueError(f"seconds: {seconds} must be > 0")
    if frame.empty:
        return frame.astype("float64").copy()
    secs, index = _epoch_seconds(frame)
    times, _, cols = _aggregate(frame, secs, seconds)
    return _framed(frame, index, times, cols, slice(None))
