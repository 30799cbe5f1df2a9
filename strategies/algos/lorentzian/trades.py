"""From prediction and filters to the Lorentzian signal, entries and strict/dynamic exits (spec 1.6, 1.7)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .. import pine


@njit(cache=True)
def _hold_signal(prediction, filter_all):
    out = np.zeros(len(prediction), dtype=np.int64)
    prev = 0
    for t in range(len(prediction)):
        if prediction[t] > 0 and filter_all[t]:
            prev = 1
        elif prediction[t] < 0 and filter_all[t]:
            prev = -1
        out[t] = prev
    return out


@njit(cache=True)
def _bars_held(chg):
    out = np.empty(len(chg), dtype=np.int64)
    prev = 0
    for t in range(len(chg)):
        prev = 0 if chg[t] else prev + 1
        out[t] = prev
    return out


def _lag(x: np.ndarray, k: int) -> np.ndarray:
    """Boolean x[k] with false before the data (Pine na in a boolean context)."""
    return pine.shift(np.asarray(x, dtype=bool), k, False).astype(bool)


@dataclass
class KernelState:
    """Kernel-derived booleans (spec 1.6)."""

    is_bullish: np.ndarray
    is_bearish: np.ndarray
    bullish_change: np.ndarray
    bearish_change: np.ndarray
    alert_bullish: np.ndarray
    alert_bearish: np.ndarray


def kernel_state(yhat1, yhat2, use_kernel_filter: bool, use_smoothing: bool) -> KernelState:
    """Rate and crossover states of the kernel estimates; a disabled kernel filter passes everything."""
    y1_1, y1_2 = pine.shift(yhat1, 1), pine.shift(yhat1, 2)
    bullish_rate, bearish_rate = y1_1 < yhat1, y1_1 > yhat1
    was_bullish, was_bearish = y1_2 < y1_1, y1_2 > y1_1
    bullish_change = bullish_rate & was_bearish
    bearish_change = bearish_rate & was_bullish
    if use_smoothing:
        alert_bull, alert_bear = pine.crossover(yhat2, yhat1), pine.crossunder(yhat2, yhat1)
        bull, bear = yhat2 >= yhat1, yhat2 <= yhat1
    else:
        alert_bull, alert_bear = bullish_change, bearish_change
        bull, bear = bullish_rate, bearish_rate
    if not use_kernel_filter:
        bull = np.ones(len(yhat1), dtype=bool)
        bear = bull.copy()
    return KernelState(bull, bear, bullish_change, bearish_change, alert_bull, alert_bear)


def trade_events(prediction, filter_all, trend_up, trend_down, kernel: KernelState, dynamic_exits: bool) -> dict:
    """Signal, barsHeld and start/end trade booleans of the script.

    ``trend_up``/``trend_down`` are the ANDed EMA/SMA trend filters (all true when off). ``dynamic_exits`` must already
    include the script's validity rule (no EMA/SMA filter, no kernel smoothing).
    """
    signal = _hold_signal(np.asarray(prediction), np.asarray(filter_all, dtype=bool))
    d = pine.change(signal.astype(np.float64))
    chg = np.nan_to_num(d) != 0  # na on bar 0 counts as false
    bars_held = _bars_held(chg)
    buy = (signal == 1) & trend_up
    sell = (signal == -1) & trend_down
    last_buy = (pine.shift(signal, 4, 0) == 1) & _lag(trend_up, 4)
    last_sell = (pine.shift(signal, 4, 0) == -1) & _lag(trend_down, 4)
    new_buy, new_sell = buy & chg, sell & chg
    start_long = new_buy & kernel.is_bullish & trend_up
    start_short = new_sell & kernel.is_bearish & trend_down
    held4, held_lt4 = bars_held == 4, (bars_held > 0) & (bars_held < 4)
    end_long = ((held4 & last_buy) | (held_lt4 & new_sell & last_buy)) & _lag(start_long, 4)
    end_short = ((held4 & last_sell) | (held_lt4 & new_buy & last_sell)) & _lag(start_short, 4)
    if dynamic_exits:
        with np.errstate(invalid="ignore"):
            valid_long = pine.barssince(kernel.alert_bearish) > pine.barssince(start_long)
            valid_short = pine.barssince(kernel.alert_bullish) > pine.barssince(start_short)
        end_long = kernel.bearish_change & _lag(valid_long, 1)
        end_short = kernel.bullish_change & _lag(valid_short, 1)
    early_flip = chg & (_lag(chg, 1) | _lag(chg, 2) | _lag(chg, 3))
    return {
        "lc_signal": signal, "bars_held": bars_held, "is_early_flip": early_flip,
        "new_buy": new_buy, "new_sell": new_sell,
        "start_long": start_long, "end_long": end_long, "start_short": start_short, "end_short": end_short,
    }


@njit(cache=True)
def position_from_events(start_long, end_long, start_short, end_short):
    """The indicator's backtest stream as a position (+1/-1/0): first match wins per bar
    (startLong, endLong, startShort, endShort); an opposite start reverses, an end closes its own side only."""
    pos = np.zeros(len(start_long), dtype=np.int8)
    cur = 0
    for t in range(len(start_long)):
        if start_long[t]:
            cur = 1
        elif end_long[t]:
            if cur == 1:
                cur = 0
        elif start_short[t]:
            cur = -1
        elif end_short[t] and cur == -1:
            cur = 0
        pos[t] = cur
    return pos
