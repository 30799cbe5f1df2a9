"""The Celery app: Redis broker, tasks discovered from the Django apps, beat via the database scheduler."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quantdesk.settings")

app = Celery("quantdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
