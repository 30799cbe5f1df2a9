"""Celery tasks of the strategies app (thin: one call into strategies/services); callers send them to the
``research`` queue (``RESEARCH_QUEUE``), never the trading one."""

from __future__ import annotations

from celery import shared_task

RESEARCH_QUEUE = "research"


@shared_task(name="strategies.run_bias_checks")
def run_bias_checks_task(key: str) -> str:
    from strategies.services import run_bias_checks

    return run_bias_checks(key=key).status


@shared_task(name="strategies.scan")
def scan_strategies_task() -> list[str]:
    """A rescan from the page: register what the folder holds, then check every unchecked version."""
    from strategies.services import queue_bias_checks, scan_strategies

    report = scan_strategies()
    queue_bias_checks(keys=report.unchecked)
    return report.unchecked
