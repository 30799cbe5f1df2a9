"""The in-bar path (detail_path.py): worked sub-bars for a 1m bar with two 30-second checkpoints."""

import numpy as np
import pytest

from trading.engine.detail_path import checkpoints, path_price, subbars


def test_bullish_bar_two_checkpoints_worked():
    # O=100 H=110 L=95 C=105 closes up: O -> L at t=1/3, L -> H at 2/3, H -> C at 1.
    # t=0.5 lies halfway along the L -> H leg: 95 + (110 - 95) * 0.5 = 102.5.
    # sub-bar 0 [0, .5]: open 100, passes L=95 at 1/3, closes 102.5 -> (100, 102.5, 95, 102.5)
    # sub-bar 1 [.5, 1]: open 102.5, passes H=110 at 2/3, closes 105 -> (102.5, 110, 102.5, 105)
    got = subbars(100.0, 110.0, 95.0, 105.0, 2)
    np.testing.assert_allclose(got, [[100, 102.5, 95, 102.5], [102.5, 110, 102.5, 105]])


def test_bearish_bar_visits_high_first():
    # O=100 H=104 L=90 C=92 closes down: O -> H -> L -> C; at t=1/3 the price is the high.
    assert path_price(100.0, 104.0, 90.0, 92.0, 1.0 / 3.0) == pytest.approx(104.0)
    assert path_price(100.0, 104.0, 90.0, 92.0, 2.0 / 3.0) == pytest.approx(90.0)
    # ten checkpoints of a 5m bar: the first sub-bar (t 0..0.1) rises from 100 toward 104: 100 + 4 * 0.3 = 101.2
    got = subbars(100.0, 104.0, 90.0, 92.0, 10)
    np.testing.assert_allclose(got[0], [100, 101.2, 100, 101.2])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 60])
def test_subbars_cover_the_bar_exactly(n):
    rng = np.random.default_rng(n)
    for _ in range(200):
        o, c = rng.uniform(90, 110, 2)
        h = max(o, c) + rng.uniform(0, 5)
        low = min(o, c) - rng.uniform(0, 5)
        sb = subbars(o, h, low, c, n)
        assert sb[0, 0] == pytest.approx(o) and sb[-1, 3] == pytest.approx(c)
        assert sb[:, 1].max() == pytest.approx(h) and sb[:, 2].min() == pytest.approx(low)
        np.testing.assert_allclose(sb[1:, 0], sb[:-1, 3])  # continuous
        assert (sb[:, 1] >= sb[:, [0, 3]].max(axis=1) - 1e-12).all()
        assert (sb[:, 2] <= sb[:, [0, 3]].min(axis=1) + 1e-12).all()


def test_checkpoints_per_bar():
    assert checkpoints(60) == 2 and checkpoints(300) == 10 and checkpoints(900) == 30 and checkpoints(10) == 1
    with pytest.raises(ValueError, match="bar_seconds"):
        checkpoints(0)
