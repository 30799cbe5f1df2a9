"""The Celery app: Redis broker, tasks discovered from the Django apps, beat via the database scheduler.

Celery's superuser warning (a worker started as root, as in a container) is not repeated by every worker at
every start: ``rundesk`` says it once (``quantdesk/launcher.py``)."""

from __future__ import annotations

import os
import warnings

from celery import Celery
from celery.platforms import SecurityWarning

warnings.filterwarnings("ignore", message=r"You're running the worker with superuser privileges", category=SecurityWarning)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quantdesk.settings")

app = Celery("quantdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
