"""``run_backtest``: one symbol, one position at a time, signals acted on at the NEXT bar's open.

The pandas frames are turned into NumPy arrays once (the index into int64 nanoseconds), the numba
kernel in backtest_kernel.py runs over chunks of bars (``progress(fraction)`` is called after each),
and the fills it records become the trades table and the equity curve of a ``BacktestResult``.
Liquidation (mark price when a mark series is given), funding and TP/SL are always modelled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import backtest_kernel as K
from .backtest_result import BacktestResult
from .fees import FeeSchedule
from .funding import epoch, funding_events
from .instruments import Instrument
from .rebalance import CONFIDENCE_DROP, DECAY_THRESHOLD, REDUCE_FRACTION, TIMEOUT_MULTIPLE
from .sizing import FIXED, KELLY, SizingError, validate_sizing

CHUNK = 1 << 16


@dataclass(frozen=True)
class BacktestConfig:
    """Leverage, sizing, protective stops (fractions of entry), fees, funding and monitor thresholds.

    ``funding_rate`` is a constant rate per funding interval, used when no funding series is passed.
    ``max_open_positions`` is validated for the desk, but a backtest holds one symbol and so at most one
    position at a time. All backtest fills are market fills at the taker rate (``fees.taker``)."""

    leverage: float = 50.0
    sizing: str = KELLY
    kelly_fraction: float = 0.5
    initial_capital: float = 500.0
    allocation: float = 0.05
    take_profit_pct: float | None = None
    stop_loss_pct: float | None = None
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    funding: bool = True
    funding_rate: float | None = None
    max_open_positions: int = 2
    decay_threshold: float = DECAY_THRESHOLD
    timeout_multiple: float = TIMEOUT_MULTIPLE
    confidence_drop: float = CONFIDENCE_DROP
    reduce_fraction: float = REDUCE_FRACTION

    def validate(self, instrument: Instrument) -> None:
        """SizingError naming the field and the limit for anything not allowed."""
        validate_sizing(mode=self.sizing, leverage=self.leverage, instrument=instrument,
                        kelly_fraction=self.kelly_fraction, initial_capital=self.initial_capital,
                        allocation=self.allocation)
        for name in ("take_profit_pct", "stop_loss_pct"):
            v = getattr(self, name)
            if v is not None and not 0.0 < v < 1.0:
                raise SizingError(name, f"{name}: {v} is outside (0, 1)")
        if self.stop_loss_pct is not None:
            room = 1.0 / self.leverage - instrument.tiers[0].mmr
            if self.stop_loss_pct >= room:
                raise SizingError(
                    "stop_loss_pct",
                    f"stop_loss_pct: {self.stop_loss_pct:g} must be below {room:g}, the liquidation distance "
                    f"at {self.leverage:g}x (1/leverage - MMR {instrument.tiers[0].mmr:g})",
                )
        if self.max_open_positions < 1:
            raise SizingError("max_open_positions", f"max_open_positions: {self.max_open_positions} must be >= 1")


def _params(config: BacktestConfig, instrument: Instrument, bar_ns: float, has_drift: bool) -> np.ndarray:
    p = np.zeros(K.N_PARAMS)
    p[K.P_LEV] = config.leverage
    p[K.P_MODE] = 0.0 if config.sizing == KELLY else 1.0
    p[K.P_KELLY] = config.kelly_fraction
    p[K.P_CAPITAL] = config.initial_capital
    p[K.P_ALLOC] = config.allocation
    p[K.P_TP] = math.nan if config.take_profit_pct is None else config.take_profit_pct
    p[K.P_SL] = math.nan if config.stop_loss_pct is None else config.stop_loss_pct
    p[K.P_TAKER] = config.fees.taker
    p[K.P_STEP] = instrument.qty_step
    p[K.P_MINQTY] = instrument.min_qty
    p[K.P_MINNOT] = instrument.min_notional
    p[K.P_TICK] = instrument.tick_size
    p[K.P_BAR_NS] = bar_ns
    p[K.P_DECAY] = config.decay_threshold
    p[K.P_TMULT] = config.timeout_multiple
    p[K.P_CDROP] = config.confidence_drop
    p[K.P_RFRAC] = config.reduce_fraction
    p[K.P_FUNDING] = 1.0 if config.funding else 0.0
    p[K.P_HAS_DRIFT] = 1.0 if has_drift else 0.0
    p[K.P_TS_NS] = 1.0
    return p


def _f64(frame: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in frame.columns:
        return np.full(n, np.nan)
    return np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64, na_value=np.nan))


def _flags(signals: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in signals.columns:
        return np.zeros(n, dtype=np.bool_)
    col = signals[name]
    return np.ascontiguousarray(col.to_numpy(dtype=np.bool_) if col.dtype == bool else col.fillna(False)
                                .to_numpy(dtype=np.bool_))


def run_backtest(
    candles: pd.DataFrame,
    signals: pd.DataFrame,
    *,
    instrument: Instrument,
    config: BacktestConfig | None = None,
    funding: pd.Series | None = None,
    mark: pd.DataFrame | None = None,
    progress: Callable[[float], None] | None = None,
    balance: float | None = None,
) -> BacktestResult:
    """Backtest ``signals`` (aligned to ``candles``) for one instrument.

    ``candles``: UTC DatetimeIndex of bar open times; float columns open/high/low/close(/volume).
    ``signals``: ``signal`` (+1/-1/0), ``exit_long``, ``exit_short`` and optional ``drift``,
    ``confidence``, ``half_life`` (seconds). ``funding``: rate per funding time; without it and with
    ``config.funding_rate`` a constant rate per funding interval is used. ``mark``: mark-price candles
    (open/high/low/close): their open at a funding time is the funding mark; when their bar length is
    no longer than the candles', the mark candle a bar falls in gives the liquidation trigger's high/low
    (coarser mark candles would liquidate on a low that happened later in their hour, so then the bar's
    own range stands in for the mark). ``balance`` defaults to config.initial_capital.
    """
    config = config or BacktestConfig()
    config.validate(instrument)
    n = len(candles)
    if len(signals) != n:
        raise ValueError(f"signals: {len(signals)} rows, candles have {n}; align them to the candles")
    ts, unit_ns = epoch(candles.index)
    bar_ns = float(np.median(np.diff(ts[: min(n, 1000)]))) * unit_ns if n > 1 else 60e9
    o, h, lo, c = (np.ascontiguousarray(candles[k].to_numpy(dtype=np.float64)) for k in ("open", "high", "low", "close"))
    mh, ml = h, lo
    mark_t = None
    if mark is not None and len(mark):
        mark_t, mark_unit = epoch(mark.index)
        mark_t = mark_t * mark_unit // unit_ns
    if mark_t is not None and (len(mark_t) < 2 or (mark_t[1] - mark_t[0]) * unit_ns <= bar_ns):
        pos = np.searchsorted(mark_t, ts, side="right") - 1
        ok = pos >= 0
        mh = np.where(ok, mark["high"].to_numpy(np.float64)[np.maximum(pos, 0)], h)
        ml = np.where(ok, mark["low"].to_numpy(np.float64)[np.maximum(pos, 0)], lo)
    sig = signals["signal"].to_numpy()
    if sig.dtype != np.int8:
        sig = np.nan_to_num(sig.astype(np.float64)).astype(np.int8)
    exl = _flags(signals, "exit_long", n)
    exs = _flags(signals, "exit_short", n)
    has_drift = "drift" in signals.columns
    empty = np.empty(0)
    drift = _f64(signals, "drift", n) if has_drift else empty
    conf = _f64(signals, "confidence", n) if has_drift else empty
    hl = _f64(signals, "half_life", n) if has_drift else empty
    if config.funding and (funding is not None or config.funding_rate is not None):
        fbar, frate, fmark = funding_events(ts, rates=funding, mark=mark, constant_rate=config.funding_rate,
                                            interval_minutes=instrument.funding_interval_minutes, unit_ns=unit_ns)
    else:
        fbar, frate, fmark = np.empty(0, dtype=np.int64), empty, empty
    params = _params(config, instrument, bar_ns, has_drift)
    params[K.P_TS_NS] = unit_ns
    start_balance = config.initial_capital if balance is None else float(balance)
    state = K.new_state(start_balance)
    equity = np.empty(n)
    rl, mmr, ded, maxlev = instrument.tier_arrays
    chunk = min(CHUNK, max(n, 1))
    per_bar = int(np.unique(fbar, return_counts=True)[1].max()) if len(fbar) else 0
    buf = np.empty((max(K.FILL_BUFFER_ROWS, K.FILLS_PER_BAR + per_bar), K.N_FILL))  # reused: stays warm
    parts = []
    start = 0
    while start < n:
        end = min(n, start + chunk)
        fk = int(np.searchsorted(fbar, start))
        nf, start = K.run_chunk(start, end, ts, o, h, lo, c, mh, ml, sig, exl, exs, fbar, frate, fmark, fk, drift,
                                conf, hl, params, rl, mmr, ded, maxlev, state, equity, buf)
        if nf:
            parts.append(buf[:nf].copy())
        if progress is not None and start == end:
            progress(end / n)
    raw = np.concatenate(parts) if parts else np.empty((0, K.N_FILL))
    return _result(candles, raw, equity, state, start_balance, config, instrument)


def _result(candles, raw, equity, state, start_balance, config, instrument) -> BacktestResult:
    open_position = None
    if state[K.S_SIDE] != 0:
        open_position = {
            "side": "long" if state[K.S_SIDE] > 0 else "short",
            "qty": float(state[K.S_QTY]),
            "entry_price": float(state[K.S_ENTRY]),
            "margin": float(state[K.S_MARGIN]),
            "liq_price": float(state[K.S_LIQ]),
            "bankruptcy_price": float(state[K.S_BK]),
            "entry_time": candles.index[int(state[K.S_ENTRY_IDX])],
        }
    return BacktestResult(
        raw_fills=raw,
        index=candles.index,
        equity=pd.Series(equity, index=candles.index, name="equity", copy=False),
        initial_balance=start_balance,
        final_balance=float(state[K.S_BAL]),
        open_position=open_position,
        config=config,
        instrument=instrument,
        candles_close=candles["close"],
    )


__all__ = ["BacktestConfig", "BacktestResult", "run_backtest", "FIXED", "KELLY"]
