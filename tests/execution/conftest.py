"""Fixtures for the execution tests: a paper account on a fine-step BTCUSDT, driven by a quote the test sets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.exchanges.paper import PaperExchange


class Quotes:
    """The feed's latest prices as the paper exchange reads them; ``set`` moves the market (ts in ms)."""

    def __init__(self):
        self.q: dict[str, dict] = {}
        self.ts = 1_731_654_000_000

    def set(self, symbol: str, last: float, *, bid: float | None = None, ask: float | None = None,
            mark: float | None = None, step_ms: int = 30_000) -> None:
        self.ts += step_ms
        self.q[symbol] = {"last": last, "bid": bid if bid is not None else last,
                          "ask": ask if ask is not None else last, "mark": mark if mark is not None else last,
                          "ts": self.ts}

    def __call__(self, symbol: str) -> dict | None:
        return self.q.get(symbol)


@pytest.fixture
def quotes():
    return Quotes()


@pytest.fixture
def desk(db, quotes):
    """The seed desk's worked example: 25 USDT, 50x, kelly 0.5, BTCUSDT on a 0.00001 step."""
    user = make_user()
    make_instrument("BTCUSDT", qty_step=Decimal("0.00001"), min_qty=Decimal("0.00001"))
    make_instrument("ETHUSDT", tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"))
    account = make_account(user, starting_capital=Decimal("25"),
                           slippage_bps=Decimal("0"))  # DESIGN's worked example fills at the quote itself
    # TP 96,150 and SL 95,950 from 96,000: +0.15625 % and -0.05208 % (snapped to the 0.10 tick)
    config = make_config(account, make_strategy("drift"), leverage=Decimal("50"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), take_profit_pct=Decimal("0.15625"),
                         stop_loss_pct=Decimal("0.05208"), enabled=True)
    return account, config, PaperExchange(account, quote=quotes)
