"""L2-regularised logistic regression fitted by Newton's method (IRLS), NumPy only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


@dataclass
class LogisticModel:
    """Standardisation (mean, scale) plus weights; ``predict_proba(X)`` gives P(label = 1)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Each row's dot product summed on its own (not a BLAS matrix-vector product): BLAS kernels take rows in
        blocks and sum a block's leftover rows in another order, so a row's last digit would depend on how many
        rows came with it, and a live window's prediction would differ from the full history's."""
        z = (x - self.mean) / self.scale
        return sigmoid((z * self.coef).sum(axis=1) + self.intercept)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 25, tol: float = 1e-8,
                 fit_intercept: bool = True) -> LogisticModel:
    """Minimise the mean log-loss + l2/(2n) |w|^2 (intercept unpenalised) on standardised features."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    n, d = z.shape
    a = np.hstack([z, np.ones((n, 1))]) if fit_intercept else z
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    if fit_intercept:
        penalty[-1] = 0.0
    for _ in range(iterations):
        p = sigmoid(a @ w)
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < tol:
            break
    coef, intercept = (w[:d], float(w[d])) if fit_intercept else (w, 0.0)
    return LogisticModel(mean, scale, coef, intercept)
