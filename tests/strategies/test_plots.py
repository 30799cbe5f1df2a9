"""What strategies draw: every shipped strategy's ``plots()`` names columns its ``compute`` produces, specs are
validated, and ``plot_series`` turns lines into values and markers into the close where the flag is set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.algos import registry
from strategies.algos.bias_suite import synthetic_candles
from strategies.algos.plots import PlotSpec, plot_series


@pytest.mark.parametrize("name", registry.shipped_names())
def test_shipped_plots_name_columns_compute_produces(name):
    cls = registry.get(name)
    assert cls.plots(), f"{name} declares nothing to draw"
    frame = cls().compute(synthetic_candles(4000, seed=5))
    missing = [p.column for p in cls.plots() if p.column not in frame.columns]
    assert not missing
    assert cls.schema_json()["plots"] == [p.to_json() for p in cls.plots()]


def test_plot_series_lines_and_markers_by_hand():
    idx = pd.date_range("2025-01-01", periods=4, freq="5min", tz="UTC")
    candles = pd.DataFrame({"close": [10.0, 11.0, 12.0, 13.0]}, index=idx)
    frame = pd.DataFrame({"line": [np.nan, 1.5, 2.5, 3.5], "flag": [0.0, 1.0, 0.0, 1.0]}, index=idx)
    out = plot_series([PlotSpec("a", "line", "pane"), PlotSpec("b", "flag", "marker", symbol="x"),
                       PlotSpec("c", "absent")], frame, candles)
    assert out["t"][0] == "2025-01-01T00:00:00+00:00" and out["missing"] == ["absent"]
    line, marks = out["plots"]
    assert line["y"] == [None, 1.5, 2.5, 3.5] and line["kind"] == "pane"
    assert marks["y"] == [None, 11.0, None, 13.0] and marks["symbol"] == "x"  # the close where the flag is set


@pytest.mark.parametrize(("kwargs", "word"), [({"kind": "histogram"}, "kind"), ({"color": "red"}, "color"),
                                              ({"symbol": "heart"}, "symbol"), ({"column": ""}, "column")])
def test_bad_plot_specs_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        PlotSpec(**{"name": "p", "column": "c", **kwargs})
