"""One Bybit unified account backed by the engine's Simulator: translates V5 order / leverage /
trading-stop requests into Simulator calls and turns what the Simulator did (new fills, order status,
TP/SL legs, positions) into V5 records and private-stream events. No fill, fee, margin or liquidation
rule lives here: the Simulator decides, this module keeps Bybit's bookkeeping (ids, link ids, times,
cumulative order figures, closed-PnL rows)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trading.engine.fees import FeeSchedule
from trading.engine.orders import ORDER_NOT_FOUND, OrderRequest
from trading.engine.simulator import Simulator

from .catalog import Listing
from .conditionals import Conditionals
from .formats import now_ms
from .shapes import execution_row, leg_row, order_row, position_row, wallet_row

BYBIT_FEES = FeeSchedule(maker=0.0002, taker=0.00055)
EXEC_TYPE = {"liquidation": "BustTrade", "funding": "Funding"}


@dataclass
class OrderMeta:
    """What Bybit knows about an order beyond the Simulator's Order."""

    order_link_id: str
    time_in_force: str
    created: int
    updated: int
    position_idx: int = 0
    cum_qty: float = 0.0
    cum_value: float = 0.0
    cum_fee: float = 0.0
    cancel_type: str = "UNKNOWN"
    create_type: str = "CreateByUser"


@dataclass
class Outcome:
    """A request's reply (retCode, retMsg, result) and the private events it caused."""

    code: int = 0
    msg: str = "OK"
    result: dict = field(default_factory=dict)
    events: list[tuple[str, list]] = field(default_factory=list)


class Account:
    """See module doc. ``quote(symbol)`` gives the current Quote (last/bid/ask/mark)."""

    def __init__(self, listings: dict[str, Listing], balance: float, quote, fees: FeeSchedule = BYBIT_FEES,
                 default_leverage: float = 10.0) -> None:
        self.listings = listings
        self.quote = quote
        self.sim = Simulator({s: lst.instrument for s, lst in listings.items()}, balance, fees,
                             max_open_positions=10_000, default_leverage=default_leverage,
                             slippage_bps=0.0)  # the fake fills at its quoted ask/bid: the spread is the cost
        self.meta: dict[str, OrderMeta] = {}
        self.executions: list[dict] = []
        self.closed_pnl: list[dict] = []
        self.cum_realised: dict[str, float] = {}
        self.open_fee: dict[str, list[float]] = {}
        self.pos_times: dict[str, list[int]] = {}
        self.cond = Conditionals()
        self.seq = 0
        self.exec_seq = 0

    # ----- requests ----------------------------------------------------------------------------
    def create_order(self, req: OrderRequest, link_id: str, tif: str, position_idx: int) -> Outcome:
        ts = now_ms()
        res = self.sim.place_order(req, ts=ts)
        if not res.accepted:
            return Outcome(res.code, res.message)
        self.meta[res.order_id] = OrderMeta(link_id, tif, ts, ts, position_idx)
        out = Outcome(result={"orderId": res.order_id, "orderLinkId": link_id})
        out.events = self.run(lambda: self._price_event(req.symbol, ts), ts, touched={res.order_id})
        return out

    def cancel_order(self, symbol: str, order_id: str | None, link_id: str | None) -> Outcome:
        ts = now_ms()
        oid = self.find_order_id(symbol, order_id, link_id)
        leg = self.cond.find(order_id, link_id)
        if leg is not None and leg.active:
            return self.trading_stop(symbol, **{leg.kind_arg: 0.0}, reply={"orderId": leg.order_id,
                                                                            "orderLinkId": ""})
        if oid is None:
            return Outcome(ORDER_NOT_FOUND, "Order does not exist")
        res = self.sim.cancel_order(oid)
        if not res.accepted:
            return Outcome(res.code, res.message)
        self.meta[oid].cancel_type = "CancelByUser"
        out = Outcome(result={"orderId": oid, "orderLinkId": self.meta[oid].order_link_id})
        out.events = self.run(lambda: None, ts, touched={oid})
        return out

    def cancel_all(self, symbol: str) -> Outcome:
        """Cancel every open (New) order of ``symbol``; TP/SL legs stay (Bybit's default orderFilter)."""
        ts = now_ms()
        done = []
        for order in self.sim.open_orders(symbol):
            if self.sim.cancel_order(order.order_id).accepted:
                self.meta[order.order_id].cancel_type = "CancelByUser"
                done.append(order.order_id)
        out = Outcome(result={"list": [{"orderId": o, "orderLinkId": self.meta[o].order_link_id} for o in done],
                              "success": "1"})
        out.events = self.run(lambda: None, ts, touched=set(done))
        return out

    def set_leverage(self, symbol: str, leverage: float) -> Outcome:
        res = self.sim.set_leverage(symbol, leverage)
        return Outcome(res.code, res.message)

    def trading_stop(self, symbol: str, take_profit: float | None = None, stop_loss: float | None = None,
                     reply: dict | None = None) -> Outcome:
        ts = now_ms()
        holder: list = []
        events = self.run(lambda: holder.append(self.sim.set_trading_stop(symbol, take_profit, stop_loss)), ts,
                          always_position={symbol})
        res = holder[0]
        if not res.accepted:
            return Outcome(res.code, res.message)
        return Outcome(result=reply or {}, events=events)

    def on_price(self, symbol: str, ts: int | None = None) -> list[tuple[str, list]]:
        """A new quote for ``symbol``: the Simulator fills/triggers what it must."""
        ts = now_ms() if ts is None else ts
        return self.run(lambda: self._price_event(symbol, ts), ts)

    def apply_funding(self, symbol: str, rate: float, mark: float, ts: int | None = None) -> list:
        ts = now_ms() if ts is None else ts
        return self.run(lambda: self.sim.apply_funding(symbol, ts, rate, mark), ts)

    def _price_event(self, symbol: str, ts: int) -> None:
        q = self.quote(symbol)
        if q is not None:
            self.sim.on_price(symbol, ts, q.last, mark=q.mark, bid=q.bid, ask=q.ask)

    # ----- the one place Simulator state changes are turned into records and events ---------------
    def run(self, action, ts: int, touched: set[str] | None = None,
            always_position: set[str] | None = None) -> list[tuple[str, list]]:
        """Run ``action`` on the Simulator; return [(topic, records)] in Bybit's push order."""
        n_fills = len(self.sim.fills)
        status = {oid: o.status for oid, o in self.sim.orders.items()}
        action()
        new_fills = self.sim.fills[n_fills:]
        changed = set(touched or ())
        changed |= {oid for oid, o in self.sim.orders.items() if status.get(oid) != o.status}
        executions = [self._record_fill(f) for f in new_fills]
        for oid in changed:
            if oid in self.meta:
                self.meta[oid].updated = ts
                if self.sim.orders[oid].status == "Cancelled" and self.meta[oid].cancel_type == "UNKNOWN":
                    self.meta[oid].cancel_type = "CancelByReduceOnly"  # the Simulator dropped it with the position
        symbols = {f.symbol for f in new_fills} | set(always_position or ())
        self._track_positions(symbols, ts)
        triggered = {f.order_id: f for f in new_fills if f.exit_reason in ("tp", "sl")}
        leg_changes = self.cond.sync(self.sim.positions, ts, triggered, self.seq_next)
        events: list[tuple[str, list]] = []
        orders = [order_row(self, self.sim.orders[o]) for o in sorted(changed) if o in self.sim.orders]
        orders += [leg_row(self, leg) for leg in leg_changes]
        if orders:
            events.append(("order", orders))
        if executions:
            events.append(("execution", [execution_row(self, e) for e in executions]))
        if symbols:
            events.append(("position", [position_row(self, s, ws=True) for s in sorted(symbols)]))
        if executions:
            events.append(("wallet", [wallet_row(self)]))
        return events

    def seq_next(self) -> int:
        self.seq += 1
        return self.seq

    def _record_fill(self, f) -> dict:
        """Turn a Simulator Fill into an execution record (and a closed-PnL row when it closes)."""
        sym = f.symbol
        order_id = self.cond.order_id_for_fill(f.order_id) or f.order_id
        if f.kind == "trade" and f.exit_reason == "liquidation":
            order_id = "liq-" + f.fill_id
            self.meta[order_id] = OrderMeta("", "IOC", f.ts, f.ts, create_type="CreateByLiq")
        self.exec_seq += 1
        kind = EXEC_TYPE.get(f.exit_reason if f.kind == "trade" else f.kind, "Trade")
        rec = {"fill": f, "order_id": order_id, "exec_type": kind, "seq": self.exec_seq,
               "mark": self.sim.mark.get(sym, f.price)}
        self.executions.append(rec)
        self.cum_realised[sym] = self.cum_realised.get(sym, 0.0) + f.realised_pnl - f.fee - f.funding
        meta = self.meta.get(order_id)
        if meta is not None and f.kind == "trade":
            meta.cum_qty += f.qty
            meta.cum_value += f.qty * f.price
            meta.cum_fee += f.fee
        if f.kind != "trade":
            return rec
        fee_left, qty_left = self.open_fee.setdefault(sym, [0.0, 0.0])
        if f.closed_qty <= 0:
            self.open_fee[sym] = [fee_left + f.fee, qty_left + f.qty]
            return rec
        share = f.closed_qty / qty_left if qty_left > 0 else 1.0
        open_fee = fee_left * share
        self.open_fee[sym] = [fee_left - open_fee, max(qty_left - f.closed_qty, 0.0)]
        pos_side = -1.0 if f.side == "Buy" else 1.0
        entry = f.price - f.realised_pnl / (pos_side * f.closed_qty)
        self.closed_pnl.append({"fill": f, "order_id": order_id, "exec_type": kind, "entry": entry,
                                "open_fee": open_fee, "leverage": self._leverage_of(sym)})
        return rec

    def _leverage_of(self, symbol: str) -> float:
        pos = self.sim.positions.get(symbol)
        return pos.leverage if pos is not None else self.sim.leverage.get(symbol, 0.0)

    def _track_positions(self, symbols, ts: int) -> None:
        for sym in symbols:
            times = self.pos_times.get(sym)
            if sym in self.sim.positions:
                if times is None:
                    self.pos_times[sym] = [ts, ts]
                else:
                    times[1] = ts
            elif times is not None:
                self.pos_times.pop(sym)
                self.open_fee.pop(sym, None)

    # ----- lookups -------------------------------------------------------------------------------
    def find_order_id(self, symbol: str | None, order_id: str | None, link_id: str | None) -> str | None:
        if order_id:
            o = self.sim.orders.get(order_id)
            return order_id if o is not None and symbol in (None, o.symbol) else None
        if link_id:
            for oid, meta in self.meta.items():
                o = self.sim.orders.get(oid)
                if meta.order_link_id == link_id and o is not None and symbol in (None, o.symbol):
                    return oid
        return None
