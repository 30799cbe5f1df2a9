"""Lorentzian labels, neighbour loops (both modes) against literal reference loops, trade logic hand cases,
and the strategy end to end."""

import numpy as np
import pandas as pd
import pytest

from strategies.algos.lorentzian import features, neighbors, trades
from strategies.algos.lorentzian.strategy import LorentzianStrategy

from .lorentzian_reference import pine_reference, rolling_reference

DEFAULT_FEATURES = [("RSI", 14, 1), ("WT", 10, 11), ("CCI", 20, 1), ("ADX", 20, 2), ("RSI", 9, 1)]


def test_training_label_is_backward_and_inverted():
    # bar 4: close[0]=1 < close[4]=5 -> -1 (a 4-bar rise votes short); bar 5: 2 > 1 -> +1; bar 6: 3 == 3 -> 0
    y = neighbors.training_labels([1, 2, 3, 4, 5, 1, 3])
    assert y.tolist() == [0, 0, 0, 0, -1, 1, 0]


@pytest.mark.parametrize(("k", "idx"), [(1, 1), (2, 2), (6, 5), (8, 6), (10, 8), (100, 75)])
def test_admission_index_rounds_half_away_from_zero(k, idx):
    assert neighbors.admission_index(k) == idx  # k = 6: 4.5 -> 5 in Pine, round() would give 4


@pytest.fixture(scope="module")
def feats_1200(btc5000):
    c = btc5000.iloc[:1200]
    return features.build_features(c, DEFAULT_FEATURES), neighbors.training_labels(c["close"].to_numpy())


@pytest.mark.realdata
@pytest.mark.parametrize("k", [8, 6])
def test_pine_mode_equals_literal_loop(feats_1200, k):
    f, y = feats_1200
    ours = neighbors.predict(f, y, k=k, max_bars_back=300, mode="pine")
    ref = pine_reference(f.tolist(), y.tolist(), k, 300)
    assert ours.tolist() == ref
    assert np.all(ours[: 1199 - 300] == 0) and np.count_nonzero(ours[1199 - 300:]) > 200


@pytest.mark.realdata
@pytest.mark.parametrize("k", [8, 3])
def test_rolling_mode_equals_literal_loop(feats_1200, k):
    f, y = feats_1200
    ours = neighbors.predict(f[:, :700], y[:700], k=k, max_bars_back=200, mode="rolling")
    ref = rolling_reference(f[:, :700].tolist(), y[:700].tolist(), k, 200)
    assert ours.tolist() == ref
    assert np.count_nonzero(ours[40:]) > 300  # votes start once the features are warm (bar 31)


@pytest.mark.realdata
def test_rolling_mode_does_not_depend_on_where_data_starts(feats_1200):
    f, y = feats_1200
    whole = neighbors.predict(f, y, k=8, max_bars_back=200, mode="rolling")
    for start in (37, 250, 401):
        part = neighbors.predict(f[:, start:], y[start:], k=8, max_bars_back=200, mode="rolling")
        assert np.array_equal(part[200:], whole[start + 200:])


def _events(prediction, bull, bear, dynamic=False):
    n = len(prediction)
    ones = np.ones(n, bool)
    ks = trades.KernelState(np.asarray(bull), np.asarray(bear), np.zeros(n, bool), np.zeros(n, bool),
                            np.zeros(n, bool), np.zeros(n, bool))
    return trades.trade_events(np.asarray(prediction), ones, ones, ones, ks, dynamic)


def test_strict_exit_fires_four_bars_after_entry():
    # prediction > 0 from bar 2 -> signal +1 at 2 (change), kernel bullish -> startLong at 2.
    # barsHeld: 1 on bar 0, 2 on bar 1, 0 at the flip (bar 2), 1,2,3,4 on bars 3..6 -> endLong at bar 6
    pred = [0, 0, 5, 5, 5, 5, 5, 5]
    ev = _events(pred, [True] * 8, [False] * 8)
    assert ev["bars_held"].tolist() == [1, 2, 0, 1, 2, 3, 4, 5]
    assert np.flatnonzero(ev["start_long"]).tolist() == [2]
    assert np.flatnonzero(ev["end_long"]).tolist() == [6]
    pos = trades.position_from_events(ev["start_long"], ev["end_long"], ev["start_short"], ev["end_short"])
    assert pos.tolist() == [0, 0, 1, 1, 1, 1, 0, 0]


def test_early_flip_reverses_through_the_opposite_entry():
    # long entry at 1, short signal at 3 (kernel bearish there) -> startShort at 3; no strict long exit at 5
    pred = [0, 4, 4, -4, -4, -4, -4, -4, -4]
    bear = [False, False, False, True, True, True, True, True, True]
    ev = _events(pred, [not b for b in bear], bear)
    assert np.flatnonzero(ev["start_long"]).tolist() == [1]
    assert np.flatnonzero(ev["start_short"]).tolist() == [3]
    assert not ev["end_long"].any()
    assert np.flatnonzero(ev["end_short"]).tolist() == [7]
    pos = trades.position_from_events(ev["start_long"], ev["end_long"], ev["start_short"], ev["end_short"])
    assert pos.tolist() == [0, 1, 1, -1, -1, -1, -1, 0, 0]
    assert ev["is_early_flip"].tolist() == [False, False, False, True, False, False, False, False, False]


def test_kernel_filter_blocks_entry_but_not_the_signal():
    pred = [0, 4, 4, 4]
    ev = _events(pred, [False] * 4, [False] * 4)
    assert ev["lc_signal"].tolist() == [0, 1, 1, 1] and not ev["start_long"].any()


def test_dynamic_exit_on_bearish_kernel_change():
    # entry at 1; kernel turns bearish (change) at bar 3; alertBearish last fired at bar 0 (before the entry),
    # so barssince(alertBearish)=2 > barssince(startLong)=1 at bar 2 -> validLongExit[1] holds at bar 3
    n = 6
    bearish_change = np.array([True, False, False, True, False, False])
    ks = trades.KernelState(np.ones(n, bool), np.ones(n, bool), np.zeros(n, bool), bearish_change,
                            np.zeros(n, bool), bearish_change)
    ones = np.ones(n, bool)
    ev = trades.trade_events(np.array([0, 4, 4, 4, 4, 4]), ones, ones, ones, ks, True)
    assert np.flatnonzero(ev["end_long"]).tolist() == [3]


def test_ema_filter_needs_price_above_ema():
    idx = pd.date_range("2025-01-01", periods=300, freq="5min", tz="UTC")
    close = np.linspace(100, 50, 300)  # a steady fall: never above its EMA
    candles = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0},
                           index=idx)
    s = LorentzianStrategy(use_ema_filter=True, ema_period=20)
    up, down = s.trend_filters(close)
    assert not up[25:].any() and down[25:].all()
    assert not s.compute(candles)["start_long"].any()


@pytest.mark.realdata
@pytest.mark.parametrize("mode", ["pine", "rolling"])
def test_strategy_on_real_data(btc5000, btc_all, mode):
    strat = LorentzianStrategy(neighbors=mode)
    # rolling mode votes only once every candidate's features have settled (bar 4,606 with the defaults)
    f = strat.compute(btc5000 if mode == "pine" else btc_all.iloc[:8000])
    assert f["start_long"].sum() > 5 and f["start_short"].sum() > 5
    assert set(np.unique(f["signal"])) == {-1, 0, 1}
    assert (f["confidence"] == f["prediction"].abs() / 8).all()
    # the position opens exactly on entries
    opened = (f["signal"] != 0) & (f["signal"].shift(1, fill_value=0) != f["signal"])
    assert np.array_equal(opened, f["start_long"] | f["start_short"])
    if mode == "pine":
        assert (f["prediction"].iloc[: 4999 - 2000] == 0).all()
    else:
        assert strat.vote_start() == 4606
        assert (f["prediction"].iloc[:4606] == 0).all() and (f["prediction"].iloc[4606:] != 0).mean() > 0.9


@pytest.mark.parametrize("mode", ["rolling", "pine"])
def test_neighbour_screen_keeps_ties_and_near_ties(mode):
    # The kernels skip a candidate when the product of its (1 + |x|) terms proves d < last; a candidate whose
    # distance equals `last` exactly (ties: features on a 0.25 grid repeat often) or differs from it by a few ulp
    # (the grid plus a 1e-15 jitter) must still be admitted as the literal loop admits it.
    rng = np.random.default_rng(7)
    for jitter in (0.0, 1e-15):
        f = np.round(rng.uniform(0, 1, size=(4, 600)) * 4) / 4 + jitter * rng.standard_normal((4, 600))
        y = rng.integers(-1, 2, size=600)
        ours = neighbors.predict(f, y, k=8, max_bars_back=150, mode=mode)
        ref = (rolling_reference if mode == "rolling" else pine_reference)(f.tolist(), y.tolist(), 8, 150)
        assert ours.tolist() == ref
        assert np.count_nonzero(ours) > 100
