"""A backtest's results as plain JSON for the BacktestRun row and the API: metrics (NaN -> null, times ISO),
round-trip trades (with slot, symbol and partial closes when a portfolio run gives them), a downsampled equity
curve that keeps drawdowns and peaks, the context a strategy was given, and the storage caps. Shared by single
runs (backtests.py) and desk runs (desk_execute.py)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

MAX_EQUITY_POINTS = 5_000
MAX_TRADES_STORED = 20_000


def context_summary(context) -> dict[str, Any]:
    """Which context series a run's strategy was given, and how many bars of each (for the result page)."""
    return {"other": {k: len(v) for k, v in context.other.items()},
            "higher": {k: len(v) for k, v in context.higher.items()}}


def json_safe(value: Any) -> Any:
    """Metrics as plain JSON: NaN/inf -> None, timestamps -> ISO text, timedeltas -> seconds."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def trades_to_json(trades: pd.DataFrame) -> list[dict[str, Any]]:
    """Round-trip trades as JSON rows; a portfolio run's also say which slot and symbol, and list the partial
    closes (monitor reduces) inside each trade when the engine gives them."""
    cols = ["entry_time", "exit_time", "side", "qty", "entry_price", "exit_price", "fees", "funding",
            "gross_pnl", "pnl", "exit_reason"]
    cols += [c for c in ("slot", "symbol", "exits", "partials") if c in trades.columns]
    out = [json_safe(dict(zip(cols, row, strict=True))) for row in trades[cols].itertuples(index=False)]
    for t in out:
        for key in ("side", "exit_reason", "slot", "symbol"):
            if key in t:
                t[key] = str(t[key])
    return out


def downsample_equity(equity: pd.Series, *, max_points: int) -> list[list]:
    """[[iso time, equity], ...] with at most ``max_points`` points: for each of max_points/2 buckets the
    lowest and the highest point in time order, so drawdowns and peaks survive; first and last kept."""
    n = len(equity)
    values = equity.to_numpy(dtype=np.float64)
    if n <= max_points:
        keep = np.arange(n)
    else:
        buckets = (max_points - 2) // 2
        edges = np.linspace(0, n, buckets + 1).astype(np.int64)
        picks = {0, n - 1}
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if b > a:
                seg = values[a:b]
                picks.add(a + int(np.argmin(seg)))
                picks.add(a + int(np.argmax(seg)))
        keep = np.array(sorted(picks))
    index = equity.index
    return [[index[i].isoformat(), float(values[i])] for i in keep]
