"""Parameter sweeps: a grid of strategy parameters over one backtest setup becomes one BacktestRun per
point, run as a Celery chord (one task per point, fanned out over the workers) whose callback ranks the
runs by the chosen metric. The ranked table is read back by ``sweep_table``."""

from __future__ import annotations

import itertools
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


def start_sweep(*, owner, strategy: str, base_params: dict | None, grid: Any, settings: dict[str, Any],
                metric: str = "sharpe", name: str = "") -> str:
    """Validate every point, store one queued run per point, queue the chord; returns the sweep key."""
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
            runs.append(run.pk)
        transaction.on_commit(lambda: enqueue_sweep(sweep_key=key, run_ids=runs))
    return key


def enqueue_sweep(*, sweep_key: str, run_ids: list[int]) -> None:
    from celery import chord

    from trading.tasks_backtest import rank_sweep_task, run_backtest_task

    chord(run_backtest_task.s(run_id) for run_id in run_ids)(rank_sweep_task.s(sweep_key))


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
