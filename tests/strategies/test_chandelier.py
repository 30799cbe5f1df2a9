"""Chandelier Exit (everget): a hand-worked ratchet/flip case, a literal reference loop, TA-Lib raw bands."""

import math

import numpy as np
import pandas as pd
import pytest
import talib

from strategies.algos import pine
from strategies.algos.chandelier import ChandelierStrategy, chandelier_exit, raw_stops

NAN = math.nan

# length 2, mult 1, useClose. TR: bar0 h-l = 1; then 1, 1, 1, max(4,|12-13|,|8-13|) = 5, max(2,1,1) = 2, max(5,5,0) = 5
# ATR(2) (RMA): bar1 (1+1)/2 = 1; 1; 1; bar4 .5*5+.5*1 = 3; bar5 .5*2+.5*3 = 2.5; bar6 .5*5+.5*2.5 = 3.75
# highest(close,2): -, 11, 12, 13, 13, 8, 12   lowest(close,2): -, 10, 11, 12, 8, 7, 7
# LSraw = hh - atr: -, 10, 11, 12, 10, 5.5, 8.25      SSraw = ll + atr: -, 11, 12, 13, 11, 9.5, 10.75
# bar1: prev = raw (LS[0] na): LS 10, SS 11 (close[0]=10 < 11: min(11, 11)); close 11 neither > 11 nor < 10: dir 1
# bar2: close[1]=11 > LSprev 10 -> LS = max(11, 10) = 11; 11 < 11 false -> SS = raw 12; 12 > SSprev 11: dir 1
# bar3: 12 > 11 -> LS = max(12, 11) = 12; SS = raw 13; dir 1
# bar4: close[3]=13 > 12 -> LS = max(10, 12) = 12 (ratchet holds above raw 10); SS = raw 11;
#       close 8 > SSprev 13? no; 8 < LSprev 12 -> dir -1: SELL
# bar5: close[4]=8 > 12? no -> LS resets to raw 5.5; 8 < SSprev 11 -> SS = min(9.5, 11) = 9.5; 7 < 12: dir -1
# bar6: 7 > 5.5 -> LS = max(8.25, 5.5) = 8.25; 7 < 9.5 -> SS = min(10.75, 9.5) = 9.5 (ratchet holds below raw);
#       close 12 > SSprev 9.5 -> dir 1: BUY
HIGH = [10, 11, 12, 13, 12, 9, 12]
LOW = [9, 10, 11, 12, 8, 7, 7]
CLOSE = [10, 11, 12, 13, 8, 7, 12]


def test_hand_worked_ratchet_and_flips():
    ce = chandelier_exit(HIGH, LOW, CLOSE, length=2, mult=1.0, use_close=True)
    np.testing.assert_allclose(ce["long_stop"], [NAN, 10, 11, 12, 12, 5.5, 8.25], equal_nan=True)
    np.testing.assert_allclose(ce["short_stop"], [NAN, 11, 12, 13, 11, 9.5, 9.5], equal_nan=True)
    np.testing.assert_allclose(ce["long_stop_raw"], [NAN, 10, 11, 12, 10, 5.5, 8.25], equal_nan=True)
    np.testing.assert_allclose(ce["short_stop_raw"], [NAN, 11, 12, 13, 11, 9.5, 10.75], equal_nan=True)
    assert ce["direction"].tolist() == [1, 1, 1, 1, -1, -1, 1]
    assert np.flatnonzero(ce["sell"]).tolist() == [4] and np.flatnonzero(ce["buy"]).tolist() == [6]


def test_strategy_is_always_in_market_after_first_flip():
    idx = pd.date_range("2025-01-01", periods=7, freq="5min", tz="UTC")
    candles = pd.DataFrame({"open": CLOSE, "high": HIGH, "low": LOW, "close": CLOSE, "volume": 1.0},
                           index=idx, dtype=float)
    f = ChandelierStrategy(length=2, mult=1.0).compute(candles)
    assert f["signal"].tolist() == [0, 0, 0, 0, -1, -1, 1]  # flat until the first flip, then the direction
    assert f["exit_long"].tolist() == [False] * 4 + [True, False, False]
    assert f["exit_short"].tolist() == [False] * 6 + [True]
    assert f["stop"].iloc[4] == 11 and f["stop"].iloc[6] == 8.25  # short stop while dir -1, long stop while +1


def reference_loop(h, lo, c, n, mult, use_close):
    """everget's script bar by bar: Pine ATR (RMA, TR = h-l on bar 0), highest/lowest, ratchet, direction."""
    out_ls, out_ss, dirs, buys, sells = [], [], [], [], []
    atr = ls = ss = NAN
    d, trs = 1, []
    for t in range(len(c)):
        tr = h[t] - lo[t] if t == 0 else max(h[t] - lo[t], abs(h[t] - c[t - 1]), abs(lo[t] - c[t - 1]))
        trs.append(tr)
        if math.isnan(atr):  # noqa: SIM108 - Pine's rma template, spelled out
            atr = sum(trs[-n:]) / n if len(trs) >= n else NAN
        else:
            atr = (tr + (n - 1) * atr) / n
        if t >= n - 1:
            hi_src, lo_src = (c, c) if use_close else (h, lo)
            ls_raw = max(hi_src[t - n + 1: t + 1]) - mult * atr
            ss_raw = min(lo_src[t - n + 1: t + 1]) + mult * atr
        else:
            ls_raw = ss_raw = NAN
        ls_prev = ls if not math.isnan(ls) else ls_raw
        ss_prev = ss if not math.isnan(ss) else ss_raw
        c1 = c[t - 1] if t else NAN
        ls = max(ls_raw, ls_prev) if c1 > ls_prev else ls_raw
        ss = min(ss_raw, ss_prev) if c1 < ss_prev else ss_raw
        prev_d = d
        d = 1 if c[t] > ss_prev else -1 if c[t] < ls_prev else d
        out_ls.append(ls)
        out_ss.append(ss)
        dirs.append(d)
        buys.append(t > 0 and d == 1 and prev_d == -1)
        sells.append(t > 0 and d == -1 and prev_d == 1)
    return np.array(out_ls), np.array(out_ss), dirs, buys, sells


@pytest.mark.realdata
@pytest.mark.parametrize(("n", "mult", "use_close"), [(22, 3.0, True), (22, 3.0, False), (14, 2.0, True)])
def test_matches_reference_loop_on_real_data(btc5000, n, mult, use_close):
    h, lo, c = (btc5000[k].tolist() for k in ("high", "low", "close"))
    ls, ss, dirs, buys, sells = reference_loop(h, lo, c, n, mult, use_close)
    ce = chandelier_exit(h, lo, c, n, mult, use_close)
    np.testing.assert_allclose(ce["long_stop"], ls, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(ce["short_stop"], ss, rtol=1e-12, equal_nan=True)
    assert ce["direction"].tolist() == dirs
    assert ce["buy"].tolist() == buys and ce["sell"].tolist() == sells
    assert sum(buys) > 20 and sum(sells) > 20
    assert abs(sum(buys) - sum(sells)) <= 1  # flips alternate
    # the ratchet matters: the stop differs from the raw band on a good share of bars
    assert np.mean(ce["long_stop"][n:] != ce["long_stop_raw"][n:]) > 0.2


@pytest.mark.realdata
def test_raw_high_low_bands_match_talib(btc5000):
    h, lo, c = (btc5000[k].to_numpy() for k in ("high", "low", "close"))
    ls_raw, ss_raw = raw_stops(h, lo, c, 22, 3.0, use_close=False)
    atr = pine.atr(h, lo, c, 22)
    np.testing.assert_array_equal(ls_raw, talib.MAX(h, 22) - 3.0 * atr)  # extremes bit-exact with TA-Lib MAX
    np.testing.assert_array_equal(ss_raw, talib.MIN(lo, 22) + 3.0 * atr)  # and MIN
    ref_ls = talib.MAX(h, 22) - 3.0 * talib.ATR(h, lo, c, 22)
    ref_ss = talib.MIN(lo, 22) + 3.0 * talib.ATR(h, lo, c, 22)
    # TA-Lib's ATR skips bar 0; the difference decays as (21/22)^t, below 1e-8 (prices ~1e5) by bar 600
    np.testing.assert_allclose(ls_raw[600:], ref_ls[600:], rtol=0, atol=1e-8)
    np.testing.assert_allclose(ss_raw[600:], ref_ss[600:], rtol=0, atol=1e-8)
    assert np.isnan(ref_ls[21]) and np.max(np.abs(ls_raw[22:60] - ref_ls[22:60])) > 1e-3  # warm-up differs
    assert np.isnan(ls_raw[20]) and not np.isnan(ls_raw[21])  # first band at bar n-1
