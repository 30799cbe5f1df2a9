"""The verdict panel of stored backtests and sweeps (walk-forward studies store their own): read from what the
run stored (metrics, trades, equity curve), judged by ``trading.research.verdict``.

A single backtest is in-sample (amber at best: no out-of-sample test); its DSR is the plain PSR (one trial)
and its ruin probability comes from a seeded Monte Carlo of its trades. A sweep is judged on its best point,
deflated by the number of points, with PBO by CSCV over the points' daily returns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from trading.choices import RunStatus
from trading.models import BacktestRun

MC_SIMULATIONS = 1000
PBO_SPLITS = 8


def daily_returns(curve: list, initial: float) -> pd.Series:
    """Daily log returns from a stored [[iso time, equity], ...] curve (last value of each UTC day)."""
    if not curve:
        return pd.Series(dtype=float)
    s = pd.Series([float(v) for _, v in curve], index=pd.DatetimeIndex([t for t, _ in curve]))
    s.index = s.index.tz_localize("UTC") if s.index.tz is None else s.index.tz_convert("UTC")
    daily = s.resample("1D").last().ffill()
    values = np.maximum(np.concatenate([[initial], daily.to_numpy()]), initial * 1e-9)
    return pd.Series(np.diff(np.log(values)), index=daily.index)


def _trade_sums(trades: list[dict]) -> tuple[float, np.ndarray]:
    gross = float(sum(t.get("gross_pnl") or 0.0 for t in trades))
    return gross, np.array([t.get("pnl") or 0.0 for t in trades], dtype=np.float64)


def _inputs(run: BacktestRun, *, trials: int = 1, sr_variance: float = 0.0, pbo: float | None = None):
    from trading.research.montecarlo import simulate_trades
    from trading.research.stats import deflated_sharpe_of_returns
    from trading.research.verdict import VerdictInputs

    m = run.metrics or {}
    initial = float(m.get("initial_balance") or run.settings.get("initial_capital") or 500.0)
    gross, pnls = _trade_sums(run.trades or [])
    rets = daily_returns(run.equity_curve or [], initial).to_numpy()
    dsr = deflated_sharpe_of_returns(rets, n_trials=trials, sr_variance=sr_variance) if rets.size >= 3 else None
    mc = simulate_trades(pnls=pnls, initial=initial, simulations=MC_SIMULATIONS, seed=0,
                         sizing="kelly" if run.settings.get("sizing_mode") == "kelly" else "fixed")
    p_value = dsr.p_value if dsr is not None and math.isfinite(dsr.p_value) else None
    return VerdictInputs(
        total_return=float(m.get("total_return") or 0.0), buy_and_hold_return=m.get("buy_and_hold_return"),
        trade_count=int(m.get("trade_count") or 0), gross_pnl=gross, fees=float(m.get("fees_paid") or 0.0),
        funding=float(m.get("funding_paid") or 0.0), dsr_p_value=p_value, pbo=pbo,
        ruin_probability=mc.ruin_probability, out_of_sample=False, trials=trials), mc


def backtest_verdict(*, run: BacktestRun) -> dict[str, Any] | None:
    """The verdict panel of a finished run (None while it is not done)."""
    from trading.research.verdict import judge

    if run.status != RunStatus.DONE:
        return None
    inputs, mc = _inputs(run)
    out = judge(inputs).to_json()
    out["monte_carlo"] = {"final_equity": mc.final_equity, "max_drawdown": mc.max_drawdown,
                          "ruin_threshold": mc.ruin_threshold, "simulations": mc.simulations}
    return out


def sweep_verdict(*, runs: list[BacktestRun], metric: str = "sharpe") -> dict[str, Any] | None:
    """The panel of a finished sweep: its best point, deflated by the number of points, and PBO over them."""
    from trading.research.stats import pbo_cscv
    from trading.research.verdict import judge

    done = [r for r in runs if r.status == RunStatus.DONE]
    if not done or len(done) < len(runs) and any(r.status in (RunStatus.QUEUED, RunStatus.RUNNING) for r in runs):
        return None
    series = {r.pk: daily_returns(r.equity_curve or [], float((r.metrics or {}).get("initial_balance") or 500.0))
              for r in done}
    frame = pd.DataFrame(series).fillna(0.0)
    sharpes = [float(c.mean() / c.std(ddof=1)) if c.std(ddof=1) > 0 else 0.0 for _, c in frame.items()] \
        if len(frame) >= 2 else []
    pbo = None
    if frame.shape[1] >= 2 and frame.shape[0] >= PBO_SPLITS:
        pbo = pbo_cscv(frame.to_numpy(), splits=PBO_SPLITS).pbo

    def key(r):
        v = (r.metrics or {}).get(metric)
        return v if isinstance(v, int | float) and math.isfinite(v) else -math.inf  # max_drawdown: shallowest

    best = max(done, key=key)
    inputs, _mc = _inputs(best, trials=len(done), sr_variance=float(np.var(sharpes, ddof=1)) if len(sharpes) > 1
                          else 0.0, pbo=pbo)
    return {**judge(inputs).to_json(), "best_run": best.pk, "points": len(done)}
