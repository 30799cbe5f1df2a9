"""A local fake Bybit V5 exchange (HTTP + WebSocket) driven by the engine's Simulator, for tests that
use the real pybit client. ``FakeBybit().start()`` returns the URLs; see server.py and pytest_plugin.py."""

from .faults import KINDS as FAULT_KINDS
from .server import FakeBybit, Urls

__all__ = ["FAULT_KINDS", "FakeBybit", "Urls"]
