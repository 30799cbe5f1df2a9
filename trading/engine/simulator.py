"""The object-level, event-driven exchange simulator behind paper trading and the fake Bybit server.

Isolated margin, one-way mode. Orders are validated like Bybit V5 (reject codes in orders.py); market
orders fill at the next price event (ask/bid, else last) at the taker fee, moved against the taker by the
slippage model (``rules.slipped_price``: ``slippage_bps`` + ``slippage_range_fraction`` of the last closed
detail bar's range, told by ``set_bar_range``), crossed resting limits at the maker fee (a post-only limit
only when traded strictly through: ``rules.post_only_filled``; one that would cross when placed is cancelled
at once, as Bybit does); funding is charged once per funding time (``apply_funding_due``); TP/SL (last-price trigger) and liquidation (mark-price trigger, settled at the
bankruptcy price, the whole position margin lost) are decided by the same numba ``step_bar`` the
backtest kernel uses. Wallet (isolated): available = balance - position IM - order reserves;
equity = balance + unrealised PnL at the mark price. ``to_state``/``from_state`` round-trip through
JSON so a restart loses nothing.
"""

from __future__ import annotations

import math
from dataclasses import asdict

from . import rules
from .execution_model import SLIPPAGE_BPS_DEFAULT
from .fees import FeeSchedule
from .instruments import Instrument, RiskTier
from .orders import (
    BELOW_MIN_ORDER_VALUE,
    DUPLICATE_ORDER_LINK_ID,
    INSUFFICIENT_BALANCE,
    LEVERAGE_NOT_MODIFIED,
    LEVERAGE_TOO_HIGH_FOR_TIER,
    ORDER_NOT_FOUND,
    ORDER_TYPES,
    PARAMS_ERROR,
    POST_ONLY_WOULD_TAKE,
    REDUCE_ONLY_RULE,
    RISK_LIMIT_EXCEEDED,
    SIDES,
    TIME_IN_FORCE,
    Fill,
    Order,
    OrderRequest,
    OrderResult,
    ok,
    reject,
)
from .positions import Position, open_position

_EVENT_REASON = {rules.EV_TP: "tp", rules.EV_SL: "sl", rules.EV_LIQ: "liquidation"}
_CHECK_CODE = {
    rules.BELOW_MIN_QTY: (PARAMS_ERROR, "The number of contracts exceeds minimum limit allowed"),
    rules.BELOW_MIN_NOTIONAL: (BELOW_MIN_ORDER_VALUE, "Order does not meet minimum order value"),
    rules.INSUFFICIENT_BALANCE: (INSUFFICIENT_BALANCE, "ab not enough for new order"),
    rules.BEYOND_RISK_LIMIT: (RISK_LIMIT_EXCEEDED, "position value exceeds the highest risk limit"),
    rules.LEVERAGE_ABOVE_TIER: (LEVERAGE_TOO_HIGH_FOR_TIER, "leverage exceeds the risk tier's maximum"),
}


def _sign(side: str) -> int:
    return 1 if side == "Buy" else -1


class Simulator:
    """One account on a simulated exchange (see module doc)."""

    def __init__(self, instruments: dict[str, Instrument], balance: float, fees: FeeSchedule | None = None,
                 max_open_positions: int = 2, default_leverage: float = 10.0,
                 slippage_bps: float = SLIPPAGE_BPS_DEFAULT, slippage_range_fraction: float = 0.0) -> None:
        self.instruments = dict(instruments)
        self.balance = float(balance)
        self.fees = fees or FeeSchedule()
        self.max_open_positions = int(max_open_positions)
        self.leverage = {s: min(default_leverage, i.max_leverage) for s, i in self.instruments.items()}
        self.positions: dict[str, Position] = {}
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self.last: dict[str, float] = {}
        self.mark: dict[str, float] = {}
        self.bid: dict[str, float] = {}
        self.ask: dict[str, float] = {}
        self.client_ids: set[str] = set()
        self.seq = 0
        self.slippage_bps = float(slippage_bps)
        self.slippage_range_fraction = float(slippage_range_fraction)
        self.bar_range: dict[str, float] = {}  # per symbol: high - low of the last closed detail bar
        self.funded: dict[str, int] = {}  # per symbol: the last funding time (ms) charged

    def set_bar_range(self, symbol: str, high: float, low: float) -> None:
        """The last closed detail bar of ``symbol`` (the range part of the slippage model reads it)."""
        self.bar_range[symbol] = float(high) - float(low)

    def slipped(self, symbol: str, taker_side: int, price: float) -> float:
        """``price`` moved against a taker buying (+1) or selling (-1) by the account's slippage model."""
        return float(rules.slipped_price(float(taker_side), float(price), self.slippage_bps,
                                         self.slippage_range_fraction, self.bar_range.get(symbol, math.nan),
                                         self.instruments[symbol].tick_size))

    # ----- wallet -------------------------------------------------------------------------------
    @property
    def used_margin(self) -> float:
        return sum(p.margin for p in self.positions.values())

    @property
    def order_margin(self) -> float:
        return sum(o.reserved for o in self.orders.values() if o.status == "New")

    @property
    def available(self) -> float:
        return self.balance - self.used_margin - self.order_margin

    def unrealised_pnl(self) -> float:
        total = 0.0
        for sym, p in self.positions.items():
            price = self.mark.get(sym, self.last.get(sym, p.entry_price))
            total += p.unrealised_pnl(price)
        return total

    @property
    def equity(self) -> float:
        return self.balance + self.unrealised_pnl()

    def wallet(self) -> dict:
        return {"balance": self.balance, "equity": self.equity, "unrealised_pnl": self.unrealised_pnl(),
                "used_margin": self.used_margin, "order_margin": self.order_margin, "available": self.available}

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if o.status == "New" and symbol in (None, o.symbol)]

    def _next_id(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}-{self.seq:08d}"

    # ----- account settings ---------------------------------------------------------------------
    def set_leverage(self, symbol: str, leverage: float) -> OrderResult:
        inst = self.instruments.get(symbol)
        if inst is None:
            return reject(PARAMS_ERROR, f"params error: symbol {symbol!r} is not listed")
        if not 1.0 <= leverage <= inst.max_leverage:
            return reject(PARAMS_ERROR, f"params error: leverage {leverage:g} is outside 1..{inst.max_leverage:g}")
        if leverage == self.leverage.get(symbol):
            return reject(LEVERAGE_NOT_MODIFIED, "leverage not modified")
        if symbol in self.positions:
            return reject(PARAMS_ERROR, "params error: the simulator changes leverage only while flat")
        self.leverage[symbol] = float(leverage)
        return ok()

    # ----- orders -------------------------------------------------------------------------------
    def place_order(self, req: OrderRequest, ts: int = 0) -> OrderResult:
        cid = req.client_order_id
        inst = self.instruments.get(req.symbol)
        if inst is None:
            return reject(PARAMS_ERROR, f"params error: symbol {req.symbol!r} is not listed", cid)
        if cid is not None and cid in self.client_ids:
            return reject(DUPLICATE_ORDER_LINK_ID, "OrderLinkedID is duplicate", cid)
        if req.side not in SIDES or req.order_type not in ORDER_TYPES:
            return reject(PARAMS_ERROR, f"params error: side {req.side!r} / orderType {req.order_type!r}", cid)
        if req.time_in_force not in TIME_IN_FORCE or (req.time_in_force == "PostOnly" and req.order_type != "Limit"):
            return reject(PARAMS_ERROR, f"params error: timeInForce {req.time_in_force!r} with orderType "
                                        f"{req.order_type!r} (PostOnly needs a Limit)", cid)
        if req.order_type == "Limit" and (req.price is None or req.price <= 0 or not inst.price_on_tick(req.price)):
            return reject(PARAMS_ERROR, f"params error: price {req.price} is not on tick {inst.tick_size:g}", cid)
        if not req.qty > 0 or not inst.qty_on_step(req.qty):
            return reject(PARAMS_ERROR, f"Qty invalid: {req.qty} is not a multiple of qtyStep {inst.qty_step:g}", cid)
        if req.qty < inst.min_qty - 1e-12:
            return reject(PARAMS_ERROR, "The number of contracts exceeds minimum limit allowed", cid)
        ref = req.price if req.order_type == "Limit" else self.last.get(req.symbol)
        if ref is None:
            return reject(PARAMS_ERROR, f"params error: no market price yet for {req.symbol}", cid)
        sign = _sign(req.side)
        pos = self.positions.get(req.symbol)
        lev = self.leverage[req.symbol]
        if req.reduce_only:
            if pos is None or pos.side == sign:
                return reject(REDUCE_ONLY_RULE, "Reduce-only rule not satisfied", cid)
            if req.take_profit is not None or req.stop_loss is not None:
                return reject(PARAMS_ERROR, "params error: a reduce-only order cannot carry TP/SL", cid)
            qty, reserved = min(req.qty, pos.qty), 0.0
        else:
            qty = req.qty
            opening = qty - (min(qty, pos.qty) if pos is not None and pos.side != sign else 0.0)
            reserved = 0.0
            if opening > 1e-12:
                why = self._check_opening(req, inst, sign, opening, ref, lev, pos)
                if why is not None:
                    return reject(*why, client_order_id=cid)
                reserved = float(rules.order_cost(opening, ref, sign, lev, self.fees.taker))
        order = Order(self._next_id("ord"), req.symbol, req.side, req.order_type, qty, req.price, req.reduce_only,
                      req.take_profit, req.stop_loss, cid, req.exit_reason, ts, "New", reserved, req.time_in_force)
        if req.time_in_force == "PostOnly" and self._would_cross(order):
            order.status, order.reserved, order.reject_reason = "Cancelled", 0.0, POST_ONLY_WOULD_TAKE
        self.orders[order.order_id] = order
        if cid is not None:
            self.client_ids.add(cid)
        return ok(order.order_id, cid)

    def _would_cross(self, order: Order) -> bool:
        """A buy limit at or above the ask (a sell at or below the bid) would take liquidity at once; without a
        book (none quoted, or a locked one: bid = ask, as a replay of bars quotes), one beyond the last price (a
        limit AT the last price is the touch: a simulation's signal price)."""
        sign = _sign(order.side)
        bid, ask = self.bid.get(order.symbol), self.ask.get(order.symbol)
        if bid is not None and ask is not None and ask > bid:
            return sign * (order.price - (ask if sign > 0 else bid)) >= 0
        last = self.last.get(order.symbol)
        return last is not None and sign * (order.price - last) > 0

    def _check_opening(self, req, inst, sign, opening, ref, lev, pos):
        """(code, message) when the opening part of an order may not be placed, else None."""
        if req.qty * ref < inst.min_notional - 1e-9:
            return BELOW_MIN_ORDER_VALUE, f"Order does not meet minimum order value {inst.min_notional:g}USDT"
        if pos is None and len(self.positions) >= self.max_open_positions:
            return PARAMS_ERROR, f"params error: max_open_positions {self.max_open_positions} reached"
        held = pos.qty if pos is not None and pos.side == sign else 0.0
        risk_limits, _, _, tier_max_leverage = inst.tier_arrays
        code = rules.entry_check(opening + held, ref, float(sign), lev, 0.0, math.inf, 0.0, 0.0,
                                 risk_limits, tier_max_leverage)
        if code != rules.OK:
            return _CHECK_CODE[code]
        cost = float(rules.order_cost(opening, ref, sign, lev, self.fees.taker))
        if cost > self.available + 1e-9:
            return INSUFFICIENT_BALANCE, f"ab not enough for new order (cost {cost:.4f} > available {self.available:.4f})"
        entry = ref if held == 0 else (pos.entry_price * held + ref * opening) / (held + opening)
        tier = inst.tier_for((held + opening) * entry)
        liq = float(rules.liquidation_price(sign, held + opening, entry, lev, tier.mmr, tier.mm_deduction, 0.0))
        return self._check_protective(sign, ref, liq, req.take_profit, req.stop_loss)

    @staticmethod
    def _check_protective(sign, ref, liq, tp, sl):
        if tp is not None and tp > 0 and sign * (tp - ref) <= 0:
            return PARAMS_ERROR, f"TakeProfit:{tp} should be {'higher' if sign > 0 else 'lower'} than base_price {ref}"
        if sl is not None and sl > 0:
            if sign * (ref - sl) <= 0:
                return PARAMS_ERROR, f"StopLoss:{sl} should be {'lower' if sign > 0 else 'higher'} than base_price {ref}"
            if not rules.sl_before_liq(float(sign), float(sl), float(liq)):
                return PARAMS_ERROR, (f"stop_loss: {sl} must sit strictly before the liquidation price {liq:.4f} "
                                      f"({'above' if sign > 0 else 'below'} it for a {'long' if sign > 0 else 'short'})")
        return None

    def cancel_order(self, order_id: str) -> OrderResult:
        order = self.orders.get(order_id)
        if order is None or order.status != "New":
            return reject(ORDER_NOT_FOUND, "Order does not exist")
        order.status = "Cancelled"
        order.reserved = 0.0
        return ok(order.order_id, order.client_order_id)

    def set_trading_stop(self, symbol: str, take_profit: float | None = None,
                         stop_loss: float | None = None) -> OrderResult:
        """Set (None: keep, 0: cancel) the position's TP / SL; the SL must sit strictly before liq."""
        pos = self.positions.get(symbol)
        if pos is None:
            return reject(PARAMS_ERROR, "can not set tp/sl/ts for zero position")
        ref = self.last.get(symbol, pos.entry_price)
        why = self._check_protective(pos.side, ref, pos.liq_price, take_profit, stop_loss)
        if why is not None:
            return reject(*why)
        if take_profit is not None:
            pos.take_profit = None if take_profit == 0 else float(take_profit)
        if stop_loss is not None:
            pos.stop_loss = None if stop_loss == 0 else float(stop_loss)
        return ok()

    # ----- execution ----------------------------------------------------------------------------
    def _execute(self, order: Order, price: float, liquidity: str, ts: int) -> None:
        inst = self.instruments[order.symbol]
        sign = _sign(order.side)
        pos = self.positions.get(order.symbol)
        qty = order.qty
        if order.reduce_only:
            qty = min(qty, pos.qty) if pos is not None and pos.side != sign else 0.0
        order.status, order.reserved = ("Filled" if qty > 0 else "Cancelled"), 0.0
        if qty <= 0:
            return
        rate = self.fees.rate(liquidity)
        closing = min(qty, pos.qty) if pos is not None and pos.side != sign else 0.0
        if closing > 0:
            self._close(pos, closing, price, rate, liquidity, order.order_id, order.exit_reason, ts)
        opening = qty - closing
        if opening > 1e-12:
            fee = float(rules.fee_for(opening, price, rate))
            pos = self.positions.get(order.symbol)
            if pos is None:
                pos = open_position(order.symbol, sign, opening, price, self.leverage[order.symbol], inst, ts)
                self.positions[order.symbol] = pos
            else:
                pos.add(opening, price, inst)
            if order.take_profit is not None:
                pos.take_profit = order.take_profit or None
            if order.stop_loss is not None:
                pos.stop_loss = order.stop_loss or None
            self.balance -= fee
            pos.realised_pnl -= fee
            self._fill(order.order_id, order.symbol, order.side, opening, price, fee, liquidity, 0.0, "entry", ts)

    def _close(self, pos: Position, qty: float, price: float, rate: float, liquidity: str, order_id: str,
               reason: str, ts: int) -> None:
        pnl = float(rules.price_pnl(pos.side, qty, pos.entry_price, price))
        fee = float(rules.fee_for(qty, price, rate))
        self.balance += pnl - fee
        pos.realised_pnl += pnl - fee
        pos.reduce(qty, self.instruments[pos.symbol])
        side = "Sell" if pos.side > 0 else "Buy"
        self._fill(order_id, pos.symbol, side, qty, price, fee, liquidity, pnl, reason, ts, closed_qty=qty)
        if pos.qty <= 1e-12:
            del self.positions[pos.symbol]
            for o in self.open_orders(pos.symbol):
                if o.reduce_only:
                    o.status, o.reserved = "Cancelled", 0.0

    def _fill(self, order_id, symbol, side, qty, price, fee, liquidity, pnl, reason, ts, kind="trade",
              funding=0.0, closed_qty=0.0) -> None:
        self.fills.append(Fill(self._next_id("exec"), order_id, symbol, side, qty, price, fee, liquidity, pnl,
                               reason, int(ts), kind, funding, closed_qty))

    def _trigger(self, symbol: str, o: float, h: float, low: float, mark_h: float, mark_l: float, ts: int) -> None:
        pos = self.positions.get(symbol)
        if pos is None:
            return
        tp, sl = pos.protective()
        event, price = rules.step_bar(float(pos.side), o, h, low, mark_h, mark_l, tp, sl, pos.liq_price,
                                      pos.bankruptcy_price)
        if event != rules.EV_NONE:
            reason = _EVENT_REASON[event]
            price = float(price)
            if event != rules.EV_LIQ:  # a triggered TP/SL is a market order (slippage); liquidation is not
                price = self.slipped(symbol, -pos.side, price)
            self._close(pos, pos.qty, price, self.fees.taker, "taker", f"{reason}-{symbol}", reason, ts)

    def _fill_pending(self, symbol: str, market_buy: float, market_sell: float, low: float, high: float,
                      ts: int, trade_low: float, trade_high: float) -> None:
        """Market orders at the buy/sell price moved by the slippage model; plain limits when touched
        (``low``/``high``: the ask/bid for a tick); post-only limits when TRADES went strictly through them
        (``trade_low``/``trade_high``: the last price for a tick, the bar's range for a bar)."""
        for order in self.open_orders(symbol):
            sign = _sign(order.side)
            if order.order_type == "Market":
                self._execute(order, self.slipped(symbol, sign, market_buy if sign > 0 else market_sell), "taker", ts)
            elif order.time_in_force == "PostOnly":
                if rules.post_only_filled(float(sign), order.price, trade_low, trade_high):
                    self._execute(order, order.price, "maker", ts)
            elif order.side == "Buy" and low <= order.price or order.side == "Sell" and high >= order.price:
                self._execute(order, order.price, "maker", ts)

    def on_price(self, symbol: str, ts: int, last: float, mark: float | None = None, bid: float | None = None,
                 ask: float | None = None) -> None:
        """A tick: fill market orders (ask/bid, else last), crossed limits, then TP/SL (last) and liq (mark)."""
        mark = last if mark is None else mark
        self.last[symbol], self.mark[symbol] = last, mark
        buy_px = last if ask is None else ask
        sell_px = last if bid is None else bid
        for book, px in ((self.bid, bid), (self.ask, ask)):  # a quote without a book: the last price alone
            if px is None:
                book.pop(symbol, None)
            else:
                book[symbol] = px
        self._fill_pending(symbol, buy_px, sell_px, buy_px, sell_px, ts, last, last)
        self._trigger(symbol, last, last, last, mark, mark, ts)

    def on_bar(self, symbol: str, ts: int, open: float, high: float, low: float, close: float,
               mark_high: float | None = None, mark_low: float | None = None) -> None:
        """A bar: pending market orders fill at the open, crossed limits at their price, then the shared
        ``step_bar`` decides TP / SL / liquidation inside the bar."""
        self.last[symbol] = open
        self.bid.pop(symbol, None)
        self.ask.pop(symbol, None)
        self._fill_pending(symbol, open, open, low, high, ts, low, high)
        mh = high if mark_high is None else mark_high
        ml = low if mark_low is None else mark_low
        self._trigger(symbol, open, high, low, mh, ml, ts)
        self.last[symbol] = self.mark[symbol] = close

    def apply_funding(self, symbol: str, ts: int, rate: float, mark: float) -> float:
        """Charge (or pay) funding to a position open at the funding time; returns what it paid."""
        pos = self.positions.get(symbol)
        if pos is None:
            return 0.0
        pay = float(rules.funding_payment(float(pos.side), pos.qty, mark, rate))
        self.balance -= pay
        pos.realised_pnl -= pay
        self._fill(f"funding-{symbol}", symbol, pos.side_name, pos.qty, mark, 0.0, "", 0.0, "funding", ts,
                   kind="funding", funding=pay)
        return pay

    def apply_funding_due(self, symbol: str, funding_ts: int, rate: float, mark: float) -> float | None:
        """``apply_funding`` exactly once per funding time: None when ``funding_ts`` (ms) was already charged
        (or an earlier one arrives late), else what the position paid (0 when flat)."""
        if funding_ts <= self.funded.get(symbol, -1):
            return None
        self.funded[symbol] = int(funding_ts)
        return self.apply_funding(symbol, funding_ts, rate, mark)

    # ----- persistence --------------------------------------------------------------------------
    def to_state(self) -> dict:
        """Everything, as a JSON-serialisable dict."""
        return {
            "instruments": {s: _instrument_dict(i) for s, i in self.instruments.items()},
            "balance": self.balance,
            "fees": {"maker": self.fees.maker, "taker": self.fees.taker},
            "max_open_positions": self.max_open_positions,
            "leverage": dict(self.leverage),
            "positions": {s: p.to_dict() for s, p in self.positions.items()},
            "orders": [o.to_dict() for o in self.orders.values()],
            "fills": [f.to_dict() for f in self.fills],
            "last": dict(self.last),
            "mark": dict(self.mark),
            "client_ids": sorted(self.client_ids),
            "seq": self.seq,
            "slippage": {"bps": self.slippage_bps, "range_fraction": self.slippage_range_fraction},
            "bar_range": dict(self.bar_range),
            "funded": dict(self.funded),
            "bid": dict(self.bid),
            "ask": dict(self.ask),
        }

    @classmethod
    def from_state(cls, state: dict) -> Simulator:
        instruments = {s: _instrument_from(d) for s, d in state["instruments"].items()}
        sim = cls(instruments, state["balance"], FeeSchedule(**state["fees"]), state["max_open_positions"])
        sim.leverage = {s: float(v) for s, v in state["leverage"].items()}
        sim.positions = {s: Position(**d) for s, d in state["positions"].items()}
        sim.orders = {d["order_id"]: Order(**d) for d in state["orders"]}
        sim.fills = [Fill(**d) for d in state["fills"]]
        sim.last, sim.mark = dict(state["last"]), dict(state["mark"])
        sim.client_ids = set(state["client_ids"])
        sim.seq = int(state["seq"])
        slip = state.get("slippage", {})
        sim.slippage_bps = float(slip.get("bps", SLIPPAGE_BPS_DEFAULT))
        sim.slippage_range_fraction = float(slip.get("range_fraction", 0.0))
        sim.bar_range = {s: float(v) for s, v in state.get("bar_range", {}).items()}
        sim.funded = {s: int(v) for s, v in state.get("funded", {}).items()}
        sim.bid = {s: float(v) for s, v in state.get("bid", {}).items()}
        sim.ask = {s: float(v) for s, v in state.get("ask", {}).items()}
        return sim


def _instrument_dict(inst: Instrument) -> dict:
    return {"symbol": inst.symbol, "tick_size": inst.tick_size, "qty_step": inst.qty_step, "min_qty": inst.min_qty,
            "max_leverage": inst.max_leverage, "min_notional": inst.min_notional,
            "funding_interval_minutes": inst.funding_interval_minutes, "tiers": [asdict(t) for t in inst.tiers]}


def _instrument_from(d: dict) -> Instrument:
    d = dict(d)
    d["tiers"] = tuple(RiskTier(**t) for t in d["tiers"])
    return Instrument(**d)
