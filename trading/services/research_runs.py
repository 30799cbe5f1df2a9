"""Walk-forward runs in this process (the management command, notebooks via Django): build the Problem from
the desk's database or from a directory in the shared data layout, optimise every fold, finish, judge, and
optionally record the study (with its verdict) against a config so the live gate sees it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from trading.models import Instrument, ResearchStudy, StudyStatus


@dataclass
class LocalRun:
    study: ResearchStudy | None
    result: Any
    verdict: Any
    folds: list


def _space(strategy: str, space: dict | None, cfg: dict, instrument):
    from strategies.algos import registry
    from trading.models import DeskSettings
    from trading.research.space import SearchSpace

    bands = [tuple(float(b[k]) for k in ("min_leverage", "max_leverage", "min_allocation", "max_allocation"))
             for b in DeskSettings.current().leverage_bands]
    return SearchSpace.parse(space or {}, specs=registry.get(strategy).PARAMS, defaults=cfg, bands=bands,
                             mmr=instrument.tiers[0].mmr, max_leverage=instrument.max_leverage)


def fill_range(*, settings: dict) -> dict:
    """``start``/``end`` left empty become the first/last stored bar of the symbol and timeframe."""
    from django.db.models import Max, Min

    from trading.models import Candle

    if settings.get("start") and settings.get("end"):
        return settings
    span = Candle.objects.filter(symbol=settings.get("symbol"), interval=settings.get("timeframe", "5m"),
                                 kind="trade").aggregate(first=Min("open_time"), last=Max("open_time"))
    if span["first"] is None:
        raise ValidationError({"symbol": f"symbol: no {settings.get('symbol')} {settings.get('timeframe', '5m')} "
                                         "candles stored; import them or use --data-dir"})
    return {**settings, "start": settings.get("start") or span["first"].isoformat(),
            "end": settings.get("end") or span["last"].isoformat()}


def problem_from_dir(*, strategy: str, data_dir: str, settings: dict):
    """A Problem from the shared CSV layout; ``settings`` as for a backtest (percent TP/SL), not DB-validated
    beyond the engine's own sizing check."""
    from strategies.algos import registry
    from trading.engine.backtest import BacktestConfig
    from trading.engine.fees import FeeSchedule
    from trading.engine.instruments import DEFAULT_INSTRUMENTS
    from trading.engine.sizing import SizingError
    from trading.engine_adapters import engine_instrument
    from trading.research.data import load_shared
    from trading.research.evaluate import Problem
    from trading.services.research_data import period_bars

    s = settings
    row = Instrument.objects.filter(symbol=s["symbol"]).first()
    instrument = engine_instrument(row) if row else DEFAULT_INSTRUMENTS.get(s["symbol"])
    if instrument is None:
        raise ValidationError({"symbol": f"symbol: unknown symbol {s['symbol']!r}"})
    candles, mark, funding = load_shared(data_dir, s["symbol"], start=s.get("start"), end=s.get("end"),
                                         timeframe=s.get("timeframe", "5m"))
    def frac(v):
        return (None if v is None else float(v) / 100.0)
    config = BacktestConfig(
        leverage=float(s["leverage"]), sizing=s["sizing_mode"], initial_capital=float(s.get("initial_capital", 500)),
        allocation=float(s.get("allocation") or 0.05), kelly_fraction=float(s.get("kelly_fraction") or 0.5),
        take_profit_pct=frac(s.get("take_profit_pct")), stop_loss_pct=frac(s.get("stop_loss_pct")),
        fees=FeeSchedule(maker=float(s.get("maker_fee", 0.0002)), taker=float(s.get("taker_fee", 0.0006))),
        funding=bool(s.get("funding", True)))
    try:
        config.validate(instrument)
    except SizingError as exc:
        raise ValidationError({exc.field: str(exc)}) from exc
    use_funding = bool(s.get("funding", True))
    return Problem(registry.get(strategy), candles, instrument, config, symbol=s["symbol"],
                   timeframe=s.get("timeframe", "5m"), funding=funding if use_funding else None,
                   mark=mark if use_funding else None, period_bars=period_bars(s.get("timeframe", "5m")))


def run_local_walkforward(*, strategy: str, settings: dict, space: dict | None = None, folds: int = 5,
                          train_ratio: float = 3.0, anchored: bool = False, n_trials: int = 30,
                          sampler: str = "tpe", seed: int = 0, data_dir: str | None = None,
                          mc_simulations: int = 1000, owner=None, config=None, name: str = "",
                          progress: Callable[[int, int], None] | None = None) -> LocalRun:
    """Optimise and finish a walk-forward here; with ``owner`` the study is stored (status done) with its verdict."""
    from trading.research.space import SpaceError
    from trading.research.verdict import judge, walkforward_inputs
    from trading.research.walkforward import run_walkforward, split_folds
    from trading.services.backtests import json_safe

    if data_dir:
        problem = problem_from_dir(strategy=strategy, data_dir=data_dir, settings=settings)
        clean = dict(settings)
    else:
        from trading.services.backtest_settings import clean_backtest_inputs
        from trading.services.research_data import build_problem

        _p, clean = clean_backtest_inputs(strategy=strategy, params={}, settings=fill_range(settings=settings))
        problem = build_problem(strategy=strategy, settings=clean)
    from trading.services.research_gate import study_config_error

    mismatch = study_config_error(config=config, strategy=strategy, settings=clean) if owner is not None else None
    if mismatch:
        raise ValidationError({"config": mismatch})
    cfg = {k: clean.get(k) for k in ("leverage", "sizing_mode", "allocation", "kelly_fraction", "take_profit_pct",
                                     "stop_loss_pct")}
    try:
        parsed = _space(strategy, space, cfg, problem.instrument)
    except (SpaceError, ValueError) as exc:
        raise ValidationError({"space": f"space: {exc}"}) from exc
    try:
        cut = split_folds(len(problem.candles), folds=folds, train_ratio=train_ratio, anchored=anchored)
    except ValueError as exc:
        raise ValidationError({"folds": f"folds: {exc}"}) from exc
    result = run_walkforward(problem, parsed, cut, n_trials=n_trials, sampler=sampler, seed=seed,
                             mc_simulations=mc_simulations, progress=progress)
    verdict = judge(walkforward_inputs(result.summary))
    study = None
    if owner is not None:
        now = timezone.now()
        study = ResearchStudy.objects.create(
            owner=owner, config=config, name=name or f"local {strategy}", strategy=strategy, settings=json_safe(clean),
            space=space or {}, folds=[f.to_json() for f in cut], n_trials=n_trials, sampler=sampler, seed=seed,
            parallel=1, status=StudyStatus.DONE, trials_done=n_trials * len(cut),
            result=json_safe({"bars": len(problem.candles), **result.to_json()}), verdict=json_safe(verdict.to_json()),
            started_at=now, finished_at=now)
    return LocalRun(study, result, verdict, cut)
