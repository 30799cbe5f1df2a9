"""Lorentzian features, filters and kernels against TA-Lib compositions and literal Pine-style loops."""

import math

import numpy as np
import pytest
import talib

from strategies.algos import pine
from strategies.algos.lorentzian import features, filters, kernels

pytestmark = pytest.mark.realdata


def ref_normalize(x):
    """MLExtensions normalize, literally: var min 10e10 / max -10e10, nz() keeps them on na."""
    lo, hi, out = 10e10, -10e10, []
    for v in x:
        if not math.isnan(v):
            lo, hi = min(v, lo), max(v, hi)
        out.append((v - lo) / max(hi - lo, 10e-10))
    return np.array(out)


def ref_rma_pine(x, n):
    """Pine's documented rma template, bar by bar."""
    out, prev = [], math.nan
    for t in range(len(x)):
        if math.isnan(prev):
            win = x[max(0, t - n + 1): t + 1]
            prev = sum(win) / n if len(win) == n and not any(math.isnan(w) for w in win) else math.nan
        else:
            prev = (1 / n) * x[t] + (1 - 1 / n) * prev
        out.append(prev)
    return np.array(out)


def ref_quirk_adx(h, lo, c, n):
    """n_adx of MLExtensions, literally (nz on the previous bar, sums from 0)."""
    s_tr = s_p = s_m = 0.0
    dx = []
    for t in range(len(h)):
        h1, l1, c1 = (h[t - 1], lo[t - 1], c[t - 1]) if t else (0.0, 0.0, 0.0)
        tr = max(max(h[t] - lo[t], abs(h[t] - c1)), abs(lo[t] - c1))
        p = max(h[t] - h1, 0) if h[t] - h1 > l1 - lo[t] else 0
        m = max(l1 - lo[t], 0) if l1 - lo[t] > h[t] - h1 else 0
        s_tr = s_tr - s_tr / n + tr
        s_p = s_p - s_p / n + p
        s_m = s_m - s_m / n + m
        dip, dim = s_p / s_tr * 100, s_m / s_tr * 100
        dx.append(abs(dip - dim) / (dip + dim) * 100)
    return ref_rma_pine(np.array(dx), n)


def test_n_rsi_is_rescaled_talib_rsi(btc5000):
    c = btc5000["close"].to_numpy()
    np.testing.assert_allclose(features.n_rsi(c, 14, 1), talib.RSI(c, 14) / 100, atol=1e-12, equal_nan=True)


def test_n_cci_is_running_normalised_talib_cci_on_close(btc5000):
    c = btc5000["close"].to_numpy()
    ref = ref_normalize(talib.CCI(c, c, c, 20))
    np.testing.assert_allclose(features.n_cci(c, 20, 1), ref, atol=1e-12, equal_nan=True)
    assert np.isnan(features.n_cci(c, 20, 1)[18]) and not np.isnan(features.n_cci(c, 20, 1)[19])


def test_n_wt_is_composed_from_talib_ema_sma(btc5000):
    src = pine.hlc3(*(btc5000[k].to_numpy() for k in ("high", "low", "close")))
    e1 = talib.EMA(src, 10)
    e2 = talib.EMA(np.abs(src - e1), 10)
    wt1 = talib.EMA((src - e1) / (0.015 * e2), 11)
    ref = ref_normalize(wt1 - talib.SMA(wt1, 4))
    ours = features.n_wt(src, 10, 11)
    np.testing.assert_allclose(ours, ref, atol=1e-9, equal_nan=True)
    assert np.isnan(ours[30]) and not np.isnan(ours[31])  # first valid WT bar is 31 (spec 1.8)


def test_quirk_adx_matches_literal_loop_and_bar_zero_spike(btc5000):
    h, lo, c = (btc5000[k].to_numpy()[:1500] for k in ("high", "low", "close"))
    ours = features.quirk_adx(h, lo, c, 20)
    np.testing.assert_allclose(ours, ref_quirk_adx(h, lo, c, 20), rtol=1e-12, equal_nan=True)
    assert np.isnan(ours[18]) and not np.isnan(ours[19])
    # the nz() spike: DX = 100 on bar 0 (TR = +DM = high), so early ADX is far above a standard ADX
    assert ours[19] > talib.ADX(h, lo, c, 20)[60]
    np.testing.assert_allclose(features.n_adx(h, lo, c, 20), ours / 100, rtol=1e-12, equal_nan=True)


def test_normalize_extremes_stick_and_na_leaves_them():
    # running min/max after each value: (1,1) (1,3) (1,3) (0,3) ; out = (v-min)/max(max-min, 1e-9)
    out = features.normalize([1.0, 3.0, np.nan, 0.0, 2.0])
    np.testing.assert_allclose(out, [0.0, 1.0, np.nan, 0.0, 2 / 3], equal_nan=True)


def test_window_normalize_uses_the_last_window_bars_only():
    # window 2: (min, max) of the non-NaN values among the last 2 bars: (1,1) (1,3) (3,3) (0,0) (0,2) (2,5)
    out = features.normalize([1.0, 3.0, np.nan, 0.0, 2.0, 5.0], window=2)
    np.testing.assert_allclose(out, [0.0, 1.0, np.nan, 0.0, 1.0, 1.0], equal_nan=True)
    # against a literal loop on noisy data with NaNs, and independence from the start: a series cut at bar s
    # gives the same values from bar s + window - 1 on
    rng = np.random.default_rng(3)
    x = rng.normal(size=3000)
    x[[5, 6, 700, 701, 702]] = np.nan
    ours = features.normalize(x, 0.0, 1.0, window=50)
    ref = []
    for t in range(len(x)):
        win = x[max(0, t - 49): t + 1]
        win = win[~np.isnan(win)]
        ref.append(math.nan if math.isnan(x[t]) else (x[t] - win.min()) / max(win.max() - win.min(), 1e-9))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=0, equal_nan=True)
    cut = features.normalize(x[1234:], 0.0, 1.0, window=50)
    assert np.array_equal(cut[49:], ours[1234 + 49:], equal_nan=True)
    assert not np.array_equal(cut[:49], ours[1234:1234 + 49], equal_nan=True)


def test_rolling_regime_smoother_restarts_lookback_bars_back(btc5000):
    o, h, lo, c = (btc5000[k].to_numpy()[:1500] for k in ("open", "high", "low", "close"))
    o4 = pine.ohlc4(o, h, lo, c)
    ours = filters._regime_klmf_window(o4, h, lo, 400)
    for t in (0, 10, 399, 400, 401, 1499):  # bar t = the bar-0 smoother run on bars max(0, t - 399) .. t
        j0 = max(0, t - 399)
        np.testing.assert_equal(ours[t], filters._regime_klmf(o4[j0:t + 1], h[j0:t + 1], lo[j0:t + 1])[-1])
    # the bar-0 smoother has forgotten its start within 400 bars on this data: the same values to round-off
    full = filters._regime_klmf(o4, h, lo)
    np.testing.assert_allclose(ours[400:], full[400:], rtol=1e-12)


def ref_regime(o4, h, lo, threshold):
    v1 = v2 = k = math.nan
    klmf = []
    for t in range(len(o4)):
        src1 = o4[t - 1] if t else math.nan
        v1 = 0.2 * (o4[t] - src1) + 0.8 * (0.0 if math.isnan(v1) else v1)
        v2 = 0.1 * (h[t] - lo[t]) + 0.8 * (0.0 if math.isnan(v2) else v2)
        w = abs(v1 / v2) if v2 != 0 else math.nan
        a = (-w ** 2 + math.sqrt(w ** 4 + 16 * w ** 2)) / 8 if not math.isnan(w) else math.nan
        k = a * o4[t] + (1 - a) * (0.0 if math.isnan(k) else k)
        klmf.append(k)
    slope = np.abs(np.diff(np.array(klmf), prepend=np.nan))
    avg = talib.EMA(slope, 200)  # TA-Lib starts after the leading NaNs: SMA seed over the first 200 slopes
    with np.errstate(invalid="ignore"):
        return (slope - avg) / avg >= threshold, avg


def test_regime_filter_matches_literal_loop(btc5000):
    o, h, lo, c = (btc5000[k].to_numpy()[:3000] for k in ("open", "high", "low", "close"))
    o4 = pine.ohlc4(o, h, lo, c)
    ref, avg = ref_regime(o4, h, lo, -0.1)
    assert np.isnan(avg[200]) and not np.isnan(avg[201])  # EMA-200 of the slope starts at bar 201 (spec 1.8)
    assert np.array_equal(filters.regime_filter(o4, h, lo, -0.1), ref)
    assert 0.2 < ref.mean() < 0.9


def test_volatility_filter_is_atr1_above_atr10(btc5000):
    h, lo, c = (btc5000[k].to_numpy() for k in ("high", "low", "close"))
    tr = pine.true_range(h, lo, c)
    atr10 = ref_rma_pine(tr, 10)
    with np.errstate(invalid="ignore"):
        assert np.array_equal(filters.volatility_filter(h, lo, c), tr > atr10)


def ref_kernel(src, weight_fn, x):
    out = np.full(len(src), np.nan)
    for t in range(x + 1, len(src)):
        num = den = 0.0
        for i in range(x + 2):
            w = weight_fn(i)
            num += src[t - i] * w
            den += w
        out[t] = num / den
    return out


def test_kernels_match_literal_loops(btc5000):
    c = btc5000["close"].to_numpy()[:600]
    h, r, x, lag = 8, 8.0, 25, 2
    rq = ref_kernel(c, lambda i: (1 + i ** 2 / (h ** 2 * 2 * r)) ** -r, x)
    ga = ref_kernel(c, lambda i: math.exp(-(i ** 2) / (2 * (h - lag) ** 2)), x)
    y1, y2 = kernels.rational_quadratic(c, h, r, x), kernels.gaussian(c, h - lag, x)
    np.testing.assert_allclose(y1, rq, rtol=1e-14, equal_nan=True)
    np.testing.assert_allclose(y2, ga, rtol=1e-14, equal_nan=True)
    assert np.isnan(y1[25]) and not np.isnan(y1[26])  # 27 terms: first value at bar 26
