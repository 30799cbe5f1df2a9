"""Order, fill and acknowledgement records of the Simulator, with Bybit-like reject codes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from .reasons import EXIT_REASONS

# Bybit V5 retCodes the simulator answers with (specs/bybit.md §3.1)
PARAMS_ERROR = 10001
ORDER_NOT_FOUND = 110001
INSUFFICIENT_BALANCE = 110007
LEVERAGE_TOO_HIGH_FOR_TIER = 110013
REDUCE_ONLY_RULE = 110017
LEVERAGE_NOT_MODIFIED = 110043
DUPLICATE_ORDER_LINK_ID = 110072
RISK_LIMIT_EXCEEDED = 110090
BELOW_MIN_ORDER_VALUE = 110094

SIDES = ("Buy", "Sell")
ORDER_TYPES = ("Market", "Limit")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")
POST_ONLY_WOULD_TAKE = "EC_PostOnlyWillTakeLiquidity"


@dataclass(frozen=True)
class OrderRequest:
    """What a caller asks for; ``exit_reason`` labels the fills that reduce a position. Numbers may come as
    exchange strings or Decimals and are held as floats."""

    symbol: str
    side: str
    order_type: str
    qty: float
    price: float | None = None
    reduce_only: bool = False
    take_profit: float | None = None
    stop_loss: float | None = None
    client_order_id: str | None = None
    exit_reason: str = "signal"
    time_in_force: str = "GTC"  # "PostOnly": a Limit that only rests (cancelled at once when it would cross)

    def __post_init__(self) -> None:
        # the fake exchange and the API hand over exchange strings / Decimals: floats inside
        for name in ("qty", "price", "take_profit", "stop_loss"):
            value = getattr(self, name)
            if isinstance(value, (str, Decimal)):
                object.__setattr__(self, name, float(value))
        if self.exit_reason not in EXIT_REASONS:
            raise ValueError(f"exit_reason: {self.exit_reason!r} is not one of {EXIT_REASONS}")


@dataclass(frozen=True)
class OrderResult:
    """Acknowledgement: code 0 and an order id, or a Bybit-like retCode and message."""

    code: int
    message: str
    order_id: str | None = None
    client_order_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.code == 0


def ok(order_id: str | None = None, client_order_id: str | None = None) -> OrderResult:
    return OrderResult(0, "OK", order_id, client_order_id)


def reject(code: int, message: str, client_order_id: str | None = None) -> OrderResult:
    return OrderResult(code, message, None, client_order_id)


@dataclass
class Order:
    """An accepted order; status New -> Filled or Cancelled."""

    order_id: str
    symbol: str
    side: str
    order_type: str
    qty: float
    price: float | None
    reduce_only: bool
    take_profit: float | None
    stop_loss: float | None
    client_order_id: str | None
    exit_reason: str
    created_ts: int
    status: str = "New"
    reserved: float = 0.0
    time_in_force: str = "GTC"
    reject_reason: str = ""  # Bybit's: EC_PostOnlyWillTakeLiquidity for a post-only limit that would cross

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Fill:
    """One execution: a trade (entry/exit/TP/SL/liquidation) or a funding record.

    ``realised_pnl`` is the price PnL of the closed part (0 on opening fills); the wallet changes by
    ``realised_pnl - fee - funding``."""

    fill_id: str
    order_id: str
    symbol: str
    side: str
    qty: float
    price: float
    fee: float
    liquidity: str
    realised_pnl: float
    exit_reason: str
    ts: int
    kind: str = "trade"
    funding: float = 0.0
    closed_qty: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)
