"""One candidate on one window of bars: ``Problem`` holds what every run shares (strategy class, candles,
instrument, base engine config, funding, mark), ``run_window`` runs a candidate on bars [start, end).

The strategy sees the window plus up to ``warmup_bars_at(timeframe)`` bars before it (indicators only) and
its declared context, from ``Problem.inputs`` when given (the desk's context reader); the engine runs on
the window alone, starting from ``balance``, and every position is closed at the window's last bar (an exit
flag on the bar before it, filled at the last bar's open), so a window's PnL is final_balance - balance and
windows can be chained. ``period_returns`` turns a run's equity into log returns per period (a day of 5m bars
by default) for the overfitting statistics.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from strategies.algos.base import Strategy, StrategyContext
from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.backtest_result import BacktestResult
from trading.engine.instruments import Instrument

from .space import Candidate

SIGNAL_CACHE = 8

# (strategy, first bar's open time, last bar's open time) -> (candles: warm-up + window, context, row of the
# window's first bar): where a window's strategy inputs come from. The desk passes its one context reader
# (trading/services/strategy_context.py); without it a window reads warm-up from the Problem's own candles and
# gets an empty context.
WindowInputs = Callable[[Strategy, pd.Timestamp, pd.Timestamp], tuple[pd.DataFrame, StrategyContext, int]]


@dataclass
class Problem:
    """What every trial of one study shares. ``period_bars``: bars per statistics period (288 = a day of 5m)."""

    strategy_cls: type[Strategy]
    candles: pd.DataFrame
    instrument: Instrument
    base_config: BacktestConfig
    symbol: str = ""
    timeframe: str = "5m"
    funding: pd.Series | None = None
    mark: pd.DataFrame | None = None
    period_bars: int = 288
    inputs: WindowInputs | None = None
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def config_for(self, candidate: Candidate) -> BacktestConfig:
        c = candidate.config
        kw = {"leverage": float(c["leverage"]), "sizing": c["sizing_mode"],
              "take_profit_pct": c.get("take_profit_pct"), "stop_loss_pct": c.get("stop_loss_pct")}
        if c.get("allocation") is not None:
            kw["allocation"] = float(c["allocation"])
        if c.get("kelly_fraction") is not None:
            kw["kelly_fraction"] = float(c["kelly_fraction"])
        return replace(self.base_config, **kw)

    def signals(self, params: dict, start: int, end: int) -> pd.DataFrame:
        """The SignalFrame rows of bars [start, end), computed from bars [start - warm-up, end) only."""
        key = (tuple(sorted(params.items())), start, end)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        strategy = self.strategy_cls(**params)
        if self.inputs is not None:
            index = self.candles.index
            window, context, first_in_range = self.inputs(strategy, index[start], index[end - 1])
            out = strategy.compute(window, context).iloc[first_in_range:]
            if len(out) != end - start or out.index[0] != index[start] or out.index[-1] != index[end - 1]:
                raise ValueError(f"window [{start}, {end}): the inputs gave {len(out)} rows "
                                 f"{out.index[0] if len(out) else '-'}..{out.index[-1] if len(out) else '-'}, not "
                                 f"{end - start} rows {index[start]}..{index[end - 1]}; the stored bars changed")
        else:
            first = max(0, start - int(strategy.warmup_bars_at(self.timeframe)))
            window = self.candles.iloc[first:end]
            frame = strategy.compute(window, StrategyContext(symbol=self.symbol, timeframe=self.timeframe))
            out = frame.iloc[start - first:]
        self._cache[key] = out
        if len(self._cache) > SIGNAL_CACHE:
            self._cache.popitem(last=False)
        return out


@dataclass
class WindowRun:
    """A candidate's run on bars [start, end): the engine result, its PnL and its per-period log returns."""

    start: int
    end: int
    balance: float
    result: BacktestResult

    @property
    def final_balance(self) -> float:
        return float(self.result.final_balance)

    @property
    def pnl(self) -> float:
        return self.final_balance - self.balance

    @property
    def trade_count(self) -> int:
        return int(len(self.result.trades))


def _flat_at_end(signals: pd.DataFrame) -> pd.DataFrame:
    sig = signals.copy()
    n = len(sig)
    if n >= 2:
        sig.iloc[-2:, sig.columns.get_loc("signal")] = 0
        for col in ("exit_long", "exit_short"):
            if col not in sig.columns:
                sig[col] = False
            sig.iloc[-2, sig.columns.get_loc(col)] = True
    return sig


def run_window(problem: Problem, candidate: Candidate, *, start: int, end: int,
               balance: float | None = None) -> WindowRun:
    """Run ``candidate`` on bars [start, end) from ``balance`` (default: the config's initial capital)."""
    if not 0 <= start < end <= len(problem.candles):
        raise ValueError(f"window: [{start}, {end}) is outside the {len(problem.candles)} bars")
    config = problem.config_for(candidate)
    signals = _flat_at_end(problem.signals(candidate.params, start, end))
    bal = config.initial_capital if balance is None else float(balance)
    candles = problem.candles.iloc[start:end]
    result = run_backtest(candles, signals, instrument=problem.instrument, config=config, funding=problem.funding,
                          mark=problem.mark, balance=bal)
    return WindowRun(start, end, bal, result)


def period_returns(run: WindowRun, period_bars: int) -> np.ndarray:
    """Log returns of the run's equity per period of ``period_bars`` bars (the last partial period dropped
    unless it is the only one). An emptied wallet is floored at 1e-9 of the start."""
    floor = run.balance * 1e-9
    curve = np.maximum(np.concatenate([[run.balance], run.result.equity.to_numpy(np.float64)]), floor)
    marks = curve[::period_bars]
    if len(marks) < 2:
        marks = curve[[0, -1]]
    return np.diff(np.log(marks))


def score(returns: np.ndarray) -> float:
    """The optimiser's objective: the per-period Sharpe of the returns (0 for a flat or too-short curve)."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return 0.0
    sd = r.std(ddof=1)
    return 0.0 if not sd > 0 or not math.isfinite(sd) else float(r.mean() / sd)
