"""The portfolio kernel's array layout: slot parameters, per-symbol position state, the wallet and counters,
and the record rows (fills, monitor decisions, refused entries) it writes, as column indices; plus the state
before the first step. Shared by the kernel, its quiet-bar paths and the result builders."""

from __future__ import annotations

import math

import numpy as np

# slot params
(P_LEV, P_MODE, P_KELLY, P_CAPITAL, P_ALLOC, P_TP, P_SL, P_TAKER, P_STEP, P_MINQTY, P_MINNOT, P_TICK,
 P_DECAY, P_TMULT, P_CDROP, P_RFRAC, P_FUNDING, P_MONITOR, P_SYM, P_MAKER, P_POST_ONLY, P_TIMEOUT, P_SLIP_BPS,
 P_SLIP_RANGE) = range(24)
N_PARAMS = 24
# position state per symbol
# (X_P*: a resting post-only entry of the owner: side, limit price, qty, placement time in seconds, signal row;
# while it rests the symbol is owned and counts as open, X_SIDE stays 0)
(X_OWNER, X_SIDE, X_QTY, X_ENTRY, X_MARGIN, X_LIQ, X_BK, X_TP, X_SL, X_ETIME, X_BASE, X_CBASE, X_HL, X_TRADE,
 X_LAST, X_PSIDE, X_PPRICE, X_PQTY, X_PTIME, X_PROW) = range(20)
N_POS = 20
# wallet / counters
W_BAL, W_USED, W_OPEN, W_NF, W_ND, W_NR, W_FK, W_TRADES, W_NEXT_SIG = range(9)
N_WALLET = 9
# fill rows
(F_STEP, F_OFF, F_SLOT, F_SYM, F_KIND, F_SIDE, F_QTY, F_PRICE, F_FEE, F_PNL, F_REASON, F_TRADE) = range(12)
N_FILL = 12
# monitor decision rows (reduce / close only)
(D_STEP, D_OFF, D_SLOT, D_SYM, D_ACTION, D_REASON, D_PRICE, D_DRIFT, D_BASE, D_CONF, D_CBASE, D_AGE, D_HL,
 D_QTY, D_TRADE) = range(15)
N_DEC = 15
# refused entries
RF_STEP, RF_SLOT, RF_SYM, RF_SIDE, RF_CODE, RF_OTHER = range(6)
N_REF = 6
# refusal codes: 1..5 are rules.entry_check's codes; then the desk's own checks
RF_SYMBOL_HELD, RF_MAX_OPEN, RF_NO_PRICE = 10, 11, 12
REFUSALS = {1: "below-min-qty", 2: "below-min-notional", 3: "insufficient-balance", 4: "beyond-risk-limit",
            5: "leverage-above-tier", RF_SYMBOL_HELD: "symbol-held", RF_MAX_OPEN: "max-open-positions",
            RF_NO_PRICE: "no-price"}
NEVER = np.iinfo(np.int64).max


def new_state(n_symbols: int, balance: float) -> tuple[np.ndarray, np.ndarray]:
    """(wallet, positions) before the first step."""
    wallet = np.zeros(N_WALLET)
    wallet[W_BAL] = balance
    pos = np.zeros((n_symbols, N_POS))
    pos[:, X_OWNER] = -1.0
    pos[:, X_LAST] = math.nan
    wallet[W_NEXT_SIG] = -1.0
    return wallet, pos


def room_per_step(n_symbols: int, n_slots: int, n_sub: int, funding_per_step: int) -> int:
    """Fill rows one step can write at most: funding, a signal exit + entry per slot, and per symbol and
    sub-bar a TP/SL/liquidation or monitor fill."""
    return funding_per_step + 2 * n_slots + 2 * n_symbols * n_sub + 1
