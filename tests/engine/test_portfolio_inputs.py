"""The kernel's signal-row inputs: steps found by the guess-or-gallop merge equal a binary search, and a slot
without monitor columns keeps only the rows that can act without changing what a backtest does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.instruments import BTCUSDT
from trading.engine.portfolio_inputs import _steps, signal_rows


def test_steps_equal_numpy_searchsorted_on_regular_irregular_dense_and_sparse_rows():
    rng = np.random.default_rng(5)
    for trial in range(400):
        regular = trial % 2 == 0
        axis = (np.arange(0, 4000, 10) if regular else np.sort(rng.choice(8000, 400, replace=False))).astype(np.int64)
        rows = np.sort(rng.choice(500, size=int(rng.integers(0, 400)), replace=False)).astype(np.int64)
        if trial % 3:  # closes that follow the rows (bar open + timeframe), off the grid by a random shift
            closes = rows * 10 + int(rng.integers(-15, 40))
        else:  # closes unrelated to the rows: the guess is wrong and the gallop finds them
            closes = np.sort(rng.integers(-20, 8100, size=rows.shape[0])).astype(np.int64)
        assert np.array_equal(_steps(axis, closes, rows), np.searchsorted(axis, closes, side="left")), trial


def _frames(n=3000, seed=9):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 2e-3, n)))
    idx = pd.date_range("2025-01-01", periods=n, freq="1min", tz="UTC")
    candles = pd.DataFrame({"open": np.r_[100.0, close[:-1]], "high": close * 1.002, "low": close * 0.998,
                            "close": close, "volume": 1.0}, index=idx)
    sig = np.zeros(n, dtype=np.int8)
    sig[rng.choice(n, 60, replace=False)] = rng.choice([-1, 1], 60)
    exl = np.zeros(n, dtype=bool)
    exl[rng.choice(n, 20, replace=False)] = True
    return candles, pd.DataFrame({"signal": sig, "exit_long": exl, "exit_short": False}, index=idx)


def test_plain_slot_keeps_only_acting_rows_and_backtests_as_every_row_did():
    candles, signals = _frames()
    ns = candles.index.as_unit("ns").asi8
    rows = signal_rows(ns, [signals], [60 * 10**9], ["s"], [ns])
    acting = np.flatnonzero((signals["signal"] != 0).to_numpy() | signals["exit_long"].to_numpy())
    assert rows.off.tolist() == [0, len(acting)] and rows.sig.tolist() == signals["signal"].to_numpy()[acting].tolist()
    assert rows.astep.tolist() == (acting + 1).tolist()  # a 1-minute row closes at the next bar's open
    # the same run with every row kept: NaN monitor columns make the slot keep all rows (and drift NaN holds)
    dense = signals.assign(drift=np.nan)
    assert signal_rows(ns, [dense], [60 * 10**9], ["s"], [ns]).off.tolist() == [0, len(signals)]
    cfg = BacktestConfig(leverage=10, sizing="fixed", allocation=0.2, take_profit_pct=0.01, stop_loss_pct=0.005)
    sparse_run = run_backtest(candles, signals, instrument=BTCUSDT, config=cfg)
    dense_run = run_backtest(candles, dense, instrument=BTCUSDT, config=cfg)
    assert len(sparse_run.trades) > 20
    pd.testing.assert_frame_equal(sparse_run.trades, dense_run.trades)
    np.testing.assert_array_equal(sparse_run.equity.to_numpy(), dense_run.equity.to_numpy())


def test_times_out_of_order_are_refused_naming_the_input():
    """The strictly-increasing check reads pandas' cached index flags: a repeated time or a step back must still
    be caught, for the candles of run_backtest and for a portfolio slot's signals."""
    candles, signals = _frames()
    cfg = BacktestConfig(leverage=10, sizing="fixed", allocation=0.2)
    stamps = candles.index.to_numpy().copy()
    stamps[50] = stamps[49]  # a repeated bar open: monotonic but not strict
    repeated = pd.DatetimeIndex(stamps)
    with pytest.raises(ValueError, match=r"candles: the index \(bar open times\) must be strictly increasing"):
        run_backtest(candles.set_axis(repeated), signals.set_axis(repeated), instrument=BTCUSDT, config=cfg)
    swapped = candles.index[[1, 0, *range(2, len(candles))]]
    with pytest.raises(ValueError, match="candles: the index"):
        run_backtest(candles.set_axis(swapped), signals.set_axis(swapped), instrument=BTCUSDT, config=cfg)
    ns = candles.index.as_unit("ns").asi8
    with pytest.raises(ValueError, match=r"slots\[0\].signals: the index \(bar open times\) must be strictly"):
        signal_rows(ns, [signals.set_axis(repeated)], [60 * 10**9], ["slots[0]"])
    assert signal_rows(ns, [signals], [60 * 10**9], ["slots[0]"]).off[-1] > 0  # the same rows in order pass
