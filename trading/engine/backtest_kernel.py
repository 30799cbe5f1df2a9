"""The backtest hot loop: one numba kernel over float64 arrays, processing a chunk of bars and carrying
its state in a small float64 array between chunks. It calls the shared rules (rules.py, rebalance.py)
so it cannot drift from the object Simulator.

Per bar i, in this order (signals act at the NEXT bar's open; no lookahead):
1. funding at the bar open, if a funding time falls on it, for a position held through it;
2. the exit / reduce decided at the previous bar's close fills at open[i] (taker);
3. the entry decided at the previous bar's close fills at open[i] (taker), sized on the wallet balance,
   TP/SL set at % distances from the fill (an SL not strictly before liquidation is dropped);
4. ``step_bar`` decides TP / SL / liquidation inside the bar;
5. equity at the close = balance + unrealised PnL at the close;
6. the close's signal, exit flags and (when drift is given) the monitor rules decide what happens at
   the next open.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import reasons as R
from .rebalance import CLOSE, REDUCE, decide_code
from .rules import (
    EV_LIQ,
    EV_SL,
    EV_TP,
    OK,
    bankruptcy_price,
    entry_check,
    fee_for,
    funding_payment,
    liquidation_price,
    price_pnl,
    protective_prices,
    reduce_qty,
    select_tier,
    signal_decision,
    sized_qty,
    step_bar,
)

# params
(P_LEV, P_MODE, P_KELLY, P_CAPITAL, P_ALLOC, P_TP, P_SL, P_TAKER, P_STEP, P_MINQTY, P_MINNOT, P_TICK,
 P_BAR_NS, P_DECAY, P_TMULT, P_CDROP, P_RFRAC, P_FUNDING, P_HAS_DRIFT, P_TS_NS) = range(20)
N_PARAMS = 20
# state
(S_BAL, S_SIDE, S_QTY, S_ENTRY, S_MARGIN, S_LIQ, S_BK, S_TP, S_SL, S_ENTRY_IDX, S_BASE, S_CBASE, S_PEXIT,
 S_PRED_FRAC, S_PRED_REASON, S_PENTRY, S_PBASE, S_PCONF, S_EFEE, S_FUND) = range(20)
N_STATE = 20
# fill columns
(F_BAR, F_KIND, F_SIDE, F_QTY, F_PRICE, F_FEE, F_PNL, F_REASON, F_ENTRY_BAR, F_ENTRY_PRICE, F_ENTRY_FEE,
 F_FUNDING) = range(12)
N_FILL = 12
FILLS_PER_BAR = 4  # exit + entry + TP/SL/liq + 1 funding; more funding rows are counted per bar
FILL_BUFFER_ROWS = 16_384


def new_state(balance: float) -> np.ndarray:
    state = np.zeros(N_STATE)
    state[S_BAL] = balance
    state[S_PEXIT] = -1.0
    state[S_BASE] = state[S_CBASE] = state[S_PBASE] = state[S_PCONF] = math.nan
    state[S_TP] = state[S_SL] = math.nan
    return state


@njit(cache=True)
def _put(fills, nf, bar, kind, side, qty, price, fee, pnl, reason, entry_bar, entry_price, efee, fund):
    fills[nf, F_BAR] = bar
    fills[nf, F_KIND] = kind
    fills[nf, F_SIDE] = side
    fills[nf, F_QTY] = qty
    fills[nf, F_PRICE] = price
    fills[nf, F_FEE] = fee
    fills[nf, F_PNL] = pnl
    fills[nf, F_REASON] = reason
    fills[nf, F_ENTRY_BAR] = entry_bar
    fills[nf, F_ENTRY_PRICE] = entry_price
    fills[nf, F_ENTRY_FEE] = efee
    fills[nf, F_FUNDING] = fund
    return nf + 1


@njit(cache=True)
def run_chunk(start, end, ts, o, h, lo, c, mh, ml, sig, exl, exs, fbar, frate, fmark, fk, drift, conf, hl,
              params, rl, mmr, ded, maxlev, state, equity, fills):
    """Advance the backtest over bars [start, end); returns (fills written, next bar). It stops early, before
    a bar, when ``fills`` might not hold that bar's rows: the caller empties the buffer and calls again from
    the bar returned. Funding comes as sparse events (fbar sorted bar indices, frate, fmark); ``fk`` is the
    first event at or after ``start``."""
    nfund = fbar.shape[0]
    lev = params[P_LEV]
    taker = params[P_TAKER]
    step = params[P_STEP]
    min_qty = params[P_MINQTY]
    min_not = params[P_MINNOT]
    tick = params[P_TICK]
    funding_on = params[P_FUNDING] > 0.5
    has_drift = params[P_HAS_DRIFT] > 0.5
    kelly = params[P_MODE] < 0.5
    bal = state[S_BAL]
    side = state[S_SIDE]
    qty = state[S_QTY]
    entry = state[S_ENTRY]
    margin = state[S_MARGIN]
    liq = state[S_LIQ]
    bk = state[S_BK]
    tp = state[S_TP]
    sl = state[S_SL]
    eidx = state[S_ENTRY_IDX]
    base = state[S_BASE]
    cbase = state[S_CBASE]
    pexit = state[S_PEXIT]
    pred_frac = state[S_PRED_FRAC]
    pred_reason = state[S_PRED_REASON]
    pentry = state[S_PENTRY]
    pbase = state[S_PBASE]
    pconf = state[S_PCONF]
    efee = state[S_EFEE]
    fund = state[S_FUND]
    nf = 0
    i = start
    while i < end:
        # fast paths over quiet bars (nothing pending, no funding, no signal or exit flag, no trigger): they
        # only write equity. Any bar that is not quiet drops to the full step below, which redoes it whole.
        quiet_until = fbar[fk] if fk < nfund and fbar[fk] < end else end
        if side == 0.0 and pentry == 0.0 and pexit < 0.0 and pred_frac == 0.0:
            while i < quiet_until and sig[i] == 0:
                equity[i] = bal
                i += 1
        elif side != 0.0 and not has_drift and pexit < 0.0 and pred_frac == 0.0 and pentry == 0.0:
            flags = exl if side > 0.0 else exs
            while i < quiet_until and sig[i] == 0 and not flags[i]:
                if step_bar(side, o[i], h[i], lo[i], mh[i], ml[i], tp, sl, liq, bk)[0] != 0:
                    break
                equity[i] = bal + price_pnl(side, qty, entry, c[i])
                i += 1
        if i >= end:
            break
        room = FILLS_PER_BAR - 1
        j = fk
        while j < nfund and fbar[j] <= i:
            room += 1
            j += 1
        if nf + room > fills.shape[0]:
            break
        oi = o[i]
        # 1. funding at the open, for a position held through the funding time (several events may
        #    fall on one bar when bars are longer than the funding interval)
        while fk < nfund and fbar[fk] <= i:
            if funding_on and side != 0.0 and fbar[fk] == i:
                r = frate[fk]
                m = fmark[fk]
                if m != m:
                    m = oi
                pay = funding_payment(side, qty, m, r)
                bal -= pay
                fund += pay
                nf = _put(fills, nf, i, R.KIND_FUNDING, side, qty, m, 0.0, -pay, R.FUNDING, eidx, entry, 0.0, pay)
            fk += 1
        # 2. exit or reduce decided at the previous close
        if side != 0.0 and (pexit >= 0.0 or pred_frac > 0.0):
            if pexit >= 0.0:
                q = qty
                reason = pexit
            else:
                q = reduce_qty(qty, pred_frac, step, min_qty)
                reason = pred_reason
            share = q / qty
            pnl = price_pnl(side, q, entry, oi)
            fee = fee_for(q, oi, taker)
            bal += pnl - fee
            nf = _put(fills, nf, i, R.KIND_EXIT, side, q, oi, fee, pnl, reason, eidx, entry,
                      efee * share, fund * share)
            efee -= efee * share
            fund -= fund * share
            if q >= qty:
                side = 0.0
                qty = 0.0
                margin = 0.0
            else:
                margin -= margin * share
                qty -= q
                k = select_tier(qty * entry, rl)
                liq = liquidation_price(side, qty, entry, lev, mmr[k], ded[k], 0.0)
        pexit = -1.0
        pred_frac = 0.0
        # 3. entry decided at the previous close
        if pentry != 0.0 and side == 0.0:
            notional = bal * params[P_KELLY] * lev if kelly else params[P_CAPITAL] * params[P_ALLOC] * lev
            q = sized_qty(notional, oi, step)
            if entry_check(q, oi, pentry, lev, taker, bal, min_qty, min_not, rl, maxlev) == OK:
                side = pentry
                qty = q
                entry = oi
                margin = q * oi / lev
                fee = fee_for(q, oi, taker)
                bal -= fee
                efee = fee
                fund = 0.0
                k = select_tier(q * oi, rl)
                liq = liquidation_price(side, q, oi, lev, mmr[k], ded[k], 0.0)
                bk = bankruptcy_price(side, oi, lev)
                tp, sl = protective_prices(side, oi, params[P_TP], params[P_SL], tick, liq)
                eidx = i
                base = pbase
                cbase = pconf
                nf = _put(fills, nf, i, R.KIND_ENTRY, side, q, oi, fee, 0.0, R.ENTRY, i, oi, fee, 0.0)
        pentry = 0.0
        # 4. TP / SL / liquidation inside the bar
        if side != 0.0:
            ev, px = step_bar(side, oi, h[i], lo[i], mh[i], ml[i], tp, sl, liq, bk)
            if ev != 0:
                if ev == EV_LIQ:
                    reason = R.LIQUIDATION
                elif ev == EV_SL:
                    reason = R.SL
                elif ev == EV_TP:
                    reason = R.TP
                else:
                    reason = R.MANUAL
                pnl = price_pnl(side, qty, entry, px)
                fee = fee_for(qty, px, taker)
                bal += pnl - fee
                nf = _put(fills, nf, i, R.KIND_EXIT, side, qty, px, fee, pnl, reason, eidx, entry, efee, fund)
                side = 0.0
                qty = 0.0
                margin = 0.0
                efee = 0.0
                fund = 0.0
        # 5. equity at the close
        ci = c[i]
        if side != 0.0:
            equity[i] = bal + price_pnl(side, qty, entry, ci)
        else:
            equity[i] = bal
        # 6. decisions at the close, acted on at the next open
        do_exit, enter = signal_decision(side, float(sig[i]), exl[i], exs[i])
        if side != 0.0:
            if do_exit:
                pexit = R.SIGNAL
                if enter != 0.0:
                    pentry = enter
                    if has_drift:
                        pbase = drift[i]
                        pconf = conf[i]
            elif has_drift:
                d = drift[i]
                if base != base:
                    base = d
                age = ((ts[i] - ts[int(eidx)]) * params[P_TS_NS] + params[P_BAR_NS]) * 1e-9
                action, frac, why, nbase, ncbase = decide_code(
                    side, base, d, cbase, conf[i], age, hl[i], params[P_DECAY], params[P_TMULT],
                    params[P_CDROP], params[P_RFRAC])
                if action == CLOSE:
                    pexit = R.MONITOR_REASON[why]
                elif action == REDUCE:
                    pred_frac = frac
                    pred_reason = R.MONITOR_REASON[why]
                base = nbase
                cbase = ncbase
        elif enter != 0.0:
            pentry = enter
            if has_drift:
                pbase = drift[i]
                pconf = conf[i]
        i += 1
    state[S_BAL] = bal
    state[S_SIDE] = side
    state[S_QTY] = qty
    state[S_ENTRY] = entry
    state[S_MARGIN] = margin
    state[S_LIQ] = liq
    state[S_BK] = bk
    state[S_TP] = tp
    state[S_SL] = sl
    state[S_ENTRY_IDX] = eidx
    state[S_BASE] = base
    state[S_CBASE] = cbase
    state[S_PEXIT] = pexit
    state[S_PRED_FRAC] = pred_frac
    state[S_PRED_REASON] = pred_reason
    state[S_PENTRY] = pentry
    state[S_PBASE] = pbase
    state[S_PCONF] = pconf
    state[S_EFEE] = efee
    state[S_FUND] = fund
    return nf, i
