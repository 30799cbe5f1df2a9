"""Logistic strategy: TradingView loss closed form vs a literal loop, the NumPy fit, walk-forward causality
(perturb the future), balanced signals and out-of-sample accuracy on real data."""

import math

import numpy as np
import pandas as pd
import pytest

from strategies.algos.logistic import tv_loss
from strategies.algos.logistic.model import fit_logistic, sigmoid
from strategies.algos.logistic.strategy import LogisticStrategy, out_of_sample_accuracy
from strategies.algos.logistic.walkforward import forward_labels


def literal_tv_loss(y, p, iterations):
    """The script bar by bar: `iterations` passes of h = sigmoid(dot(X, 0, p)), loss = -(1/p) dot(dot(Y, ln h + 1 - Y, p),
    ln(1 - h), p); the inner dot's history is its value at the close of each bar."""
    inner_hist, out = [], []
    for t in range(len(y)):
        loss = math.nan
        inner = math.nan
        for _ in range(iterations):
            h = 1 / (1 + math.exp(-0.0))  # dot(X, 0.0, p) is always 0: the weight never enters
            inner = (sum(y[t - j] * (math.log(h) + 1 - y[t - j]) for j in range(p)) if t >= p - 1 else math.nan)
            hist = inner_hist + [inner]
            if t >= 2 * (p - 1) and not any(math.isnan(v) for v in hist[-p:]):
                loss = -(1 / p) * sum(hist[-1 - k] * math.log(1 - h) for k in range(p))
        inner_hist.append(inner)
        out.append(loss)
    return np.array(out)


def test_tv_loss_closed_form_equals_literal_loop():
    rng = np.random.default_rng(7)
    y = 95000 + np.cumsum(rng.normal(0, 50, 60))
    for p in (1, 3, 5):
        np.testing.assert_allclose(tv_loss.tv_loss(y, p), literal_tv_loss(y.tolist(), p, 25), rtol=1e-12,
                                   equal_nan=True)
    assert np.isnan(tv_loss.tv_loss(y, 3)[3]) and not np.isnan(tv_loss.tv_loss(y, 3)[4])  # from bar 2(p-1)


def test_tv_loss_hand_case_p1():
    # p = 1: loss = -L * Y (L + 1 - Y) with L = ln 0.5; Y = 2 -> -ln(0.5) * 2 * (ln 0.5 - 1) = -2.3473...
    assert tv_loss.tv_loss([2.0], 1)[0] == pytest.approx(-math.log(0.5) * 2 * (math.log(0.5) - 1), rel=1e-15)


def test_scaled_loss_minimax():
    # minimax(v, 2, lo, hi) = (hi - lo)(v - min2(v)) / (max2(v) - min2(v)) + lo: v = 1, 3 with lo 10, hi 20 -> 20
    out = tv_loss.minimax([1.0, 3.0, 2.0, 2.0], 2, np.array([0, 10, 10, 5.0]), np.array([0, 20, 30, 6.0]))
    np.testing.assert_allclose(out, [np.nan, 20.0, 10.0, np.nan], equal_nan=True)  # flat window -> NaN
    # p = 3: loss_t = -(L/3) sum of Y(L+1-Y) over bars t-4..t with weights 1,2,3,2,1, so it falls as prices rise.
    # Bars 5 and 6 weigh higher prices than the bar before, so their loss is the 2-bar minimum and minimax maps
    # it to lo = the 2-bar low of price: min(104, 104.5) = 104, then min(104.5, 104.2) = 104.2.
    # The first value is at bar 2(p-1) + nlbk - 1 = 5.
    base = np.array([100.0, 101.0, 103.0, 102.0, 104.0, 104.5, 104.2])
    sl = tv_loss.scaled_loss(base, 3, 2)
    assert np.isnan(sl[:5]).all()
    np.testing.assert_allclose(sl[5:], [104.0, 104.2])


def test_forward_labels():
    # horizon 2: close[t+2] > close[t] ? 1 : 0, NaN on the last two bars
    np.testing.assert_array_equal(forward_labels(np.array([1.0, 3, 2, 2, 5]), 2), [1, 0, 1, np.nan, np.nan])


def test_fit_reaches_the_optimum():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 3))
    y = (x[:, 0] - 2 * x[:, 1] + rng.logistic(size=4000) > 0).astype(float)
    m = fit_logistic(x, y, l2=1.0, fit_intercept=True)
    # first-order condition of mean-free objective sum log-loss + l2/2 |w|^2 on standardised features
    z = (x - m.mean) / m.scale
    p = sigmoid(z @ m.coef + m.intercept)
    np.testing.assert_allclose(z.T @ (p - y) + 1.0 * m.coef, 0, atol=1e-6)
    assert abs(np.sum(p - y)) < 1e-6
    assert m.coef[0] > 0 > m.coef[1] and abs(m.coef[2]) < 0.1 * abs(m.coef[1])
    assert np.mean((m.predict_proba(x) > 0.5) == y) > 0.7


SMALL = {"window": 1500, "refit_every": 100, "min_train": 300}


@pytest.mark.realdata
@pytest.mark.parametrize("t", [1999, 2000, 2037, 3500])
def test_perturbing_the_future_leaves_the_past_unchanged(btc5000, t):
    candles = btc5000.iloc[:4000]
    s = LogisticStrategy(**SMALL)
    base = s.compute(candles)
    rng = np.random.default_rng(t)
    fut = candles.copy()
    factor = rng.uniform(0.9, 1.1, size=len(fut) - t - 1)
    for col in ("open", "high", "low", "close"):
        fut.iloc[t + 1:, fut.columns.get_loc(col)] *= factor
    fut.iloc[t + 1:, fut.columns.get_loc("volume")] *= rng.uniform(0.1, 10, size=len(fut) - t - 1)
    pert = s.compute(fut)
    pd.testing.assert_frame_equal(base.iloc[: t + 1], pert.iloc[: t + 1])
    assert not base.iloc[t + 1:]["probability"].equals(pert.iloc[t + 1:]["probability"])
    # the first model needs a full window after the features settle: bar settle + 1500 + 12 - 1 = 2022 at the
    # earliest, then the next 100-bar block boundary of absolute time; every later bar has a probability
    first = LogisticStrategy.warmup_bars(s) - 100 + 1
    assert base["probability"].iloc[:first - 1].isna().all()
    assert base["probability"].iloc[first + 100:].notna().all()


@pytest.mark.realdata
def test_balanced_signals_and_out_of_sample_accuracy_on_real_data(btc_all):
    s = LogisticStrategy()
    f = s.compute(btc_all)
    longs, shorts = int((f["signal"] == 1).sum()), int((f["signal"] == -1).sum())
    assert min(longs, shorts) / (longs + shorts) > 0.3
    acc = out_of_sample_accuracy(f, btc_all, s.params["horizon"])
    print(f"\nlogistic: long {longs} short {shorts} oos {acc}")
    assert acc["signals"] > 10_000 and acc["signal_accuracy"] > 0.5
    assert ((f["confidence"] >= 0.5) | f["confidence"].isna()).all()
    sig = f["signal"].to_numpy()
    assert (f["drift"].to_numpy()[sig == 1] > 0).all() and (f["drift"].to_numpy()[sig == -1] < 0).all()


def test_out_of_sample_accuracy_hand_case():
    idx = pd.date_range("2025-01-01", periods=5, freq="5min", tz="UTC")
    candles = pd.DataFrame({"close": [10.0, 11, 9, 9, 12]}, index=idx)
    frame = pd.DataFrame({"signal": [1, 1, -1, 0, 1], "probability": [0.6, 0.7, 0.2, np.nan, 0.9]}, index=idx)
    # horizon 1: moves +1, -2, 0, +3, unknown. Bar 0 long right; bar 1 long wrong; bar 2 has no move (skipped);
    # bar 4's label is unknown -> signal accuracy 1/2 ; direction: bars 0,1 (p > 0.5 = up): right, wrong -> 1/2
    acc = out_of_sample_accuracy(frame, candles, 1)
    assert acc == {"signals": 2, "signal_accuracy": 0.5, "predictions": 2, "direction_accuracy": 0.5}
