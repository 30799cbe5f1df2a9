"""The portfolio kernel's fast paths over quiet detail bars: positions may be open, but no funding is due, no
signal row acts, no open position has a monitor and the whole bar touches no TP / SL / liquidation (so none of
its sub-bars does: they cover exactly the bar's range). They only write the equity and stop at the first step
that needs the kernel's full treatment (which then redoes that step whole). The rules they ask are the shared
ones (rules.signal_decision, rules.step_bar)."""

from __future__ import annotations

from numba import njit

from .portfolio_layout import (
    NEVER,
    P_MONITOR,
    P_SYM,
    W_BAL,
    X_BK,
    X_ENTRY,
    X_LAST,
    X_LIQ,
    X_OWNER,
    X_PSIDE,
    X_QTY,
    X_SIDE,
    X_SL,
    X_TP,
)
from .rules import price_pnl, signal_decision, step_bar


@njit(cache=True, inline="always")
def _next_signal_step(kp, off, astep):
    nxt = NEVER
    for k in range(kp.shape[0]):
        if kp[k] < off[k + 1] and astep[kp[k]] < nxt:
            nxt = astep[kp[k]]
    return nxt


@njit(cache=True, inline="always")
def _unmonitored(pos, params) -> bool:
    """True when no open position's slot has a monitor (a plain-signal strategy) and no post-only entry rests
    (it is checked sub-bar by sub-bar)."""
    for x in range(pos.shape[0]):
        if pos[x, X_PSIDE] != 0.0:
            return False
        if pos[x, X_SIDE] != 0.0 and params[int(pos[x, X_OWNER]), P_MONITOR] > 0.5:
            return False
    return True


@njit(cache=True)
def _quiet(s, stop, nxt, o, h, lo, c, mh, ml, use_mark, params, off, astep, sig, exl, exs, kp, pos, wallet, equity):
    """Steps where positions are open but nothing happens: no funding due (``stop``), no signal row that acts,
    no monitor and no TP / SL / liquidation touched by the whole detail bar (then none of its sub-bars touches
    one either: they cover exactly the bar's range). Only the equity is written; returns (step, next signal
    step) at the first step that needs the full treatment, which redoes it whole."""
    n_sym = pos.shape[0]
    while s < stop:
        if nxt <= s:
            for k in range(kp.shape[0]):
                r = kp[k]
                while r < off[k + 1] and astep[r] <= s:
                    x = int(params[k, P_SYM])
                    side = pos[x, X_SIDE] if int(pos[x, X_OWNER]) == k else 0.0
                    do_exit, enter = signal_decision(side, float(sig[r]), exl[r], exs[r])
                    if do_exit or enter != 0.0:
                        return s, nxt
                    r += 1
            for k in range(kp.shape[0]):
                while kp[k] < off[k + 1] and astep[kp[k]] <= s:
                    kp[k] += 1
            nxt = _next_signal_step(kp, off, astep)
        eq = wallet[W_BAL]
        for x in range(n_sym):
            side = pos[x, X_SIDE]
            if side == 0.0:
                continue
            px = c[x, s]
            if px == px:
                bh, bl = h[x, s], lo[x, s]
                mhi, mlo = bh, bl
                if use_mark[x] and mh[x, s] == mh[x, s]:
                    mhi, mlo = mh[x, s], ml[x, s]
                if step_bar(side, o[x, s], bh, bl, mhi, mlo, pos[x, X_TP], pos[x, X_SL], pos[x, X_LIQ],
                            pos[x, X_BK])[0] != 0:
                    return s, nxt
                pos[x, X_LAST] = px
            else:
                px = pos[x, X_LAST]
            eq += price_pnl(side, pos[x, X_QTY], pos[x, X_ENTRY], px)
        equity[s] = eq
        s += 1
    return s, nxt
