"""run_backtest: a hand-computed tiny run, next-open execution (no lookahead), chunking, progress,
funding, mark-price liquidation and config rejections."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import trading.engine.portfolio as pf
from tests.engine.test_one_simulator import CONFIGS, scenario
from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.instruments import BTCUSDT
from trading.engine.sizing import SizingError

IDX = pd.date_range("2025-05-01 06:00", periods=6, freq="1h", tz="UTC")
CANDLES = pd.DataFrame({
    "open": [50_000, 50_000, 50_400, 51_100, 51_000, 50_600],
    "high": [50_100, 50_450, 50_480, 51_150, 51_050, 50_700],
    "low": [49_900, 49_800, 50_300, 50_900, 50_500, 50_400],
    "close": [50_000, 50_400, 50_450, 51_000, 50_600, 50_500],
    "volume": 1.0,
}, index=IDX, dtype="float64")
SIGNALS = pd.DataFrame({"signal": [1, 1, -1, 0, 0, 1], "exit_long": False, "exit_short": False}, index=IDX)
CONFIG = BacktestConfig(slippage_bps=0.0, leverage=10, sizing="kelly", kelly_fraction=0.5, take_profit_pct=0.01,
                        initial_capital=1000, funding=False)


def test_hand_computed_run():
    r = run_backtest(CANDLES, SIGNALS, instrument=BTCUSDT, config=CONFIG)
    # long TP = 50,000 * 1.01 = 50,500: bars 1-2 stay below it (highs 50,450 / 50,480)
    # bar 0 signal +1 -> long at bar 1 open 50,000: qty = 1000 * 0.5 * 10 / 50,000 = 0.1; fee 0.1 * 50,000 * 0.0006 = 3
    # bar 2 signal -1 -> at bar 3 open 51,100: close long, pnl 0.1 * 1,100 = 110, fee 0.1 * 51,100 * 0.0006 = 3.066
    #   balance 1000 - 3 + 110 - 3.066 = 1103.934; short qty = 1103.934 * 5 / 51,100 = 0.10801 -> 0.108
    #   fee 0.108 * 51,100 * 0.0006 = 3.31128 -> balance 1100.62272; TP = 51,100 * 0.99 = 50,589
    # bar 4 low 50,500 <= 50,589 -> TP at 50,589: pnl 0.108 * 511 = 55.188, fee 0.108 * 50,589 * 0.0006 = 3.2781672
    #   balance 1100.62272 + 55.188 - 3.2781672 = 1152.5325528
    # bar 5 signal +1 is the last bar: nothing left to act on it
    f = r.fills
    assert list(zip(f["bar"], f["kind"], f["side"], f["reason"], strict=True)) == [
        (1, "entry", "long", "entry"), (3, "exit", "long", "signal"), (3, "entry", "short", "entry"),
        (4, "exit", "short", "tp")]
    assert f["qty"].tolist() == pytest.approx([0.1, 0.1, 0.108, 0.108])
    assert f["price"].tolist() == pytest.approx([50_000, 51_100, 51_100, 50_589])
    assert f["fee"].tolist() == pytest.approx([3.0, 3.066, 3.31128, 3.2781672])
    assert r.final_balance == pytest.approx(1152.5325528)
    # equity at closes: bar0 1000; bar1 997 + 0.1 * 400 = 1037; bar2 997 + 0.1 * 450 = 1042;
    # bar3 1100.62272 + 0.108 * (51,100 - 51,000) = 1111.42272; bars 4-5 flat 1152.5325528
    assert r.equity.tolist() == pytest.approx([1000, 1037, 1042, 1111.42272, 1152.5325528, 1152.5325528])
    t = r.trades
    assert t["side"].tolist() == ["long", "short"]
    assert t["fees"].tolist() == pytest.approx([6.066, 3.31128 + 3.2781672])
    assert t["pnl"].tolist() == pytest.approx([110 - 6.066, 55.188 - 6.5894472])
    assert t["entry_time"].tolist() == [IDX[1], IDX[3]]
    assert t["exit_reason"].tolist() == ["signal", "tp"]
    assert r.open_position is None


def test_exit_flag_closes_without_flip_and_blocks_entry():
    sig = SIGNALS.copy()
    sig["exit_long"] = [False, False, True, False, False, False]
    sig["signal"] = [1, 1, 1, 0, 0, 0]
    r = run_backtest(CANDLES, sig, instrument=BTCUSDT, config=CONFIG)
    assert list(zip(r.fills["bar"], r.fills["reason"], strict=True)) == [(1, "entry"), (3, "signal")]


def test_no_lookahead_prefix_equals_whole():
    candles, signals = scenario(7)
    whole = run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIGS[0])
    m = 1700
    part = run_backtest(candles.iloc[:m], signals.iloc[:m], instrument=BTCUSDT, config=CONFIGS[0])
    np.testing.assert_array_equal(whole.equity.to_numpy()[:m], part.equity.to_numpy())
    pd.testing.assert_frame_equal(whole.fills[whole.fills["bar"] < m].reset_index(drop=True), part.fills)


def test_chunks_carry_state_and_report_progress(monkeypatch):
    candles, signals = scenario(8)
    one = run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIGS[0])
    monkeypatch.setattr(pf, "CHUNK", 1000)
    seen = []
    many = run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIGS[0], progress=seen.append)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    pd.testing.assert_frame_equal(one.fills, many.fills)
    np.testing.assert_array_equal(one.equity.to_numpy(), many.equity.to_numpy())


def test_a_small_fill_buffer_is_emptied_and_resumed_without_changing_anything(monkeypatch):
    candles, signals = scenario(10)
    one = run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIGS[0])
    monkeypatch.setattr(pf, "BUFFER_ROWS", 5)  # buffers of 4 x one step's worst case: many early stops
    many = run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIGS[0])
    assert len(one.fills) > 100
    pd.testing.assert_frame_equal(one.fills, many.fills)
    np.testing.assert_array_equal(one.equity.to_numpy(), many.equity.to_numpy())


def test_funding_series_and_mark_charge_the_held_position():
    idx = pd.date_range("2025-05-01 06:00", periods=4, freq="1h", tz="UTC")
    candles = pd.DataFrame({"open": 50_000.0, "high": 50_100.0, "low": 49_900.0, "close": 50_000.0, "volume": 1.0},
                           index=idx)
    signals = pd.DataFrame({"signal": [1, 1, 1, 1], "exit_long": False, "exit_short": False}, index=idx)
    rates = pd.Series([0.0001, 0.0002], index=pd.DatetimeIndex(["2025-05-01 07:00", "2025-05-01 08:00"], tz="UTC"))
    mark = pd.DataFrame({"open": [50_010.0, 50_020.0], "high": 50_200.0, "low": 49_800.0, "close": 50_000.0},
                        index=pd.DatetimeIndex(["2025-05-01 07:00", "2025-05-01 08:00"], tz="UTC"))
    r = run_backtest(candles, signals, instrument=BTCUSDT, config=replace(CONFIG, funding=True), funding=rates,
                     mark=mark)
    # entry at 07:00 open (bar 1): not open at 07:00 funding -> pays nothing then.
    # 08:00: 0.1 * 50,020 * 0.0002 = 1.0004 paid by the long
    fund = r.fills[r.fills["kind"] == "funding"]
    assert fund["bar"].tolist() == [2]
    assert fund["pnl"].tolist() == pytest.approx([-1.0004])
    assert r.metrics()["funding_paid"] == pytest.approx(1.0004)


def test_mark_candles_trigger_liquidation_when_last_does_not():
    idx = pd.date_range("2025-05-01 06:00", periods=3, freq="1min", tz="UTC")
    candles = pd.DataFrame({"open": 50_000.0, "high": 50_050.0, "low": 49_900.0, "close": 50_000.0, "volume": 1.0},
                           index=idx)
    signals = pd.DataFrame({"signal": [1, 0, 0], "exit_long": False, "exit_short": False}, index=idx)
    cfg = BacktestConfig(slippage_bps=0.0, leverage=100, sizing="fixed", allocation=0.03, initial_capital=500, funding=False)
    # long @ 50,000 100x: liq = 50,000 * (1 - 0.01 + 0.005) = 49,750 (last low 49,900 never reaches it)
    assert run_backtest(candles, signals, instrument=BTCUSDT, config=cfg).trades.empty
    mark = pd.DataFrame({"open": 50_000.0, "high": 50_050.0, "low": [49_950.0, 49_740.0, 49_950.0],
                         "close": 50_000.0}, index=idx)
    r = run_backtest(candles, signals, instrument=BTCUSDT, config=cfg, mark=mark)
    # mark low 49,740 in bar 1 -> liquidated there at bankruptcy 50,000 * 0.99 = 49,500
    assert r.trades[["exit_bar", "exit_reason", "exit_price"]].values.tolist() == [[1, "liquidation", 49_500.0]]
    # hourly mark candles are coarser than the bars: ignored for the trigger (see run_backtest doc)
    hourly = mark.iloc[:1].copy()
    hourly.index = pd.DatetimeIndex(["2025-05-01 06:00"], tz="UTC")
    hourly = pd.concat([hourly, hourly.set_axis(pd.DatetimeIndex(["2025-05-01 07:00"], tz="UTC"))])
    hourly["low"] = 40_000.0
    assert run_backtest(candles, signals, instrument=BTCUSDT, config=cfg, mark=hourly).trades.empty


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"leverage": 100, "stop_loss_pct": 0.005}, "stop_loss_pct"),  # liq distance 1/100 - 0.005 = 0.005
    ({"leverage": 75, "sizing": "fixed", "allocation": 0.15}, "allocation"),
    ({"leverage": 150}, "leverage"),
    ({"take_profit_pct": 1.5}, "take_profit_pct"),
])
def test_config_rejections_name_the_field(kwargs, field):
    with pytest.raises(SizingError) as err:
        run_backtest(CANDLES, SIGNALS, instrument=BTCUSDT, config=BacktestConfig(**kwargs))
    assert err.value.field == field


def test_signals_must_align():
    with pytest.raises(ValueError, match="signals: 5 rows"):
        run_backtest(CANDLES, SIGNALS.iloc[:5], instrument=BTCUSDT, config=CONFIG)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_index_resolution_does_not_matter(unit):
    # pandas 3 makes microsecond indexes by default; the kernel works in the index's own unit
    candles, signals = scenario(9)
    base = run_backtest(candles, signals, instrument=BTCUSDT, config=CONFIGS[0])
    other = candles.set_axis(candles.index.as_unit(unit))
    r = run_backtest(other, signals.set_axis(other.index), instrument=BTCUSDT, config=CONFIGS[0])
    np.testing.assert_array_equal(base.equity.to_numpy(), r.equity.to_numpy())
    pd.testing.assert_frame_equal(base.fills.drop(columns="time"), r.fills.drop(columns="time"))
    assert set(base.fills["reason"]) >= {"funding", "monitor-timeout"}


def test_daily_bars_pay_every_funding_time_they_span():
    idx = pd.date_range("2025-05-01", periods=4, freq="1D", tz="UTC")
    candles = pd.DataFrame({"open": 50_000.0, "high": 50_100.0, "low": 49_900.0, "close": 50_000.0, "volume": 1.0},
                           index=idx)
    signals = pd.DataFrame({"signal": [1, 0, 0, 0], "exit_long": False, "exit_short": False}, index=idx)
    cfg = replace(CONFIG, funding=True, funding_rate=0.0001)
    r = run_backtest(candles, signals, instrument=BTCUSDT, config=cfg)
    fund = r.fills[r.fills["kind"] == "funding"]
    # long 0.1 from day 1's open. Funding at 00/08/16 UTC: day 1 00:00 is the entry bar's open (not yet held);
    # 08:00 and 16:00 of day 1 and 00:00 of day 2 are charged at day 2's open, and so on: 3 + 3 payments
    assert fund["bar"].tolist() == [2, 2, 2, 3, 3, 3]
    # each 0.1 * 50,000 (bar open as mark) * 0.0001 = 0.5
    assert fund["pnl"].tolist() == pytest.approx([-0.5] * 6)
