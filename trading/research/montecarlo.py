"""Monte Carlo of a run's outcome: resample its trades (bootstrap with replacement, or shuffle the order)
or its bar returns (block bootstrap), seeded, and report percentiles of final equity and max drawdown, the
probability of ruin (equity at or below ``ruin_fraction`` of the start at any point of the horizon) and a fan
chart (equity percentiles at each step).

Sizing decides how a trade is replayed: with fixed-allocation sizing the margin does not move with equity,
so a trade's PnL in USDT is replayed as it was (additive); with Kelly sizing a trade's size is a share of the
balance, so its return on the balance before it is replayed (multiplicative). Equity that reaches zero stays
there (an emptied wallet places no more orders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PERCENTILES = (5, 25, 50, 75, 95)
METHODS = ("bootstrap", "shuffle")
MAX_FAN_POINTS = 200


@dataclass(frozen=True)
class MonteCarloResult:
    """Percentiles (5/25/50/75/95) of final equity and of max drawdown (negative fractions), the ruin
    probability, and the fan chart: ``fan_steps`` and one equity row per percentile."""

    method: str
    simulations: int
    initial: float
    final_equity: dict[int, float]
    max_drawdown: dict[int, float]
    ruin_probability: float
    ruin_threshold: float
    fan_steps: list[int]
    fan: dict[int, list[float]]

    def to_json(self) -> dict:
        return {"method": self.method, "simulations": self.simulations, "initial": self.initial,
                "final_equity": {str(k): v for k, v in self.final_equity.items()},
                "max_drawdown": {str(k): v for k, v in self.max_drawdown.items()},
                "ruin_probability": self.ruin_probability, "ruin_threshold": self.ruin_threshold,
                "fan_steps": self.fan_steps, "fan": {str(k): v for k, v in self.fan.items()}}


def _summarise(paths: np.ndarray, initial: float, ruin_fraction: float, method: str) -> MonteCarloResult:
    """paths: sims x steps equity after each step (the start is prepended here)."""
    sims = paths.shape[0]
    full = np.hstack([np.full((sims, 1), initial), paths])
    peak = np.maximum.accumulate(full, axis=1)
    dd = np.where(peak > 0, full / np.where(peak > 0, peak, 1.0) - 1.0, 0.0).min(axis=1)
    threshold = initial * ruin_fraction
    ruined = (full <= threshold).any(axis=1)
    steps = full.shape[1]
    picks = np.unique(np.linspace(0, steps - 1, min(steps, MAX_FAN_POINTS)).astype(np.int64))
    fan_q = np.percentile(full[:, picks], PERCENTILES, axis=0)
    return MonteCarloResult(
        method=method, simulations=sims, initial=initial,
        final_equity={p: float(v) for p, v in zip(PERCENTILES, np.percentile(full[:, -1], PERCENTILES), strict=True)},
        max_drawdown={p: float(v) for p, v in zip(PERCENTILES, np.percentile(dd, PERCENTILES), strict=True)},
        ruin_probability=float(ruined.mean()), ruin_threshold=threshold,
        fan_steps=[int(i) for i in picks], fan={p: [float(x) for x in row] for p, row in zip(PERCENTILES, fan_q,
                                                                                                strict=True)})


def _check(initial: float, ruin_fraction: float, simulations: int) -> None:
    if not initial > 0:
        raise ValueError(f"initial: {initial} must be positive")
    if not 0.0 < ruin_fraction < 1.0:
        raise ValueError(f"ruin_fraction: {ruin_fraction} is outside (0, 1)")
    if not 1 <= simulations <= 100_000:
        raise ValueError(f"simulations: {simulations} is outside 1..100000")


def _orders(n: int, simulations: int, method: str, rng: np.random.Generator) -> np.ndarray:
    if method == "bootstrap":
        return rng.integers(0, n, size=(simulations, n))
    if method == "shuffle":
        return np.argsort(rng.random((simulations, n)), axis=1)
    raise ValueError(f"method: {method!r} is not one of {', '.join(METHODS)}")


def simulate_trades(*, pnls: np.ndarray, initial: float, balances_before: np.ndarray | None = None,
                    sizing: str = "fixed", method: str = "bootstrap", simulations: int = 1000, seed: int = 0,
                    ruin_fraction: float = 0.5) -> MonteCarloResult:
    """Resample the trade sequence ``pnls`` (net USDT per trade, in order). ``sizing`` "fixed" replays each
    PnL as is; "kelly" replays pnl / balance-before-the-trade (``balances_before``; by default the running
    balance of the original sequence) as a return on the simulated balance."""
    _check(initial, ruin_fraction, simulations)
    p = np.asarray(pnls, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if p.size == 0:
        return _summarise(np.full((simulations, 1), initial), initial, ruin_fraction, method)
    idx = _orders(p.size, simulations, method, rng)
    if sizing == "fixed":
        paths = np.maximum(initial + np.cumsum(p[idx], axis=1), 0.0)
        paths = np.where(np.minimum.accumulate(paths, axis=1) <= 0.0, 0.0, paths)  # ruin is absorbing
    elif sizing == "kelly":
        before = (np.asarray(balances_before, dtype=np.float64) if balances_before is not None
                  else initial + np.concatenate([[0.0], np.cumsum(p)[:-1]]))
        rets = np.clip(np.divide(p, before, out=np.full_like(p, -1.0), where=before > 0), -1.0, None)
        paths = initial * np.cumprod(1.0 + rets[idx], axis=1)
    else:
        raise ValueError(f"sizing: {sizing!r} is not 'fixed' or 'kelly'")
    return _summarise(paths, initial, ruin_fraction, method)


def block_bootstrap_returns(*, returns: np.ndarray, initial: float, block: int = 288, simulations: int = 1000,
                            seed: int = 0, ruin_fraction: float = 0.5) -> MonteCarloResult:
    """Block bootstrap of per-bar simple returns (blocks of ``block`` consecutive bars keep short-range
    dependence): paths of the same length as the original, compounded from ``initial``."""
    _check(initial, ruin_fraction, simulations)
    r = np.nan_to_num(np.asarray(returns, dtype=np.float64))
    n = r.size
    if n == 0:
        return _summarise(np.full((simulations, 1), initial), initial, ruin_fraction, "block")
    if block < 1:
        raise ValueError(f"block: {block} must be at least 1")
    block = min(block, n)
    rng = np.random.default_rng(seed)
    blocks = math.ceil(n / block)
    starts = rng.integers(0, n - block + 1, size=(simulations, blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(simulations, -1)[:, :n]
    paths = initial * np.cumprod(1.0 + np.clip(r[idx], -1.0, None), axis=1)
    return _summarise(paths, initial, ruin_fraction, "block")
