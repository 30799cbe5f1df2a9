"""Test-session setup.

- Redis: with no REDIS_URL, a private embedded redis-server (the binary the desk itself uses) on a free port
  for this session, so ``pytest`` on a fresh clone talks to a real Redis and never shares one with a running
  desk or another test session.
- Database: with SQLite, the test database is a file (not shared-cache memory), because feeds, Celery workers
  and Channels write from their own threads and only a file database gets WAL and the busy timeout.
  PostgreSQL (``DATABASE_URL``) is used as configured.
"""

from __future__ import annotations

import os
import socket

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_configure(config):
    from django.conf import settings

    from quantdesk.env import VAR_DIR, channel_layer_hosts, uses_embedded_redis

    # Async tests reach the DB from worker threads; persistent connections there would outlive the test DB.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Test workers (in process and subprocesses) start and stop often: no start-up warm-up of every strategy.
    settings.QUANTDESK_WARM_WORKERS = False
    os.environ["QUANTDESK_WARM_WORKERS"] = "0"
    # One test database file, refilled by every test with look-alike candles: the columnar research cache is off
    # (tests/scale/test_columnar_candles.py turns it on in a directory of its own).
    settings.QUANTDESK_CANDLE_CACHE_DIR = None
    # Pages render in-process without collectstatic (the desk itself serves hashed files from STATIC_ROOT).
    settings.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    # The developer's own user_strategies/ folder stays out of the suite; tests that need one make their own.
    settings.QUANTDESK_USER_STRATEGIES_DIR = None
    from strategies.algos import registry

    registry.configure(user_dir=None)
    if uses_embedded_redis():
        from quantdesk import embedded_redis

        port = _free_port()
        config._embedded_redis = embedded_redis.start(port, VAR_DIR / f"redis-test-{port}")
        url = f"redis://127.0.0.1:{port}/0"
        settings.REDIS_URL = settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = url
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = channel_layer_hosts(url)
        from quantdesk.celery import app

        app.conf.broker_url = app.conf.result_backend = url


def pytest_unconfigure(config):
    proc = getattr(config, "_embedded_redis", None)
    if proc is not None:
        proc.terminate()
        proc.wait(5)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        from quantdesk.env import VAR_DIR

        db.setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test_quantdesk.sqlite3")


@pytest.fixture(autouse=True)
def _fresh_desk_keys():
    """The desk's own Redis keys (prices, feed status and clock, locks: ``qd:*``) start empty in every test."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter("qd:*", count=1000))
    if keys:
        client.delete(*keys)
    yield
