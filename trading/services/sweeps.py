"""Parameter sweeps: a grid of strategy parameters over one backtest setup is ONE sampler of the research
machinery. ``start_sweep`` stores one queued BacktestRun per point (the page and API show every point and its
run) and a ResearchStudy of kind ``sweep``: an Optuna study on the desk's database whose GridSampler hands out
the point indexes, each trial run by the same Celery step task as a walk-forward trial
(``trading.services.research.run_study_step``: ask under the study's lock, heartbeat, a dead worker's trial
failed and retried, tell). A sweep trial is ``run_sweep_point``: that point's backtest run to done, its metric
the trial's value. When every point is done ``finish_sweep`` ranks the runs by the metric (``rank_sweep``) and
stores the verdict on the study. The ranked table is read back by ``sweep_table``.
"""

from __future__ import annotations

import itertools
import math
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from trading.choices import RunStatus
from trading.events import publish_user
from trading.models import BacktestRun
from trading.services.backtests import create_backtest

MAX_POINTS = 200
RANKABLE = ("sharpe", "sortino", "total_return", "cagr", "calmar", "profit_factor", "win_rate", "expectancy",
            "max_drawdown", "final_equity", "sqn")


def grid_points(grid: Any) -> list[dict[str, Any]]:
    """Every combination of the grid's values ({name: [v1, v2, ...]}), in a stable order."""
    if not isinstance(grid, dict) or not grid:
        raise ValidationError({"grid": "grid: an object of parameter name -> list of values is required"})
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValidationError({"grid": f"grid.{name}: a non-empty list of values is required"})
    names = sorted(grid)
    total = 1
    for name in names:
        total *= len(grid[name])
    if total > MAX_POINTS:
        raise ValidationError({"grid": f"grid: {total} points, above the limit {MAX_POINTS}"})
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]


SWEEP_PARALLEL = 8  # point tasks in flight at once (the workers' concurrency takes what it can)


def start_sweep(*, owner, strategy: str, base_params: dict | None, grid: Any, settings: dict[str, Any],
                metric: str = "sharpe", name: str = "") -> str:
    """Validate every point, store one queued run per point and the sweep's study, queue the study's steps;
    returns the sweep key."""
    from trading.models import ResearchStudy, StudyKind
    from trading.services.research import enqueue_study

    if metric not in RANKABLE:
        raise ValidationError({"metric": f"metric: {metric!r} is not one of {', '.join(RANKABLE)}"})
    points = grid_points(grid)
    key = uuid.uuid4().hex
    with transaction.atomic():
        runs = []
        for i, point in enumerate(points):
            params = {**(base_params or {}), **point}
            try:
                run = create_backtest(owner=owner, strategy=strategy, params=params, settings=settings,
                                      name=name or f"sweep {key[:8]}", sweep_key=key)
            except ValidationError as exc:
                raise ValidationError({f: [f"grid point {i} {point}: {m}" for m in msgs]
                                       for f, msgs in exc.message_dict.items()}) from exc
            run.settings = {**run.settings, "sweep": {"metric": metric, "point": point, "grid": grid}}
            run.save(update_fields=["settings"])
            runs.append(run)
        base = {k: v for k, v in runs[0].settings.items() if k != "sweep"}
        study = ResearchStudy.objects.create(
            owner=owner, kind=StudyKind.SWEEP, sweep_key=key, name=name or f"sweep {key[:8]}", strategy=strategy,
            settings=base, space={"grid": grid, "metric": metric, "runs": [r.pk for r in runs]},
            folds=[{"number": 0, "train_start": 0, "train_end": 0, "test_start": 0, "test_end": 0}],
            n_trials=len(runs), sampler="grid", seed=0, parallel=min(len(runs), SWEEP_PARALLEL))
        transaction.on_commit(lambda: enqueue_study(study_id=study.pk))
    return key


def sweep_sampler(*, study, seed: int):
    """The sweep's GridSampler over its point indexes (each trial is one stored run)."""
    from trading.research.space import grid_sampler

    return grid_sampler({"point": list(range(study.n_trials))}, seed=seed)


def run_sweep_point(*, study, trial) -> float | None:
    """One sweep trial: the point's backtest run to done (a redelivered or retried point that is already done is
    not run again); its metric is the value (None: the run failed, was deleted or has no such metric)."""
    from trading.services.backtests import run_backtest_job

    point = trial.suggest_categorical("point", list(range(study.n_trials)))
    run_id = study.space["runs"][point]
    trial.set_user_attr("run", run_id)
    run = run_backtest_job(run_id=run_id)
    if run is None or run.status != RunStatus.DONE:
        return None
    value = _metric_value(run, study.space.get("metric", "sharpe"))
    return value if value is not None and math.isfinite(value) else None


def finish_sweep(*, study) -> dict[str, Any] | None:
    """Rank the sweep's runs and return its verdict (stored on the study by the caller)."""
    from trading.services.research_verdicts import sweep_verdict

    rank_sweep(sweep_key=study.sweep_key)
    runs = list(BacktestRun.objects.filter(sweep_key=study.sweep_key).order_by("id"))
    return sweep_verdict(runs=runs, metric=study.space.get("metric", "sharpe"))


def _metric_value(run: BacktestRun, metric: str) -> float | None:
    v = (run.metrics or {}).get(metric)
    return float(v) if isinstance(v, int | float) else None


def rank_sweep(*, sweep_key: str) -> list[dict[str, Any]]:
    """Store each run's rank by the sweep's metric (best first; max_drawdown: the shallowest) and tell
    the owner. Runs without a value (failed, no trades) rank last."""
    runs = list(BacktestRun.objects.filter(sweep_key=sweep_key))
    table = _ranked(runs)
    with transaction.atomic():
        for row in table:
            run = next(r for r in runs if r.pk == row["run"])
            run.settings = {**run.settings, "sweep": {**run.settings.get("sweep", {}), "rank": row["rank"]}}
            run.save(update_fields=["settings"])
    if runs:
        publish_user(user_id=runs[0].owner_id, event_type="sweep",
                     data={"sweep_key": sweep_key, "status": "done", "points": len(runs)})
    return table


def _ranked(runs: list[BacktestRun]) -> list[dict[str, Any]]:
    if not runs:
        return []
    metric = runs[0].settings.get("sweep", {}).get("metric", "sharpe")

    def sort_key(run):
        v = _metric_value(run, metric)
        return (v is None, -(v if v is not None else 0.0), run.pk)

    ordered = sorted(runs, key=sort_key)
    return [{
        "rank": i + 1, "run": r.pk, "status": r.status, "params": r.settings.get("sweep", {}).get("point", {}),
        "metric": metric, "value": _metric_value(r, metric),
        "total_return": _metric_value(r, "total_return"), "sharpe": _metric_value(r, "sharpe"),
        "max_drawdown": _metric_value(r, "max_drawdown"), "trade_count": (r.metrics or {}).get("trade_count"),
        "error": r.error,
    } for i, r in enumerate(ordered)]


def sweep_table(*, runs: list[BacktestRun]) -> dict[str, Any]:
    """The sweep's status, metric, grid and ranked rows (ranking live while runs are still going)."""
    if not runs:
        return {}
    first = runs[0]
    info = first.settings.get("sweep", {})
    done = sum(r.status in (RunStatus.DONE, RunStatus.FAILED) for r in runs)
    ranked = all("rank" in r.settings.get("sweep", {}) for r in runs)
    return {
        "sweep_key": first.sweep_key, "strategy": first.strategy, "metric": info.get("metric"),
        "grid": info.get("grid"), "points": len(runs), "finished": done,
        "status": "done" if ranked else ("running" if done or any(r.status == RunStatus.RUNNING for r in runs)
                                         else "queued"),
        "rows": _ranked(runs),
    }
