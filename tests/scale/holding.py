"""A paper account holding N positions (one per symbol), each with its config's latest signal saying "hold"."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.exchanges.paper import PaperExchange
from trading.exchanges.types import OrderIntent
from trading.models import Instrument, Position, Signal
from trading.services.recording import sync_account

T0_MS = 1_731_654_000_000


class Quotes:
    """Fixed feed prices per symbol, all stamped ``ts``."""

    def __init__(self):
        self.q: dict[str, dict] = {}
        self.ts = T0_MS

    def __call__(self, symbol: str) -> dict | None:
        return self.q.get(symbol)


def holding_symbols(n: int) -> list[str]:
    """S0USDT.. S{n-1}USDT, each with its instrument (tick and qty step 0.01), created where missing."""
    symbols = [f"S{i}USDT" for i in range(n)]
    for s in symbols:
        if not Instrument.objects.filter(symbol=s).exists():
            make_instrument(s, tick_size=Decimal("0.01"), qty_step=Decimal("0.01"), min_qty=Decimal("0.01"),
                            min_notional=Decimal("1"))
    return symbols


def holding_account(n: int, *, username: str = "scale") -> tuple:
    """(account, config, exchange, now) with ``n`` open longs of 1 unit at 100 on symbols S0USDT..; each
    symbol's newest Signal forecasts 101 with confidence 0.8, as at entry: the monitor holds every one
    (drift +1 % from a +1 % baseline, young, confidence unchanged)."""
    quotes = Quotes()
    symbols = holding_symbols(n)
    for s in symbols:
        quotes.q[s] = {"last": 100.0, "mark": 100.0, "bid": 100.0, "ask": 100.0, "ts": T0_MS}
    account = make_account(make_user(username), starting_capital=Decimal("100000"), max_open_positions=n + 1)
    config = make_config(account, make_strategy("drift"), leverage=Decimal("10"), sizing_mode="kelly",
                         allocation=None, kelly_fraction=Decimal("0.5"), symbols=symbols, enabled=True)
    exchange = PaperExchange(account, quote=quotes, now_ms=lambda: quotes.ts)
    for s in symbols:
        exchange.set_leverage(s, Decimal("10"))
        exchange.place_order(OrderIntent(symbol=s, side="Buy", qty=Decimal("1"), client_order_id=f"open-{s}"))
    sync_account(account=account, exchange=exchange)
    bar = datetime.fromtimestamp(T0_MS / 1000, tz=UTC)
    Position.objects.filter(account=account).update(config=config, entry_drift=0.01, drift_baseline=0.01,
                                                    entry_confidence=0.8, confidence_baseline=0.8,
                                                    half_life_seconds=86_400.0)
    Signal.objects.bulk_create([Signal(config=config, symbol=s, bar_time=bar, signal=1, price=100, forecast=101,
                                       drift=0.01, confidence=0.8, half_life_seconds=86_400.0) for s in symbols])
    assert Position.objects.filter(account=account, status="open").count() == n
    return account, config, exchange, datetime.fromtimestamp(T0_MS / 1000 + 60, tz=UTC)
