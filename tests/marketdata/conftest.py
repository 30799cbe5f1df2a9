"""Market-data test setup: an own test database (PostgreSQL: a name of its own, since other branches' suites
may run at the same time against the same server; SQLite: a file, see below) and the fake Bybit V5 server (fakebybit: real HTTP + WebSocket on 127.0.0.1,
the real pybit client talks to it) with the desk's settings pointed at it."""

from __future__ import annotations

import pytest

from fakebybit.pytest_plugin import bybit_ws_patch, fake_bybit  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" in db["ENGINE"]:
        db.setdefault("TEST", {})["NAME"] = "test_quantdesk_marketdata"
    elif "sqlite" in db["ENGINE"]:
        # A file, not shared-cache memory: the feed writes from pybit's socket thread while the test reads,
        # and only a file database gets WAL and the busy timeout instead of "database table is locked".
        from quantdesk.env import VAR_DIR

        db.setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test_marketdata.sqlite3")


@pytest.fixture
def bybit(fake_bybit, settings):  # noqa: F811
    """The started fake with BYBIT_HTTP_ENDPOINT / BYBIT_WS_PUBLIC_ENDPOINT pointing at it, short retries."""
    settings.BYBIT_HTTP_ENDPOINT = fake_bybit.urls.http
    settings.BYBIT_WS_PUBLIC_ENDPOINT = fake_bybit.urls.ws_public
    settings.BYBIT_RETRY_DELAY = 0.05
    settings.BYBIT_RETRY_BACKOFF = 0.05
    return fake_bybit
