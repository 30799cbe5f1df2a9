"""The Celery app: Redis broker, tasks discovered from the Django apps, beat via the database scheduler.

Celery's superuser warning (a worker started as root, as in a container) is not repeated by every worker at
every start: ``rundesk`` says it once (``quantdesk/launcher.py``)."""

from __future__ import annotations

import os
import warnings

from celery import Celery
from celery.platforms import SecurityWarning
from celery.signals import worker_process_init, worker_ready

warnings.filterwarnings("ignore", message=r"You're running the worker with superuser privileges", category=SecurityWarning)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quantdesk.settings")

app = Celery("quantdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _warm(**_kwargs) -> None:
    from django.conf import settings

    if not settings.QUANTDESK_WARM_WORKERS:  # QUANTDESK_WARM_WORKERS=0: the test suite's short-lived workers
        return
    from trading.services.warmup import warm_process

    warm_process()


@worker_process_init.connect
def warm_pool_process(**kwargs) -> None:
    """Each prefork pool process loads every kernel and strategy before its first task (trading/services/warmup.py);
    ``worker_proc_alive_timeout`` (settings) leaves it the time a cold numba cache needs."""
    _warm(**kwargs)


@worker_ready.connect
def warm_solo_worker(sender=None, **kwargs) -> None:
    """Solo and thread pools run tasks in the main process: warm it once it is ready."""
    pool = getattr(sender, "pool", None)  # the sender is the worker's consumer
    name = type(pool).__module__ if pool is not None else ""
    if name.endswith(("solo", "thread")):
        _warm(**kwargs)
