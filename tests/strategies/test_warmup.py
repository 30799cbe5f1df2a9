"""The warm-up arithmetic behind the declared warm-ups: settle times of recursive averages and of the drift
forecaster's Kalman filter, and the logistic refit schedule anchored to absolute bar time."""

import math

import numpy as np
import pandas as pd
import pytest

from strategies.algos import pine
from strategies.algos.drift.kalman import kalman_smoother, settle_bars
from strategies.algos.logistic.strategy import LogisticStrategy
from strategies.algos.logistic.walkforward import refit_bars
from strategies.algos.warmup import decay_bars, ema_bars, rma_bars


def test_decay_bars_hand_cases():
    # 0.5**9 = 0.00195 >= 1e-3 > 0.5**10 = 0.000977
    assert decay_bars(0.5, 1e-3) == 10
    # ema(10): alpha 2/11, decay 9/11; ln(1e-16) / ln(9/11) = 36.841 / 0.20067 = 183.6 -> 184, plus the 10-bar seed
    assert ema_bars(10) == 194
    # rma(14): decay 13/14; 36.841 / 0.074108 = 497.1 -> 498, plus the 14-bar seed
    assert rma_bars(14) == 512
    assert decay_bars(0.0) == 0  # ema(x, 1) is x itself
    with pytest.raises(ValueError, match="decay 1.0"):
        decay_bars(1.0)


@pytest.mark.parametrize("n", [10, 14, 50])
def test_an_ema_started_later_meets_the_full_one_after_its_settle_time(n):
    rng = np.random.default_rng(n)
    x = 100 + np.cumsum(rng.normal(0, 1, 4000))
    start = 777
    full, late = pine.ema(x, n), pine.ema(x[start:], n)
    settle = ema_bars(n)
    np.testing.assert_allclose(late[settle:], full[start + settle:], rtol=1e-14, atol=0)
    # and it has teeth: a quarter of the settle time is not enough
    assert np.max(np.abs(late[settle // 4:settle // 2] - full[start + settle // 4:start + settle // 2])) > 1e-9


def test_kalman_runs_started_at_different_bars_agree_after_settle_bars(btc5000):
    z = np.log(btc5000["close"].to_numpy())
    q, r = 1e-6, 1e-3
    settle = settle_bars(q, r)
    assert 1000 < settle < 1500  # the default filter forgets its start by a factor 0.951 a bar (README)
    start = 1234
    full = kalman_smoother(z, q, r)
    late = kalman_smoother(z[start:], q, r)
    for a, b, name in zip(full, late, ("level", "velocity", "acceleration", "velocity variance"), strict=True):
        np.testing.assert_allclose(b[settle:], a[start + settle:], rtol=1e-9, atol=1e-14, err_msg=name)
    # a tenth of the settle time: the velocity still remembers where it started
    k = settle // 10
    assert np.max(np.abs(late[1][:k] - full[1][start:start + k])) > 1e-9


def test_refits_follow_absolute_time_not_the_data_start():
    # 5-minute bars from 00:35; blocks of 6 bars = 30 minutes of absolute time: new blocks open at 01:00, 01:30
    idx = pd.date_range("2025-01-01 00:35", periods=14, freq="5min", tz="UTC")
    bars = refit_bars(idx.as_unit("ns").asi8, 6 * 300 * 10**9)
    assert [idx[i].strftime("%H:%M") for i in bars] == ["01:00", "01:30"]
    # the same bars seen from a window starting at 00:50 refit at the same times
    later = refit_bars(idx[3:].as_unit("ns").asi8, 6 * 300 * 10**9)
    assert [idx[3:][i] for i in later] == [idx[i] for i in bars]


@pytest.mark.realdata
def test_logistic_models_are_fitted_at_block_boundaries(btc_all):
    s = LogisticStrategy(window=1500, refit_every=100, min_train=300)
    frame = s.compute(btc_all.iloc[1111:6000])
    fitted = frame["fitted_at"].dropna().unique()
    assert len(fitted) > 10
    # every refit bar opens a block of 100 x 300 s of absolute time
    assert all(math.isclose(t % 30_000, 0.0) for t in fitted)
