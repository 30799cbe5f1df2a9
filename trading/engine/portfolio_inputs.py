"""Turning a portfolio run's pandas inputs into the kernel's arrays: the detail axis (the union of every
symbol's detail bar open times), detail and mark prices per symbol on it, funding events per symbol, and each
slot's signal rows with the step at whose open they are acted on.

Validation happens here and names the input and the limit: detail series of one bar length for every symbol,
signals at a timeframe that is a whole multiple of the detail bar, a ``signal`` column, a DatetimeIndex.

The liquidation trigger per detail bar (``mark`` per symbol: one frame or a list of frames, one per stored mark
interval), documented fallback chain:
1. the finest mark layer whose bars are no longer than the detail bar and cover the whole detail bar (aggregated:
   first open, max high, min low, last close); a bar it misses goes to the next such layer;
2. else a mark layer with longer bars (1h mark under 5m detail): the detail bar's LAST-price range clipped to the
   range of the mark bar holding it (``_bound_by_coarse_mark``): a wick the mark never reached within its whole
   bar does not liquidate; where the mark did reach the level, liquidation happens where the last price does;
3. else (no mark bar, or the clipped range is empty) the last-price range itself, as with no mark at all.
``Prices.trigger`` names per symbol which of these the run could use (the TRIGGER_* labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from . import portfolio_layout as K
from .funding import _ns, funding_events

MONITOR_COLUMNS = ("forecast", "drift", "confidence", "half_life")
TRIGGER_MARK, TRIGGER_LAST = "mark", "last"
TRIGGER_BOUNDED = "last:bounded-by-coarser-mark"  # only mark bars longer than the detail bars are stored
TRIGGER_MARK_BOUNDED = "mark:else-bounded-by-coarser-mark"  # fine mark, its missing bars bounded by a coarser one


def bar_seconds(ns: np.ndarray, name: str) -> float:
    """The median spacing of bar open times (int64 ns), in seconds."""
    if ns.shape[0] < 2:
        raise ValueError(f"{name}: needs at least 2 bars to know its bar length, got {ns.shape[0]}")
    if not _increasing(ns):
        raise ValueError(f"{name}: bar open times must be strictly increasing")
    return float(np.median(np.diff(ns[: min(ns.shape[0], 1001)]))) / 1e9


@dataclass
class Prices:
    """Detail and mark prices per symbol on the detail axis (NaN where a symbol has no bar)."""

    axis: np.ndarray  # int64 ns, bar open times
    detail_seconds: float
    o: np.ndarray
    h: np.ndarray
    lo: np.ndarray
    c: np.ndarray
    mo: np.ndarray
    mh: np.ndarray
    ml: np.ndarray
    mc: np.ndarray
    use_mark: np.ndarray
    trigger: dict


def align_prices(symbols: list[str], detail: dict[str, pd.DataFrame], mark: dict[str, pd.DataFrame] | None,
                 detail_seconds: float | None = None, stamps: list[np.ndarray] | None = None) -> Prices:
    """The union axis of the symbols' detail bars and every price array on it (see the module doc)."""
    for sym in symbols:
        frame = detail.get(sym)
        if frame is None or len(frame) == 0:
            raise ValueError(f"detail[{sym!r}]: no detail bars for a slot's symbol")
        missing = [k for k in ("open", "high", "low", "close") if k not in frame.columns]
        if missing:
            raise ValueError(f"detail[{sym!r}]: missing column(s) {', '.join(missing)}")
    stamps = stamps or [_ns(detail[sym].index) for sym in symbols]
    if detail_seconds is None:
        lengths = {sym: bar_seconds(st, f"detail[{sym!r}]") for sym, st in zip(symbols, stamps, strict=True)}
        detail_seconds = lengths[symbols[0]]
        for sym, sec in lengths.items():
            if sec != detail_seconds:
                raise ValueError(f"detail[{sym!r}]: bar length {sec:g} s differs from {symbols[0]}'s "
                                 f"{detail_seconds:g} s; every symbol needs the same detail bar length")
    axis = union_sorted(stamps)
    n, s = axis.shape[0], len(symbols)
    arrays = {}
    for key in ("o", "h", "lo", "c"):
        arrays[key] = np.empty((s, n)) if all(st is axis for st in stamps) else np.full((s, n), np.nan)
    for x, sym in enumerate(symbols):
        where = slice(None) if stamps[x] is axis else np.searchsorted(axis, stamps[x])
        for key, col in (("o", "open"), ("h", "high"), ("lo", "low"), ("c", "close")):
            values = detail[sym][col].to_numpy(np.float64)
            if s == 1:  # the axis is the symbol's own bars: no copy beyond the column's
                arrays[key] = np.ascontiguousarray(values).reshape(1, n)
            else:
                arrays[key][x, where] = values
    use_mark = np.zeros(s, dtype=np.bool_)
    trigger = {}
    fine, coarse = [], []
    for x, sym in enumerate(symbols):
        layers = mark_layers(None if mark is None else mark.get(sym))
        if not layers:
            trigger[sym] = TRIGGER_LAST
            continue
        f = [(mt, m, sec) for mt, m, sec in layers if sec <= detail_seconds]
        c = [(mt, m, sec) for mt, m, sec in layers if sec > detail_seconds]
        fine += [(x, mt, m, sec) for mt, m, sec in f]
        coarse += [(x, mt, m, sec) for mt, m, sec in c]
        use_mark[x] = True
        trigger[sym] = (TRIGGER_MARK_BOUNDED if c else TRIGGER_MARK) if f else TRIGGER_BOUNDED
    shape = (s, n) if (fine or coarse) else (s, 1)  # the kernel reads mark prices only for symbols with use_mark
    for key in ("mo", "mh", "ml", "mc"):
        arrays[key] = np.full(shape, np.nan)
    for x, mt, m, sec in fine:  # finest first: a coarser fine-enough layer fills only the bars still without a mark
        _aggregate_mark(axis, detail_seconds, mt, m, x, arrays, sec)
    for x, mt, m, sec in coarse:  # then the coarser-than-detail layers bound the last price (module doc)
        _bound_by_coarse_mark(axis, detail_seconds, mt, m, sec, x, arrays)
    return Prices(axis, float(detail_seconds), arrays["o"], arrays["h"], arrays["lo"], arrays["c"], arrays["mo"],
                  arrays["mh"], arrays["ml"], arrays["mc"], use_mark, trigger)


def mark_layers(mark) -> list[tuple[np.ndarray, pd.DataFrame, float]]:
    """A symbol's mark input (one frame, or a list of frames of different bar lengths: every stored mark
    interval) as (open times ns, frame, bar seconds), finest first; empty frames dropped. A frame of one bar
    counts as fine (bar length 0)."""
    if mark is None:
        return []
    frames = [mark] if isinstance(mark, pd.DataFrame) else list(mark)
    out = []
    for i, m in enumerate(frames):
        if m is None or len(m) == 0:
            continue
        missing = [k for k in ("open", "high", "low", "close") if k not in m.columns]
        if missing:
            raise ValueError(f"mark[{i}]: missing column(s) {', '.join(missing)}")
        mt = _ns(m.index)
        sec = bar_seconds(mt, f"mark[{i}]") if mt.shape[0] >= 2 else 0.0
        out.append((mt, m, sec))
    return sorted(out, key=lambda layer: layer[2])


def finest_mark(mark) -> pd.DataFrame | None:
    """The finest frame of a symbol's mark input (the funding mark is its open at the funding time)."""
    layers = mark_layers(mark)
    return layers[0][1] if layers else None


def union_sorted(stamps: list[np.ndarray]) -> np.ndarray:
    """The sorted union of sorted int64 time arrays; the first array itself when they are all equal."""
    first = stamps[0]
    if all(st.shape == first.shape and (st is first or np.array_equal(st, first)) for st in stamps[1:]):
        for i in range(1, len(stamps)):
            stamps[i] = first
        return first
    merged = np.sort(np.concatenate(stamps), kind="stable")
    return merged[np.r_[True, merged[1:] != merged[:-1]]]


def _aggregate_mark(axis, detail_seconds, mt, m, x, arrays, mark_seconds: float = 0.0) -> None:
    """Mark bars falling inside each detail bar -> one OHLC per detail bar (first open, max, min, last close),
    written only into detail bars that have no mark yet (a finer layer went first) and only when the mark bars
    cover the whole detail bar (a detail bar missing some of its mark bars could miss the low: it is left to the
    next layer)."""
    bucket = np.searchsorted(axis, mt, side="right") - 1
    inside = (bucket >= 0) & (mt < axis[np.maximum(bucket, 0)] + int(detail_seconds * 1e9))
    bucket = bucket[inside]
    if bucket.shape[0] == 0:
        return
    mo, mh, ml, mc = (m[k].to_numpy(np.float64)[inside] for k in ("open", "high", "low", "close"))
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], bucket.shape[0]] - 1
    b = bucket[starts]
    empty = np.isnan(arrays["mo"][x, b])
    if mark_seconds > 0:
        empty &= (ends - starts + 1) * mark_seconds >= detail_seconds
    b = b[empty]
    arrays["mo"][x, b] = mo[starts][empty]
    arrays["mh"][x, b] = np.maximum.reduceat(mh, starts)[empty]
    arrays["ml"][x, b] = np.minimum.reduceat(ml, starts)[empty]
    arrays["mc"][x, b] = mc[ends][empty]


def _bound_by_coarse_mark(axis, detail_seconds, mt, m, coarse_seconds, x, arrays) -> None:
    """For each detail bar still without a mark that lies inside one coarser mark bar: the liquidation trigger
    is the bar's last-price range clipped to that mark bar's range (high = min(high, mark high), low =
    max(low, mark low)). A long is then liquidated only where the last price reaches the liquidation price in
    this detail bar AND the mark reached it somewhere in its coarse bar: a wick the mark never reached in the
    whole hour does not liquidate; one it did reach liquidates at the detail bar where the last price gets there
    (the mark's own moment inside its hour is unknown: the earliest possible one, conservative). When the clipped
    range is empty (the last price stayed outside the mark's range for the whole detail bar) the bar keeps the
    plain last-price range (conservative: the trigger is then the last price, as without any mark)."""
    _bound_rows(axis, int(detail_seconds * 1e9), mt, int(coarse_seconds * 1e9), m["high"].to_numpy(np.float64),
                m["low"].to_numpy(np.float64), arrays["o"][x], arrays["h"][x], arrays["lo"][x], arrays["c"][x],
                arrays["mo"][x], arrays["mh"][x], arrays["ml"][x], arrays["mc"][x])


@njit(cache=True)
def _bound_rows(axis, step, mt, span, mark_high, mark_low, o, h, lo, c, mo, mh, ml, mc):
    """``_bound_by_coarse_mark`` for one symbol's row: one merge pass over the sorted axis and mark bars."""
    j = 0
    n = mt.shape[0]
    for s in range(axis.shape[0]):
        if mo[s] == mo[s] or o[s] != o[s]:  # already has a finer mark, or no detail bar here
            continue
        t = axis[s]
        while j + 1 < n and mt[j + 1] <= t:
            j += 1
        if mt[j] > t or t + step > mt[j] + span:  # no mark bar holds the whole detail bar
            continue
        hi = min(h[s], mark_high[j])
        low = max(lo[s], mark_low[j])
        if low > hi:
            continue
        mh[s] = hi
        ml[s] = low
        mo[s] = min(max(o[s], low), hi)
        mc[s] = min(max(c[s], low), hi)


def merged_funding(axis: np.ndarray, symbols: list[str], funding: dict[str, pd.Series] | None,
                   mark: dict[str, pd.DataFrame] | None, constant: dict[str, float | None],
                   interval_minutes: dict[str, int]):
    """(step, symbol index, rate, mark) of every symbol's funding events, by step then symbol order."""
    parts = []
    for x, sym in enumerate(symbols):
        rates = None if funding is None else funding.get(sym)
        if (rates is None or len(rates) == 0) and constant.get(sym) is None:
            continue
        steps, vals, marks = funding_events(axis, rates=rates, mark=None if mark is None else finest_mark(mark.get(sym)),
                                            constant_rate=constant.get(sym), interval_minutes=interval_minutes[sym])
        parts.append((steps, np.full(steps.shape[0], x, dtype=np.int64), vals, marks))
    if not parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
    steps, syms, vals, marks = (np.concatenate([p[i] for p in parts]) for i in range(4))
    order = np.lexsort((syms, steps))
    return steps[order], syms[order], vals[order], marks[order]


def _flags(frame: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in frame.columns:
        return np.zeros(n, dtype=np.bool_)
    col = frame[name]
    return col.to_numpy(dtype=np.bool_) if col.dtype == bool else col.fillna(False).to_numpy(dtype=np.bool_)


def _f64(frame: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in frame.columns:
        return np.full(n, np.nan)
    return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)


@dataclass
class SignalRows:
    """Every slot's acted-on signal rows, concatenated (slot k owns rows off[k]:off[k+1])."""

    off: np.ndarray
    astep: np.ndarray
    sig: np.ndarray
    exl: np.ndarray
    exs: np.ndarray
    fc: np.ndarray
    dr: np.ndarray
    cf: np.ndarray
    hl: np.ndarray
    monitor: list


def signal_rows(axis: np.ndarray, frames: list[pd.DataFrame], timeframes_ns: list[int], names: list[str],
                opens: list[np.ndarray | None] | None = None) -> SignalRows:
    """Row r of a slot, for the bar opening at t, closes at t + timeframe and is acted on at the open of the
    first detail bar opening at or after that close; rows closing before the axis starts are not acted on.
    A slot without monitor columns keeps only the rows that can act (a signal or an exit flag): the kernel
    then skips a million quiet bars without reading a row for each. ``opens[k]``, when given, are slot k's
    row open times, already checked strictly increasing by the caller (run_backtest: the candles' own)."""
    parts = []
    offsets = [0]
    monitor = [any(c in frame.columns for c in MONITOR_COLUMNS) for frame in frames]
    wanted = MONITOR_COLUMNS if any(monitor) else ()
    for k, (frame, tf) in enumerate(zip(frames, timeframes_ns, strict=True)):
        if "signal" not in frame.columns:
            raise ValueError(f"{names[k]}.signals: no 'signal' column")
        given = opens is not None and opens[k] is not None
        if not given and not strictly_increasing(frame.index):
            raise ValueError(f"{names[k]}.signals: the index (bar open times) must be strictly increasing")
        t = opens[k] if given else _ns(frame.index)
        n = t.shape[0]
        sig = frame["signal"].to_numpy()
        if sig.dtype != np.int8:
            sig = np.nan_to_num(sig.astype(np.float64)).astype(np.int8)
        cols = [sig, _flags(frame, "exit_long", n), _flags(frame, "exit_short", n),
                *(_f64(frame, c, n) for c in wanted)]
        acting = _acting_rows(sig, cols[1], cols[2])
        first = int(np.searchsorted(t, axis[0] - tf, side="left"))  # rows closing before the axis: not acted on
        if monitor[k]:  # the monitor reads the latest row's forecast: every row counts
            keep = np.arange(first, n)
            kept = n - first
        else:  # without a monitor a row with no signal and no exit flag does nothing (rules.signal_decision)
            keep = acting[np.searchsorted(acting, first):]
            kept = keep.shape[0]
        parts.append((_steps(axis, t[keep] + tf, keep), *(np.ascontiguousarray(a[keep]) for a in cols)))
        offsets.append(offsets[-1] + kept)
    count = len(parts[0])  # without any monitor column in any slot, those arrays are a single NaN each
    cat = list(parts[0]) if len(parts) == 1 else [np.concatenate([p[i] for p in parts]) for i in range(count)]
    cat += [np.full(1, np.nan) for _ in range(8 - count)]
    return SignalRows(np.array(offsets, dtype=np.int64), *cat, monitor=monitor)


@njit(cache=True)
def _increasing(ns) -> bool:
    """Strictly increasing (a loop: numba has no generator ``all``)."""
    for i in range(1, ns.shape[0]):  # noqa: SIM110
        if ns[i] <= ns[i - 1]:
            return False
    return True


def strictly_increasing(index: pd.Index) -> bool:
    """The index's times strictly increase. A DatetimeIndex answers from flags pandas caches on the index
    object (one pass the first time, none after: a sweep's hundred runs over the same candles check once)."""
    if isinstance(index, pd.DatetimeIndex):
        return bool(index.is_monotonic_increasing and index.is_unique)  # unique is known from a strict pass
    return _increasing(_ns(index))


@njit(cache=True)
def _acting_rows(sig, exl, exs):
    """The rows that can act (a non-zero signal or an exit flag), in one pass."""
    n = sig.shape[0]
    out = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):  # branchless: the write is undone by not counting it (half the time of an if)
        out[m] = i
        m += (sig[i] != 0) | exl[i] | exs[i]
    return out[:m]


@njit(cache=True)
def _steps(axis, closes, rows):
    """For sorted ``closes`` (of rows ``rows``, increasing): the first axis index whose open is at or after
    each. On a regular axis that index is the row plus a fixed shift, so that guess is tried first (checked);
    otherwise a galloping merge from the previous answer: O(log gap) per close, dense or sparse."""
    out = np.empty(closes.shape[0], dtype=np.int64)
    j = 0
    shift = 0
    n = axis.shape[0]
    for i in range(closes.shape[0]):
        x = closes[i]
        g = rows[i] + shift
        if j <= g <= n and (g == n or axis[g] >= x) and (g == 0 or axis[g - 1] < x):
            j = g
        elif j < n and axis[j] < x:
            lo = j  # axis[lo] < x
            step = 1
            while lo + step < n and axis[lo + step] < x:
                lo += step
                step *= 2
            hi = min(lo + step, n)  # axis[hi] >= x, or hi == n
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if axis[mid] < x:
                    lo = mid
                else:
                    hi = mid
            j = hi
        out[i] = j
        shift = j - rows[i]
    return out


def tier_arrays(instruments: list) -> tuple[np.ndarray, ...]:
    """(risk limit, mmr, mm deduction, max leverage) per symbol, padded with NaN limits (never selected)."""
    t = max(len(i.tiers) for i in instruments)
    out = [np.full((len(instruments), t), np.nan) for _ in range(4)]
    for x, inst in enumerate(instruments):
        for a, src in zip(out, inst.tier_arrays, strict=True):
            a[x, : src.shape[0]] = src
    out[1][np.isnan(out[1])] = 0.0
    out[2][np.isnan(out[2])] = 0.0
    out[3][np.isnan(out[3])] = 0.0
    return tuple(out)


def slot_params(configs, instruments, sym_index: list[int], capitals: list[float], funding_on: bool,
                monitor: list[bool]) -> np.ndarray:
    """One row of kernel parameters per slot."""
    from .sizing import KELLY

    p = np.zeros((len(configs), K.N_PARAMS))
    for k, (cfg, inst) in enumerate(zip(configs, instruments, strict=True)):
        row = p[k]
        row[K.P_LEV] = cfg.leverage
        row[K.P_MODE] = 0.0 if cfg.sizing == KELLY else 1.0
        row[K.P_KELLY] = cfg.kelly_fraction
        row[K.P_CAPITAL] = capitals[k]
        row[K.P_ALLOC] = cfg.allocation
        row[K.P_TP] = np.nan if cfg.take_profit_pct is None else cfg.take_profit_pct
        row[K.P_SL] = np.nan if cfg.stop_loss_pct is None else cfg.stop_loss_pct
        row[K.P_TAKER] = cfg.fees.taker
        row[K.P_STEP] = inst.qty_step
        row[K.P_MINQTY] = inst.min_qty
        row[K.P_MINNOT] = inst.min_notional
        row[K.P_TICK] = inst.tick_size
        row[K.P_DECAY] = cfg.decay_threshold
        row[K.P_TMULT] = cfg.timeout_multiple
        row[K.P_CDROP] = cfg.confidence_drop
        row[K.P_RFRAC] = cfg.reduce_fraction
        row[K.P_FUNDING] = 1.0 if (cfg.funding and funding_on) else 0.0
        row[K.P_MONITOR] = 1.0 if monitor[k] else 0.0
        row[K.P_SYM] = sym_index[k]
        row[K.P_MAKER] = cfg.fees.maker
        row[K.P_POST_ONLY] = 1.0 if cfg.entry_order == "post_only" else 0.0
        row[K.P_TIMEOUT] = cfg.entry_timeout_seconds
        row[K.P_SLIP_BPS] = cfg.slippage_bps
        row[K.P_SLIP_RANGE] = cfg.slippage_range_fraction
    return p
