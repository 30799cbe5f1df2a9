"""DSR, PSR and PBO against worked numbers: the DSR paper's numerical example and hand-computed CSCV cases."""

import math

import numpy as np
import pytest

from trading.research.stats import (
    deflated_sharpe,
    deflated_sharpe_of_returns,
    expected_max_sharpe,
    pbo_cscv,
    probabilistic_sharpe,
)


def test_dsr_matches_the_papers_numerical_example():
    # Bailey & Lopez de Prado (2014), section "A numerical example": annualised SR 2.5 over 5 years of daily
    # data (T = 1250, 250 days a year), N = 100 trials whose annualised Sharpes have variance 0.5,
    # skewness -3, kurtosis 10.
    #   per-day SR        = 2.5 / sqrt(250)                                   = 0.158114
    #   per-day V[SR_n]   = 0.5 / 250                                         = 0.002
    #   Z^-1(1 - 1/100)   = 2.326348;  Z^-1(1 - 1/(100 e)) = 2.682238
    #   E[max]            = 0.577216*... : (1-0.577216)*2.326348 + 0.577216*2.682238 = 2.530577
    #   SR0               = sqrt(0.002) * 2.530577                            = 0.113172  (paper: 0.1132)
    #   denominator       = sqrt(1 + 3*0.158114 + (10-1)/4*0.158114^2)        = 1.237088
    #   z                 = (0.158114 - 0.113172) * sqrt(1249) / 1.237088     = 1.283906
    #   DSR               = Z(1.283906)                                       = 0.9004    (paper: 0.9004)
    d = deflated_sharpe(sr=2.5 / math.sqrt(250), t=1250, n_trials=100, sr_variance=0.5 / 250, skew=-3, kurt=10)
    assert d.sr0 == pytest.approx(0.113172, abs=2e-6)
    assert d.dsr == pytest.approx(0.9004, abs=1e-4)
    assert d.p_value == pytest.approx(1 - d.dsr)
    z = (2.5 / math.sqrt(250) - d.sr0) * math.sqrt(1249) / math.sqrt(1 + 3 * 0.158114 + 9 / 4 * 0.158114 ** 2)
    assert z == pytest.approx(1.283906, abs=1e-4)


def test_one_trial_deflates_nothing_and_psr_is_the_plain_normal_case():
    assert expected_max_sharpe(n_trials=1, sr_variance=1.0) == 0.0
    # Normal returns (skew 0, kurtosis 3), SR 0.1 over 101 periods: z = 0.1 * 10 / sqrt(1 + 0.5 * 0.01)
    expected = 0.5 * (1 + math.erf(1.0 / math.sqrt(1.005) / math.sqrt(2)))
    assert probabilistic_sharpe(sr=0.1, t=101) == pytest.approx(expected, rel=1e-12)
    assert deflated_sharpe(sr=0.1, t=101, n_trials=1, sr_variance=0.3).dsr == pytest.approx(expected, rel=1e-12)
    # More trials raise the bar: the same Sharpe deflates further.
    assert deflated_sharpe(sr=0.1, t=101, n_trials=50, sr_variance=0.01).dsr < expected


def test_dsr_of_returns_measures_the_moments():
    r = np.array([0.01, -0.02, 0.03, 0.0, 0.015, -0.005])
    d = deflated_sharpe_of_returns(r, n_trials=1, sr_variance=0.0)
    assert d.sr == pytest.approx(r.mean() / r.std(ddof=1))
    z = (r - r.mean()) / r.std()
    assert d.skew == pytest.approx(np.mean(z ** 3)) and d.kurt == pytest.approx(np.mean(z ** 4))
    assert d.t == 6


def _two_blocks(first, second):
    """A 4 x N matrix whose two 2-row blocks have the given per-trial means (each row equals the mean)."""
    return np.array([first, first, second, second], dtype=float)


def test_pbo_is_one_when_the_in_sample_best_is_always_worst_out_of_sample():
    # S = 2: IS = block A (means 1,2,3) picks trial 3, which ranks 1 of 3 in block B (3,2,1): w = 1/4 < 1/2;
    # IS = B picks trial 1, rank 1 in A: w = 1/4. Both logits negative -> PBO = 1.
    res = pbo_cscv(_two_blocks([1, 2, 3], [3, 2, 1]), splits=2, metric="mean")
    assert res.combinations == 2 and res.pbo == 1.0
    assert res.logits == pytest.approx([math.log(1 / 3), math.log(1 / 3)])


def test_pbo_is_zero_when_the_best_stays_best():
    res = pbo_cscv(_two_blocks([1, 2, 3], [1, 2, 4]), splits=2, metric="mean")
    assert res.pbo == 0.0 and res.logits == pytest.approx([math.log(3), math.log(3)])


def test_pbo_four_splits_worked_by_hand():
    # Two trials, one row per block. X = [3, -1, 1, 1], Y = [0, 1, 0, 0]; the six IS halves:
    #   {0,1}: X 1.0 > Y 0.5 -> X; OOS {2,3}: X 1 > Y 0   -> rank 2, w = 2/3, logit > 0
    #   {0,2}: X 2 > Y 0     -> X; OOS {1,3}: X 0 < Y .5  -> rank 1, logit < 0
    #   {0,3}: X 2 > Y 0     -> X; OOS {1,2}: X 0 < Y .5  -> logit < 0
    #   {1,2}: X 0 < Y .5    -> Y; OOS {0,3}: Y 0 < X 2   -> logit < 0
    #   {1,3}: X 0 < Y .5    -> Y; OOS {0,2}: Y 0 < X 2   -> logit < 0
    #   {2,3}: X 1 > Y 0     -> X; OOS {0,1}: X 1 > Y .5  -> logit > 0
    # PBO = 4 / 6.
    m = np.array([[3, 0], [-1, 1], [1, 0], [1, 0]], dtype=float)
    res = pbo_cscv(m, splits=4, metric="mean")
    assert res.combinations == 6
    assert res.pbo == pytest.approx(4 / 6)
    assert sorted(np.sign(res.logits)) == [-1, -1, -1, -1, 1, 1]


def test_pbo_rejects_bad_shapes_naming_the_argument():
    with pytest.raises(ValueError, match="splits"):
        pbo_cscv(np.zeros((10, 3)), splits=3)
    with pytest.raises(ValueError, match="returns"):
        pbo_cscv(np.zeros((10, 1)), splits=2)
