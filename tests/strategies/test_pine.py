"""Pine primitives against TA-Lib on real data (where TA-Lib is exact) and against hand-worked warm-up cases."""

import numpy as np
import pytest
import talib

from strategies.algos import pine

NAN = np.nan


def assert_nan_equal(a, b, atol=0.0):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN positions differ"
    m = ~np.isnan(a)
    np.testing.assert_allclose(a[m], b[m], rtol=0, atol=atol)


# ---- hand-worked warm-up cases -------------------------------------------------------------------------------

def test_sma_warm_up():
    # mean of the last 2: (1+2)/2, (2+3)/2, (3+4)/2
    assert_nan_equal(pine.sma([1, 2, 3, 4], 2), [NAN, 1.5, 2.5, 3.5])


def test_rma_is_sma_seeded_wilder_average():
    # seed at bar 2 = (1+2+3)/3 = 2; bar 3 = 4/3 + 2*2/3 = 8/3; bar 4 = 5/3 + (2/3)(8/3) = 31/9
    assert_nan_equal(pine.rma([1, 2, 3, 4, 5], 3), [NAN, NAN, 2.0, 8 / 3, 31 / 9], atol=1e-15)


def test_rma_skips_leading_na():
    # first value is the SMA of the first 2 valid values (3+5)/2 = 4, then 0.5*7 + 0.5*4 = 5.5
    assert_nan_equal(pine.rma([NAN, 3, 5, 7], 2), [NAN, NAN, 4.0, 5.5])


def test_ema_sma_seeded_and_length_one_is_identity():
    # alpha = 2/(3+1) = 0.5: seed (1+2+3)/3 = 2 at bar 2, then 0.5*4 + 0.5*2 = 3, then 0.5*8 + 0.5*3 = 5.5
    assert_nan_equal(pine.ema([1, 2, 3, 4, 8], 3), [NAN, NAN, 2.0, 3.0, 5.5])
    x = np.array([NAN, 1.5, -2.0, 7.0])
    assert_nan_equal(pine.ema(x, 1), x)


def test_rsi_hand_case():
    # x = 1,2,1,3: changes na,+1,-1,+2 -> up na,1,0,2 ; down na,0,1,0 ; n = 2
    # rma(up): bar 2 = (1+0)/2 = 0.5, bar 3 = 0.5*2 + 0.5*0.5 = 1.25 ; rma(down): 0.5, then 0.25
    # rsi bar 2 = 100 - 100/(1+1) = 50 ; bar 3 = 100 - 100/(1+5) = 83.33...
    assert_nan_equal(pine.rsi([1, 2, 1, 3], 2), [NAN, NAN, 50.0, 100 - 100 / 6], atol=1e-12)


def test_rsi_extremes():
    assert pine.rsi([1, 2, 3, 4], 2)[-1] == 100.0  # no down-moves
    assert pine.rsi([4, 3, 2, 1], 2)[-1] == 0.0  # no up-moves
    assert pine.rsi([5, 5, 5, 5], 2)[-1] == 100.0  # both zero: down == 0 is tested first (TA-Lib says 0)
    assert talib.RSI(np.array([5.0, 5, 5, 5]), 2)[-1] == 0.0


def test_atr_uses_high_low_on_bar_zero():
    h, lo, c = [10, 12, 11], [8, 9, 7], [9, 11, 8]
    # TR: bar 0 = 10-8 = 2 ; bar 1 = max(3, |12-9|, |9-9|) = 3 ; bar 2 = max(4, |11-11|, |7-11|) = 4
    assert_nan_equal(pine.true_range(h, lo, c), [2, 3, 4])
    assert_nan_equal(pine.true_range(h, lo, c, handle_na=False), [NAN, 3, 4])
    # atr(2): first at bar 1 = (2+3)/2 = 2.5 ; bar 2 = 0.5*4 + 0.5*2.5 = 3.25
    assert_nan_equal(pine.atr(h, lo, c, 2), [NAN, 2.5, 3.25])


def test_cci_hand_case_and_flat_window():
    # window 1,2,6: mean 3, mean abs dev (2+1+3)/3 = 2 -> (6-3)/(0.015*2) = 100
    assert_nan_equal(pine.cci([1, 2, 6], 3), [NAN, NAN, 100.0], atol=1e-12)
    assert np.isnan(pine.cci([5, 5, 5], 3)[-1])  # zero deviation is na


def test_highest_lowest_change():
    x = [3, 1, 4, 1, 5]
    assert_nan_equal(pine.highest(x, 3), [NAN, NAN, 4, 4, 5])
    assert_nan_equal(pine.lowest(x, 3), [NAN, NAN, 1, 1, 1])
    assert_nan_equal(pine.change(x), [NAN, -2, 3, -3, 4])


def test_barssince():
    assert_nan_equal(pine.barssince([False, True, False, False, True, False]), [NAN, 0, 1, 2, 0, 1])


def test_crossover_crossunder():
    a = [1, 3, 3, 1, NAN, 3]
    b = [2, 2, 2, 2, 2, 2]
    # bar 1: 3 > 2 and 1 <= 2 -> cross up; bar 5: previous value is na -> false
    assert pine.crossover(a, b).tolist() == [False, True, False, False, False, False]
    assert pine.crossunder(a, b).tolist() == [False, False, False, True, False, False]
    # touching counts as "at or below" on the previous bar
    assert pine.crossover([2, 3], [2, 2]).tolist() == [False, True]


def test_shift_and_nz():
    assert_nan_equal(pine.shift([1, 2, 3], 2), [NAN, NAN, 1])
    assert_nan_equal(pine.nz([NAN, 2]), [0, 2])


# ---- TA-Lib on real data ----------------------------------------------------------------------------------

@pytest.mark.realdata
@pytest.mark.parametrize("n", [9, 14, 200])
def test_rsi_ema_sma_match_talib(btc5000, n):
    c = btc5000["close"].to_numpy()
    assert_nan_equal(pine.rsi(c, n), talib.RSI(c, n), atol=1e-9)
    assert_nan_equal(pine.ema(c, n), talib.EMA(c, n), atol=1e-7)  # prices ~1e5: 1e-7 is 1e-12 relative
    assert_nan_equal(pine.sma(c, n), talib.SMA(c, n), atol=1e-7)


@pytest.mark.realdata
@pytest.mark.parametrize("n", [20, 22])
def test_cci_max_min_match_talib(btc5000, n):
    c, h, lo = (btc5000[k].to_numpy() for k in ("close", "high", "low"))
    assert_nan_equal(pine.cci(c, n), talib.CCI(c, c, c, n), atol=1e-9)
    assert_nan_equal(pine.highest(h, n), talib.MAX(h, n))
    assert_nan_equal(pine.lowest(lo, n), talib.MIN(lo, n))


@pytest.mark.realdata
def test_atr_matches_talib_after_warm_up(btc5000):
    h, lo, c = (btc5000[k].to_numpy() for k in ("high", "low", "close"))
    ours, ref = pine.atr(h, lo, c, 14), talib.ATR(h, lo, c, 14)
    assert np.isnan(ours[12]) and not np.isnan(ours[13])  # Pine: first value at bar n-1 (TA-Lib: bar n)
    assert np.isnan(ref[13])
    np.testing.assert_allclose(ours[400:], ref[400:], rtol=0, atol=1e-9)
    assert np.max(np.abs(ours[14:50] - ref[14:50])) > 1e-6  # the warm-up does differ (bar-0 TR)


# ---- property test: random series, TA-Lib as the oracle -----------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from([1.0, 2.0, 3.5]) | st.floats(1.0, 1000.0, allow_nan=False), min_size=2, max_size=80),
    st.integers(2, 30),  # TA-Lib rejects period 1 for these
)
def test_primitives_match_talib_on_random_series(values, n):
    x = np.array(values)
    assert_nan_equal(pine.sma(x, n), talib.SMA(x, n), atol=1e-9)
    assert_nan_equal(pine.highest(x, n), talib.MAX(x, n))
    assert_nan_equal(pine.lowest(x, n), talib.MIN(x, n))
    assert_nan_equal(pine.ema(x, n), talib.EMA(x, n), atol=1e-9)
    # while every change so far is zero both averages are 0: Pine's built-in gives 100, TA-Lib 0
    flat = np.cumsum(np.abs(np.diff(x, prepend=x[0]))) == 0
    ours, ref = pine.rsi(x, n), talib.RSI(x, n)
    assert_nan_equal(ours[~flat], ref[~flat], atol=1e-8)
    assert np.all(ours[flat & ~np.isnan(ours)] == 100.0)
