"""Metrics against hand-computed tiny series."""

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from trading.engine.metrics import (
    SECONDS_PER_YEAR,
    compute_metrics,
    max_drawdown,
    monthly_returns,
    profit_factor,
    sharpe,
    sortino,
    sqn,
    streaks,
    trade_metrics,
)

IDX = pd.date_range("2025-01-01", periods=4, freq="1D", tz="UTC")


def tiny_result():
    # initial 100 -> closes 110, 99, 108.9, 119.79: returns +10 %, -10 %, +10 %, +10 %
    equity = pd.Series([110.0, 99.0, 108.9, 119.79], index=IDX)
    trades = pd.DataFrame({
        "entry_time": [IDX[0], IDX[0], IDX[1], IDX[2]],
        "exit_time": [IDX[1], IDX[2], IDX[2], IDX[3]],
        "side": ["long", "long", "short", "short"],
        "pnl": [5.0, 3.0, -2.0, -1.0],
        "exit_reason": ["tp", "tp", "sl", "liquidation"],
        "entry_bar": [0, 0, 1, 2],
    })
    fills = pd.DataFrame({"kind": ["entry", "exit", "funding", "funding"], "fee": [0.5, 0.25, 0.0, 0.0],
                          "pnl": [0.0, 1.0, -0.3, 0.1]})
    close = pd.Series([200.0, 210.0, 190.0, 230.0], index=IDX)
    return SimpleNamespace(equity=equity, trades=trades, fills=fills, initial_balance=100.0, open_position=None,
                           candles_close=close)


def test_return_risk_and_drawdown():
    m = compute_metrics(tiny_result(), periods_per_year=4)
    assert m["total_return"] == pytest.approx(0.1979)  # 119.79 / 100 - 1
    # mean 0.05; sample sd: deviations .05 -.15 .05 .05 -> squares sum 0.03 / 3 = 0.01 -> 0.1
    assert m["annualised_return"] == pytest.approx(0.05 * 4)
    assert m["sharpe"] == pytest.approx(0.05 / 0.1 * 2)  # sqrt(4) = 2 -> 1.0
    # downside: sqrt(mean([0, 0.01, 0, 0])) = 0.05 -> 0.05 / 0.05 * 2 = 2.0
    assert m["sortino"] == pytest.approx(2.0)
    # peak 110 (day 0) -> trough 99 (day 1): 99 / 110 - 1 = -0.1
    assert m["max_drawdown"] == pytest.approx(-0.1)
    assert (m["max_drawdown_start"], m["max_drawdown_end"]) == (IDX[0], IDX[1])
    # 4 days is too short to annualise honestly: no CAGR, no Calmar
    assert math.isnan(m["cagr"]) and math.isnan(m["calmar"])
    assert m["buy_and_hold_return"] == pytest.approx(230 / 200 - 1)


def test_cagr_and_calmar_over_a_long_enough_span():
    r = tiny_result()
    r.equity.index = pd.date_range("2025-01-01", periods=4, freq="20D", tz="UTC")  # 80 days
    m = compute_metrics(r, periods_per_year=4)
    years = 4 * 20 * 86400 / SECONDS_PER_YEAR
    assert m["cagr"] == pytest.approx(1.1979 ** (1 / years) - 1)  # (119.79 / 100) ^ (1 / 0.219) - 1
    assert m["calmar"] == pytest.approx(m["cagr"] / 0.1)


def test_trade_statistics():
    m = compute_metrics(tiny_result(), periods_per_year=4)
    assert m["trade_count"] == 4
    assert m["win_rate"] == 0.5
    assert m["profit_factor"] == pytest.approx(8 / 3)  # (5 + 3) / (2 + 1)
    assert m["expectancy"] == pytest.approx(1.25)  # 5 / 4
    # sqn = sqrt(4) * 1.25 / sd; deviations 3.75 1.75 -3.25 -2.25 -> squares 32.75 / 3 -> sd 3.30404
    assert m["sqn"] == pytest.approx(2 * 1.25 / math.sqrt(32.75 / 3))
    assert m["average_hold"] == pd.Timedelta(days=1.25)  # (1 + 2 + 1 + 1) / 4 days
    assert m["liquidations"] == 1
    assert m["long"] == {"trades": 2, "pnl": 8.0, "win_rate": 1.0}
    assert m["short"] == {"trades": 2, "pnl": -3.0, "win_rate": 0.0}
    assert m["by_exit_reason"]["tp"] == {"count": 2, "pnl": 8.0, "avg_pnl": 4.0}
    assert m["fees_paid"] == pytest.approx(0.75)
    assert m["funding_paid"] == pytest.approx(0.2)  # funding fills' pnl -0.3 + 0.1 -> paid 0.2
    # exposure: entries by bar: bar 0 held to day 2 (2 d), bar 1 to day 2 (1 d), bar 2 to day 3 (1 d) = 4 of 4 days
    assert m["exposure"] == pytest.approx(1.0)


def test_helpers_edge_cases():
    assert profit_factor([1.0, 2.0]) == math.inf
    assert math.isnan(profit_factor([]))
    assert math.isnan(sqn([1.0]))
    assert math.isnan(sharpe([0.01, 0.01], 365))  # zero deviation
    assert math.isnan(sortino([0.01, 0.02], 365))  # no downside
    assert max_drawdown(pd.Series([1.0, 2.0, 3.0], index=IDX[:3])) == (0.0, None, None)


def test_streaks_best_and_worst_trade():
    # in exit order: +1 -1 | +2 +3 +4 | -1 -2 | 0 | -3 -> longest win run 3 (2, 3, 4), longest loss run 2
    # (-1, -2: the flat trade ends the run before -3)
    pnl = [1.0, -1.0, 2.0, 3.0, 4.0, -1.0, -2.0, 0.0, -3.0]
    assert streaks(pnl) == (3, 2)
    times = pd.date_range("2025-01-01", periods=len(pnl), freq="1h", tz="UTC")
    trades = pd.DataFrame({"entry_time": times, "exit_time": times + pd.Timedelta("30min"), "side": "long",
                           "pnl": pnl, "exit_reason": "signal"}).iloc[::-1]  # given out of order: sorted by exit
    m = trade_metrics(trades)
    assert (m["max_consecutive_wins"], m["max_consecutive_losses"]) == (3, 2)
    assert (m["best_trade"], m["worst_trade"]) == (4.0, -3.0)


def test_monthly_returns_table():
    # initial 100; January ends at 110 (+10 %), February at 99 (99 / 110 - 1 = -10 %), March at 108.9 (+10 %)
    idx = pd.DatetimeIndex(["2025-01-10", "2025-01-31", "2025-02-15", "2025-03-01"], tz="UTC")
    table = monthly_returns(pd.Series([105.0, 110.0, 99.0, 108.9], index=idx), 100.0)
    assert list(table) == ["2025-01", "2025-02", "2025-03"]
    assert list(table.values()) == pytest.approx([0.10, -0.10, 0.10])
