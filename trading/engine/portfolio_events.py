"""The portfolio kernel's event helpers: writing a fill, closing (part of) a position on a signal exit, a
refused entry, the price at a detail open. Called only when something happens (numba
increfs every array an njit call receives, so the per-step loop in portfolio_kernel.py calls none of these
unless an event is due)."""

from __future__ import annotations

import math

from numba import njit

from . import reasons as R
from .portfolio_layout import (
    F_FEE,
    F_KIND,
    F_OFF,
    F_PNL,
    F_PRICE,
    F_QTY,
    F_REASON,
    F_SIDE,
    F_SLOT,
    F_STEP,
    F_SYM,
    F_TRADE,
    P_LEV,
    P_SL,
    P_TAKER,
    P_TICK,
    P_TP,
    RF_CODE,
    RF_OTHER,
    RF_SIDE,
    RF_SLOT,
    RF_STEP,
    RF_SYM,
    W_BAL,
    W_NF,
    W_NR,
    W_OPEN,
    W_TRADES,
    W_USED,
    X_BASE,
    X_BK,
    X_CBASE,
    X_ENTRY,
    X_ETIME,
    X_HL,
    X_LAST,
    X_LIQ,
    X_MARGIN,
    X_OWNER,
    X_PPRICE,
    X_PQTY,
    X_PROW,
    X_PSIDE,
    X_PTIME,
    X_QTY,
    X_SIDE,
    X_SL,
    X_TP,
    X_TRADE,
)
from .rules import (
    bankruptcy_price,
    fee_for,
    liquidation_price,
    price_pnl,
    protective_prices,
    select_tier,
)


@njit(cache=True, inline="always")
def _fill(fills, nf, step, offv, slot, sym, kind, side, qty, price, fee, pnl, reason, trade):
    fills[nf, F_STEP] = step
    fills[nf, F_OFF] = offv
    fills[nf, F_SLOT] = slot
    fills[nf, F_SYM] = sym
    fills[nf, F_KIND] = kind
    fills[nf, F_SIDE] = side
    fills[nf, F_QTY] = qty
    fills[nf, F_PRICE] = price
    fills[nf, F_FEE] = fee
    fills[nf, F_PNL] = pnl
    fills[nf, F_REASON] = reason
    fills[nf, F_TRADE] = trade
    return nf + 1


@njit(cache=True, inline="always")
def _close(x, q, px, reason, step, offv, params, rl, mmr, ded, pos, wallet, fills):
    """Close ``q`` of symbol ``x``'s position at ``px`` (taker); the whole position when q >= its qty. The
    kernel's sub-bar loop writes the same steps out for TP / SL / liquidation and the monitor (a call there
    would cost more than the bar); this is the signal exit's copy."""
    k = int(pos[x, X_OWNER])
    side = pos[x, X_SIDE]
    qty = pos[x, X_QTY]
    entry = pos[x, X_ENTRY]
    pnl = price_pnl(side, q, entry, px)
    fee = fee_for(q, px, params[k, P_TAKER])
    wallet[W_BAL] += pnl - fee
    nf = int(wallet[W_NF])
    wallet[W_NF] = _fill(fills, nf, step, offv, k, x, 1, side, q, px, fee, pnl, reason, pos[x, X_TRADE])
    if q >= qty - 1e-12:
        wallet[W_USED] -= pos[x, X_MARGIN]
        wallet[W_OPEN] -= 1.0
        pos[x, X_OWNER] = -1.0
        pos[x, X_SIDE] = 0.0
        pos[x, X_QTY] = 0.0
        pos[x, X_MARGIN] = 0.0
    else:
        share = q / qty
        wallet[W_USED] -= pos[x, X_MARGIN] * share
        pos[x, X_MARGIN] -= pos[x, X_MARGIN] * share
        pos[x, X_QTY] = qty - q
        t = select_tier((qty - q) * entry, rl[x])
        pos[x, X_LIQ] = liquidation_price(side, qty - q, entry, params[k, P_LEV], mmr[x, t], ded[x, t], 0.0)


@njit(cache=True)
def _price_at_open(x, s, o, c, pos):
    """Symbol ``x``'s price at step ``s``'s open: its bar's open, else its last close before (NaN: none)."""
    p = o[x, s]
    if p == p:
        return p
    p = pos[x, X_LAST]
    if p == p:
        return p
    j = s - 1
    while j >= 0:
        if c[x, j] == c[x, j]:
            return c[x, j]
        j -= 1
    return math.nan


@njit(cache=True)
def _refuse(refs, wallet, s, k, x, side, code, other):
    nr = int(wallet[W_NR])
    refs[nr, RF_STEP] = s
    refs[nr, RF_SLOT] = k
    refs[nr, RF_SYM] = x
    refs[nr, RF_SIDE] = side
    refs[nr, RF_CODE] = code
    refs[nr, RF_OTHER] = other
    wallet[W_NR] = nr + 1


@njit(cache=True, inline="always")
def _open(x, k, side, q, price, ref, rate, step, offv, etime, row, params, rl, mmr, ded, dr, cf, hl, pos, wallet,
          fills):
    """Open slot ``k``'s position on symbol ``x``: ``q`` filled at ``price``, fee at ``rate`` (taker for a market
    entry, maker for a post-only fill); liquidation from the fill, TP/SL at their distance from ``ref`` (the price
    the desk saw when it sent the order: the fill before slippage), monitor baselines from signal row ``row``.
    The caller has checked the entry (rules.entry_check) and counted it in ``W_OPEN``."""
    lev = params[k, P_LEV]
    fee = fee_for(q, price, rate)
    wallet[W_BAL] -= fee
    wallet[W_USED] += q * price / lev
    t = select_tier(q * price, rl[x])
    liq = liquidation_price(side, q, price, lev, mmr[x, t], ded[x, t], 0.0)
    tp, sl = protective_prices(side, ref, params[k, P_TP], params[k, P_SL], params[k, P_TICK], liq)
    trade = wallet[W_TRADES]
    wallet[W_TRADES] = trade + 1.0
    has = row < dr.shape[0]  # the monitor columns are one NaN when no slot has them
    pos[x, X_OWNER] = k
    pos[x, X_SIDE] = side
    pos[x, X_QTY] = q
    pos[x, X_ENTRY] = price
    pos[x, X_MARGIN] = q * price / lev
    pos[x, X_LIQ] = liq
    pos[x, X_BK] = bankruptcy_price(side, price, lev)
    pos[x, X_TP] = tp
    pos[x, X_SL] = sl
    pos[x, X_ETIME] = etime
    pos[x, X_BASE] = dr[row] if has else math.nan
    pos[x, X_CBASE] = cf[row] if has else math.nan
    pos[x, X_HL] = hl[row] if has else math.nan
    pos[x, X_TRADE] = trade
    pos[x, X_LAST] = price
    nf = int(wallet[W_NF])
    wallet[W_NF] = _fill(fills, nf, step, offv, k, x, 0, side, q, price, fee, 0.0, R.ENTRY, trade)


@njit(cache=True)
def _rest(x, k, side, q, price, t0, row, params, pos, wallet):
    """Slot ``k`` places a post-only entry on ``x`` at ``price``: the symbol is owned and counted open, the
    order's margin is reserved (as the exchange reserves it) until it fills or falls back."""
    wallet[W_USED] += q * price / params[k, P_LEV]
    pos[x, X_OWNER] = k
    pos[x, X_PSIDE] = side
    pos[x, X_PPRICE] = price
    pos[x, X_PQTY] = q
    pos[x, X_PTIME] = t0
    pos[x, X_PROW] = row


@njit(cache=True)
def _unrest(x, pos, params, wallet):
    """The resting entry of ``x`` leaves the book (it filled or is replaced): its reserve is released."""
    k = int(pos[x, X_OWNER])
    wallet[W_USED] -= pos[x, X_PQTY] * pos[x, X_PPRICE] / params[k, P_LEV]
    pos[x, X_PSIDE] = 0.0


@njit(cache=True, inline="always")
def _closed_range(x, s, closed, h, lo):
    """High - low of symbol ``x``'s last detail bar closed at the fill time (``closed``: bar ``s`` itself has
    closed, else the one before it); NaN when there is none (the slippage model then takes no range part)."""
    j = s if closed else s - 1
    if j < 0:
        return math.nan
    return h[x, j] - lo[x, j]
