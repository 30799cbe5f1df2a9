"""Shared fixtures for the strategy tests: real candles (skipping when ../shared/data is absent), read once."""

from __future__ import annotations

import functools

import pytest

from tests.shared_data import load_candles


@functools.cache
def _candles(symbol: str, nrows: int | None):
    return load_candles(symbol, nrows=nrows)


@pytest.fixture(scope="session")
def btc5000():
    """The first 5,000 BTCUSDT 5-minute bars."""
    return _candles("BTCUSDT", 5000).copy()


@pytest.fixture(scope="session")
def btc_all():
    """All 116,350 BTCUSDT 5-minute bars."""
    return _candles("BTCUSDT", None).copy()


@pytest.fixture(scope="session")
def eth_all():
    return _candles("ETHUSDT", None).copy()
