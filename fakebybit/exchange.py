"""The fake exchange's state, Django- and HTTP-free: listings, loaded market data, live quotes, API keys
and the one Account (the engine's Simulator inside). Every method runs on the server's loop thread;
FakeBybit (server.py) marshals test-thread calls onto it."""

from __future__ import annotations

from .account import Account, Outcome
from .catalog import Listing, default_listings
from .formats import now_ms
from .marketdata import MarketData, Quote, next_funding_after


class Exchange:
    def __init__(self, listings: dict[str, Listing] | None = None, balance: float = 10_000.0,
                 keys: dict[str, str] | None = None, default_leverage: float = 10.0) -> None:
        self.listings = listings or default_listings()
        self.market = MarketData()
        self.keys = dict(keys or {})
        self.clock_offset_ms = 0
        self.account = Account(self.listings, balance, self.market.quotes.get, default_leverage=default_leverage)
        self.margin_mode = "REGULAR_MARGIN"  # Bybit's default for a unified account: cross margin
        self.margin_mode_updated = now_ms()
        self.refuse_margin_mode: str | None = None  # a reason: set-margin-mode then fails like Bybit's 3400045

    def set_margin_mode(self, mode: str) -> None:
        self.margin_mode, self.margin_mode_updated = mode, now_ms()

    def server_ms(self) -> int:
        """The exchange's clock (wall clock + a test-set offset, to provoke 10002)."""
        return now_ms() + self.clock_offset_ms

    def listing(self, symbol: str | None) -> Listing | None:
        return self.listings.get(symbol or "")

    def set_price(self, symbol: str, last: float, bid: float | None = None, ask: float | None = None,
                  mark: float | None = None, index: float | None = None, **extra) -> tuple[Quote, list]:
        """Move the market of ``symbol``; the Simulator fills and triggers what it must. Returns the quote
        and the private events. Unset bid/ask default to last and last + one tick; mark/index to last."""
        lst = self.listings[symbol]
        tick = lst.instrument.tick_size
        if bid is not None and ask is not None and bid > ask:
            raise ValueError(f"bid/ask: bid {bid} is above ask {ask}")
        if min(x for x in (last, bid, ask, mark, index) if x is not None) <= 0:
            raise ValueError("prices must be positive")
        q = self.market.quotes.get(symbol)
        fields = {"last": last, "bid": last if bid is None else bid, "ask": last + tick if ask is None else ask,
                  "mark": last if mark is None else mark, "index": last if index is None else index}
        if q is None:
            q = Quote(**fields, next_funding_time=next_funding_after(self.server_ms(),
                                                                       lst.instrument.funding_interval_minutes))
            self.market.quotes[symbol] = q
        else:
            q.tick_direction = "PlusTick" if last > q.last else "MinusTick" if last < q.last else "ZeroPlusTick"
            for k, v in fields.items():
                setattr(q, k, v)
        for k, v in extra.items():
            if not hasattr(q, k):
                raise ValueError(f"{k}: not a Quote field")
            setattr(q, k, v)
        return q, self.account.on_price(symbol)

    def apply_funding(self, symbol: str, rate: float, mark: float | None = None, ts: int | None = None) -> list:
        q = self.market.quotes.get(symbol)
        mk = mark if mark is not None else (q.mark if q is not None else None)
        if mk is None:
            raise ValueError(f"mark: no price for {symbol} yet; set_price first or pass mark")
        ts = self.server_ms() if ts is None else ts
        self.market.funding.setdefault(symbol, {})[int(ts)] = float(rate)
        return self.account.apply_funding(symbol, rate, mk, ts)


__all__ = ["Exchange", "Outcome"]
