"""Test-session setup: with no REDIS_URL, start the embedded redis-server the desk itself would use,
so ``pytest`` on a fresh clone talks to a real Redis either way."""

from __future__ import annotations


def pytest_configure(config):
    from django.conf import settings

    # Async tests reach the DB from worker threads; persistent connections there would outlive the test DB.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    from quantdesk.env import EMBEDDED_REDIS_PORT, VAR_DIR, uses_embedded_redis

    if uses_embedded_redis():
        from quantdesk import embedded_redis

        proc = embedded_redis.start(EMBEDDED_REDIS_PORT, VAR_DIR / "redis-test")
        config._embedded_redis = proc


def pytest_unconfigure(config):
    proc = getattr(config, "_embedded_redis", None)
    if proc is not None:
        proc.terminate()
        proc.wait(5)

