"""The fake exchange's state, Django- and HTTP-free: listings, loaded market data and live quotes (shared by
everyone), and one independent account per API key (a KeyAccount: the engine's Simulator inside, its own
wallet, positions, orders, executions and margin mode). ``add_key`` opens a fresh account with the default
balance; the first key's account is ``exchange.account`` (what single-key tests use). Every method runs on the
server's loop thread; FakeBybit (server.py) marshals test-thread calls onto it."""

from __future__ import annotations

from .account import Account, Outcome
from .catalog import Listing, default_listings
from .formats import now_ms
from .marketdata import MarketData, Quote, next_funding_after

# each account's Simulator numbers its orders and executions from its own base, so ids stay unique across
# accounts as Bybit's are (the desk keeps exec ids unique over all accounts)
ID_SPACE = 1_000_000_000


class KeyAccount:
    """One API key's account. A private route gets it as its ``ex``: account fields are its own, everything
    else (listings, market, the clock) is the shared Exchange's."""

    def __init__(self, exchange: Exchange, key: str | None, index: int) -> None:
        self.exchange, self.key = exchange, key
        self.account = Account(exchange.listings, exchange.balance, exchange.market.quotes.get,
                               default_leverage=exchange.default_leverage)
        self.account.sim.seq = index * ID_SPACE
        for symbol in exchange.market.quotes:  # a new account sees the market as it is now
            self.account.on_price(symbol)
        self.margin_mode = "REGULAR_MARGIN"  # Bybit's default for a unified account: cross margin
        self.margin_mode_updated = now_ms()
        self.refuse_margin_mode: str | None = None  # a reason: set-margin-mode then fails like Bybit's 3400045

    def set_margin_mode(self, mode: str) -> None:
        self.margin_mode, self.margin_mode_updated = mode, now_ms()

    def __getattr__(self, name: str):
        if name == "exchange":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.exchange, name)


class Exchange:
    def __init__(self, listings: dict[str, Listing] | None = None, balance: float = 10_000.0,
                 keys: dict[str, str] | None = None, default_leverage: float = 10.0) -> None:
        self.listings = listings or default_listings()
        self.market = MarketData()
        self.balance, self.default_leverage = balance, default_leverage
        self.keys: dict[str, str] = {}
        self.clock_offset_ms = 0
        self.wallets: dict[str | None, KeyAccount] = {}
        for key, secret in (keys or {}).items():
            self.add_key(key, secret)
        if not self.wallets:  # no key yet: the first account still exists (the first key added takes it)
            self.wallets[None] = KeyAccount(self, None, 0)
        self.primary = next(iter(self.wallets.values()))

    def add_key(self, key: str, secret: str) -> KeyAccount:
        """A new key with a fresh account (default balance); a known key only gets its new secret."""
        self.keys[key] = secret
        if key not in self.wallets:
            spare = self.wallets.pop(None, None)
            if spare is not None:
                spare.key = key
            self.wallets[key] = spare or KeyAccount(self, key, len(self.wallets))
        return self.wallets[key]

    def wallet(self, key: str) -> KeyAccount:
        return self.wallets[key]

    # the first key's account, for single-account callers
    @property
    def account(self) -> Account:
        return self.primary.account

    @property
    def margin_mode(self) -> str:
        return self.primary.margin_mode

    @property
    def margin_mode_updated(self) -> int:
        return self.primary.margin_mode_updated

    @property
    def refuse_margin_mode(self) -> str | None:
        return self.primary.refuse_margin_mode

    @refuse_margin_mode.setter
    def refuse_margin_mode(self, reason: str | None) -> None:
        self.primary.refuse_margin_mode = reason

    def set_margin_mode(self, mode: str) -> None:
        self.primary.set_margin_mode(mode)

    def server_ms(self) -> int:
        """The exchange's clock (wall clock + a test-set offset, to provoke 10002)."""
        return now_ms() + self.clock_offset_ms

    def listing(self, symbol: str | None) -> Listing | None:
        return self.listings.get(symbol or "")

    def set_price(self, symbol: str, last: float, bid: float | None = None, ask: float | None = None,
                  mark: float | None = None, index: float | None = None, **extra) -> tuple[Quote, dict]:
        """Move the market of ``symbol``; every account's Simulator fills and triggers what it must. Returns the
        quote and each key's private events. Unset bid/ask default to last and last + one tick; mark/index to last."""
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
        return q, {key: w.account.on_price(symbol) for key, w in self.wallets.items()}

    def apply_funding(self, symbol: str, rate: float, mark: float | None = None, ts: int | None = None) -> dict:
        """Charge funding to every account's open position in ``symbol``; each key's private events."""
        q = self.market.quotes.get(symbol)
        mk = mark if mark is not None else (q.mark if q is not None else None)
        if mk is None:
            raise ValueError(f"mark: no price for {symbol} yet; set_price first or pass mark")
        ts = self.server_ms() if ts is None else ts
        self.market.funding.setdefault(symbol, {})[int(ts)] = float(rate)
        return {key: w.account.apply_funding(symbol, rate, mk, ts) for key, w in self.wallets.items()}


__all__ = ["Exchange", "KeyAccount", "Outcome"]
