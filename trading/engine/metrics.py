"""Performance metrics of a backtest: returns, risk ratios, drawdown, trade statistics, costs.

Conventions: returns are per-bar simple returns of the equity curve; annualisation uses
``periods_per_year`` (default: a 24/7 year, 365.25 days, divided by the bar length); Sharpe and Sortino
have a zero risk-free rate, Sharpe uses the sample standard deviation (ddof=1) and Sortino the root
mean square of the negative returns (zeros for the others). CAGR uses the calendar span from the first
bar's open to the last bar's close, and is NaN (as is Calmar) for spans under ``MIN_CAGR_DAYS``. Fills carry
their time: TP / SL / liquidation the open of the (sub-)bar they happen in, a monitor reduce its sub-bar's close.
Trades are round trips (entry to final exit), so a partial close is not a trade of its own. Exposure is
position-time over wall time (a portfolio holding two positions all along has exposure 2).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SECONDS_PER_YEAR = 365.25 * 86400.0
# Compounding a few days into a year gives meaningless figures (107 % in 4 days -> a CAGR with 20 digits):
# CAGR and Calmar are reported (NaN) only for spans of at least this many days.
MIN_CAGR_DAYS = 30.0


def simple_returns(equity: np.ndarray) -> np.ndarray:
    e = np.asarray(equity, dtype=np.float64)
    return e[1:] / e[:-1] - 1.0 if e.size > 1 else np.empty(0)


def sharpe(returns: np.ndarray, periods_per_year: float) -> float:
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return math.nan
    sd = r.std(ddof=1)
    return math.nan if sd == 0 else float(r.mean() / sd * math.sqrt(periods_per_year))


def sortino(returns: np.ndarray, periods_per_year: float) -> float:
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 1:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return math.nan if downside == 0 else float(r.mean() / downside * math.sqrt(periods_per_year))


def max_drawdown(equity: pd.Series) -> tuple[float, object, object]:
    """(max drawdown as a negative fraction, peak time, trough time); (0, None, None) if none."""
    e = equity.to_numpy(dtype=np.float64)
    if e.size == 0:
        return 0.0, None, None
    peak = np.maximum.accumulate(e)
    dd = e / peak - 1.0
    trough = int(np.argmin(dd))
    if dd[trough] >= 0:
        return 0.0, None, None
    start = int(np.argmax(e[: trough + 1]))
    return float(dd[trough]), equity.index[start], equity.index[trough]


def profit_factor(pnls: np.ndarray) -> float:
    p = np.asarray(pnls, dtype=np.float64)
    gains, losses = p[p > 0].sum(), -p[p < 0].sum()
    if losses == 0:
        return math.inf if gains > 0 else math.nan
    return float(gains / losses)


def sqn(pnls: np.ndarray) -> float:
    """System quality number: sqrt(N) * mean / sample std of trade PnL."""
    p = np.asarray(pnls, dtype=np.float64)
    if p.size < 2 or p.std(ddof=1) == 0:
        return math.nan
    return float(math.sqrt(p.size) * p.mean() / p.std(ddof=1))


def cagr(start_value: float, end_value: float, years: float) -> float:
    if years <= 0 or start_value <= 0:
        return math.nan
    if end_value <= 0:
        return -1.0
    return float((end_value / start_value) ** (1.0 / years) - 1.0)


def _side_stats(trades: pd.DataFrame) -> dict:
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    return {"trades": int(pnl.size), "pnl": float(pnl.sum()),
            "win_rate": float((pnl > 0).mean()) if pnl.size else math.nan}


def streaks(pnls: np.ndarray) -> tuple[int, int]:
    """(longest run of winning trades, longest run of losing trades) in trade order; a flat trade ends both."""
    best_w = best_l = w = lo = 0
    for p in np.asarray(pnls, dtype=np.float64):
        w = w + 1 if p > 0 else 0
        lo = lo + 1 if p < 0 else 0
        best_w, best_l = max(best_w, w), max(best_l, lo)
    return best_w, best_l


def monthly_returns(equity: pd.Series, initial_balance: float) -> dict[str, float]:
    """{"YYYY-MM": return} from each calendar month's last equity over the previous month's (the first month
    over the initial balance)."""
    if equity.empty:
        return {}
    ends = equity.groupby(equity.index.strftime("%Y-%m"), sort=True).last()
    prev = np.r_[initial_balance, ends.to_numpy(dtype=np.float64)[:-1]]
    return {str(k): float(v) for k, v in zip(ends.index, ends.to_numpy(dtype=np.float64) / prev - 1.0, strict=True)}


def trade_metrics(trades: pd.DataFrame) -> dict:
    """Statistics over closed round trips (entry to final exit; ``pnl`` is net of fees and funding)."""
    if "entry_time" in trades.columns and len(trades):
        trades = trades.sort_values("exit_time", kind="stable")
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    n = int(pnl.size)
    wins, losses = streaks(pnl)
    hold = (trades["exit_time"] - trades["entry_time"]) if n else pd.Series(dtype="timedelta64[ns]")
    by_reason = {
        str(reason): {"count": int(len(g)), "pnl": float(g["pnl"].sum()), "avg_pnl": float(g["pnl"].mean())}
        for reason, g in trades.groupby("exit_reason", sort=True)
    } if n else {}
    return {
        "trade_count": n,
        "win_rate": float((pnl > 0).mean()) if n else math.nan,
        "profit_factor": profit_factor(pnl),
        "expectancy": float(pnl.mean()) if n else math.nan,
        "sqn": sqn(pnl),
        "average_hold": hold.mean() if n else None,
        "liquidations": int((trades["exit_reason"] == "liquidation").sum()) if n else 0,
        "max_consecutive_wins": wins,
        "max_consecutive_losses": losses,
        "best_trade": float(pnl.max()) if n else math.nan,
        "worst_trade": float(pnl.min()) if n else math.nan,
        "long": _side_stats(trades[trades["side"] == "long"]) if n else _side_stats(trades),
        "short": _side_stats(trades[trades["side"] == "short"]) if n else _side_stats(trades),
        "by_exit_reason": by_reason,
    }


def compute_metrics(result, periods_per_year: float | None = None) -> dict:
    """All metrics of a BacktestResult."""
    equity = result.equity
    index = equity.index
    n = len(equity)
    bar_s = (index[1] - index[0]).total_seconds() if n > 1 else 60.0
    ppy = periods_per_year or SECONDS_PER_YEAR / bar_s
    curve = np.concatenate([[result.initial_balance], equity.to_numpy(dtype=np.float64)])
    rets = simple_returns(curve)
    final = float(curve[-1])
    total = final / result.initial_balance - 1.0
    years = (n * bar_s) / SECONDS_PER_YEAR
    dd, dd_start, dd_end = max_drawdown(pd.Series(curve[1:], index=index))
    growth = cagr(result.initial_balance, final, years) if years * 365.25 >= MIN_CAGR_DAYS else math.nan
    fills = result.fills
    held = result.trades.groupby("entry_bar")["exit_time"].max() if len(result.trades) else pd.Series(dtype=object)
    exposure_s = sum((t - index[b]).total_seconds() for b, t in held.items())
    still_open = getattr(result, "open_positions", None)
    if still_open is None:
        still_open = [] if result.open_position is None else [result.open_position]
    for p in still_open:
        exposure_s += (index[-1] - p["entry_time"]).total_seconds() + bar_s
    close = result.candles_close
    if isinstance(close, pd.DataFrame):  # a portfolio: the symbols' buy-and-hold returns, equally weighted
        first, last = close.bfill().iloc[0], close.ffill().iloc[-1]
        buy_hold = float((last / first - 1.0).mean()) if n and len(close.columns) else math.nan
    else:
        buy_hold = float(close.iloc[-1] / close.iloc[0] - 1.0) if n else math.nan
    out = {
        "initial_balance": result.initial_balance,
        "final_equity": final,
        "total_return": total,
        "annualised_return": float(rets.mean() * ppy) if rets.size else math.nan,
        "cagr": growth,
        "sharpe": sharpe(rets, ppy),
        "sortino": sortino(rets, ppy),
        "max_drawdown": dd,
        "max_drawdown_start": dd_start,
        "max_drawdown_end": dd_end,
        "calmar": growth / abs(dd) if dd < 0 and growth == growth else math.nan,
        "exposure": exposure_s / (n * bar_s) if n else 0.0,
        "fees_paid": float(fills["fee"].sum()),
        "funding_paid": float(-fills.loc[fills["kind"] == "funding", "pnl"].sum()),
        "buy_and_hold_return": buy_hold,
        "monthly_returns": monthly_returns(equity, result.initial_balance),
    }
    out.update(trade_metrics(result.trades))
    return out
