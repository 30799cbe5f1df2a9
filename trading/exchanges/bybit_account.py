"""What a live Bybit account must be before the desk sends it an opening order: isolated margin, one-way
position mode, and the fee rates the exchange really charges.

A unified account starts in cross margin (``REGULAR_MARGIN``), where the whole wallet backs every position: the
desk's isolated liquidation prices, its stop-before-liquidation check and its sizing would all be wrong there.
So before the first opening order of an account in a process (and again after ``READY_TTL`` seconds) the adapter
reads ``/v5/account/info`` and, unless the account is already ``ISOLATED_MARGIN``, switches it with
``/v5/account/set-margin-mode``; a refusal stops the order with the exchange's reason (no order is sent).
One-way mode is set with ``/v5/position/switch-mode`` (110025 "not modified" is success). Fee rates come from
``/v5/account/fee-rate``. Reduce-only orders never wait on any of this: closing must always be possible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from . import bybit_mapping as m
from .bybit_transport import call
from .types import ExchangeError

ISOLATED = "ISOLATED_MARGIN"
SET_MARGIN_MODE_FAILED = 3400045
POSITION_MODE_NOT_MODIFIED = 110025
READY_TTL = 600.0  # seconds a verified set-up is trusted in one process
_ready: dict[tuple, float] = {}


@dataclass(frozen=True)
class AccountSetup:
    margin_mode_before: str
    switched_to_isolated: bool
    maker_fee: Decimal | None
    taker_fee: Decimal | None


class MarginModeRefused(ExchangeError):
    """The exchange would not put the account in isolated margin: the desk sends it no opening order."""


def prepare_account(exchange, *, symbol: str | None = None) -> AccountSetup:
    """Isolated margin and one-way mode on ``exchange``'s account, and its fee rates (for ``symbol``)."""
    info = exchange._get("get_account_info")
    before = str(info.get("marginMode") or "")
    switched = False
    if before != ISOLATED:
        try:
            call(exchange._http.set_margin_mode, {"setMarginMode": ISOLATED})
        except ExchangeError as err:
            raise MarginModeRefused(
                err.code, f"margin mode: Bybit refused to switch the account from {before or 'unknown'} to "
                          f"{ISOLATED} ({err.message}); the desk trades isolated margin only, so no order was sent",
            ) from err
        switched = True
    scope = {"symbol": symbol} if symbol else {"coin": "USDT"}
    call(exchange._http.switch_position_mode, {"category": m.CATEGORY, "mode": 0, **scope},
         ok_codes=frozenset({POSITION_MODE_NOT_MODIFIED}))
    maker = taker = None
    rows = exchange._get("get_fee_rates", category=m.CATEGORY, **({"symbol": symbol} if symbol else {}))
    for row in rows.get("list") or []:
        if symbol is None or row.get("symbol") == symbol:
            maker, taker = Decimal(str(row["makerFeeRate"])), Decimal(str(row["takerFeeRate"]))
            break
    return AccountSetup(before, switched, maker, taker)


def ensure_ready(exchange, *, symbol: str) -> None:
    """``prepare_account`` once per account and endpoint per ``READY_TTL`` in this process."""
    key = (getattr(exchange.account, "pk", None), exchange.endpoint)
    now = time.monotonic()
    if now - _ready.get(key, -READY_TTL - 1) <= READY_TTL:
        return
    prepare_account(exchange, symbol=symbol)
    _ready[key] = now


def forget(account_pk) -> None:
    """Drop the cached verification of an account (its mode may have been changed outside the desk)."""
    for key in [k for k in _ready if k[0] == account_pk]:
        del _ready[key]
