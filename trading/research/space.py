"""The optimiser's search space: a strategy's parameters (ranges around the ParamSpec defaults, inside its
bounds, or given by the user) plus leverage, sizing and TP/SL, as Optuna suggestions.

A space is plain JSON (from the API, the command or Python) checked by ``SearchSpace.parse``; errors name the
field and the limit. ``suggest(trial)`` turns an Optuna trial (or anything with ``suggest_int/float/
categorical``) into a ``Candidate``: strategy params and the engine config fields. Fixed-allocation sizing
samples the allocation as a share ``alloc_u`` of the allowed band of the sampled leverage, so every candidate
passes the desk's leverage bands by construction; a stop-loss range is clipped to 90 % of the liquidation
distance at the sampled leverage (the engine refuses a stop beyond liquidation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from strategies.algos.params import ParamSpec
from trading.engine.sizing import LEVERAGE_BANDS

SAMPLERS = ("tpe", "random", "grid")
CONFIG_KEYS = ("leverage", "sizing_mode", "allocation", "kelly_fraction", "take_profit_pct", "stop_loss_pct")


class SpaceError(ValueError):
    """A rejected search space; ``field`` names the offending entry."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Dim:
    """One searched dimension: an int/float range (optionally log) or a list of values."""

    name: str
    kind: str  # "int" | "float" | "values"
    low: float | None = None
    high: float | None = None
    log: bool = False
    values: tuple = ()

    def suggest(self, trial, key: str):
        if self.kind == "values":
            return trial.suggest_categorical(key, list(self.values))
        if self.kind == "int":
            return trial.suggest_int(key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(key, float(self.low), float(self.high), log=self.log)

    def grid(self) -> list:
        if self.kind == "values":
            return list(self.values)
        raise SpaceError(self.name, "the grid sampler needs a list of values, not a range")


@dataclass(frozen=True)
class Candidate:
    """What one trial runs: the strategy's parameters and the engine config (TP/SL as fractions of price)."""

    params: dict[str, Any]
    config: dict[str, Any]

    def to_json(self) -> dict:
        return {"params": dict(self.params), "config": dict(self.config)}


def _dim(name: str, raw: Any, *, spec: ParamSpec | None = None) -> Dim | Any:
    """A Dim from {"low", "high", "log"} or {"values": [...]}, or the plain fixed value."""
    if not isinstance(raw, Mapping):
        return spec.coerce(raw) if spec is not None else raw
    if "values" in raw:
        vals = raw["values"]
        if not isinstance(vals, list) or not vals:
            raise SpaceError(name, "values: a non-empty list is required")
        return Dim(name, "values", values=tuple(spec.coerce(v) for v in vals) if spec else tuple(vals))
    try:
        low, high = float(raw["low"]), float(raw["high"])
    except (KeyError, TypeError, ValueError):
        raise SpaceError(name, "a range needs numeric low and high (or a values list)") from None
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise SpaceError(name, f"low {low:g} must not exceed high {high:g}")
    log = bool(raw.get("log", False))
    if log and low <= 0:
        raise SpaceError(name, f"a log range needs low > 0, got {low:g}")
    if spec is not None:
        spec.coerce(int(low) if spec.type == "int" else low)
        spec.coerce(int(high) if spec.type == "int" else high)
    kind = "int" if (spec is not None and spec.type == "int") or raw.get("int") else "float"
    return Dim(name, kind, low, high, log)


def auto_dim(spec: ParamSpec) -> Dim:
    """A default range: a third to three times the default, inside the spec's bounds (log when wide)."""
    if spec.type == "bool":
        return Dim(spec.name, "values", values=(True, False))
    if spec.type == "choice":
        return Dim(spec.name, "values", values=tuple(spec.choices))
    d = float(spec.default)
    lo = d / 3.0 if d > 0 else (spec.min if spec.min is not None else d - 1.0)
    hi = d * 3.0 if d > 0 else (spec.max if spec.max is not None else d + 1.0)
    if spec.min is not None:
        lo = max(lo, spec.min)
    if spec.max is not None:
        hi = min(hi, spec.max)
    if spec.type == "int":
        lo, hi = math.ceil(lo), math.floor(hi)
        return Dim(spec.name, "int", lo, max(lo, hi), log=lo > 0 and hi / lo >= 8)
    return Dim(spec.name, "float", lo, hi, log=lo > 0 and hi / lo >= 8)


@dataclass(frozen=True)
class SearchSpace:
    """Strategy dimensions (searched or fixed) plus the sizing/TP/SL dimensions."""

    dims: tuple[Dim, ...]
    fixed: dict[str, Any]
    config_dims: dict[str, Any] = field(default_factory=dict)
    bands: tuple = LEVERAGE_BANDS
    mmr: float = 0.005

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None, *, specs: Sequence[ParamSpec], defaults: Mapping[str, Any],
              bands=LEVERAGE_BANDS, mmr: float = 0.005, max_leverage: float = 125.0) -> SearchSpace:
        """``raw``: {"params": {name: range|values|value}, "fixed": {...}, "leverage", "sizing_mode",
        "allocation", "kelly_fraction", "take_profit_pct", "stop_loss_pct"}; missing "params" searches every
        parameter around its default. ``defaults`` fills the config fields not given (the config's own)."""
        raw = dict(raw or {})
        known = {"params", "fixed", *CONFIG_KEYS}
        for key in raw:
            if key not in known:
                raise SpaceError(str(key), f"unknown entry; allowed: {', '.join(sorted(known))}")
        by_name = {s.name: s for s in specs}
        fixed = dict(raw.get("fixed") or {})
        for name in fixed:
            if name not in by_name:
                raise SpaceError(f"fixed.{name}", f"unknown parameter; known: {', '.join(sorted(by_name))}")
            fixed[name] = by_name[name].coerce(fixed[name])
        given = raw.get("params")
        dims: list[Dim] = []
        if given is None:
            dims = [auto_dim(s) for s in specs if s.name not in fixed]
        else:
            if not isinstance(given, Mapping):
                raise SpaceError("params", "an object of parameter name -> range or values is required")
            for name, spec_raw in given.items():
                if name not in by_name:
                    raise SpaceError(f"params.{name}", f"unknown parameter; known: {', '.join(sorted(by_name))}")
                d = _dim(f"params.{name}", spec_raw, spec=by_name[name])
                if isinstance(d, Dim):
                    dims.append(Dim(name, d.kind, d.low, d.high, d.log, d.values))
                else:
                    fixed[name] = d
        cfg: dict[str, Any] = {}
        for key in CONFIG_KEYS:
            value = raw.get(key, defaults.get(key))
            cfg[key] = _dim(key, value) if isinstance(value, Mapping) else value
        if isinstance(cfg.get("leverage"), Dim) and "allocation" not in raw:
            cfg["allocation"] = None  # a searched leverage takes its allocation from its own band
        if cfg.get("sizing_mode") not in ("fixed", "kelly"):
            raise SpaceError("sizing_mode", f"{cfg.get('sizing_mode')!r} is not 'fixed' or 'kelly'")
        lev = cfg.get("leverage")
        levs = (lev.values if lev.kind == "values" else (lev.low, lev.high)) if isinstance(lev, Dim) else (lev,)
        for v in levs:
            if v is None or not 1 <= float(v) <= max_leverage:
                raise SpaceError("leverage", f"{v} is outside 1..{max_leverage:g}")
        return cls(tuple(dims), fixed, cfg, tuple(tuple(b) for b in bands), mmr)

    def _band(self, leverage: float) -> tuple[float, float]:
        for b in self.bands:
            lo_l, hi_l, lo_a, hi_a = (b if isinstance(b, tuple) else tuple(b))[:4]
            if lo_l <= leverage <= hi_l:
                return float(lo_a), float(hi_a)
        raise SpaceError("leverage", f"{leverage:g} falls in no leverage band")

    def suggest(self, trial) -> Candidate:
        params = dict(self.fixed)
        for d in self.dims:
            params[d.name] = d.suggest(trial, f"p.{d.name}")
        c = self.config_dims

        def pick(key):
            v = c.get(key)
            return v.suggest(trial, key) if isinstance(v, Dim) else v

        lev = float(pick("leverage"))
        cfg: dict[str, Any] = {"leverage": lev, "sizing_mode": c["sizing_mode"]}
        if c["sizing_mode"] == "fixed":
            alloc = c.get("allocation")
            if alloc is None or isinstance(alloc, Dim):
                lo, hi = self._band(lev)
                if isinstance(alloc, Dim):
                    lo, hi = max(lo, alloc.low or lo), min(hi, alloc.high or hi)
                u = trial.suggest_float("alloc_u", 0.0, 1.0)
                cfg["allocation"] = round(lo + u * max(0.0, hi - lo), 6)
            else:
                cfg["allocation"] = float(alloc)
        else:
            cfg["kelly_fraction"] = float(pick("kelly_fraction"))
        tp, sl = pick("take_profit_pct"), pick("stop_loss_pct")
        cfg["take_profit_pct"] = None if tp is None else float(tp) / 100.0
        if sl is not None:
            room = 1.0 / lev - self.mmr
            sl = min(float(sl) / 100.0, 0.9 * room)
        cfg["stop_loss_pct"] = sl
        return Candidate(params, cfg)

    def grid(self) -> dict[str, list]:
        """The GridSampler's search space (every searched dimension must be a values list)."""
        out = {f"p.{d.name}": d.grid() for d in self.dims}
        for key in ("leverage", "kelly_fraction", "take_profit_pct", "stop_loss_pct"):
            v = self.config_dims.get(key)
            if isinstance(v, Dim):
                out[key] = v.grid()
        if self.config_dims["sizing_mode"] == "fixed" and not isinstance(self.config_dims.get("allocation"),
                                                                          int | float):
            out["alloc_u"] = [0.5]
        return out

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values())


def grid_sampler(grid: dict[str, list], *, seed: int):
    """Optuna's GridSampler without its ``study.stop()`` once the grid is covered: studies here are driven by
    ask/tell (no ``optimize`` loop to stop; Optuna raises there), and the caller's trial count ends them."""
    import optuna

    class AskTellGridSampler(optuna.samplers.GridSampler):
        def after_trial(self, study, trial, state, values) -> None:
            return None

    return AskTellGridSampler(grid, seed=seed)


def make_sampler(name: str, *, seed: int, space: SearchSpace):
    """An Optuna sampler: "tpe" (default), "random" or "grid" (the space's value lists)."""
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return grid_sampler(space.grid(), seed=seed)
    raise SpaceError("sampler", f"{name!r} is not one of {', '.join(SAMPLERS)}")
