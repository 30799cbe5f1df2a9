"""Market-data test setup: the fake Bybit V5 server (fakebybit: real HTTP + WebSocket on 127.0.0.1, the real
pybit client talks to it) with the desk's settings pointed at it."""

from __future__ import annotations

import pytest

from fakebybit.pytest_plugin import bybit_ws_patch, fake_bybit  # noqa: F401  (fixtures)


@pytest.fixture
def bybit(fake_bybit, settings):  # noqa: F811
    """The started fake with BYBIT_HTTP_ENDPOINT / BYBIT_WS_PUBLIC_ENDPOINT pointing at it, short retries."""
    settings.BYBIT_HTTP_ENDPOINT = fake_bybit.urls.http
    settings.BYBIT_WS_PUBLIC_ENDPOINT = fake_bybit.urls.ws_public
    settings.BYBIT_RETRY_DELAY = 0.05
    settings.BYBIT_RETRY_BACKOFF = 0.05
    return fake_bybit
