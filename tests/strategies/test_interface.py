"""The strategy interface: parameter schema and validation, the registry, sizing defaults, SignalFrame shape,
and the no-Django rule for strategies/algos."""

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategies.algos import registry
from strategies.algos.base import (
    ParamError,
    ParamSpec,
    StrategyContext,
    make_signal_frame,
    validate_signal_frame,
)

ALGOS = Path(__file__).resolve().parents[2] / "strategies" / "algos"


def test_registry_names_are_stable():
    assert list(registry.all()) == ["lorentzian", "logistic", "chandelier", "drift"]
    for name, cls in registry.all().items():
        assert registry.get(name) is cls and cls.name == name
    with pytest.raises(KeyError, match="unknown strategy 'nope'"):
        registry.get("nope")


@pytest.mark.parametrize(
    ("name", "leverage", "mode", "allocation", "kelly"),
    [("lorentzian", 75, "fixed", 0.05, None), ("logistic", 50, "fixed", 0.07, None),
     ("chandelier", 100, "fixed", 0.03, None), ("drift", 50, "kelly", None, 0.5)],
)
def test_default_sizing_per_design_section_3(name, leverage, mode, allocation, kelly):
    s = registry.get(name).default_sizing
    assert (s.leverage, s.mode, s.allocation, s.kelly_fraction) == (leverage, mode, allocation, kelly)


@pytest.mark.parametrize("name", ["lorentzian", "logistic", "chandelier", "drift"])
def test_schema_is_json_and_defaults_validate(name):
    cls = registry.get(name)
    schema = json.loads(json.dumps(cls.schema_json()))
    assert schema["name"] == name and schema["timeframe"] == "5m" and schema["params"]
    defaults = {p["name"]: p["default"] for p in schema["params"]}
    assert cls.validate_params({}) == defaults
    assert cls.validate_params(defaults) == defaults
    for p in cls.param_schema():
        assert isinstance(p, ParamSpec) and p.help


def test_below_minimum_names_field_and_limit():
    cls = registry.get("lorentzian")
    with pytest.raises(ParamError) as err:
        cls.validate_params({"neighbors_count": 0})
    assert err.value.field == "neighbors_count"
    assert str(err.value) == "neighbors_count: 0 is below the minimum 1"
    assert isinstance(err.value, ValueError)


def test_above_maximum_wrong_type_bad_choice_unknown_key():
    cls = registry.get("lorentzian")
    with pytest.raises(ParamError, match="neighbors_count: 101 is above the maximum 100"):
        cls.validate_params({"neighbors_count": 101})
    with pytest.raises(ParamError, match="neighbors_count: 2.5 is not an integer"):
        cls.validate_params({"neighbors_count": 2.5})
    with pytest.raises(ParamError, match=r"neighbors: 'fast' is not one of \['rolling', 'pine'\]"):
        cls.validate_params({"neighbors": "fast"})
    with pytest.raises(ParamError, match="use_regime_filter: 'yes' is not a boolean"):
        cls.validate_params({"use_regime_filter": "yes"})
    with pytest.raises(ParamError) as err:
        cls.validate_params({"colour": "red"})
    assert err.value.field == "colour" and "unknown parameter" in str(err.value)


def test_coercion_of_form_strings():
    out = registry.get("chandelier").validate_params({"length": "14", "mult": "2.5", "use_close": "false"})
    assert out == {"length": 14, "mult": 2.5, "use_close": False}


def test_cross_field_rule():
    with pytest.raises(ParamError, match="kernel_lag: 8 must be below kernel_lookback 8"):
        registry.get("lorentzian")(kernel_lag=8, kernel_lookback=8)


def test_constructor_validates():
    with pytest.raises(ParamError, match="mult: 0.0 is below the minimum 0.1"):
        registry.get("chandelier")(mult=0)


def test_make_signal_frame_shape_and_dtypes():
    idx = pd.date_range("2025-01-01", periods=3, freq="5min", tz="UTC")
    f = make_signal_frame(idx, [1, 0, -1], exit_long=[False, True, False], layers={"x": [1.0, 2.0, 3.0]})
    assert list(f.columns) == ["signal", "exit_long", "exit_short", "forecast", "drift", "confidence",
                               "half_life", "x"]
    assert f["signal"].dtype == np.int8 and f["exit_short"].dtype == bool
    assert f["forecast"].isna().all() and not f["exit_short"].any()
    candles = pd.DataFrame(index=idx)
    assert validate_signal_frame(f, candles) is f
    with pytest.raises(ValueError, match="clashes"):
        make_signal_frame(idx, [0, 0, 0], layers={"signal": [1, 2, 3]})
    with pytest.raises(ValueError, match="shape"):
        make_signal_frame(idx, [0, 0])
    bad = f.copy()
    bad["confidence"] = [0.5, 1.5, 0.0]
    with pytest.raises(ValueError, match="confidence"):
        validate_signal_frame(bad, candles)


def test_compute_rejects_candles_without_ohlcv():
    idx = pd.date_range("2025-01-01", periods=3, freq="5min", tz="UTC")
    with pytest.raises(ValueError, match="lack columns"):
        registry.get("chandelier")().compute(pd.DataFrame({"close": [1.0, 2.0, 3.0]}, index=idx))


def test_context_defaults():
    ctx = StrategyContext("BTCUSDT", "5m")
    assert ctx.other == {} and ctx.higher == {}


FORBIDDEN = {"django", "celery", "channels", "pybit", "rest_framework"}


def test_algos_never_import_django_celery_channels_pybit():
    offenders = []
    for path in ALGOS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_modules_are_small_and_documented():
    for path in ALGOS.rglob("*.py"):
        text = path.read_text()
        assert len(text.splitlines()) <= 450, path
        assert ast.get_docstring(ast.parse(text)), f"{path} lacks a module docstring"
