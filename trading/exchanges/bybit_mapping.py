"""Bybit V5 shapes <-> QuantDesk records for the live adapter: the engine Instrument from instruments-info
and risk-limit rows, the order/create body from an OrderIntent (Decimal strings on qtyStep/tickSize, never
'1e-05'), and position/order/execution/wallet rows -> the plain records of ``types.py`` (Decimal here).

Pure functions over dicts: no HTTP, no Django. Field meanings follow specs/bybit.md §3."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from trading.engine.instruments import Instrument, parse_risk_tiers

from .types import (
    ExchangeError,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    OrderIntent,
    Wallet,
)

CATEGORY = "linear"
PARAMS_ERROR = 10001
# stopOrderType -> our exit reason (a trailing stop is a stop-loss that moves)
STOP_REASON = {"TakeProfit": "tp", "PartialTakeProfit": "tp", "StopLoss": "sl", "PartialStopLoss": "sl",
               "TrailingStop": "sl"}
# Full-mode TP/SL legs live on the position (ExchangePosition.take_profit/stop_loss), not as orders
POSITION_LEGS = frozenset(STOP_REASON)
EXEC_TYPES = {"Trade": "Trade", "Funding": "Funding", "BustTrade": "BustTrade"}


def dec(value, *, blank: Decimal | None = None) -> Decimal | None:
    """A Bybit number string as Decimal; "" / None -> ``blank``."""
    if value is None or value == "":
        return blank
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ExchangeError(-1, f"exchange sent {value!r} where a number belongs") from None


def price_or_none(value) -> Decimal | None:
    """Prices where Bybit writes "0" or "" for "not set" (TP/SL, liqPrice, limit price of a market order)."""
    d = dec(value)
    return None if d is None or d == 0 else d


def plain(d: Decimal) -> str:
    """A Decimal as a plain string without exponent or trailing zeros: 20 -> "20", 12.50 -> "12.5"."""
    text = format(Decimal(d).normalize(), "f")
    return text


def ms_to_dt(ms) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


# ----- instrument ----------------------------------------------------------------------------------
def instrument_from(info: dict, risk_rows: list[dict]) -> Instrument:
    """The engine Instrument of one instruments-info row and the symbol's risk-limit rows."""
    symbol = info["symbol"]
    rows = sorted((r for r in risk_rows if r.get("symbol", symbol) == symbol),
                  key=lambda r: Decimal(r["riskLimitValue"]))
    try:
        tiers = parse_risk_tiers([{"risk_limit_value": r["riskLimitValue"], "mmr": r["maintenanceMargin"],
                                   "imr": r["initialMargin"], "max_leverage": r.get("maxLeverage")} for r in rows])
    except (KeyError, ValueError) as e:
        raise ExchangeError(-1, f"risk-limit of {symbol}: {e}") from None
    lot, prices, lev = info["lotSizeFilter"], info["priceFilter"], info["leverageFilter"]
    return Instrument(
        symbol=symbol, tick_size=float(prices["tickSize"]), qty_step=float(lot["qtyStep"]),
        min_qty=float(lot["minOrderQty"]), max_leverage=float(lev["maxLeverage"]), tiers=tiers,
        min_notional=float(lot.get("minNotionalValue") or 0),
        funding_interval_minutes=int(info.get("fundingInterval") or 480))


# ----- order/create body ---------------------------------------------------------------------------
def order_body(intent: OrderIntent, inst: Instrument) -> dict:
    """The /v5/order/create body. Qty must already be on qtyStep (sizing rounds down; a qty off the
    step is refused here with Bybit's 10001 rather than silently resized); prices snap to the tick."""
    if not intent.client_order_id:
        raise ExchangeError(PARAMS_ERROR, "client_order_id: required (it is the orderLinkId that makes "
                                          "place_order safe to retry)")
    qty = float(intent.qty)
    if not qty > 0 or not inst.qty_on_step(qty):
        raise ExchangeError(PARAMS_ERROR, f"Qty invalid: qty {format(Decimal(intent.qty), 'f')} is not a "
                                          f"positive multiple of qtyStep {inst.qty_str(inst.qty_step)} "
                                          f"of {intent.symbol}")
    body = {"category": CATEGORY, "symbol": intent.symbol, "side": intent.side, "orderType": intent.order_type,
            "qty": inst.qty_str(qty), "positionIdx": 0, "orderLinkId": intent.client_order_id}
    if intent.order_type == "Limit":
        if intent.price is None:
            raise ExchangeError(PARAMS_ERROR, "price: a Limit order needs a price")
        body["price"] = inst.price_str(float(intent.price))
        body["timeInForce"] = "PostOnly" if intent.time_in_force == "PostOnly" else "GTC"
    else:
        body["timeInForce"] = "IOC"
    if intent.reduce_only:
        body["reduceOnly"] = True
    if intent.take_profit is not None or intent.stop_loss is not None:
        body["tpslMode"] = "Full"
        if intent.take_profit is not None:
            body["takeProfit"] = inst.price_str(float(intent.take_profit))
            body["tpTriggerBy"] = "LastPrice"
        if intent.stop_loss is not None:
            body["stopLoss"] = inst.price_str(float(intent.stop_loss))
            body["slTriggerBy"] = "LastPrice"
    return body


def leg_price(inst: Instrument, value: Decimal | None) -> str | None:
    """trading-stop leg: None keeps it, 0 cancels it ("0"), else the price on the tick."""
    if value is None:
        return None
    return "0" if Decimal(value) == 0 else inst.price_str(float(value))


# ----- rows -> records -----------------------------------------------------------------------------
def position_from(row: dict) -> ExchangePosition | None:
    """A /v5/position/list row; None for the zero row Bybit returns when flat."""
    qty = dec(row.get("size"), blank=Decimal("0"))
    if qty == 0 or row.get("side") not in ("Buy", "Sell"):
        return None
    margin = dec(row.get("positionBalance")) or dec(row.get("positionIM"), blank=Decimal("0"))
    return ExchangePosition(
        symbol=row["symbol"], side="long" if row["side"] == "Buy" else "short", qty=qty,
        entry_price=dec(row.get("avgPrice") or row.get("entryPrice")), leverage=dec(row.get("leverage")),
        margin=margin, liquidation_price=price_or_none(row.get("liqPrice")),
        bankruptcy_price=price_or_none(row.get("bustPrice")), take_profit=price_or_none(row.get("takeProfit")),
        stop_loss=price_or_none(row.get("stopLoss")), mark_price=price_or_none(row.get("markPrice")),
        unrealised_pnl=dec(row.get("unrealisedPnl"), blank=Decimal("0")))


def order_from(row: dict) -> ExchangeOrder:
    return ExchangeOrder(
        order_id=row["orderId"], client_order_id=row.get("orderLinkId") or "", symbol=row["symbol"],
        side=row["side"], order_type=row["orderType"], qty=dec(row.get("qty"), blank=Decimal("0")),
        price=price_or_none(row.get("price")), reduce_only=bool(row.get("reduceOnly")),
        status=row["orderStatus"], filled_qty=dec(row.get("cumExecQty"), blank=Decimal("0")),
        avg_price=price_or_none(row.get("avgPrice")),
        reject_reason="" if row.get("rejectReason") in (None, "", "EC_NoError") else str(row["rejectReason"]))


def is_position_leg(row: dict) -> bool:
    return row.get("stopOrderType", "") in POSITION_LEGS


def fill_from(row: dict) -> ExchangeFill:
    """An /v5/execution/list row. Funding: the amount paid (+) or received (-) is ``funding``, fee 0, as
    the paper adapter records it. Exec types other than Trade/Funding/BustTrade (AdlTrade, ...) are Trade."""
    exec_type = EXEC_TYPES.get(row.get("execType", "Trade"), "Trade")
    amount = dec(row.get("execFee"), blank=Decimal("0"))
    if exec_type == "BustTrade":
        reason = "liquidation"
    elif exec_type == "Funding":
        reason = ""  # a funding record is no exit; exec_type says what it is
    else:
        reason = STOP_REASON.get(row.get("stopOrderType") or "", "")
    return ExchangeFill(
        exec_id=f"bybit-{row['execId']}", order_id=row.get("orderId", ""), symbol=row["symbol"], side=row["side"],
        qty=dec(row.get("execQty"), blank=Decimal("0")), price=dec(row.get("execPrice"), blank=Decimal("0")),
        fee=Decimal("0") if exec_type == "Funding" else amount,
        fee_rate=dec(row.get("feeRate"), blank=Decimal("0")), is_maker=bool(row.get("isMaker")),
        realised_pnl=dec(row.get("execPnl"), blank=Decimal("0")), exec_type=exec_type, exit_reason=reason,
        executed_at=ms_to_dt(row["execTime"]), client_order_id=row.get("orderLinkId") or "",
        funding=amount if exec_type == "Funding" else Decimal("0"))


def wallet_from(account_row: dict, coin: str = "USDT") -> Wallet:
    """Isolated margin (spec §3): available = walletBalance - totalPositionIM - totalOrderIM - locked - bonus;
    the account-wide totals do not apply and are kept in ``extra`` only."""
    c = next((x for x in account_row.get("coin", []) if x.get("coin") == coin), None)
    if c is None:
        zero = Decimal("0")
        return Wallet(balance=zero, equity=zero, unrealised_pnl=zero, used_margin=zero, available=zero,
                      extra={"coin": coin, "missing": True})

    def num(name: str) -> Decimal:
        return dec(c.get(name), blank=Decimal("0"))

    used = num("totalPositionIM") + num("totalOrderIM")
    available = num("walletBalance") - used - num("locked") - num("bonus")
    return Wallet(balance=num("walletBalance"), equity=num("equity"), unrealised_pnl=num("unrealisedPnl"),
                  used_margin=used, available=available,
                  extra={"coin": coin, "locked": num("locked"), "bonus": num("bonus"),
                         "total_position_mm": num("totalPositionMM"),
                         "total_available_balance": dec(account_row.get("totalAvailableBalance"))})
