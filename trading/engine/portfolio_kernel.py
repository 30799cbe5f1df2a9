"""The one backtest hot loop (numba): several symbols on one detail-bar axis, one wallet, isolated margin per
position, one position per symbol, ``max_open_positions`` across symbols, several slots (StrategyConfigs)
acting in list order. ``run_backtest`` (one symbol) and ``run_portfolio`` both run it; the order of events is
documented in portfolio.py. Every per-position rule comes from rules.py / rebalance.py / detail_path.py.

Layout: detail prices are (symbols, steps) arrays, NaN where a symbol has no bar at a step; a slot's signal
rows are slices of concatenated arrays (``off``); ``astep[r]`` is the step at whose open row ``r`` (closed
at that time) is acted on. State lives in small arrays so a run can stop (full record buffers) and resume.
Array layout: portfolio_layout.py; event helpers (fills, closes, refusals, monitor actions):
portfolio_events.py; the multi-slot quiet-bar path: portfolio_quiet.py. Every array the helpers get is a view
without a reference count (borrowed.py): numba otherwise counts each array an inlined helper binds or a called
one receives, with an atomic increment and decrement, and that cost more than a whole quiet step.
"""

from __future__ import annotations

import math

from numba import njit

from . import reasons as R
from .borrowed import borrowed
from .detail_path import subbar
from .portfolio_events import _close, _closed_range, _fill, _open, _price_at_open, _refuse, _rest, _unrest
from .portfolio_layout import (
    D_ACTION,
    D_AGE,
    D_BASE,
    D_CBASE,
    D_CONF,
    D_DRIFT,
    D_HL,
    D_OFF,
    D_PRICE,
    D_QTY,
    D_REASON,
    D_SLOT,
    D_STEP,
    D_SYM,
    D_TRADE,
    NEVER,
    P_ALLOC,
    P_CAPITAL,
    P_CDROP,
    P_DECAY,
    P_FUNDING,
    P_KELLY,
    P_LEV,
    P_MAKER,
    P_MINNOT,
    P_MINQTY,
    P_MODE,
    P_MONITOR,
    P_POST_ONLY,
    P_RFRAC,
    P_SLIP_BPS,
    P_SLIP_RANGE,
    P_STEP,
    P_SYM,
    P_TAKER,
    P_TICK,
    P_TIMEOUT,
    P_TMULT,
    RF_MAX_OPEN,
    RF_NO_PRICE,
    RF_SYMBOL_HELD,
    W_BAL,
    W_FK,
    W_ND,
    W_NEXT_SIG,
    W_NF,
    W_NR,
    W_OPEN,
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
from .portfolio_quiet import _next_signal_step, _quiet, _unmonitored
from .rebalance import CLOSE, HOLD, REDUCE, decide_code
from .rules import (
    EV_LIQ,
    EV_SL,
    OK,
    entry_check,
    fee_for,
    funding_payment,
    liquidation_price,
    post_only_expired,
    post_only_filled,
    price_pnl,
    reduce_qty,
    select_tier,
    signal_decision,
    sized_qty,
    slipped_price,
    step_bar,
)


@njit(cache=True)
def run_steps(start, end, n_sub, sub_s, axis, o, h, lo, c, mo, mh, ml, mc, use_mark, fstep, fsym, frate, fmark,
              params, rl, mmr, ded, maxlev, off, astep, sig, exl, exs, fc, dr, cf, hl, max_open, kelly_available,
              wallet, kp, pos, equity, fills, decs, refs, room):
    """Advance over steps [start, end); returns the next step. Stops early, before a step, when a record
    buffer might not hold that step's rows (the caller empties them and calls again)."""
    # every array as a view without a reference count (borrowed.py): the helpers inlined below bind their array
    # arguments to new variables, and each binding cost an atomic increment and decrement (~20 pairs a flip)
    axis, o, h, lo, c, mo, mh, ml, mc = (borrowed(axis), borrowed(o), borrowed(h), borrowed(lo), borrowed(c),
                                         borrowed(mo), borrowed(mh), borrowed(ml), borrowed(mc))
    use_mark, fstep, fsym, frate, fmark = (borrowed(use_mark), borrowed(fstep), borrowed(fsym), borrowed(frate),
                                           borrowed(fmark))
    params, rl, mmr, ded, maxlev = borrowed(params), borrowed(rl), borrowed(mmr), borrowed(ded), borrowed(maxlev)
    off, astep, sig, exl, exs = borrowed(off), borrowed(astep), borrowed(sig), borrowed(exl), borrowed(exs)
    fc, dr, cf, hl = borrowed(fc), borrowed(dr), borrowed(cf), borrowed(hl)
    wallet, kp, pos, equity = borrowed(wallet), borrowed(kp), borrowed(pos), borrowed(equity)
    fills, decs, refs = borrowed(fills), borrowed(decs), borrowed(refs)
    n_sym = o.shape[0]
    n_fund = fstep.shape[0]
    cap_f = fills.shape[0] - room
    cap_d = decs.shape[0] - n_sym * n_sub
    cap_r = refs.shape[0] - params.shape[0]
    nxt = int(wallet[W_NEXT_SIG])
    if nxt < 0:
        nxt = _next_signal_step(kp, off, astep)
    fk = int(wallet[W_FK])
    s = start
    while s < end:
        nfs = fstep[fk] if fk < n_fund else NEVER
        # fast path: nothing open, no signal row and no funding due -> the equity is the wallet
        if wallet[W_OPEN] == 0.0:
            stop = min(end, nxt, nfs)
            bal = wallet[W_BAL]
            while s < stop:
                equity[s] = bal
                s += 1
            if s >= end:
                break
        if s < nfs and n_sym == 1 and kp.shape[0] == 1 and params[0, P_MONITOR] < 0.5 and pos[0, X_PSIDE] == 0.0:
            # one slot on one symbol without a monitor (run_backtest's common case): quiet bars in locals, written
            # out here (see portfolio_quiet.py for what "quiet" means)
            side = pos[0, X_SIDE]
            last = pos[0, X_LAST]
            bal = wallet[W_BAL]
            r = kp[0]
            stop = min(end, nfs)
            while s < stop:
                hit = False
                while r < off[1] and astep[r] <= s:
                    do_exit, enter = signal_decision(side, float(sig[r]), exl[r], exs[r])
                    if do_exit or enter != 0.0:
                        hit = True
                        break
                    r += 1
                if hit:
                    break
                if side != 0.0:
                    px = c[0, s]
                    if px == px:
                        mhi, mlo = h[0, s], lo[0, s]
                        if use_mark[0] and mh[0, s] == mh[0, s]:
                            mhi, mlo = mh[0, s], ml[0, s]
                        if step_bar(side, o[0, s], h[0, s], lo[0, s], mhi, mlo, pos[0, X_TP], pos[0, X_SL],
                                    pos[0, X_LIQ], pos[0, X_BK])[0] != 0:
                            break
                        last = px
                    equity[s] = bal + price_pnl(side, pos[0, X_QTY], pos[0, X_ENTRY], last)
                else:
                    equity[s] = bal
                s += 1
            kp[0] = r
            nxt = astep[r] if r < off[1] else NEVER
            if side != 0.0:
                pos[0, X_LAST] = last
            if s >= end:
                break
        elif s < nfs and _unmonitored(pos, params):
            s, nxt = _quiet(s, min(end, nfs), nxt, o, h, lo, c, mh, ml, use_mark, params, off, astep, sig, exl, exs,
                            kp, pos, wallet, equity)
            if s >= end:
                break
        if wallet[W_NF] > cap_f or wallet[W_ND] > cap_d or wallet[W_NR] > cap_r:
            break
        t0 = (axis[s] - axis[0]) * 1e-9  # seconds since the first detail open
        # 1. at the open (= the previous step's close, after its monitor): funding, then signal rows in slot order
        while fk < n_fund and fstep[fk] <= s:
            x = fsym[fk]
            if fstep[fk] == s and pos[x, X_SIDE] != 0.0 and params[int(pos[x, X_OWNER]), P_FUNDING] > 0.5:
                m = fmark[fk]
                if m != m:
                    m = _price_at_open(x, s, o, c, pos)
                side = pos[x, X_SIDE]
                pay = funding_payment(side, pos[x, X_QTY], m, frate[fk])
                wallet[W_BAL] -= pay
                nf = int(wallet[W_NF])
                wallet[W_NF] = _fill(fills, nf, s, 0.0, pos[x, X_OWNER], x, 2, side, pos[x, X_QTY], m, 0.0, -pay,
                                     R.FUNDING, pos[x, X_TRADE])
            fk += 1
        if nxt <= s:
            for k in range(kp.shape[0]):
                while kp[k] < off[k + 1] and astep[kp[k]] <= s:
                    r = kp[k]
                    x = int(params[k, P_SYM])
                    mine = int(pos[x, X_OWNER]) == k
                    do_exit, enter = signal_decision(pos[x, X_SIDE] if mine else 0.0, float(sig[r]), exl[r], exs[r])
                    if do_exit or enter != 0.0:  # the row acts (written out here: no call on the hot path)
                        price = o[x, s]
                        if price != price:
                            price = _price_at_open(x, s, o, c, pos)
                        if do_exit:
                            px = slipped_price(-pos[x, X_SIDE], price, params[k, P_SLIP_BPS], params[k, P_SLIP_RANGE],
                                               _closed_range(x, s, False, h, lo), params[k, P_TICK])
                            _close(x, pos[x, X_QTY], px, R.SIGNAL, s, 0.0, params, rl, mmr, ded, pos, wallet, fills)
                        if enter != 0.0:
                            owner = int(pos[x, X_OWNER])
                            lev = params[k, P_LEV]
                            available = wallet[W_BAL] - wallet[W_USED]
                            q = 0.0
                            if owner >= 0:
                                why = RF_SYMBOL_HELD
                            elif wallet[W_OPEN] >= max_open:
                                why = RF_MAX_OPEN
                            elif price != price:
                                why = RF_NO_PRICE
                            else:
                                if params[k, P_MODE] < 0.5:
                                    basis = available if kelly_available else wallet[W_BAL]
                                    notional = basis * params[k, P_KELLY] * lev
                                else:
                                    notional = params[k, P_CAPITAL] * params[k, P_ALLOC] * lev
                                q = sized_qty(notional, price, params[k, P_STEP])
                                why = entry_check(q, price, enter, lev, params[k, P_TAKER], available,
                                                  params[k, P_MINQTY], params[k, P_MINNOT], rl[x], maxlev[x])
                            if why != OK:
                                _refuse(refs, wallet, s, k, x, enter, why, owner if why == RF_SYMBOL_HELD else -1.0)
                            elif params[k, P_POST_ONLY] > 0.5:  # a post-only limit at the signal price rests
                                wallet[W_OPEN] += 1.0
                                _rest(x, k, enter, q, price, t0, r, params, pos, wallet)
                            else:
                                wallet[W_OPEN] += 1.0
                                px = slipped_price(enter, price, params[k, P_SLIP_BPS], params[k, P_SLIP_RANGE],
                                                   _closed_range(x, s, False, h, lo), params[k, P_TICK])
                                _open(x, k, enter, q, px, price, params[k, P_TAKER], s, 0.0, t0, r, params, rl, mmr, ded, dr,
                                      cf, hl, pos, wallet, fills)
                    kp[k] = r + 1
            nxt = _next_signal_step(kp, off, astep)
        # 2. the detail bar's sub-bars: TP / SL / liquidation (step_bar), then the monitor at each sub-bar's close
        if wallet[W_OPEN] > 0.0:
            for j in range(n_sub):
                for x in range(n_sym):
                    side = pos[x, X_SIDE]
                    pside = pos[x, X_PSIDE]
                    if side == 0.0 and pside == 0.0:
                        continue
                    bo = o[x, s]
                    if bo != bo:
                        continue
                    if n_sub == 1:
                        so, sh, sl_, sc = bo, h[x, s], lo[x, s], c[x, s]
                    else:
                        so, sh, sl_, sc = subbar(bo, h[x, s], lo[x, s], c[x, s], n_sub, j)
                    if pside != 0.0:
                        # a resting post-only entry: filled at its limit (maker) when this sub-bar trades through
                        # it, then this same sub-bar's step_bar applies to the position; else at its timeout a
                        # market entry at the sub-bar's close (taker, slippage), live from the next sub-bar
                        k = int(pos[x, X_OWNER])
                        row = int(pos[x, X_PROW])
                        limit = pos[x, X_PPRICE]
                        if post_only_filled(pside, limit, sl_, sh):
                            q = pos[x, X_PQTY]
                            _unrest(x, pos, params, wallet)
                            _open(x, k, pside, q, limit, limit, params[k, P_MAKER], s, float(j), t0 + j * sub_s, row,
                                  params, rl, mmr, ded, dr, cf, hl, pos, wallet, fills)
                            side = pside
                        elif post_only_expired(t0 + (j + 1) * sub_s - pos[x, X_PTIME], params[k, P_TIMEOUT]):
                            q = pos[x, X_PQTY]
                            _unrest(x, pos, params, wallet)
                            px = slipped_price(pside, sc, params[k, P_SLIP_BPS], params[k, P_SLIP_RANGE],
                                               _closed_range(x, s, j == n_sub - 1, h, lo), params[k, P_TICK])
                            _open(x, k, pside, q, px, sc, params[k, P_TAKER], s, float(j + 1), t0 + (j + 1) * sub_s,
                                  row, params, rl, mmr, ded, dr, cf, hl, pos, wallet, fills)
                            continue
                        else:
                            continue
                    if use_mark[x] and mo[x, s] == mo[x, s]:
                        if n_sub == 1:
                            mhi, mlo = mh[x, s], ml[x, s]
                        else:
                            _a, mhi, mlo, _b = subbar(mo[x, s], mh[x, s], ml[x, s], mc[x, s], n_sub, j)
                    else:
                        mhi, mlo = sh, sl_
                    ev, px = step_bar(side, so, sh, sl_, mhi, mlo, pos[x, X_TP], pos[x, X_SL], pos[x, X_LIQ],
                                      pos[x, X_BK])
                    k = int(pos[x, X_OWNER])
                    qty = pos[x, X_QTY]
                    q = 0.0
                    if ev != 0:
                        q, offv, action = qty, float(j), CLOSE
                        reason = R.LIQUIDATION if ev == EV_LIQ else (R.SL if ev == EV_SL else R.TP)
                        if ev != EV_LIQ:  # a triggered TP/SL is a market order: slippage against the position
                            px = slipped_price(-side, px, params[k, P_SLIP_BPS], params[k, P_SLIP_RANGE],
                                               _closed_range(x, s, False, h, lo), params[k, P_TICK])
                    else:
                        pos[x, X_LAST] = sc
                        if params[k, P_MONITOR] > 0.5:
                            # the monitor: drift re-priced from the owner's latest row's forecast (else its drift)
                            r = kp[k] - 1
                            d = math.nan
                            conf = math.nan
                            if r >= off[k]:
                                f = fc[r]
                                d = (f - sc) / sc if f == f else dr[r]
                                conf = cf[r]
                            age = t0 + (j + 1) * sub_s - pos[x, X_ETIME]
                            action, frac, why, nbase, ncbase = decide_code(
                                side, pos[x, X_BASE], d, pos[x, X_CBASE], conf, age, pos[x, X_HL], params[k, P_DECAY],
                                params[k, P_TMULT], params[k, P_CDROP], params[k, P_RFRAC])
                            if action != HOLD:
                                q = qty if action == CLOSE else reduce_qty(qty, frac, params[k, P_STEP],
                                                                          params[k, P_MINQTY])
                                px = slipped_price(-side, sc, params[k, P_SLIP_BPS], params[k, P_SLIP_RANGE],
                                                   _closed_range(x, s, j == n_sub - 1, h, lo), params[k, P_TICK])
                                offv, reason = float(j + 1), R.MONITOR_REASON[why]
                                nd = int(wallet[W_ND])
                                decs[nd, D_STEP], decs[nd, D_OFF], decs[nd, D_SLOT], decs[nd, D_SYM] = s, offv, k, x
                                decs[nd, D_ACTION], decs[nd, D_REASON], decs[nd, D_PRICE] = action, why, sc
                                decs[nd, D_DRIFT], decs[nd, D_BASE], decs[nd, D_CONF] = d, pos[x, X_BASE], conf
                                decs[nd, D_CBASE], decs[nd, D_AGE], decs[nd, D_HL] = pos[x, X_CBASE], age, pos[x, X_HL]
                                decs[nd, D_QTY], decs[nd, D_TRADE] = q, pos[x, X_TRADE]
                                wallet[W_ND] = nd + 1
                                if action == REDUCE:
                                    pos[x, X_BASE] = nbase
                                    pos[x, X_CBASE] = ncbase
                    if q > 0.0:
                        # TP / SL / liquidation or the monitor: close q at px, written out here (see _close)
                        entry = pos[x, X_ENTRY]
                        pnl = price_pnl(side, q, entry, px)
                        fee = fee_for(q, px, params[k, P_TAKER])
                        wallet[W_BAL] += pnl - fee
                        nf = int(wallet[W_NF])
                        wallet[W_NF] = _fill(fills, nf, s, offv, k, x, 1, side, q, px, fee, pnl, reason,
                                             pos[x, X_TRADE])
                        if q >= qty - 1e-12:
                            wallet[W_USED] -= pos[x, X_MARGIN]
                            wallet[W_OPEN] -= 1.0
                            pos[x, X_OWNER] = -1.0
                            pos[x, X_SIDE] = 0.0
                            pos[x, X_QTY] = 0.0
                            pos[x, X_MARGIN] = 0.0
                        else:
                            share = pos[x, X_MARGIN] * q / qty
                            wallet[W_USED] -= share
                            pos[x, X_MARGIN] -= share
                            pos[x, X_QTY] = qty - q
                            t = select_tier((qty - q) * entry, rl[x])
                            pos[x, X_LIQ] = liquidation_price(side, qty - q, entry, params[k, P_LEV], mmr[x, t],
                                                              ded[x, t], 0.0)
        # 3. equity at the step's close: wallet + unrealised at each held symbol's last price
        eq = wallet[W_BAL]
        if wallet[W_OPEN] > 0.0:
            for x in range(n_sym):
                side = pos[x, X_SIDE]
                if side != 0.0:
                    px = c[x, s]
                    if px != px:
                        px = pos[x, X_LAST]
                    eq += price_pnl(side, pos[x, X_QTY], pos[x, X_ENTRY], px)
        equity[s] = eq
        s += 1
    wallet[W_FK] = fk
    wallet[W_NEXT_SIG] = nxt
    return s
