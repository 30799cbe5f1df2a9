"""Fixtures for the fake-exchange tests: the shared plugin fixtures plus a collector for WS callbacks."""

from __future__ import annotations

import queue

import pytest

from fakebybit.pytest_plugin import bybit_http, bybit_ws_patch, fake_bybit  # noqa: F401


class Inbox:
    """Collects WS callback messages (deep-copied: pybit shares and mutates ticker dicts)."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()

    def __call__(self, message: dict) -> None:
        import copy

        self.q.put(copy.deepcopy(message))

    def get(self, timeout: float = 60.0) -> dict:  # a ceiling: returns as soon as the message is there
        return self.q.get(timeout=timeout)

    def take(self, n: int, timeout: float = 60.0) -> list[dict]:
        return [self.get(timeout) for _ in range(n)]


@pytest.fixture
def inbox():
    return Inbox()


@pytest.fixture
def ws_factory(bybit_ws_patch):  # noqa: F811 (the imported fixture, requested by name)
    """Build pybit WebSockets against the fake; every one is closed after the test."""
    from pybit.unified_trading import WebSocket

    made = []

    def make(**kwargs):
        kwargs.setdefault("testnet", False)
        kwargs.setdefault("channel_type", "linear")
        ws = WebSocket(**kwargs)
        made.append(ws)
        return ws

    yield make
    for ws in made:
        ws.exit()
