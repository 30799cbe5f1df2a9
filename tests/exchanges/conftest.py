"""Fixtures for the adapter tests: a live-switched account holding the fake's keys, the Bybit adapter on
the fake (real pybit over HTTP), a paper adapter driven by a quote function, one ``venue`` fixture that
parametrises the contract over both, and a terminal summary of the fault scenarios' counts."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from fakebybit.pytest_plugin import DEFAULT_QUOTES, fake_bybit  # noqa: F401  (fixture, requested by name)
from tests.factories import make_instrument, make_user
from trading.engine.instruments import ETH_TIERS
from trading.exchanges.bybit import BybitExchange
from trading.models import Account

FAST = (0.01, 0.02, 0.05)  # backoff for tests: the same retry path, shorter sleeps
FAULT_SUMMARY: list[dict] = []  # filled by test_bybit_faults, printed after the run
ETH_TIER_ROWS = [{"risk_limit_value": str(t.risk_limit_value), "mmr": str(t.mmr), "imr": str(t.imr)}
                 for t in ETH_TIERS]


def live_account(owner, api_key: str, api_secret: str, name: str = "Live") -> Account:
    acc = Account(owner=owner, name=name, mode="live", live_trading_enabled=True, environment="testnet")
    acc.set_api_credentials(api_key=api_key, api_secret=api_secret)
    acc.full_clean()
    acc.save()
    return acc


@pytest.fixture
def account(db, fake_bybit):  # noqa: F811
    return live_account(make_user("trader"), fake_bybit.api_key, fake_bybit.api_secret)


@pytest.fixture
def bybit(account, fake_bybit):  # noqa: F811
    return BybitExchange(account, endpoint=fake_bybit.urls.http, backoff=FAST, timeout=5.0)


class Quotes:
    """The paper adapter's price source: {last, mark, bid, ask, ts}, ts strictly rising per change."""

    def __init__(self, quotes: dict) -> None:
        self.prices: dict[str, dict] = {}
        self.ts = int(time.time() * 1000)
        for symbol, (last, bid, ask) in quotes.items():
            self.set(symbol, last, bid=bid, ask=ask)

    def set(self, symbol: str, last: float, bid: float | None = None, ask: float | None = None,
            mark: float | None = None) -> None:
        self.ts = max(self.ts + 1, int(time.time() * 1000))
        self.prices[symbol] = {"last": last, "mark": last if mark is None else mark,
                               "bid": last if bid is None else bid, "ask": last if ask is None else ask,
                               "ts": self.ts}

    def __call__(self, symbol: str) -> dict | None:
        q = self.prices.get(symbol)
        return None if q is None else dict(q)


class Venue:
    """One adapter plus how a test moves its prices and counts the orders it accepted."""

    def __init__(self, name, exchange, set_price, accepted, taker: Decimal) -> None:
        self.name, self.exchange, self.set_price, self.accepted, self.taker = name, exchange, set_price, accepted, taker


@pytest.fixture(params=["paper", "bybit"])
def venue(request, db):
    if request.param == "bybit":
        fake = request.getfixturevalue("fake_bybit")
        ex = request.getfixturevalue("bybit")
        return Venue("bybit", ex, fake.set_price, lambda: fake.counters.snapshot()["orders_accepted"],
                     Decimal("0.00055"))
    from trading.exchanges.paper import PaperExchange

    make_instrument("BTCUSDT")
    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"),
                    risk_tiers=ETH_TIER_ROWS)
    acc = Account(owner=make_user("paper-trader"), name="Paper", maker_fee=Decimal("0.0002"),
                  taker_fee=Decimal("0.00055"), starting_capital=Decimal("10000"),  # the fake's fees/balance
                  slippage_bps=Decimal("0"))  # and its fills: at the quoted ask/bid, no slippage on top
    acc.full_clean()
    acc.save()
    quotes = Quotes(DEFAULT_QUOTES)
    ex = PaperExchange(acc, quote=quotes)

    def accepted() -> int:
        with ex.session(mark=False) as sim:
            return len(sim.orders)

    return Venue("paper", ex, quotes.set, accepted, Decimal("0.00055"))


def pytest_terminal_summary(terminalreporter):
    if not FAULT_SUMMARY:
        return
    tr = terminalreporter
    tr.section("bybit adapter fault scenarios (counts from the fake exchange)")
    tr.write_line(f"{'scenario':<38}{'create sent':>12}{'on fake':>9}{'110072':>8}{'lookups':>9}  outcome")
    for row in FAULT_SUMMARY:
        tr.write_line(f"{row['scenario']:<38}{row['sent']:>12}{row['accepted']:>9}{row['duplicates']:>8}"
                      f"{row['lookups']:>9}  {row['outcome']}")
