"""Private REST handlers (orders, positions, account): validate the V5 parameters, call the Account
(the engine's Simulator inside) and shape the reply. Each takes (exchange, params) -> Outcome."""

from __future__ import annotations

import re

from trading.engine.orders import OrderRequest

from .account import Outcome
from .formats import flag, plain
from .params import ParamError, integer, number, page, text
from .routes_public import _category, _listing
from .shapes import closed_pnl_row, execution_row, leg_row, order_row, position_row, wallet_row

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")


def _leg_price(params: dict, name: str) -> float | None:
    """TP/SL: absent -> None, "0" -> 0.0 (cancel), else the price."""
    value = number(params, name)
    if value is not None and value < 0:
        raise ParamError(f"params error: {name} must not be negative")
    return value


def create_order(ex, params):
    _category(params)
    lst = _listing(ex, params)
    side, order_type = text(params, "side", True), text(params, "orderType", True)
    if side not in ("Buy", "Sell"):
        raise ParamError(f"params error: side {side!r} invalid")
    if order_type not in ("Market", "Limit"):
        raise ParamError(f"params error: orderType {order_type!r} invalid")
    qty = number(params, "qty", True)
    cap = lst.max_mkt_order_qty if order_type == "Market" else lst.max_order_qty
    if qty > cap:
        raise ParamError(f"The number of contracts exceeds maximum limit allowed ({order_type} max {lst.qty(cap)})")
    price = number(params, "price")
    if order_type == "Limit" and price is None:
        raise ParamError("params error: price is required for a Limit order")
    position_idx = integer(params, "positionIdx", 0)
    if position_idx != 0:
        raise ParamError(f"position idx({position_idx}) not match position mode (the fake is one-way only)")
    link_id = text(params, "orderLinkId", default="")
    if link_id and not LINK_ID.match(link_id):
        raise ParamError(f"params error: orderLinkId {link_id!r} must be 1-36 of [A-Za-z0-9_-]")
    tif = text(params, "timeInForce", default="IOC" if order_type == "Market" else "GTC")
    if tif not in TIME_IN_FORCE:
        raise ParamError(f"params error: timeInForce {tif!r} invalid")
    mode = text(params, "tpslMode", default="Full")
    if mode != "Full":
        raise ParamError(f"params error: tpslMode {mode!r} is not supported by the fake (Full only)")
    tp, sl = _leg_price(params, "takeProfit"), _leg_price(params, "stopLoss")
    if tif == "PostOnly" and order_type != "Limit":
        raise ParamError("params error: timeInForce PostOnly needs orderType Limit")
    req = OrderRequest(lst.symbol, side, order_type, qty, price if order_type == "Limit" else None,
                       flag(params.get("reduceOnly", False)), tp or None, sl or None, link_id or None,
                       time_in_force=tif if tif == "PostOnly" else "GTC")
    return ex.account.create_order(req, link_id, tif, position_idx)


def cancel_order(ex, params):
    _category(params)
    lst = _listing(ex, params)
    oid, link = text(params, "orderId"), text(params, "orderLinkId")
    if oid is None and link is None:
        raise ParamError("params error: orderId or orderLinkId is required")
    return ex.account.cancel_order(lst.symbol, oid, link)


def cancel_all(ex, params):
    _category(params)
    lst = _listing(ex, params)
    return ex.account.cancel_all(lst.symbol)


def set_leverage(ex, params):
    _category(params)
    lst = _listing(ex, params)
    buy, sell = number(params, "buyLeverage", True), number(params, "sellLeverage", True)
    if buy != sell:
        raise ParamError("params error: buyLeverage must equal sellLeverage in one-way mode")
    return ex.account.set_leverage(lst.symbol, buy)


def trading_stop(ex, params):
    _category(params)
    lst = _listing(ex, params)
    mode = text(params, "tpslMode", default="Full")
    if mode != "Full":
        raise ParamError(f"params error: tpslMode {mode!r} is not supported by the fake (Full only)")
    if integer(params, "positionIdx", 0) != 0:
        raise ParamError("params error: positionIdx must be 0 (one-way mode)")
    if number(params, "trailingStop") not in (None, 0.0):
        raise ParamError("params error: trailingStop is not supported by the fake")
    tp, sl = _leg_price(params, "takeProfit"), _leg_price(params, "stopLoss")
    return ex.account.trading_stop(lst.symbol, tp, sl)


MARGIN_MODES = ("ISOLATED_MARGIN", "REGULAR_MARGIN", "PORTFOLIO_MARGIN")
SET_MARGIN_MODE_FAILED = 3400045
POSITION_MODE_NOT_MODIFIED = 110025


def account_info(ex, params):
    """GET /v5/account/info: a unified account (status 5) in its current margin mode (cross by default)."""
    return Outcome(result={"unifiedMarginStatus": 5, "marginMode": ex.margin_mode, "isMasterTrader": False,
                           "spotHedgingStatus": "OFF", "updatedTime": str(ex.margin_mode_updated)})


def set_margin_mode(ex, params):
    """The account's margin mode. The Simulator behind the fake margins every position in isolation, so an
    account left in cross is still simulated isolated; the mode is kept so clients can be checked for setting it.
    ``ex.refuse_margin_mode`` (a reason) makes it answer like Bybit when the switch is not allowed."""
    mode = text(params, "setMarginMode", True)
    if mode not in MARGIN_MODES:
        raise ParamError(f"params error: setMarginMode {mode!r} is not one of {', '.join(MARGIN_MODES)}")
    if ex.refuse_margin_mode:
        return Outcome(SET_MARGIN_MODE_FAILED, "Set margin mode failed",
                       {"reasons": [{"reasonCode": "3400000", "reasonMsg": ex.refuse_margin_mode}]})
    if mode == "PORTFOLIO_MARGIN":
        return Outcome(SET_MARGIN_MODE_FAILED, "Set margin mode failed",
                       {"reasons": [{"reasonCode": "3400000", "reasonMsg": "portfolio margin is not simulated"}]})
    ex.set_margin_mode(mode)
    return Outcome(result={"reasons": []})


def switch_position_mode(ex, params):
    """POST /v5/position/switch-mode: one-way (0) only; 110025 when it is already so."""
    _category(params)
    _need_scope(params, ("symbol", "coin"))
    mode = integer(params, "mode", None)
    if mode not in (0, 3):
        raise ParamError(f"params error: mode {mode!r} must be 0 (one-way) or 3 (hedge)")
    if mode == 3:
        raise ParamError("params error: hedge mode (3) is not supported by the fake (one-way only)")
    return Outcome(POSITION_MODE_NOT_MODIFIED, "Position mode is not modified")


def _need_scope(params: dict, names: tuple[str, ...]) -> None:
    if not any(text(params, n) for n in names):
        raise ParamError(f"params error: one of {', '.join(names)} is required")


def order_history(ex, params):
    """Finished orders (Filled / Cancelled / Deactivated), newest first."""
    return order_realtime(ex, params, history=True)


def order_realtime(ex, params, history: bool = False):
    cat = _category(params)
    if not history:
        _need_scope(params, ("symbol", "settleCoin", "baseCoin"))
    lst = _listing(ex, params, required=False)
    acct = ex.account
    oid, link = text(params, "orderId"), text(params, "orderLinkId")
    open_only = integer(params, "openOnly", 0)
    limit = integer(params, "limit", 20, lo=1, hi=50, clamp=True)
    orders = [(o.created_ts, order_row(acct, o)) for o in acct.sim.orders.values()]
    orders += [(leg.created, leg_row(acct, leg)) for leg in acct.cond.legs.values()]
    rows = [r for _, r in sorted(orders, key=lambda t: (t[0], t[1]["orderId"]), reverse=True)
            if lst is None or r["symbol"] == lst.symbol]
    if oid or link:
        rows = [r for r in rows if (not oid or r["orderId"] == oid) and (not link or r["orderLinkId"] == link)]
    elif history:
        rows = [r for r in rows if r["orderStatus"] not in ("New", "PartiallyFilled", "Untriggered")]
    elif open_only == 0:
        rows = [r for r in rows if r["orderStatus"] in ("New", "PartiallyFilled", "Untriggered")]
    else:
        rows = [r for r in rows if r["orderStatus"] not in ("New", "PartiallyFilled", "Untriggered")][:500]
    chunk, nxt = page(rows, limit, text(params, "cursor"))
    return Outcome(result={"category": cat, "list": chunk, "nextPageCursor": nxt})


def position_list(ex, params):
    cat = _category(params)
    _need_scope(params, ("symbol", "settleCoin", "baseCoin"))
    lst = _listing(ex, params, required=False)
    limit = integer(params, "limit", 20, lo=1, hi=200, clamp=True)
    if lst is not None:
        rows = [position_row(ex.account, lst.symbol)]
    else:
        rows = [position_row(ex.account, s) for s in sorted(ex.account.sim.positions)]
    chunk, nxt = page(rows, limit, text(params, "cursor"))
    return Outcome(result={"category": cat, "list": chunk, "nextPageCursor": nxt})


def wallet_balance(ex, params):
    account_type = text(params, "accountType", True)
    if account_type != "UNIFIED":
        raise ParamError(f"accountType only support UNIFIED (got {account_type!r})")
    coin = text(params, "coin")
    row = wallet_row(ex.account)
    if coin is not None:
        row["coin"] = [c for c in row["coin"] if c["coin"] in coin.split(",")]
    return Outcome(result={"list": [row]})


def _time_filtered(ex, params, records, row_fn, limit_max: int, default: int):
    cat = _category(params)
    lst = _listing(ex, params, required=False)
    oid = text(params, "orderId")
    start, end = integer(params, "startTime"), integer(params, "endTime")
    limit = integer(params, "limit", default, lo=1, hi=limit_max, clamp=True)
    rows = []
    for rec in reversed(records):
        f = rec["fill"]
        if (lst is None or f.symbol == lst.symbol) and (oid is None or rec["order_id"] == oid) \
                and (start is None or f.ts >= start) and (end is None or f.ts <= end):
            rows.append(row_fn(ex.account, rec))
    exec_type = text(params, "execType")
    if exec_type is not None:
        rows = [r for r in rows if r["execType"] == exec_type]
    chunk, nxt = page(rows, limit, text(params, "cursor"))
    return Outcome(result={"category": cat, "list": chunk, "nextPageCursor": nxt})


def execution_list(ex, params):
    return _time_filtered(ex, params, ex.account.executions, execution_row, 100, 50)


def closed_pnl(ex, params):
    return _time_filtered(ex, params, ex.account.closed_pnl, closed_pnl_row, 100, 50)


def fee_rate(ex, params):
    _category(params)
    lst = _listing(ex, params, required=False)
    fees = ex.account.sim.fees
    rows = [{"symbol": x.symbol, "baseCoin": "", "takerFeeRate": plain(fees.taker), "makerFeeRate": plain(fees.maker)}
            for x in ([lst] if lst is not None else ex.listings.values())]
    return Outcome(result={"list": rows})


GET_ROUTES = {
    "/v5/order/realtime": order_realtime,
    "/v5/order/history": order_history,
    "/v5/position/list": position_list,
    "/v5/account/wallet-balance": wallet_balance,
    "/v5/execution/list": execution_list,
    "/v5/position/closed-pnl": closed_pnl,
    "/v5/account/fee-rate": fee_rate,
    "/v5/account/info": account_info,
}
POST_ROUTES = {
    "/v5/order/create": create_order,
    "/v5/order/cancel": cancel_order,
    "/v5/order/cancel-all": cancel_all,
    "/v5/position/set-leverage": set_leverage,
    "/v5/position/trading-stop": trading_stop,
    "/v5/account/set-margin-mode": set_margin_mode,
    "/v5/position/switch-mode": switch_position_mode,
}
