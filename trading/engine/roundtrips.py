"""Fills and round-trip trades from the kernel's raw fill rows, for single and portfolio runs alike.

A round trip is one position from its entry to its final exit: reduces (monitor, partial closes) are listed
inside it (``partials``), funding paid while it was open is charged to it, and ``pnl`` is net of every fee
and of funding. Only closed round trips are trades; a position still open at the end is reported apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import portfolio_layout as K
from . import reasons as R

SIDES = ("long", "short")


def labels(codes: np.ndarray, names) -> pd.Categorical:
    """Integer codes as a categorical of names (cheap for many rows; compares equal to plain strings)."""
    return pd.Categorical.from_codes(np.asarray(codes).astype(np.int16), categories=list(names))


def fill_times(raw: np.ndarray, axis: np.ndarray, sub_ns: int, step_col: int, off_col: int) -> pd.DatetimeIndex:
    """Each row's time: its detail bar's open plus its offset in sub-bars (a monitor fill: the sub-bar close)."""
    steps = raw[:, step_col].astype(np.int64)
    ns = axis[steps] + raw[:, off_col].astype(np.int64) * sub_ns
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")


def fills_frame(raw: np.ndarray, axis: np.ndarray, sub_ns: int, slots: list[str], symbols: list[str]) -> pd.DataFrame:
    """One row per entry, exit (signal, TP, SL, liquidation, monitor-*) and funding record, in time order.
    ``side`` is the position's side; ``reverse`` marks a signal exit whose slot entered the other way at once;
    ``trade`` numbers the position (round trip) a row belongs to; ``bar`` is the detail bar's index."""
    nxt = np.r_[raw[1:], np.full((1, raw.shape[1]), np.nan)] if len(raw) else raw
    reverse = ((raw[:, K.F_KIND] == R.KIND_EXIT) & (raw[:, K.F_REASON] == R.SIGNAL) & (nxt[:, K.F_KIND] == R.KIND_ENTRY)
               & (nxt[:, K.F_SLOT] == raw[:, K.F_SLOT]) & (nxt[:, K.F_STEP] == raw[:, K.F_STEP]))
    return pd.DataFrame({
        "time": fill_times(raw, axis, sub_ns, K.F_STEP, K.F_OFF),
        "slot": labels(raw[:, K.F_SLOT], slots),
        "symbol": labels(raw[:, K.F_SYM], symbols),
        "kind": labels(raw[:, K.F_KIND], R.KINDS),
        "side": labels(raw[:, K.F_SIDE] < 0, SIDES),
        "qty": raw[:, K.F_QTY],
        "price": raw[:, K.F_PRICE],
        "fee": raw[:, K.F_FEE],
        "pnl": raw[:, K.F_PNL],
        "reason": labels(raw[:, K.F_REASON], R.EXIT_REASONS),
        "reverse": reverse,
        "trade": raw[:, K.F_TRADE].astype(np.int64),
        "bar": raw[:, K.F_STEP].astype(np.int64),
    }, copy=False)


def round_trips(fills: pd.DataFrame, open_trades: set[int]) -> pd.DataFrame:
    """One row per closed position (see the module doc); ``partials`` lists the closes before the last."""
    kind = fills["kind"].to_numpy()
    trade = fills["trade"].to_numpy()
    entries = fills[kind == "entry"]
    closed = ~entries["trade"].isin(open_trades).to_numpy()
    entries = entries[closed]
    ids = entries["trade"].to_numpy()
    n_ids = int(trade.max()) + 1 if len(trade) else 0
    exits = fills[kind == "exit"]
    et = exits["trade"].to_numpy()
    qty, price, fee, pnl = (exits[c].to_numpy() for c in ("qty", "price", "fee", "pnl"))
    count = np.bincount(et, minlength=n_ids)
    exit_qty = np.bincount(et, weights=qty, minlength=n_ids)
    exit_value = np.bincount(et, weights=qty * price, minlength=n_ids)
    exit_fee = np.bincount(et, weights=fee, minlength=n_ids)
    gross = np.bincount(et, weights=pnl, minlength=n_ids)
    fund = fills[kind == "funding"]
    paid = np.bincount(fund["trade"].to_numpy(), weights=-fund["pnl"].to_numpy(), minlength=n_ids)
    last = np.full(n_ids, -1, dtype=np.int64)
    last[et] = np.arange(len(et))  # later rows overwrite: the final exit of each trade
    final = last[ids]
    fees = entries["fee"].to_numpy() + exit_fee[ids]
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_exit = exit_value[ids] / exit_qty[ids]
    out = pd.DataFrame({
        "trade": ids,
        "slot": entries["slot"].to_numpy(),
        "symbol": entries["symbol"].to_numpy(),
        "side": entries["side"].to_numpy(),
        "entry_time": entries["time"].to_numpy(),
        "exit_time": exits["time"].to_numpy()[final],
        "qty": entries["qty"].to_numpy(),
        "entry_price": entries["price"].to_numpy(),
        "exit_price": avg_exit,
        "fees": fees,
        "funding": paid[ids],
        "gross_pnl": gross[ids],
        "pnl": gross[ids] - fees - paid[ids],
        "exit_reason": exits["reason"].to_numpy()[final],
        "exits": count[ids],
        "entry_bar": entries["bar"].to_numpy(),
        "exit_bar": exits["bar"].to_numpy()[final],
    })
    out["partials"] = _partials(exits, ids, count)
    return out


def _partials(exits: pd.DataFrame, ids: np.ndarray, count: np.ndarray) -> list[list[dict]]:
    """For each trade, its closes before the final one as {time, qty, price, reason, pnl}."""
    multi = set(ids[count[ids] > 1].tolist())
    found: dict[int, list[dict]] = {t: [] for t in multi}
    if multi:
        sub = exits[exits["trade"].isin(multi)]
        for t, time, q, p, reason, pnl in zip(sub["trade"], sub["time"], sub["qty"], sub["price"], sub["reason"],
                                              sub["pnl"], strict=True):
            found[t].append({"time": time, "qty": float(q), "price": float(p), "reason": str(reason),
                             "pnl": float(pnl)})
        for t in multi:
            found[t].pop()  # the last close is the trade's exit
    return [found.get(t, []) for t in ids.tolist()]
