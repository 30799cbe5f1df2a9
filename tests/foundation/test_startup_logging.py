"""Start-up: Django starts without importing the strategies (pandas, numba), and a Celery worker says each log line
once (one root handler after Celery's and Django's logging are both set up) and no superuser warning per worker."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.shared_data import REPO_ROOT

PROBE = """
import logging, os, sys
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'quantdesk.settings')
from celery.signals import celeryd_after_setup
from quantdesk.celery import app

def probe(**kwargs):
    print('ROOT HANDLERS', len(logging.getLogger().handlers), flush=True)
    logging.getLogger('trading.probe').warning('probe line from a desk logger')
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(0)

celeryd_after_setup.connect(probe)
app.worker_main(['worker', '-l', 'info', '-P', 'solo', '-n', 'probe@%h'])
"""


def env(tmp_path) -> dict:
    out = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    # the probe exits before the worker connects: a broker nobody listens on is enough
    out.update(QUANTDESK_VAR_DIR=str(tmp_path / "var"), REDIS_URL="redis://127.0.0.1:9/0", PYTHONUNBUFFERED="1")
    return out


def test_a_worker_logs_each_line_once_and_no_superuser_warning(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env(tmp_path), stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert "ROOT HANDLERS 1" in text, text
    assert text.count("probe line from a desk logger") == 1, text
    assert "superuser privileges" not in text, text


def test_django_starts_without_the_strategies_numba_or_pandas(tmp_path):
    code = ("import django, sys; django.setup(); from django.urls import resolve; "
            "import django.core.management as m; m.get_commands(); "
            "print(sorted(n for n in ('numba', 'pandas', 'strategies.algos.base', 'strategies.algos.chandelier') "
            "if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT,
                         env={**env(tmp_path), "DJANGO_SETTINGS_MODULE": "quantdesk.settings"},
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
    # the registry still serves the shipped strategies on first use
    code = ("import django; django.setup(); from strategies.algos import registry; "
            "print(sorted(registry.shipped_names()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT,
                         env={**env(tmp_path), "DJANGO_SETTINGS_MODULE": "quantdesk.settings"},
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "['chandelier', 'drift', 'logistic', 'lorentzian']", out.stdout


def test_a_repeat_start_prepares_only_what_changed(tmp_path):
    """``rundesk --prepare`` (what ./desk start runs): the first start migrates and collects the static files,
    a repeat start finds both up to date and skips them; bootstrap_desk runs each time (idempotent)."""
    code = "import django, sys; django.setup(); from quantdesk.prepare import prepare; prepare(stdout=sys.stdout)"
    run_env = {**env(tmp_path), "DJANGO_SETTINGS_MODULE": "quantdesk.settings", "DESK_ADMIN_USER": "admin"}

    def prepare() -> str:
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=run_env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    first = prepare()
    assert "Applying trading.0001" in first and "static files: collected" in first
    assert (tmp_path / "var" / "staticfiles" / "staticfiles.json").exists()
    second = prepare()
    assert "migrations: up to date" in second and "static files: up to date" in second
    assert "Applying" not in second
    # a lost manifest (someone emptied the static folder) is collected again
    (tmp_path / "var" / "staticfiles" / "staticfiles.json").unlink()
    assert "static files: collected" in prepare()
