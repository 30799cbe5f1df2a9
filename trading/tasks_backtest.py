"""Celery task for backtests (thin: one call into trading/services). Sweeps run as research studies
(trading/tasks_research.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="trading.run_backtest")
def run_backtest_task(run_id: int) -> int:
    from trading.services.backtests import run_backtest_job

    run_backtest_job(run_id=run_id)
    return run_id
