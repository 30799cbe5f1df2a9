"""Real BTCUSDT 5-minute bars through the 10 Oct 2025 crash: 100x longs without a stop-loss are
liquidated in the bar the formula says, settled at the bankruptcy price, the whole margin lost."""

import pandas as pd
import pytest

from tests.shared_data import load_candles, load_funding, load_mark
from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.instruments import BTCUSDT

pytestmark = pytest.mark.realdata

CONFIG = BacktestConfig(slippage_bps=0.0, leverage=100, sizing="fixed", initial_capital=500, allocation=0.03, funding=True)


@pytest.fixture(scope="module")
def window():
    candles = load_candles("BTCUSDT").loc["2025-10-10 12:00":"2025-10-11 00:00"]
    return candles, load_funding("BTCUSDT"), load_mark("BTCUSDT")


@pytest.mark.parametrize(("signal_bar", "entry_bar", "liq_bar", "liq_expected"), [
    # entry at 21:00 open 114,225.1: liq = 114,225.1 * (1 - 1/100 + 0.005) = 113,653.97; lows 21:00 114,196.5 and
    # 21:05 114,300.0 stay above; 21:10 low 109,758.0 crosses -> liquidated in the 21:10 bar
    ("2025-10-10 20:55", "2025-10-10 21:00", "2025-10-10 21:10", 113_653.9745),
    # entry at 21:15 open 112,183.9: liq = 112,183.9 * 0.995 = 111,622.98; the crash bar's low 102,875 crosses
    ("2025-10-10 21:10", "2025-10-10 21:15", "2025-10-10 21:15", 111_622.9805),
])
def test_100x_long_liquidated_in_the_bar_the_formula_says(window, signal_bar, entry_bar, liq_bar, liq_expected):
    candles, funding, mark = window
    signals = pd.DataFrame({"signal": 0, "exit_long": False, "exit_short": False}, index=candles.index)
    signals.loc[pd.Timestamp(signal_bar, tz="UTC"), "signal"] = 1
    result = run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIG, funding=funding, mark=mark)

    entry = candles.loc[pd.Timestamp(entry_bar, tz="UTC"), "open"]
    # qty: margin 500 * 0.03 = 15, notional 15 * 100 = 1,500, 1,500 / ~114,000 = 0.0131.. -> 0.013 (step 0.001)
    qty = int(1500 / entry * 1000) / 1000
    liq = entry * (1 - 1 / 100 + 0.005)  # tier 1: MMR 0.5 %, deduction 0
    assert liq == pytest.approx(liq_expected)
    assert result.open_position is None
    bankruptcy = entry * (1 - 1 / 100)
    margin = qty * entry / 100
    after = candles.loc[pd.Timestamp(entry_bar, tz="UTC"):]
    first_cross = after.index[(after["low"] <= liq).to_numpy().argmax()]
    assert first_cross == pd.Timestamp(liq_bar, tz="UTC")  # the data agrees with the hand reading above
    # the hourly mark candle of 21:00 agrees that the mark crossed too (low 102,032.5)
    assert mark.loc["2025-10-10 21:00", "low"] <= liq

    trades = result.trades
    assert len(trades) == 1
    t = trades.iloc[0]
    assert t["entry_time"] == pd.Timestamp(entry_bar, tz="UTC")
    assert t["exit_time"] == first_cross
    assert t["exit_reason"] == "liquidation"
    assert t["qty"] == pytest.approx(qty)
    assert t["exit_price"] == pytest.approx(bankruptcy, rel=1e-12)
    assert t["gross_pnl"] == pytest.approx(-margin, rel=1e-9)  # the whole isolated margin is lost
    # fees: taker on entry + taker fee to close at the bankruptcy price
    assert t["fees"] == pytest.approx(qty * entry * 0.0006 + qty * bankruptcy * 0.0006)
    assert result.final_balance == pytest.approx(500 - margin - t["fees"])
    assert result.metrics()["liquidations"] == 1
