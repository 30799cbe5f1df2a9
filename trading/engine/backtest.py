"""``run_backtest``: one symbol, one position at a time, signals acted on at the NEXT bar's open.

It is the single-slot special case of the portfolio run (portfolio.py: one simulator, one kernel): the
candles are their own detail series and the monitor checks once per bar, at its close (one sub-bar per bar),
unless ``monitor_seconds`` asks for a finer cadence along the detail path. Per bar, in order: funding at the
open, the signal decided at the previous close (exit, then entry) at the open, TP / SL / liquidation inside
the bar (``rules.step_bar``), the monitor at the close (with the signal rows closed before it; a reduce or
close fills at the close), the equity at the close. ``progress(fraction)`` is called after each chunk.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .backtest_config import BacktestConfig
from .backtest_result import BacktestResult
from .detail_path import checkpoints
from .funding import _ns
from .instruments import Instrument
from .portfolio import PortfolioSlot, simulate
from .portfolio_inputs import align_prices, strictly_increasing
from .sizing import FIXED, KELLY


def run_backtest(
    candles: pd.DataFrame,
    signals: pd.DataFrame,
    *,
    instrument: Instrument,
    config: BacktestConfig | None = None,
    funding: pd.Series | None = None,
    mark: pd.DataFrame | list[pd.DataFrame] | None = None,
    progress: Callable[[float], None] | None = None,
    balance: float | None = None,
    monitor_seconds: int | None = None,
) -> BacktestResult:
    """Backtest ``signals`` (aligned row for row to ``candles``) for one instrument.

    ``candles``: UTC DatetimeIndex of bar open times; float columns open/high/low/close(/volume).
    ``signals``: ``signal`` (+1/-1/0), ``exit_long``, ``exit_short`` and optional ``forecast``, ``drift``,
    ``confidence``, ``half_life`` (seconds). ``funding``: rate per funding time; without it and with
    ``config.funding_rate`` a constant rate per funding interval is used. ``mark``: mark-price candles
    (open/high/low/close), one frame or a list (every stored mark interval): the finest one's open at a funding
    time is the funding mark; mark candles no longer than the candles give the liquidation trigger's high/low;
    coarser ones (a 1h mark under 5m bars: their low may come later in their hour) bound the bar's own range
    instead (the fallback chain is in portfolio_inputs.py). ``balance`` (the wallet) defaults to
    config.initial_capital, which stays the fixed-allocation base. ``monitor_seconds``: None = one monitor check per bar at its close.
    """
    config = config or BacktestConfig()
    config.validate(instrument)
    n = len(candles)
    if len(signals) != n:
        raise ValueError(f"signals: {len(signals)} rows, candles have {n}; align them to the candles")
    if n == 0:
        raise ValueError("candles: no bars")
    if not strictly_increasing(candles.index):
        raise ValueError("candles: the index (bar open times) must be strictly increasing")
    ts = _ns(candles.index)
    bar_s = float(np.median(np.diff(ts[: min(n, 1000)]))) / 1e9 if n > 1 else 60.0
    sym = instrument.symbol
    prices = align_prices([sym], {sym: candles}, None if mark is None else {sym: mark}, detail_seconds=bar_s,
                          stamps=[ts])
    n_sub = 1 if monitor_seconds is None else checkpoints(int(bar_s), monitor_seconds)
    slot = PortfolioSlot(key=sym, symbol=sym, instrument=instrument, config=config, signals=signals,
                         timeframe_seconds=bar_s)
    start_balance = config.initial_capital if balance is None else float(balance)
    raw = simulate(slots=[slot], symbols=[sym], prices=prices, mark=None if mark is None else {sym: mark},
                   funding=None if funding is None else {sym: funding}, n_sub=n_sub, balance=start_balance,
                   capitals=[config.initial_capital], max_open=1, funding_on=config.funding, kelly_available=False,
                   progress=progress, opens=[ts], index=candles.index)
    return BacktestResult(raw=raw, index=candles.index, initial_balance=start_balance, config=config,
                          instrument=instrument, candles_close=candles["close"], trigger_series=prices.trigger[sym])


__all__ = ["BacktestConfig", "BacktestResult", "run_backtest", "FIXED", "KELLY"]
