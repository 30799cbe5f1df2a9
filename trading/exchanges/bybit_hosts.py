"""Which hosts a live account talks to: Bybit mainnet, testnet or demo trading (``Account.environment``).

One table, read by the REST adapter (bybit.py) and the private stream (bybit_stream.py). The one way to point
them elsewhere (a local fake exchange) stays the settings ``BYBIT_HTTP_ENDPOINT`` / ``BYBIT_WS_PRIVATE_ENDPOINT``:
when set they win over the table for every environment. Demo trading has no public streams of its own; the
desk's market feed always reads mainnet's public data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from trading.choices import BybitEnvironment


@dataclass(frozen=True)
class BybitHosts:
    environment: str
    rest: str  # REST base URL
    ws_private: str  # private WebSocket URL (execution, order, position, wallet)
    testnet: bool  # pybit's flags for the same host (its own URL table agrees: tests/exchanges/test_hosts.py)
    demo: bool


HOSTS = {
    BybitEnvironment.MAINNET: BybitHosts("mainnet", "https://api.bybit.com", "wss://stream.bybit.com/v5/private",
                                         testnet=False, demo=False),
    BybitEnvironment.TESTNET: BybitHosts("testnet", "https://api-testnet.bybit.com",
                                         "wss://stream-testnet.bybit.com/v5/private", testnet=True, demo=False),
    BybitEnvironment.DEMO: BybitHosts("demo", "https://api-demo.bybit.com", "wss://stream-demo.bybit.com/v5/private",
                                      testnet=False, demo=True),
}


def hosts_for(environment: str) -> BybitHosts:
    """The table's hosts of ``environment``; a clear error naming the field for anything else."""
    try:
        return HOSTS[BybitEnvironment(environment)]
    except ValueError:
        raise ValueError(f"environment: {environment!r} is not one of {', '.join(BybitEnvironment.values)}") from None


def rest_endpoint(environment: str) -> str:
    """settings.BYBIT_HTTP_ENDPOINT when set (a fake exchange), else the environment's REST host."""
    return (getattr(settings, "BYBIT_HTTP_ENDPOINT", None) or hosts_for(environment).rest).rstrip("/")


def private_ws_endpoint(environment: str) -> str:
    """settings.BYBIT_WS_PRIVATE_ENDPOINT when set (a fake exchange), else the environment's private stream."""
    return getattr(settings, "BYBIT_WS_PRIVATE_ENDPOINT", None) or hosts_for(environment).ws_private
