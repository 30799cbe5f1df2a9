"""Liquidation on the finest stored mark (trading/engine/portfolio_inputs.py): worked cases of a 5-minute bar whose
last-price low pierces the liquidation price while the mark does not, with the mark at 5m, only at 1h (the
coarser mark bounds the last price), with missing 5m mark bars (fallback to the 1h bound) and 1m marks that
cover a detail bar only in part.

The position in every case: ETHUSDT long at 100x, fixed allocation 3 % of 1,000 -> margin 30, notional 3,000,
qty 1.2 at the 00:05 open of 2,500 (signal row 0 closes at 00:05). Tier 1 MMR 0.5 %, no deduction:
liq = 2,500 - (IM - MM) / qty = 2,500 - (30 - 3,000 x 0.005) / 1.2 = 2,500 - 12.5 = 2,487.5;
bankruptcy = 2,500 x (1 - 1/100) = 2,475 (where a liquidation settles).
Detail: twelve flat 5m bars at 2,500 (one hour, 00:00-01:00) except bar 1 (00:05-00:10) whose LOW is 2,480:
the last price wicks through 2,487.5.
"""

import pandas as pd
import pytest

from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.instruments import ETHUSDT
from trading.engine.portfolio import PortfolioSlot, PortfolioSpec, run_portfolio
from trading.engine.portfolio_inputs import align_prices

T0 = pd.Timestamp("2025-05-01 00:00", tz="UTC")
CFG = BacktestConfig(slippage_bps=0.0, leverage=100,  # the worked numbers have no slippage
                     sizing="fixed", allocation=0.03, initial_capital=1000, funding=False)
LIQ, BANKRUPT = 2_487.5, 2_475.0


def bars(rows, freq="5min", start=T0):
    idx = pd.date_range(start, periods=len(rows), freq=freq, tz="UTC")
    return pd.DataFrame(rows, index=idx, columns=["open", "high", "low", "close"], dtype="float64")


def trade():
    rows = [(2_500.0, 2_500.0, 2_500.0, 2_500.0)] * 12
    rows[1] = (2_500.0, 2_500.0, 2_480.0, 2_500.0)
    return bars(rows)


def mark_5m(low_bar1=2_495.0, drop=()):
    rows = [(2_500.0, 2_500.0, 2_500.0, 2_500.0)] * 12
    rows[1] = (2_500.0, 2_500.0, low_bar1, 2_500.0)
    frame = bars(rows)
    return frame.drop(frame.index[list(drop)])


def mark_1h(low):
    """The hour holding the detail bars, and the next (two bars: a mark frame's bar length is its spacing)."""
    return bars([(2_500.0, 2_500.0, low, 2_500.0), (2_500.0, 2_500.0, 2_500.0, 2_500.0)], freq="1h")


def run(mark):
    sig = pd.DataFrame({"signal": [1] + [0] * 11, "exit_long": False, "exit_short": False}, index=trade().index)
    slot = PortfolioSlot(key="eth", symbol="ETHUSDT", instrument=ETHUSDT, config=CFG, signals=sig,
                         timeframe_seconds=300)
    return run_portfolio(slots=[slot], detail={"ETHUSDT": trade()}, mark=None if mark is None else {"ETHUSDT": mark},
                         spec=PortfolioSpec(initial_capital=1000, max_open_positions=1))


def exits(r):
    e = r.fills[r.fills["kind"] == "exit"]
    return list(zip(e["time"], e["reason"], e["price"], strict=True))


def liquidated_in_bar_1(low):
    """The exit when bar 1's trigger low is ``low``: the run walks the bar as ten 30-second sub-bars along
    O -> L -> H -> C (a bar not closing down), the low reached at t = 1/3; the trigger crosses 2,487.5 on the
    first leg at t = (2,500 - 2,487.5) / (2,500 - low) / 3; the liquidation fills at the start of that sub-bar."""
    t = (2_500.0 - LIQ) / (2_500.0 - low) / 3
    return [(T0 + pd.Timedelta("5min") + pd.Timedelta(seconds=30) * int(t * 10), "liquidation", BANKRUPT)]


def test_the_worked_numbers():
    r = run(None)
    entry = r.fills[r.fills["kind"] == "entry"]
    assert entry["qty"].tolist() == [pytest.approx(1.2)] and entry["price"].tolist() == [2_500.0]
    # without any mark the last price's wick (2,480 <= 2,487.5) liquidates in bar 1, at the bankruptcy price,
    # in sub-bar 2 (t = 12.5 / 20 / 3 = 0.208): 00:06:00
    assert exits(r) == liquidated_in_bar_1(2_480.0)
    assert exits(r)[0][0] == pd.Timestamp("2025-05-01 00:06", tz="UTC")
    assert r.trigger_series == {"ETHUSDT": "last"}


def test_5m_mark_that_stays_above_the_liquidation_price_does_not_liquidate():
    r = run(mark_5m(low_bar1=2_495.0))  # the mark's low 2,495 > 2,487.5: the wick was the last price only
    assert exits(r) == [] and [p["symbol"] for p in r.open_positions] == ["ETHUSDT"]
    assert r.trigger_series == {"ETHUSDT": "mark"}
    # the same 5m mark piercing it (2,487 <= 2,487.5) liquidates in bar 1
    assert exits(run(mark_5m(low_bar1=2_487.0))) == liquidated_in_bar_1(2_487.0)


def test_only_1h_mark_bounds_the_last_price():
    # the hour's mark low 2,490 never reached 2,487.5: the 5m wick cannot have liquidated (mark >= 2,490 all hour)
    r = run(mark_1h(low=2_490.0))
    assert exits(r) == [] and r.trigger_series == {"ETHUSDT": "last:bounded-by-coarser-mark"}
    # the hour's mark low 2,485 did reach it, at an unknown moment of the hour: liquidated where the last price
    # gets there (bar 1; the conservative earliest moment), trigger = max(last low 2,480, mark low 2,485) <= liq
    assert exits(run(mark_1h(low=2_485.0))) == liquidated_in_bar_1(2_485.0)


def test_a_missing_5m_mark_bar_falls_back_to_the_1h_bound():
    # bar 1's 5m mark is missing: the 1h layer bounds that bar
    r = run([mark_1h(low=2_490.0), mark_5m(drop=[1])])  # any order: the layers are sorted finest first
    assert exits(r) == [] and r.trigger_series == {"ETHUSDT": "mark:else-bounded-by-coarser-mark"}
    assert exits(run([mark_5m(drop=[1]), mark_1h(low=2_485.0)])) == liquidated_in_bar_1(2_485.0)
    # without the 1h layer the bar without mark has only the last price: the wick liquidates
    assert exits(run(mark_5m(drop=[1]))) == liquidated_in_bar_1(2_480.0)
    # the 5m mark, where present, wins over the 1h bound: 1h low 2,485 but 5m bar 1 low 2,495 -> no liquidation
    assert exits(run([mark_5m(low_bar1=2_495.0), mark_1h(low=2_485.0)])) == []


def test_1m_marks_count_only_when_they_cover_the_whole_detail_bar():
    ones = bars([(2_500.0, 2_500.0, 2_500.0, 2_500.0)] * 60, freq="1min")  # the hour, low 2,500 throughout
    assert exits(run([ones, mark_1h(low=2_485.0)])) == []  # five 1m bars cover bar 1: their low 2,500 decides
    # 00:07-00:09 missing from bar 1: its 1m low could have been anywhere -> the 1h bound decides (2,485: liq)
    partial = ones.drop(ones.index[7:10])
    assert exits(run([partial, mark_1h(low=2_485.0)])) == liquidated_in_bar_1(2_485.0)
    assert exits(run([partial, mark_1h(low=2_490.0)])) == []


def test_clipped_range_per_bar():
    # the arrays the kernel reads: bar 1 bounded to [max(2,480, 2,485), min(2,500, 2,510)]; an empty clip (the
    # hour's mark all above a bar's last-price high) keeps NaN, i.e. the plain last-price range
    rows = [(2_500.0, 2_500.0, 2_500.0, 2_500.0)] * 12
    rows[1] = (2_500.0, 2_500.0, 2_480.0, 2_490.0)
    rows[2] = (2_470.0, 2_475.0, 2_460.0, 2_470.0)
    hour = bars([(2_500.0, 2_510.0, 2_485.0, 2_500.0), (2_500.0, 2_500.0, 2_500.0, 2_500.0)], freq="1h")
    p = align_prices(["ETHUSDT"], {"ETHUSDT": bars(rows)}, {"ETHUSDT": hour})
    assert (p.mo[0, 1], p.mh[0, 1], p.ml[0, 1], p.mc[0, 1]) == (2_500.0, 2_500.0, 2_485.0, 2_490.0)
    assert pd.isna(p.mo[0, 2]) and p.use_mark[0]


def test_run_backtest_takes_the_same_layers():
    sig = pd.DataFrame({"signal": [1] + [0] * 11, "exit_long": False, "exit_short": False}, index=trade().index)
    kept = run_backtest(trade(), sig, instrument=ETHUSDT, config=CFG, mark=[mark_1h(low=2_490.0)])
    gone = run_backtest(trade(), sig, instrument=ETHUSDT, config=CFG, mark=mark_1h(low=2_485.0))
    assert kept.trigger_series == "last:bounded-by-coarser-mark"
    assert (kept.trades["exit_reason"].tolist() if len(kept.trades) else []) in ([], ["end"])
    assert gone.trades["exit_reason"].tolist() == ["liquidation"]
