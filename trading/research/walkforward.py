"""Walk-forward optimisation: folds of train/test windows on the bar axis, trials evaluated on a fold's train
window, the best trial run on the fold's test window only, test windows stitched into one out-of-sample
equity curve, and the overfitting statistics over it all.

Folds (``make_folds``): rolling (train window slides by ``step``) or anchored (train always starts at bar 0);
each test window starts where its train window ends and never overlaps it. The stitched OOS curve chains the
test runs: fold k starts from the balance fold k-1 ended with, every fold ends flat, so the stitched PnL is
the sum of the fold runs' PnL. ``finish_walkforward`` needs only the trial records, so the same code finishes
a study optimised in-process (``optimise_fold``) or by Celery workers sharing an Optuna storage.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .evaluate import Problem, WindowRun, period_returns, run_window, score
from .montecarlo import simulate_trades
from .space import Candidate, SearchSpace, make_sampler
from .stats import deflated_sharpe_of_returns, pbo_cscv

PBO_SPLITS = 8


@dataclass(frozen=True)
class Fold:
    """Bars [train_start, train_end) to optimise on, then [test_start, test_end) to test on."""

    number: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int

    def to_json(self, index: pd.DatetimeIndex | None = None) -> dict:
        out = dict(self.__dict__)
        if index is not None:
            for k in ("train_start", "test_start"):
                out[f"{k}_time"] = index[getattr(self, k)].isoformat()
            for k in ("train_end", "test_end"):
                out[f"{k}_time"] = index[getattr(self, k) - 1].isoformat()
        return out


def make_folds(n_bars: int, *, train: int, test: int, step: int | None = None, anchored: bool = False) -> list[Fold]:
    """Folds over ``n_bars`` bars: train ``train`` bars, test the next ``test`` bars, move by ``step``
    (default ``test``) until a test window would run past the data."""
    step = test if step is None else step
    for name, v in (("train", train), ("test", test), ("step", step)):
        if v < 1:
            raise ValueError(f"{name}: {v} must be at least 1 bar")
    folds, k = [], 0
    while True:
        shift = k * step
        tr_start = 0 if anchored else shift
        tr_end = train + shift
        te_end = tr_end + test
        if te_end > n_bars:
            break
        folds.append(Fold(k, tr_start, tr_end, tr_end, te_end))
        k += 1
    if not folds:
        raise ValueError(f"train: {train} + test: {test} bars do not fit in the {n_bars} bars")
    return folds


def split_folds(n_bars: int, *, folds: int, train_ratio: float = 3.0, anchored: bool = False) -> list[Fold]:
    """``folds`` rolling (or anchored) folds covering the data: test windows of n / (folds + train_ratio)
    bars back to back, the first train window ``train_ratio`` test windows long."""
    if folds < 1:
        raise ValueError(f"folds: {folds} must be at least 1")
    if not train_ratio > 0:
        raise ValueError(f"train_ratio: {train_ratio} must be positive")
    test = int(n_bars // (folds + train_ratio))
    if test < 2:
        raise ValueError(f"folds: {folds} folds do not fit in {n_bars} bars")
    return make_folds(n_bars, train=n_bars - folds * test, test=test, anchored=anchored)


@dataclass
class TrialRecord:
    """One finished trial on a fold's train window: its candidate, objective value, per-period returns."""

    number: int
    candidate: Candidate
    value: float
    returns: list[float]
    trades: int
    pnl: float

    def to_json(self) -> dict:
        return {"number": self.number, **self.candidate.to_json(), "value": self.value, "returns": self.returns,
                "trades": self.trades, "pnl": self.pnl}

    @classmethod
    def from_json(cls, d: dict) -> TrialRecord:
        return cls(d["number"], Candidate(d["params"], d["config"]), d["value"], list(d["returns"]), d["trades"],
                   d["pnl"])


def evaluate_trial(problem: Problem, candidate: Candidate, fold: Fold, *, number: int = 0) -> TrialRecord:
    """Run a candidate on the fold's train window and score it."""
    run = run_window(problem, candidate, start=fold.train_start, end=fold.train_end)
    rets = period_returns(run, problem.period_bars)
    return TrialRecord(number, candidate, score(rets), [float(x) for x in rets], run.trade_count, run.pnl)


def optimise_fold(problem: Problem, space: SearchSpace, fold: Fold, *, n_trials: int, sampler: str = "tpe",
                  seed: int = 0, on_trial: Callable[[TrialRecord], None] | None = None) -> list[TrialRecord]:
    """In-process optimisation of one fold with an in-memory Optuna study (the Celery path shares an RDB
    study instead; both evaluate with ``evaluate_trial``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(direction="maximize", sampler=make_sampler(sampler, seed=seed + fold.number,
                                                                               space=space))
    records: list[TrialRecord] = []
    for _ in range(n_trials):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = study.ask()
        record = evaluate_trial(problem, space.suggest(trial), fold, number=trial.number)
        study.tell(trial, record.value)
        records.append(record)
        if on_trial:
            on_trial(record)
        if sampler == "grid" and len(records) >= space.grid_size():
            break
    return records


@dataclass
class WalkForwardResult:
    """Per-fold IS/OOS rows, the stitched OOS equity, totals and the statistics the verdict reads."""

    folds: list[dict]
    oos_equity: pd.Series
    oos_runs: list[WindowRun]
    summary: dict

    def to_json(self, *, max_points: int = 2000) -> dict:
        eq = self.oos_equity
        step = max(1, len(eq) // max_points)
        pts = [[t.isoformat(), float(v)] for t, v in zip(eq.index[::step], eq.to_numpy()[::step], strict=True)]
        if len(eq) and (not pts or pts[-1][0] != eq.index[-1].isoformat()):
            pts.append([eq.index[-1].isoformat(), float(eq.iloc[-1])])
        return {"folds": self.folds, "summary": self.summary, "oos_equity": pts}


def _costs(runs: Sequence[WindowRun]) -> tuple[float, float, float, int, np.ndarray]:
    trades = [r.result.trades for r in runs if len(r.result.trades)]
    if not trades:
        return 0.0, 0.0, 0.0, 0, np.empty(0)
    t = pd.concat(trades)
    return (float(t["gross_pnl"].sum()), float(t["fees"].sum()), float(t["funding"].sum()), len(t),
            t["pnl"].to_numpy(np.float64))


def finish_walkforward(problem: Problem, folds: Sequence[Fold], trials: Sequence[Sequence[TrialRecord]], *,
                       mc_simulations: int = 1000, seed: int = 0, ruin_fraction: float = 0.5) -> WalkForwardResult:
    """Pick each fold's best trial, run it on the fold's test window (balance carried over), stitch, measure."""
    if len(trials) != len(folds):
        raise ValueError(f"trials: {len(trials)} lists for {len(folds)} folds")
    balance = problem.base_config.initial_capital
    start_balance = balance
    rows, runs, pbos, sr_vars, n_trials = [], [], [], [], []
    for fold, recs in zip(folds, trials, strict=True):
        recs = [r for r in recs if r.value is not None and math.isfinite(r.value)]
        if not recs:
            raise ValueError(f"fold {fold.number}: no finished trial to choose from")
        best = max(recs, key=lambda r: (r.value, -r.number))
        run = run_window(problem, best.candidate, start=fold.test_start, end=fold.test_end, balance=balance)
        oos_rets = period_returns(run, problem.period_bars)
        # The same choice from a fresh start: a fold after a wiped-out one still shows what it would have done.
        fresh = run if run.balance == start_balance else run_window(problem, best.candidate, start=fold.test_start,
                                                                    end=fold.test_end)
        pbo = None
        if len(recs) >= 2:
            width = min(len(r.returns) for r in recs)
            if width >= PBO_SPLITS:
                pbo = pbo_cscv(np.array([r.returns[:width] for r in recs]).T, splits=PBO_SPLITS).pbo
                pbos.append(pbo)
            sr_vars.append(float(np.var([r.value for r in recs], ddof=1)))
        n_trials.append(len(recs))
        rows.append({**fold.to_json(problem.candles.index), "trials": len(recs), "best_trial": best.number,
                     "params": best.candidate.params, "config": best.candidate.config,
                     "is_score": best.value, "is_pnl": best.pnl, "is_trades": best.trades,
                     "is_return": best.pnl / start_balance,
                     "oos_score": score(oos_rets), "oos_pnl": run.pnl, "oos_trades": run.trade_count,
                     "oos_return": run.pnl / run.balance if run.balance > 0 else 0.0,
                     "oos_start_balance": run.balance, "oos_return_fresh": fresh.pnl / fresh.balance,
                     "oos_trades_fresh": fresh.trade_count, "pbo": pbo})
        runs.append(run)
        balance = run.final_balance
    equity = pd.concat([r.result.equity for r in runs])
    all_rets = np.concatenate([period_returns(r, problem.period_bars) for r in runs])
    dsr = deflated_sharpe_of_returns(all_rets, n_trials=max(1, int(round(np.mean(n_trials)))),
                                     sr_variance=float(np.mean(sr_vars)) if sr_vars else 0.0)
    gross, fees, funding, count, pnls = _costs(runs)
    close = problem.candles["close"].to_numpy(np.float64)
    opens = problem.candles["open"].to_numpy(np.float64)
    first, last = folds[0].test_start, folds[-1].test_end - 1
    mc = simulate_trades(pnls=pnls, initial=start_balance, sizing=problem.base_config.sizing,
                         simulations=mc_simulations, seed=seed, ruin_fraction=ruin_fraction)
    summary = {
        "initial_balance": start_balance, "final_balance": balance,
        "oos_pnl": balance - start_balance, "oos_return": balance / start_balance - 1.0,
        "buy_and_hold_return": float(close[last] / opens[first] - 1.0),
        "is_mean_score": float(np.mean([r["is_score"] for r in rows])),
        "oos_score": score(all_rets), "trade_count": count, "gross_pnl": gross, "fees": fees, "funding": funding,
        "pbo": float(np.mean(pbos)) if pbos else None, "dsr": dsr.to_json(), "monte_carlo": mc.to_json(),
        "folds": len(folds), "trials_per_fold": float(np.mean(n_trials)),
        "oos_start": problem.candles.index[first].isoformat(), "oos_end": problem.candles.index[last].isoformat(),
    }
    return WalkForwardResult(rows, equity, runs, summary)


def run_walkforward(problem: Problem, space: SearchSpace, folds: Sequence[Fold], *, n_trials: int,
                    sampler: str = "tpe", seed: int = 0, mc_simulations: int = 1000,
                    progress: Callable[[int, int], None] | None = None) -> WalkForwardResult:
    """The whole walk-forward in this process (no Django): optimise every fold, then finish."""
    total, done = len(folds) * n_trials, [0]

    def tick(_record):
        done[0] += 1
        if progress:
            progress(done[0], total)

    trials = [optimise_fold(problem, space, f, n_trials=n_trials, sampler=sampler, seed=seed, on_trial=tick)
              for f in folds]
    return finish_walkforward(problem, folds, trials, mc_simulations=mc_simulations, seed=seed)
