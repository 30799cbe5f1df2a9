"""The one copy of every per-position rule, as numba scalar functions (float64 in, float64 out).

The backtest kernel, the object Simulator (paper trading, the fake exchange) and the Python helpers in
margin.py / sizing.py / fees.py / funding.py all call these. Sides are +1 (long) and -1 (short).
Formulas: specs/bybit.md §4 (isolated margin, USDT perpetual).

Order of events inside one bar (``step_bar``), conservative and documented:
1. the adverse side is assumed to be visited first (a bar touching both TP and SL/liquidation exits
   at the SL/liquidation, never the TP);
2. liquidation triggers on the mark price (``mark_low``/``mark_high``; the bar's own range when no
   mark series is given) and settles at the bankruptcy price;
3. if both the stop-loss (last price) and liquidation (mark price) are touched, the level met first
   along the adverse path from the open wins (long: the higher of SL and liq); a bar that OPENS
   through the liquidation price is a liquidation;
4. a bar that opens through the SL or TP fills at the open (gap), otherwise at the trigger price;
5. a resting post-only entry (``post_only_filled``) is checked BEFORE the position's own TP/SL/liquidation of
   the same (sub-)bar: it fills at its limit price, at the maker fee, when the (sub-)bar trades strictly
   through it; the position it opens is then subject to that same (sub-)bar's ``step_bar``. Unfilled when its
   timeout (``post_only_expired``) ends with a (sub-)bar's close, it is cancelled and replaced by a market
   order at that close (taker fee, slippage);
6. every market fill (entries, signal exits, monitor reduces/closes, a post-only fallback) and every triggered
   TP/SL (Bybit sends those as market orders) is moved against the taker by ``slipped_price``; a
   liquidation settles at the bankruptcy price without slippage.

Between signal closes every simulator walks each detail bar as ``n`` sub-bars of ``monitor_seconds``
(detail_path.py) and applies ``step_bar`` per sub-bar, then the monitor (rebalance.decide_code) at the
sub-bar's close; a monitor reduce / close fills at that close. At a time T where signal bars close the order
is: (1) the monitor at the sub-bar ending at T, (2) funding due at T, (3) ``signal_decision`` for each slot
whose bar closed at T, in slot order, filling at the price at T (the next detail bar's open). The portfolio
run (portfolio.py) documents the account rules around these (one wallet, isolated margin, one position per
symbol, max_open_positions, sizing off the shared wallet).

The functions returning tuples are inlined into their callers at the numba IR level
(``inline="always"``): a compiled call returning a tuple costs tens of nanoseconds in the kernel.
"""

from __future__ import annotations

import math

from numba import njit

from .rounding import floor_to_step, snap_to_tick

EV_NONE, EV_TP, EV_SL, EV_LIQ = 0, 1, 2, 3

# entry_check results
OK, BELOW_MIN_QTY, BELOW_MIN_NOTIONAL, INSUFFICIENT_BALANCE, BEYOND_RISK_LIMIT, LEVERAGE_ABOVE_TIER = (
    0, 1, 2, 3, 4, 5,
)


@njit(cache=True)
def select_tier(notional: float, risk_limits) -> int:
    """First tier whose risk limit covers ``notional``; -1 beyond the last one."""
    for k in range(risk_limits.shape[0]):
        if notional <= risk_limits[k] + 1e-9:
            return k
    return -1


@njit(cache=True)
def initial_margin(qty: float, entry: float, leverage: float) -> float:
    """IM = position value / leverage."""
    return qty * entry / leverage


@njit(cache=True)
def maintenance_margin(qty: float, entry: float, mmr: float, mm_deduction: float) -> float:
    """MM = position value * MMR - mmDeduction."""
    return qty * entry * mmr - mm_deduction


@njit(cache=True)
def liquidation_price(side: float, qty: float, entry: float, leverage: float, mmr: float,
                      mm_deduction: float, extra_margin: float) -> float:
    """Long: entry - (IM - MM)/size - extra/size; short: entry + (IM - MM)/size + extra/size."""
    im = initial_margin(qty, entry, leverage)
    mm = maintenance_margin(qty, entry, mmr, mm_deduction)
    return entry - side * ((im - mm) / qty + extra_margin / qty)


@njit(cache=True)
def bankruptcy_price(side: float, entry: float, leverage: float) -> float:
    """Long: entry * (1 - 1/lev); short: entry * (1 + 1/lev). Liquidation settles here."""
    return entry * (1.0 - side / leverage)


@njit(cache=True)
def price_pnl(side: float, qty: float, entry: float, exit_price: float) -> float:
    """Realised price PnL of closing ``qty`` (before fees)."""
    return side * (exit_price - entry) * qty


@njit(cache=True)
def fee_for(qty: float, price: float, rate: float) -> float:
    """Trading fee on a fill: notional * rate."""
    return qty * price * rate


@njit(cache=True)
def order_cost(qty: float, price: float, side: float, leverage: float, taker: float) -> float:
    """IM + fee to open (taker) + fee to close at the bankruptcy price (taker)."""
    bk = bankruptcy_price(side, price, leverage)
    return initial_margin(qty, price, leverage) + fee_for(qty, price, taker) + fee_for(qty, bk, taker)


@njit(cache=True)
def funding_payment(side: float, qty: float, mark: float, rate: float) -> float:
    """Amount the position PAYS (negative = receives): size * mark * rate, longs pay when rate > 0."""
    return side * qty * mark * rate


@njit(cache=True)
def sized_qty(notional: float, price: float, qty_step: float) -> float:
    """Quantity for a notional at a price, rounded down to qty_step."""
    return floor_to_step(notional / price, qty_step)


@njit(cache=True)
def entry_check(qty: float, price: float, side: float, leverage: float, taker: float, available: float,
                min_qty: float, min_notional: float, risk_limits, tier_max_leverage) -> int:
    """Why an opening order of ``qty`` at ``price`` cannot be placed (OK when it can)."""
    if qty < min_qty - 1e-12:
        return BELOW_MIN_QTY
    notional = qty * price
    if notional < min_notional - 1e-9:
        return BELOW_MIN_NOTIONAL
    k = select_tier(notional, risk_limits)
    if k < 0:
        return BEYOND_RISK_LIMIT
    if leverage > tier_max_leverage[k] + 1e-9:
        return LEVERAGE_ABOVE_TIER
    if order_cost(qty, price, side, leverage, taker) > available + 1e-9:
        return INSUFFICIENT_BALANCE
    return OK


@njit(cache=True)
def sl_before_liq(side: float, sl: float, liq: float) -> bool:
    """A stop-loss must sit strictly before liquidation: long sl > liq, short sl < liq."""
    return side * (sl - liq) > 0.0


@njit(cache=True, inline="always")
def protective_prices(side: float, entry: float, tp_pct: float, sl_pct: float, tick: float, liq: float):
    """TP/SL prices at a % distance from entry, snapped to tick; NaN when unset or (SL) not before liq."""
    tp = math.nan
    sl = math.nan
    if tp_pct == tp_pct and tp_pct > 0.0:
        tp = snap_to_tick(entry * (1.0 + side * tp_pct), tick)
    if sl_pct == sl_pct and sl_pct > 0.0:
        sl = snap_to_tick(entry * (1.0 - side * sl_pct), tick)
        if not sl_before_liq(side, sl, liq):
            sl = math.nan
    return tp, sl


@njit(cache=True)
def reduce_qty(qty: float, fraction: float, qty_step: float, min_qty: float) -> float:
    """Quantity to close for a partial reduce; the whole position when the part or the rest is below min."""
    part = floor_to_step(qty * fraction, qty_step)
    if part < min_qty - 1e-12 or qty - part < min_qty - 1e-12:
        return qty
    return part


@njit(cache=True, inline="always")
def step_bar(side: float, o: float, h: float, low: float, mark_h: float, mark_l: float,
             tp: float, sl: float, liq: float, bk: float):
    """For one open position and one bar: (event, fill price). NaN tp/sl mean none. See module doc."""
    has_tp = tp == tp
    has_sl = sl == sl
    if side > 0:
        liq_hit = mark_l <= liq
        sl_hit = has_sl and low <= sl
        if liq_hit and (o <= liq or not sl_hit or liq >= sl):
            return EV_LIQ, bk
        if sl_hit:
            return EV_SL, min(sl, o)
        if has_tp and h >= tp:
            return EV_TP, max(tp, o)
    else:
        liq_hit = mark_h >= liq
        sl_hit = has_sl and h >= sl
        if liq_hit and (o >= liq or not sl_hit or liq <= sl):
            return EV_LIQ, bk
        if sl_hit:
            return EV_SL, max(sl, o)
        if has_tp and low <= tp:
            return EV_TP, min(tp, o)
    return EV_NONE, math.nan


@njit(cache=True, inline="always")
def signal_decision(side: float, s: float, exit_long: bool, exit_short: bool):
    """(exit_now, enter_side) from a bar's close: in a position, exit on its side's exit flag or an
    opposite signal, reversing into that signal unless its side's exit flag is set too; flat, enter on a
    non-zero signal whose side's exit flag is not set. The backtest and the live signal cycle share it."""
    if side != 0.0:
        if (exit_long if side > 0.0 else exit_short) or s == -side:
            if s == -side and not (exit_long if s > 0.0 else exit_short):
                return True, s
            return True, 0.0
        return False, 0.0
    if s != 0.0 and not (exit_long if s > 0.0 else exit_short):
        return False, s
    return False, 0.0


@njit(cache=True, inline="always")
def post_only_filled(side: float, limit: float, low: float, high: float) -> bool:
    """Whether a resting post-only entry at ``limit`` fills in a later (sub-)bar: a buy (``side`` +1) when the
    bar's low is STRICTLY below the limit, a sell when its high is strictly above. Strictly, because a price
    that only touches the limit may have traded the orders queued ahead of ours at that level and stopped:
    in queue terms a touch is not a fill, a trade through the level is (everything resting at it was taken)."""
    if side > 0.0:
        return low < limit
    return high > limit


@njit(cache=True, inline="always")
def post_only_expired(elapsed_seconds: float, timeout_seconds: float) -> bool:
    """Whether an unfilled post-only entry placed ``elapsed_seconds`` ago has reached its timeout: it is then
    cancelled and replaced by a market order (taker fee, ``slipped_price``) at the price at that moment."""
    return elapsed_seconds >= timeout_seconds - 1e-9


@njit(cache=True, inline="always")
def slipped_price(taker_side: float, price: float, bps: float, range_fraction: float, bar_range: float,
                  tick: float) -> float:
    """The price a market fill (or a triggered TP/SL) gets: ``price`` moved AGAINST the taker (a buy,
    ``taker_side`` +1, pays more; a sell receives less) by ``bps`` basis points of the price plus
    ``range_fraction`` of ``bar_range`` (the high - low of the last detail bar closed at the fill time: known
    then, so the model is causal), rounded to the tick away from the taker (never in its favour)."""
    slip = price * bps * 1e-4
    if range_fraction > 0.0 and bar_range == bar_range and bar_range > 0.0:
        slip += range_fraction * bar_range
    if slip <= 0.0:
        return price
    raw = price + taker_side * slip
    n = raw / tick
    units = math.ceil(n - 1e-9) if taker_side > 0.0 else math.floor(n + 1e-9)
    return _tick_units(units, tick)


@njit(cache=True, inline="always")
def _tick_units(units: float, tick: float) -> float:
    return snap_to_tick(units * tick, tick)
