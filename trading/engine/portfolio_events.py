"""The portfolio kernel's event helpers: writing a fill, closing (part of) a position on a signal exit, a
refused entry, the price at a detail open. Called only when something happens (numba
increfs every array an njit call receives, so the per-step loop in portfolio_kernel.py calls none of these
unless an event is due)."""

from __future__ import annotations

import math

from numba import njit

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
    P_TAKER,
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
    W_USED,
    X_ENTRY,
    X_LAST,
    X_LIQ,
    X_MARGIN,
    X_OWNER,
    X_QTY,
    X_SIDE,
    X_TRADE,
)
from .rules import (
    fee_for,
    liquidation_price,
    price_pnl,
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


@njit(cache=True)
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
