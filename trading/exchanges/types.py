"""The Exchange protocol and the plain records adapters exchange with services (Decimal at this edge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from trading.engine.instruments import Instrument as EngineInstrument


class ExchangeError(Exception):
    """An order or request the exchange refused or could not answer; ``code`` is Bybit's retCode
    (or an HTTP status for transport failures), ``retryable`` says whether trying again may help."""

    def __init__(self, code: int, message: str, *, retryable: bool = False):
        super().__init__(f"{message} (code {code})")
        self.code, self.message, self.retryable = code, message, retryable


KILL_SWITCH_REFUSED = -1001  # the desk's own code: the account's kill switch is engaged


def refuse_if_killed(account, intent) -> None:
    """Raise ExchangeError(KILL_SWITCH_REFUSED) for a non-reduce-only ``intent`` on an account whose kill
    switch is engaged, read fresh from the database (the adapters' own guard, behind the order service's)."""
    if intent.reduce_only:
        return
    from trading.models import Account

    if Account.objects.filter(pk=account.pk, kill_switch_engaged=True).exists():
        raise ExchangeError(KILL_SWITCH_REFUSED, f"account {account.pk}: kill switch engaged, only reduce-only "
                                                 "orders are accepted")


class LiveTradingRefused(PermissionError):
    """An account that is not explicitly switched to live (mode, switch and keys) asked for Bybit."""


@dataclass(frozen=True)
class OrderIntent:
    symbol: str
    side: str  # "Buy" | "Sell"
    qty: Decimal
    client_order_id: str
    order_type: str = "Market"
    price: Decimal | None = None
    reduce_only: bool = False
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    exit_reason: str = "signal"
    time_in_force: str = "GTC"  # "PostOnly" for a maker-only Limit (Market orders are always IOC)


@dataclass(frozen=True)
class OrderAck:
    order_id: str
    client_order_id: str
    duplicate: bool = False  # the exchange already had this client order id: placed before, not again


@dataclass(frozen=True)
class ExchangeOrder:
    order_id: str
    client_order_id: str
    symbol: str
    side: str
    order_type: str
    qty: Decimal
    price: Decimal | None
    reduce_only: bool
    status: str  # Bybit's: New, PartiallyFilled, Filled, Cancelled, Rejected, Untriggered
    filled_qty: Decimal = Decimal("0")
    avg_price: Decimal | None = None
    reject_reason: str = ""  # e.g. EC_PostOnlyWillTakeLiquidity: a post-only limit cancelled because it would cross


@dataclass(frozen=True)
class ExchangeFill:
    exec_id: str
    order_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_rate: Decimal
    is_maker: bool
    realised_pnl: Decimal
    exec_type: str  # "Trade" | "Funding" | "BustTrade"
    exit_reason: str
    executed_at: datetime
    client_order_id: str = ""
    funding: Decimal = Decimal("0")


@dataclass(frozen=True)
class ExchangePosition:
    symbol: str
    side: str  # "long" | "short"
    qty: Decimal
    entry_price: Decimal
    leverage: Decimal
    margin: Decimal
    liquidation_price: Decimal | None
    bankruptcy_price: Decimal | None
    take_profit: Decimal | None
    stop_loss: Decimal | None
    mark_price: Decimal | None = None
    unrealised_pnl: Decimal = Decimal("0")


@dataclass(frozen=True)
class Wallet:
    balance: Decimal
    equity: Decimal
    unrealised_pnl: Decimal
    used_margin: Decimal
    available: Decimal
    extra: dict = field(default_factory=dict)


class Exchange(Protocol):
    """What services may ask of an exchange. Methods raise ExchangeError; set_leverage treats
    "leverage not modified" (110043) as success; place_order reports a duplicate client order id
    (110072) as ``OrderAck(duplicate=True)`` instead of raising."""

    name: str

    def instrument(self, symbol: str) -> EngineInstrument: ...
    def wallet(self) -> Wallet: ...
    def set_leverage(self, symbol: str, leverage: Decimal) -> None: ...
    def place_order(self, intent: OrderIntent) -> OrderAck: ...
    def cancel_order(self, symbol: str, *, order_id: str) -> None: ...
    def set_trading_stop(self, symbol: str, *, take_profit: Decimal | None = None,
                         stop_loss: Decimal | None = None) -> None: ...
    def positions(self) -> list[ExchangePosition]: ...
    def open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]: ...
    def find_order(self, symbol: str, client_order_id: str) -> ExchangeOrder | None: ...
    def executions(self, *, symbol: str | None = None, since: datetime | None = None) -> list[ExchangeFill]: ...
    def last_price(self, symbol: str) -> Decimal | None: ...
    def touch_price(self, symbol: str, side: int) -> Decimal | None: ...  # bid for a long, ask for a short
