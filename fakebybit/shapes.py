"""Simulator state -> Bybit V5 record shapes (order, TP/SL leg, position, execution, wallet,
closed PnL), with numbers as strings at instrument precision and ints where spec §3 says."""

from __future__ import annotations

from trading.engine import rules

from .formats import money, ms_str, now_ms, plain

ORDER_STATUS = {"New": "New", "Filled": "Filled", "Cancelled": "Cancelled"}


def _opt_price(lst, x) -> str:
    return "0" if x is None or x == 0 else lst.price(x)


def _order_common(symbol: str) -> dict:
    return {"category": "linear", "symbol": symbol, "isLeverage": "", "blockTradeId": "", "orderIv": "",
            "placeType": "", "smpType": "None", "smpGroup": 0, "smpOrderId": "", "triggerDirection": 0,
            "triggerBy": "", "tpLimitPrice": "0", "slLimitPrice": "0", "marketUnit": "",
            "slippageToleranceType": "UNKNOWN", "slippageTolerance": "0"}


def order_row(account, order) -> dict:
    """An order of the Simulator as /v5/order/realtime and the ``order`` stream show it."""
    lst = account.listings[order.symbol]
    meta = account.meta[order.order_id]
    status = ORDER_STATUS.get(order.status, order.status)
    if status == "New" and meta.cum_qty > 0:
        status = "PartiallyFilled"
    leaves = order.qty - meta.cum_qty if status in ("New", "PartiallyFilled") else 0.0
    closed = sum(r["fill"].realised_pnl - r["fill"].fee - r["open_fee"] for r in account.closed_pnl
                 if r["order_id"] == order.order_id)
    has_tpsl = bool(order.take_profit) or bool(order.stop_loss)
    row = _order_common(order.symbol)
    row.update({
        "orderId": order.order_id, "orderLinkId": meta.order_link_id, "side": order.side,
        "orderType": order.order_type, "price": _opt_price(lst, order.price), "qty": lst.qty(order.qty),
        "timeInForce": meta.time_in_force, "orderStatus": status, "positionIdx": int(meta.position_idx),
        "reduceOnly": bool(order.reduce_only), "closeOnTrigger": False, "leavesQty": lst.qty(leaves),
        "leavesValue": money(leaves * (order.price or 0.0)), "cumExecQty": lst.qty(meta.cum_qty),
        "cumExecValue": money(meta.cum_value), "cumExecFee": money(meta.cum_fee),
        "avgPrice": lst.raw_price(meta.cum_value / meta.cum_qty) if meta.cum_qty else "",
        "closedPnl": money(closed), "takeProfit": _opt_price(lst, order.take_profit),
        "stopLoss": _opt_price(lst, order.stop_loss), "tpslMode": "Full" if has_tpsl else "",
        "tpTriggerBy": "LastPrice" if order.take_profit else "", "slTriggerBy": "LastPrice" if order.stop_loss else "",
        "stopOrderType": "", "triggerPrice": "", "cancelType": meta.cancel_type,
        "rejectReason": getattr(order, "reject_reason", "") or "EC_NoError", "createType": meta.create_type, "lastPriceOnCreated": "",
        "createdTime": ms_str(meta.created), "updatedTime": ms_str(meta.updated),
    })
    return row


def leg_row(account, leg) -> dict:
    """A Full-mode TP/SL conditional order."""
    lst = account.listings[leg.symbol]
    row = _order_common(leg.symbol)
    row.update({
        "orderId": leg.order_id, "orderLinkId": "", "side": leg.side, "orderType": "Market", "price": "0",
        "qty": "0", "timeInForce": "IOC", "orderStatus": leg.status, "positionIdx": 0, "reduceOnly": True,
        "closeOnTrigger": True, "leavesQty": "0", "leavesValue": "0", "cumExecQty": lst.qty(leg.exec_qty),
        "cumExecValue": money(leg.exec_value), "cumExecFee": money(leg.exec_fee),
        "avgPrice": lst.raw_price(leg.exec_value / leg.exec_qty) if leg.exec_qty else "", "closedPnl": "0",
        "takeProfit": "0", "stopLoss": "0", "tpslMode": "Full", "tpTriggerBy": "", "slTriggerBy": "",
        "stopOrderType": leg.kind, "triggerPrice": lst.price(leg.trigger), "triggerBy": "LastPrice",
        "triggerDirection": 1 if (leg.kind == "TakeProfit") == (leg.side == "Sell") else 2,
        "cancelType": "UNKNOWN", "rejectReason": "EC_NoError", "createType": f"CreateBy{leg.kind}",
        "lastPriceOnCreated": "", "createdTime": ms_str(leg.created), "updatedTime": ms_str(leg.updated),
    })
    return row


def _mark(account, symbol: str) -> float | None:
    q = account.quote(symbol)
    return account.sim.mark.get(symbol, q.mark if q is not None else None)


def position_mm(account, pos) -> float:
    lst = account.listings[pos.symbol]
    _, tier = lst.tier(pos.qty * pos.entry_price)
    return float(rules.maintenance_margin(pos.qty, pos.entry_price, tier.mmr, tier.mm_deduction))


def position_row(account, symbol: str, ws: bool = False) -> dict:
    """/v5/position/list row (``avgPrice``) or ``position`` stream row (``entryPrice``); a zero row when flat."""
    lst = account.listings[symbol]
    pos = account.sim.positions.get(symbol)
    mark = _mark(account, symbol)
    times = account.pos_times.get(symbol, [now_ms(), now_ms()])
    row = {"category": "linear", "symbol": symbol, "positionIdx": 0, "tradeMode": 0, "autoAddMargin": 0,
           "positionStatus": "Normal", "isReduceOnly": False, "tpslMode": "Full", "trailingStop": "0",
           "sessionAvgPrice": "", "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "",
           "cumRealisedPnl": money(account.cum_realised.get(symbol, 0.0)), "seq": int(account.exec_seq),
           "markPrice": lst.price(mark) if mark is not None else "", "createdTime": ms_str(times[0]),
           "updatedTime": ms_str(times[1])}
    if pos is None:
        rid, tier = lst.tier(0.0)
        row.update({"side": "", "size": "0", "avgPrice": "0", "positionValue": "0",
                    "leverage": plain(account.sim.leverage[symbol]), "positionIM": "0", "positionMM": "0",
                    "positionBalance": "0", "liqPrice": "", "bustPrice": "", "takeProfit": "0", "stopLoss": "0",
                    "unrealisedPnl": "0", "curRealisedPnl": "0", "riskId": rid,
                    "riskLimitValue": plain(tier.risk_limit_value), "adlRankIndicator": 0})
    else:
        rid, tier = lst.tier(pos.qty * pos.entry_price)
        upl = pos.unrealised_pnl(mark if mark is not None else pos.entry_price)
        row.update({"side": pos.side_name, "size": lst.qty(pos.qty), "avgPrice": lst.raw_price(pos.entry_price),
                    "positionValue": money(pos.qty * pos.entry_price), "leverage": plain(pos.leverage),
                    "positionIM": money(pos.margin), "positionMM": money(position_mm(account, pos)),
                    "positionBalance": money(pos.margin), "liqPrice": lst.raw_price(pos.liq_price),
                    "bustPrice": lst.raw_price(pos.bankruptcy_price),
                    "takeProfit": _opt_price(lst, pos.take_profit), "stopLoss": _opt_price(lst, pos.stop_loss),
                    "unrealisedPnl": money(upl), "curRealisedPnl": money(pos.realised_pnl), "riskId": rid,
                    "riskLimitValue": plain(tier.risk_limit_value), "adlRankIndicator": 2})
    if ws:
        row["entryPrice"] = row.pop("avgPrice")
    return row


def execution_row(account, rec: dict) -> dict:
    f = rec["fill"]
    lst = account.listings[f.symbol]
    order = account.sim.orders.get(rec["order_id"])
    leg = account.cond.legs.get(rec["order_id"])
    meta = account.meta.get(rec["order_id"])
    funding = rec["exec_type"] == "Funding"
    if funding:
        notional = f.qty * f.price * (1.0 if f.side == "Buy" else -1.0)
        fee, rate = f.funding, (f.funding / notional if notional else 0.0)
    else:
        fee, rate = f.fee, account.sim.fees.rate(f.liquidity)
    return {
        "category": "linear", "symbol": f.symbol, "execId": f.fill_id, "orderId": rec["order_id"],
        "orderLinkId": meta.order_link_id if meta is not None else "", "side": f.side,
        "orderType": order.order_type if order is not None else ("UNKNOWN" if funding else "Market"),
        "orderQty": lst.qty(order.qty) if order is not None else lst.qty(f.qty if not funding else 0.0),
        "orderPrice": _opt_price(lst, order.price) if order is not None else lst.raw_price(f.price),
        "execPrice": lst.raw_price(f.price), "execQty": lst.qty(f.qty), "execValue": money(f.qty * f.price),
        "execFee": money(fee), "feeRate": plain(round(rate, 10)), "execType": rec["exec_type"],
        "isMaker": f.liquidity == "maker", "leavesQty": "0", "closedSize": lst.qty(f.closed_qty),
        "execPnl": money(f.realised_pnl), "markPrice": lst.price(rec["mark"]), "indexPrice": "",
        "stopOrderType": leg.kind if leg is not None else "", "createType": meta.create_type if meta else "",
        "blockTradeId": "", "underlyingPrice": "", "tradeIv": "", "markIv": "", "execTime": ms_str(f.ts),
        "seq": int(rec["seq"]),
    }


def wallet_row(account) -> dict:
    sim = account.sim
    upl = sim.unrealised_pnl()
    mm = sum(position_mm(account, p) for p in sim.positions.values())
    im = sim.used_margin + sim.order_margin
    coin = {"coin": "USDT", "equity": money(sim.equity), "usdValue": money(sim.equity),
            "walletBalance": money(sim.balance), "free": "", "locked": "0", "spotHedgingQty": "0",
            "borrowAmount": "0", "availableToWithdraw": "", "accruedInterest": "0",
            "totalOrderIM": money(sim.order_margin), "totalPositionIM": money(sim.used_margin),
            "totalPositionMM": money(mm), "unrealisedPnl": money(upl),
            "cumRealisedPnl": money(sum(account.cum_realised.values())), "bonus": "0",
            "marginCollateral": True, "collateralSwitch": True, "availableToBorrow": ""}
    return {"accountType": "UNIFIED", "accountIMRate": money(im / sim.equity if sim.equity else 0.0, 4),
            "accountMMRate": money(mm / sim.equity if sim.equity else 0.0, 4), "accountLTV": "0",
            "totalEquity": money(sim.equity), "totalWalletBalance": money(sim.balance),
            "totalMarginBalance": money(sim.equity), "totalAvailableBalance": money(sim.available),
            "totalPerpUPL": money(upl), "totalInitialMargin": money(im), "totalMaintenanceMargin": money(mm),
            "coin": [coin]}


def closed_pnl_row(account, rec: dict) -> dict:
    f = rec["fill"]
    lst = account.listings[f.symbol]
    order = account.sim.orders.get(rec["order_id"])
    entry, qty = rec["entry"], f.closed_qty
    return {
        "symbol": f.symbol, "orderId": rec["order_id"], "side": f.side,
        "qty": lst.qty(order.qty if order is not None else qty),
        "orderPrice": _opt_price(lst, order.price) if order is not None else lst.raw_price(f.price),
        "orderType": order.order_type if order is not None else "Market", "execType": rec["exec_type"],
        "closedSize": lst.qty(qty), "cumEntryValue": money(entry * qty), "avgEntryPrice": lst.raw_price(entry),
        "cumExitValue": money(f.price * qty), "avgExitPrice": lst.raw_price(f.price),
        "closedPnl": money(f.realised_pnl - f.fee - rec["open_fee"]), "fillCount": "1",
        "leverage": plain(rec["leverage"]), "openFee": money(rec["open_fee"]), "closeFee": money(f.fee),
        "createdTime": ms_str(f.ts), "updatedTime": ms_str(f.ts),
    }
