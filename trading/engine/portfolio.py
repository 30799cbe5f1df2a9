"""``run_portfolio``: the desk's own loop as a backtest. Several slots (one StrategyConfig on one symbol each)
on one time axis, one wallet, isolated margin per position, one position per symbol, ``max_open_positions``
across symbols; signals at each slot's timeframe close, and between closes the 30-second monitor, TP/SL and
liquidation on the detail bars. ``run_backtest`` (one symbol) is the special case of this same code.

Semantics (what the desk does; the kernel in portfolio_kernel.py implements exactly this):

- The time axis is the union of the symbols' detail bar open times (the finest stored series: 1m under 5m
  signals). Each detail bar is cut into ``n = detail_seconds // monitor_seconds`` sub-bars along the ONE path
  of ``detail_path.py`` (O->L->H->C for a bar closing up, O->H->L->C for a bar closing down).
- Per sub-bar, in time order, for every open position (symbol order): ``rules.step_bar`` decides TP / SL /
  liquidation inside the sub-bar (adverse side first); then, at the sub-bar's close, the monitor
  (``rebalance.decide_code``, the four rules of DESIGN section 3) with drift re-priced as the live monitor does:
  drift_now = (forecast - price) / price from the owning slot's latest signal row (that row's drift when it has
  no forecast), confidence from that row, age = time since the entry fill, half-life, drift and confidence
  baselines taken from the entry row (a reduce moves the baseline). A reduce or close fills at once at the
  sub-bar's close price (taker, reduce-only market order).
- Liquidation triggers on the mark price when a mark series as fine as the detail bars (or finer: aggregated
  into each detail bar) is given, walked along the same path; a coarser mark (its low may come later in its
  bar) bounds the last price: the trigger is the detail bar's last-price range clipped to the coarse mark bar's
  range; none: the last price (the chain is in portfolio_inputs.py). ``mark`` per symbol may be a list of frames
  (every stored mark interval). ``PortfolioResult.trigger_series`` says which, per symbol.
- At a time T where signal bars close (the end of their last detail sub-bar), in this order:
  1. the monitor at that last sub-bar's close (still with the rows closed before T);
  2. funding for every symbol with a funding time at T (or since the previous detail open): positions open at
     T pay size x mark x rate, the mark being the mark series' open at T when given, else the detail open;
  3. each slot whose signal bar closed at T, in slot (list) order, applies ``rules.signal_decision`` and acts
     at once at the price at T (the next detail bar's open), taker fee: exit (reason ``signal``), then entry.
     A slot whose symbol is held by another slot does not touch it; its entry is refused (``symbol-held``).
     An entry is refused when ``max_open_positions`` positions are open (``max-open-positions``), or by
     ``rules.entry_check`` (min qty / notional, risk limit, leverage, insufficient available balance).
     Sizing: kelly notional = wallet balance x kelly_fraction x leverage (the wallet balance includes the
     locked margin of other positions, as the desk's paper and Bybit wallets report it; with
     ``kelly_basis="available"`` the locked margin is taken off first); fixed: initial capital x
     allocation x leverage. The cost check uses the available balance (wallet - locked margin).
- Equity (wallet + unrealised PnL at each held symbol's last price) is recorded at each detail bar's close.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import portfolio_kernel
from . import portfolio_layout as K
from .backtest_config import BacktestConfig
from .detail_path import MONITOR_SECONDS, checkpoints
from .instruments import Instrument
from .portfolio_inputs import align_prices, merged_funding, signal_rows, slot_params, tier_arrays
from .portfolio_result import PortfolioResult, Raw

CHUNK = 1 << 16
BUFFER_ROWS = 16_384
MAX_BUFFER_ROWS = 1 << 20  # a fill buffer's rows at most (96 MB of address space, touched only as written)
KELLY_BASES = ("wallet", "available")


@dataclass(frozen=True)
class PortfolioSlot:
    """One StrategyConfig on one symbol; slots act in list order at a shared close."""

    key: str
    symbol: str
    instrument: Instrument
    config: BacktestConfig
    signals: pd.DataFrame
    timeframe_seconds: int


@dataclass(frozen=True)
class PortfolioSpec:
    """The account: starting wallet (also the fixed-allocation base: the slots' ``config.initial_capital`` is
    not used), position cap across symbols, monitor cadence, funding on/off, and what kelly sizes off
    (``"wallet"``: the wallet balance, as the desk's open_position does; ``"available"``: minus locked margin)."""

    initial_capital: float
    max_open_positions: int
    monitor_seconds: int = MONITOR_SECONDS
    funding: bool = True
    kelly_basis: str = "wallet"

    def validate(self) -> None:
        if not self.initial_capital > 0:
            raise ValueError(f"initial_capital: {self.initial_capital} must be above 0")
        if self.max_open_positions < 1:
            raise ValueError(f"max_open_positions: {self.max_open_positions} must be >= 1")
        if self.monitor_seconds < 1:
            raise ValueError(f"monitor_seconds: {self.monitor_seconds} must be >= 1")
        if self.kelly_basis not in KELLY_BASES:
            raise ValueError(f"kelly_basis: {self.kelly_basis!r} is not one of {', '.join(KELLY_BASES)}")


def _validate_slots(slots: list[PortfolioSlot]) -> None:
    if not slots:
        raise ValueError("slots: at least one slot is required")
    seen = set()
    for i, slot in enumerate(slots):
        if slot.key in seen:
            raise ValueError(f"slots[{i}].key: {slot.key!r} is used twice")
        seen.add(slot.key)
        if slot.instrument.symbol != slot.symbol:
            raise ValueError(f"slots[{i}].instrument: {slot.instrument.symbol} is not the slot's symbol {slot.symbol}")
        if not slot.timeframe_seconds > 0:
            raise ValueError(f"slots[{i}].timeframe_seconds: {slot.timeframe_seconds} must be above 0")
        slot.config.validate(slot.instrument)


def run_portfolio(*, slots: list[PortfolioSlot], detail: dict[str, pd.DataFrame],
                  mark: dict[str, pd.DataFrame | list[pd.DataFrame]] | None = None, funding: dict[str, pd.Series] | None = None,
                  spec: PortfolioSpec, progress: Callable[[float], None] | None = None) -> PortfolioResult:
    """Backtest the slots as one account (see the module doc for every rule and the order of events)."""
    spec.validate()
    _validate_slots(slots)
    symbols = list(dict.fromkeys(s.symbol for s in slots))
    prices = align_prices(symbols, detail, mark)
    for i, slot in enumerate(slots):
        if slot.timeframe_seconds % prices.detail_seconds:
            raise ValueError(f"slots[{i}].timeframe_seconds: {slot.timeframe_seconds} is not a whole multiple of "
                             f"the detail bar ({prices.detail_seconds:g} s)")
    n_sub = checkpoints(int(prices.detail_seconds), spec.monitor_seconds)
    raw = simulate(slots=slots, symbols=symbols, prices=prices, mark=mark, funding=funding, n_sub=n_sub,
                   balance=spec.initial_capital, capitals=[spec.initial_capital] * len(slots),
                   max_open=spec.max_open_positions, funding_on=spec.funding,
                   kelly_available=spec.kelly_basis == "available", progress=progress)
    return PortfolioResult(raw=raw, slots=[s.key for s in slots], symbols=symbols, initial_capital=spec.initial_capital,
                           trigger_series=prices.trigger, close_prices=prices.c)


def _hand_over(buffer: np.ndarray, wallet: np.ndarray, counter: int, out: list) -> np.ndarray:
    """Move a record buffer's written rows (``wallet[counter]`` of them) to ``out``; the buffer to write on."""
    used = int(wallet[counter])
    wallet[counter] = 0.0
    if not used:
        return buffer
    out.append(buffer[:used])
    return np.empty_like(buffer)


def _joined(parts: list, width: int) -> np.ndarray:
    """The handed-over record parts as one array; a single part as it is (no copy)."""
    if not parts:
        return np.empty((0, width))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def simulate(*, slots, symbols, prices, mark, funding, n_sub: int, balance: float, capitals: list[float],
             max_open: int, funding_on: bool, kelly_available: bool, progress=None, opens=None,
             index: pd.DatetimeIndex | None = None) -> Raw:
    """Run the kernel over the whole axis in chunks and collect its records (shared by both runners)."""
    sym_index = [symbols.index(s.symbol) for s in slots]
    instruments = [next(s.instrument for s in slots if s.symbol == sym) for sym in symbols]
    rows = signal_rows(prices.axis, [s.signals for s in slots], [int(s.timeframe_seconds * 1e9) for s in slots],
                       [f"slots[{i}]" for i in range(len(slots))], opens)
    params = slot_params([s.config for s in slots], [s.instrument for s in slots], sym_index, capitals, funding_on,
                         rows.monitor)
    constant, interval = {}, {}
    for sym, inst in zip(symbols, instruments, strict=True):
        rates = [s.config.funding_rate for s in slots if s.symbol == sym and s.config.funding_rate is not None]
        constant[sym] = rates[0] if rates else None
        interval[sym] = inst.funding_interval_minutes
    fstep, fsym, frate, fmark = merged_funding(prices.axis, symbols, funding if funding_on else None, mark,
                                               constant if funding_on else {}, interval)
    rl, mmr, ded, maxlev = tier_arrays(instruments)
    n = prices.axis.shape[0]
    per_step = int(np.unique(fstep, return_counts=True)[1].max()) if len(fstep) else 0
    room = K.room_per_step(len(symbols), len(slots), n_sub, per_step)
    # room for every fill in one buffer when the signal rows bound them (an exit and an entry per row, a TP/SL
    # close per entry, the funding events): np.empty only maps it, the pages are touched as fills are written,
    # and a run whose fills fit is handed over without the copy of a concatenation
    rows_cap = max(BUFFER_ROWS, 4 * room, min(MAX_BUFFER_ROWS, 3 * rows.sig.shape[0] + fstep.shape[0] + room))
    fills = np.empty((rows_cap, K.N_FILL))
    decs = np.empty((max(BUFFER_ROWS, 4 * len(symbols) * n_sub), K.N_DEC))
    refs = np.empty((max(BUFFER_ROWS, 4 * len(slots)), K.N_REF))
    wallet, pos = K.new_state(len(symbols), balance)
    kp = rows.off[:-1].copy()
    equity = np.empty(n)
    sub_s = prices.detail_seconds / n_sub
    out_f, out_d, out_r = [], [], []
    chunk = CHUNK if progress is not None else n  # chunks only to report progress: each call unboxes ~40 arrays
    start = 0
    while start < n:
        end = min(n, start + chunk)
        start = portfolio_kernel.run_steps(start, end, n_sub, sub_s, prices.axis, prices.o, prices.h, prices.lo, prices.c, prices.mo,
                            prices.mh, prices.ml, prices.mc, prices.use_mark, fstep, fsym, frate, fmark, params, rl,
                            mmr, ded, maxlev, rows.off, rows.astep, rows.sig, rows.exl, rows.exs, rows.fc, rows.dr,
                            rows.cf, rows.hl, float(max_open), kelly_available, wallet, kp, pos, equity, fills, decs,
                            refs, room)
        if start < end or start >= n:  # a buffer is full (the kernel stopped early), or the run is done:
            # hand the filled parts over and write on in fresh buffers (no copy); the chunks in between keep
            # writing into the same buffers, so a run whose records fit them is never concatenated
            fills = _hand_over(fills, wallet, K.W_NF, out_f)
            decs = _hand_over(decs, wallet, K.W_ND, out_d)
            refs = _hand_over(refs, wallet, K.W_NR, out_r)
        if progress is not None and start == end:
            progress(end / n)
    return Raw(
        given_index=index, axis=prices.axis, sub_ns=int(round(sub_s * 1e9)), equity=equity,
        fills=_joined(out_f, K.N_FILL), decisions=_joined(out_d, K.N_DEC), refusals=_joined(out_r, K.N_REF),
        final_balance=float(wallet[K.W_BAL]), positions=pos)
