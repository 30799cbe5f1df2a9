"""Celery tasks of the trading app. Celery's autodiscovery imports this module; tasks that live in
their own modules are imported here so the worker registers them (backtests and sweeps:
trading/tasks_backtest.py)."""

from trading.tasks_backtest import rank_sweep_task, run_backtest_task  # noqa: F401
