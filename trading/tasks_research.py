"""Celery tasks of walk-forward studies (thin: one call into trading/services/research.py), on the research
queue (``CELERY_TASK_ROUTES``: ``research.*``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="research.study_step")
def study_step_task(study_id: int) -> str:
    from trading.services.research import run_study_step

    return run_study_step(study_id=study_id)


@shared_task(name="research.finish_study")
def finish_study_task(study_id: int) -> str:
    from trading.services.research import finish_study

    study = finish_study(study_id=study_id)
    return study.status if study else "gone"
