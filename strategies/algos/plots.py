"""What a strategy draws: ``PlotSpec`` (an indicator line over price or in a pane below it, or a marker where a
boolean column is true) and ``plot_series`` (the drawn columns of a SignalFrame as plain JSON lists).

A strategy declares ``plots()`` (a classmethod returning PlotSpec items); the chart page and the backtest
result page draw every strategy from that one declaration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

KINDS = ("overlay", "pane", "marker")
MARKER_SYMBOLS = ("triangle-up", "triangle-down", "circle", "x", "diamond", "square", "star")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class PlotSpec:
    """One drawn series: ``column`` of the SignalFrame; ``kind`` overlay (on the price axis), pane (own axis
    below the price) or marker (a ``symbol`` at the close of every bar where the column is true/non-zero)."""

    name: str
    column: str
    kind: str = "overlay"
    color: str = "#c792ea"
    symbol: str = "circle"
    dash: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"plot {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not COLOR_RE.match(self.color):
            raise ValueError(f"plot {self.name!r}: color {self.color!r} must look like #rrggbb")
        if self.symbol not in MARKER_SYMBOLS:
            raise ValueError(f"plot {self.name!r}: symbol {self.symbol!r} is not one of {', '.join(MARKER_SYMBOLS)}")
        if not self.column:
            raise ValueError(f"plot {self.name!r}: column is required")

    def to_json(self) -> dict:
        return {"name": self.name, "column": self.column, "kind": self.kind, "color": self.color,
                "symbol": self.symbol, "dash": self.dash}


def _clean(values: np.ndarray) -> list:
    return [None if not math.isfinite(v) else round(float(v), 10) for v in values]


def plot_series(specs, frame: pd.DataFrame, candles: pd.DataFrame) -> dict:
    """``{"t": [iso...], "plots": [spec json + "y": [...]], "missing": [column...]}`` for ``frame``'s rows.

    Lines carry the column's values (None where NaN); markers carry the close where the column is set and
    None elsewhere. A declared column the frame lacks is listed in ``missing`` instead of failing the page.
    """
    out = {"t": [t.isoformat() for t in frame.index], "plots": [], "missing": []}
    close = candles["close"].reindex(frame.index).to_numpy(np.float64)
    for spec in specs:
        if spec.column not in frame.columns:
            out["missing"].append(spec.column)
            continue
        col = frame[spec.column].to_numpy()
        if spec.kind == "marker":
            on = np.nan_to_num(col.astype(np.float64)) != 0
            y = np.where(on, close, np.nan)
        else:
            y = col.astype(np.float64)
        out["plots"].append({**spec.to_json(), "y": _clean(y)})
    return out
