"""Pytest fixtures for the fake Bybit exchange, importable by any test package (in its conftest.py or
test module; ``pytest_plugins = ["fakebybit.pytest_plugin"]`` works only in the ROOT conftest):

    from fakebybit.pytest_plugin import fake_bybit, bybit_http, bybit_ws_patch  # noqa: F401

``fake_bybit`` is a started FakeBybit (function scope) with BTCUSDT and ETHUSDT listed and quoted
(DEFAULT_QUOTES), key/secret API_KEY/API_SECRET and 10,000 USDT; ``bybit_http`` a real pybit HTTP
session pointed at it; ``bybit_ws_patch`` patches pybit's WS URL templates for the test (then build
``WebSocket(testnet=False, ...)``). Helpers on the fake: load_candles / load_mark_candles /
load_funding, set_price (drives the Simulator), push_kline / push_trade, apply_funding, drop_ws,
wait_subscribed, set_rate_limit, set_clock_offset, faults.next(path, kind), counters.snapshot(),
add_key(key, secret) (a second key: its own account, wallet and private stream; market data shared).
Nothing here mocks pybit or the server."""

from __future__ import annotations

import pytest

from .server import FakeBybit

API_KEY = "test-api-key"
API_SECRET = "test-api-secret"
DEFAULT_BALANCE = 10_000.0
# symbol -> (last, bid1, ask1)
DEFAULT_QUOTES = {"BTCUSDT": (65_000.0, 64_999.9, 65_000.1), "ETHUSDT": (3_500.0, 3_499.99, 3_500.01)}


def start_fake(balance: float = DEFAULT_BALANCE, quotes: dict | None = None, **kwargs) -> FakeBybit:
    """A started FakeBybit with the default key/secret and quotes (pass ``quotes={}`` for none)."""
    fake = FakeBybit(api_key=API_KEY, api_secret=API_SECRET, balance=balance, **kwargs)
    fake.start()
    for symbol, (last, bid, ask) in (DEFAULT_QUOTES if quotes is None else quotes).items():
        fake.set_price(symbol, last, bid=bid, ask=ask)
    return fake


def pybit_http(fake: FakeBybit, **kwargs):
    """A real ``pybit.unified_trading.HTTP`` talking to ``fake`` (retry_delay 0.05 s unless given)."""
    from pybit.unified_trading import HTTP

    kwargs.setdefault("api_key", fake.api_key)
    kwargs.setdefault("api_secret", fake.api_secret)
    kwargs.setdefault("retry_delay", 0.05)
    session = HTTP(**kwargs)
    session.endpoint = fake.urls.http
    return session


@pytest.fixture
def fake_bybit():
    fake = start_fake()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def bybit_http(fake_bybit):
    return pybit_http(fake_bybit)


@pytest.fixture
def bybit_ws_patch(fake_bybit, monkeypatch):
    """Point ``pybit.unified_trading.WebSocket`` at the fake for this test (construct it afterwards
    with ``testnet=False``)."""
    import pybit.unified_trading as ut

    monkeypatch.setattr(ut, "PUBLIC_WSS", fake_bybit.urls.public_wss_template)
    monkeypatch.setattr(ut, "PRIVATE_WSS", fake_bybit.urls.ws_private)
    return fake_bybit
