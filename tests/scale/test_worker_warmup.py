"""Worker start-up warm-up: every kernel and strategy is loaded before the first task, in pool processes
(worker_process_init) and in solo/thread workers (worker_ready), unless QUANTDESK_WARM_WORKERS is off."""

from __future__ import annotations

import pytest
from celery.signals import worker_process_init, worker_ready

import quantdesk.celery as qc
from strategies.algos import registry


@pytest.mark.django_db
def test_warm_process_loads_the_kernels_and_every_strategy():
    from trading.services.warmup import warm_process

    took = warm_process()
    expected = {"backtest kernel", "paper simulator"} | {f"strategy {n}" for n in registry.all()}
    assert set(took) == expected  # a part that raised would be missing (logged instead)
    assert all(t >= 0 for t in took.values())


class _Consumer:
    def __init__(self, module: str):
        self.pool = type("TaskPool", (), {"__module__": module})()


@pytest.mark.parametrize(("module", "warmed"), [("celery.concurrency.solo", True), ("celery.concurrency.thread", True),
                                                 ("celery.concurrency.prefork", False)])
def test_signals_warm_the_process_that_runs_tasks(settings, monkeypatch, module, warmed):
    import trading.services.warmup as warmup

    calls = []
    monkeypatch.setattr(warmup, "warm_process", lambda: calls.append(1))
    assert qc.warm_pool_process in [r[1]() for r in worker_process_init.receivers]
    assert qc.warm_solo_worker in [r[1]() for r in worker_ready.receivers]
    settings.QUANTDESK_WARM_WORKERS = True
    qc.warm_solo_worker(sender=_Consumer(module))
    assert calls == ([1] if warmed else [])
    qc.warm_pool_process()
    assert len(calls) == (2 if warmed else 1)
    settings.QUANTDESK_WARM_WORKERS = False  # the test suite's setting: nothing warms
    qc.warm_pool_process()
    qc.warm_solo_worker(sender=_Consumer(module))
    assert len(calls) == (2 if warmed else 1)
