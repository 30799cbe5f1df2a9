"""Overfitting statistics: Probabilistic and Deflated Sharpe Ratio, Probability of Backtest Overfitting.

- ``probabilistic_sharpe`` (Bailey & Lopez de Prado 2012): P(true SR > ``sr_benchmark``) given an observed
  per-period Sharpe ``sr`` over ``t`` observations with skewness ``skew`` and (non-excess) kurtosis ``kurt``:
  Z[(SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1) / 4 SR^2)].
- ``expected_max_sharpe``: E[max of N trial Sharpes] under the null of no skill, sqrt(V[SR_n]) times
  (1 - gamma) Z^-1(1 - 1/N) + gamma Z^-1(1 - 1/(N e)) (gamma = Euler-Mascheroni).
- ``deflated_sharpe`` (Bailey & Lopez de Prado 2014): the PSR with SR* = that expected maximum; its p-value is
  1 - DSR (the chance of a Sharpe this high from N skill-less trials).
- ``pbo_cscv`` (Bailey, Borwein, Lopez de Prado & Zhu 2015): a T x N matrix of the N trials' returns is cut
  into S even row blocks; for each of the C(S, S/2) ways to pick half the blocks as in-sample (the rest
  out-of-sample) the in-sample best trial's out-of-sample relative rank w = rank / (N + 1) gives
  lambda = ln(w / (1 - w)); PBO = share of combinations with lambda <= 0.

All Sharpe ratios here are per period (not annualised) unless a name says otherwise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

_N = NormalDist()

EULER_GAMMA = 0.5772156649015329


def _moments(returns: np.ndarray) -> tuple[float, float, float]:
    """(per-period Sharpe with ddof=1, skewness, non-excess kurtosis) of a return series."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size < 3:
        return math.nan, math.nan, math.nan
    sd = r.std(ddof=1)
    if sd == 0:
        return math.nan, 0.0, 3.0
    z = (r - r.mean()) / r.std(ddof=0)
    return float(r.mean() / sd), float(np.mean(z ** 3)), float(np.mean(z ** 4))


def probabilistic_sharpe(*, sr: float, t: int, skew: float = 0.0, kurt: float = 3.0,
                         sr_benchmark: float = 0.0) -> float:
    """P(true Sharpe > sr_benchmark); NaN when undefined (fewer than 2 observations, non-finite inputs)."""
    if t < 2 or not all(math.isfinite(x) for x in (sr, skew, kurt, sr_benchmark)):
        return math.nan
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if var <= 0:
        return math.nan
    return float(_N.cdf((sr - sr_benchmark) * math.sqrt(t - 1) / math.sqrt(var)))


def expected_max_sharpe(*, n_trials: int, sr_variance: float) -> float:
    """Expected maximum Sharpe of ``n_trials`` independent skill-less trials whose Sharpes have variance
    ``sr_variance`` (0 for a single trial: nothing was selected)."""
    if n_trials < 1:
        raise ValueError(f"n_trials: {n_trials} must be at least 1")
    if n_trials == 1 or not sr_variance > 0:
        return 0.0
    n = float(n_trials)
    z = (1.0 - EULER_GAMMA) * _N.inv_cdf(1.0 - 1.0 / n) + EULER_GAMMA * _N.inv_cdf(1.0 - 1.0 / (n * math.e))
    return float(math.sqrt(sr_variance) * z)


@dataclass(frozen=True)
class DeflatedSharpe:
    """The DSR and what went into it (per-period Sharpe, the deflated benchmark SR0, T, N, skew, kurtosis)."""

    dsr: float
    p_value: float
    sr: float
    sr0: float
    t: int
    n_trials: int
    skew: float
    kurt: float

    def to_json(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in self.__dict__.items()}


def deflated_sharpe(*, sr: float, t: int, n_trials: int, sr_variance: float, skew: float = 0.0,
                    kurt: float = 3.0) -> DeflatedSharpe:
    """DSR = PSR(SR0) with SR0 the expected maximum Sharpe of ``n_trials`` trials (all per period)."""
    sr0 = expected_max_sharpe(n_trials=n_trials, sr_variance=sr_variance)
    dsr = probabilistic_sharpe(sr=sr, t=t, skew=skew, kurt=kurt, sr_benchmark=sr0)
    return DeflatedSharpe(dsr=dsr, p_value=1.0 - dsr if dsr == dsr else math.nan, sr=sr, sr0=sr0, t=t,
                          n_trials=n_trials, skew=skew, kurt=kurt)


def deflated_sharpe_of_returns(returns: np.ndarray, *, n_trials: int, sr_variance: float) -> DeflatedSharpe:
    """DSR of a return series (its Sharpe, skewness and kurtosis measured from the series)."""
    sr, skew, kurt = _moments(returns)
    r = np.asarray(returns, dtype=np.float64)
    return deflated_sharpe(sr=sr, t=int(np.isfinite(r).sum()), n_trials=n_trials, sr_variance=sr_variance,
                           skew=skew, kurt=kurt)


def _average_rank(values: np.ndarray, i: int) -> float:
    """1-based rank of values[i] in ascending order, ties sharing their average rank."""
    v = values[i]
    return float(np.sum(values < v)) + (float(np.sum(values == v)) + 1.0) / 2.0


def sharpe_per_period(returns: np.ndarray) -> np.ndarray:
    """Per-column mean / sample std (NaN-free: a flat column scores 0)."""
    r = np.asarray(returns, dtype=np.float64)
    sd = r.std(axis=0, ddof=1)
    mean = r.mean(axis=0)
    return np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), 0.0)


@dataclass(frozen=True)
class PBOResult:
    """PBO and the per-combination logits (lambda), the number of splits S and of combinations."""

    pbo: float
    logits: np.ndarray
    splits: int
    combinations: int

    def to_json(self) -> dict:
        return {"pbo": self.pbo, "splits": self.splits, "combinations": self.combinations,
                "logit_median": float(np.median(self.logits)) if self.logits.size else None}


def pbo_cscv(returns: np.ndarray, *, splits: int = 8, metric: str = "sharpe") -> PBOResult:
    """PBO by CSCV over a T x N matrix (rows: periods in time order, columns: trials).

    ``splits`` S must be even and at most T; rows beyond the last full block are dropped (the paper's even
    split). ``metric``: "sharpe" (mean / std per block set) or "mean". Ties in the OOS ranking take the
    average rank."""
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"returns: a T x N matrix with N >= 2 trials is needed, got shape {m.shape}")
    if splits < 2 or splits % 2:
        raise ValueError(f"splits: {splits} must be an even number >= 2")
    t, n = m.shape
    if t < splits:
        raise ValueError(f"returns: {t} rows, fewer than splits={splits}")
    if metric not in ("sharpe", "mean"):
        raise ValueError(f"metric: {metric!r} is not 'sharpe' or 'mean'")
    m = np.nan_to_num(m, nan=0.0)
    size = t // splits
    blocks = [m[i * size:(i + 1) * size] for i in range(splits)]
    score = sharpe_per_period if metric == "sharpe" else (lambda x: x.mean(axis=0))
    logits = []
    for chosen in itertools.combinations(range(splits), splits // 2):
        rest = [i for i in range(splits) if i not in chosen]
        is_score = score(np.vstack([blocks[i] for i in chosen]))
        oos_score = score(np.vstack([blocks[i] for i in rest]))
        best = int(np.argmax(is_score))
        w = _average_rank(oos_score, best) / (n + 1.0)
        logits.append(math.log(w / (1.0 - w)))
    lam = np.asarray(logits)
    return PBOResult(pbo=float(np.mean(lam <= 0.0)), logits=lam, splits=splits, combinations=len(lam))
