"""Celery tasks for backtests and sweeps (thin: one call into trading/services)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="trading.run_backtest")
def run_backtest_task(run_id: int) -> int:
    from trading.services.backtests import run_backtest_job

    run_backtest_job(run_id=run_id)
    return run_id


@shared_task(name="trading.rank_sweep")
def rank_sweep_task(_run_ids: list[int], sweep_key: str) -> int:
    from trading.services.sweeps import rank_sweep

    return len(rank_sweep(sweep_key=sweep_key))
