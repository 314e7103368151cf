"""Softmax cross-entropy and the regularisers of the reference set-up.

Each function here returns its value together with the derivatives a
gradient or Gauss-Newton method needs, so nothing is recomputed.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_float, check_int


def softmax(S: np.ndarray) -> np.ndarray:
    """Column-wise softmax, computed stably (the column maximum is subtracted).

    Parameters
    ----------
    S : ndarray, shape (n_classes, n)

    Returns
    -------
    ndarray, shape (n_classes, n)
    """
    E = np.exp(S - S.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def cross_entropy(S: np.ndarray, y: np.ndarray):
    """Mean cross-entropy of softmax class probabilities, with its gradient.

    Parameters
    ----------
    S : ndarray, shape (n_classes, n)
        Class scores.
    y : ndarray of int, shape (n,)
        True classes.

    Returns
    -------
    value : float
        ``mean_i [ logsumexp(S[:, i]) - S[y_i, i] ]``.
    grad : ndarray, shape (n_classes, n)
        ``(softmax(S) - onehot(y)) / n``.
    P : ndarray, shape (n_classes, n)
        ``softmax(S)``, for Hessian products.
    """
    n = S.shape[1]
    cols = np.arange(n)
    Smax = S.max(axis=0)
    E = np.exp(S - Smax)
    Z = E.sum(axis=0)
    value = float(np.sum(np.log(Z) + Smax - S[y, cols]) / n)
    P = E / Z
    grad = P.copy()
    grad[y, cols] -= 1.0
    grad /= n
    return value, grad, P


def cross_entropy_hessvec(P: np.ndarray, V: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Product of the cross-entropy Hessian in the scores with ``V``.

    For every column the Hessian of ``logsumexp`` is ``diag(p) - p p^T``; the
    mean divides by ``n``. ``shift`` adds ``shift * I / n`` (Meganet's
    regularisation of this positive semi-definite matrix, 1e-3 there).

    Parameters
    ----------
    P : ndarray, shape (n_classes, n)
        Softmax probabilities.
    V : ndarray, shape (n_classes, n)

    Returns
    -------
    ndarray, shape (n_classes, n)
    """
    PV = P * V
    out = PV - P * PV.sum(axis=0, keepdims=True)
    if shift:
        out += shift * V
    return out / P.shape[1]


def accuracy(S: np.ndarray, y: np.ndarray) -> float:
    """Share of columns whose largest score is at the true class."""
    return float(np.mean(np.argmax(S, axis=0) == y))


class Tikhonov:
    """``R(theta) = alpha/2 ||theta||^2``."""

    def __init__(self, alpha: float):
        self.alpha = check_float("alpha", alpha, min_value=0.0)

    def value_grad(self, theta):
        return 0.5 * self.alpha * float(theta @ theta), self.alpha * theta

    def hessvec(self, v):
        return self.alpha * v


class TimeSmoothness:
    """``R(theta) = alpha/2 sum_k ||(theta_{k+1} - theta_k) / h||^2`` over control times.

    Parameters
    ----------
    alpha : float
    n_controls : int
        Number of control times ``nt``.
    h : float
        Control step.

    ``theta`` is laid out as (n_controls, n_per_control) row-major.
    """

    def __init__(self, alpha: float, n_controls: int, h: float):
        self.alpha = check_float("alpha", alpha, min_value=0.0)
        self.n_controls = check_int("n_controls", n_controls, min_value=1)
        self.h = check_float("h", h, min_value=0.0, strict_min=True)

    def _DtD(self, v):
        V = v.reshape(self.n_controls, -1)
        dV = np.diff(V, axis=0) / self.h**2
        out = np.zeros_like(V)
        out[:-1] -= dV
        out[1:] += dV
        return out.ravel()

    def value_grad(self, theta):
        V = theta.reshape(self.n_controls, -1)
        dV = np.diff(V, axis=0) / self.h
        return 0.5 * self.alpha * float(np.sum(dV * dV)), self.alpha * self._DtD(theta)

    def hessvec(self, v):
        return self.alpha * self._DtD(v)


class BlockRegulariser:
    """Regularisers applied to consecutive slices of one weight vector.

    Parameters
    ----------
    parts : list of (regulariser or None, int)
        One entry per block: its regulariser (``None`` for none) and its
        number of weights.
    """

    def __init__(self, parts):
        self.parts = list(parts)
        self.offsets = np.concatenate([[0], np.cumsum([n for _, n in self.parts])]).astype(int)

    def value_grad(self, theta):
        total, grad = 0.0, np.zeros_like(theta)
        for (reg, _), a, b in zip(self.parts, self.offsets[:-1], self.offsets[1:]):
            if reg is not None:
                v, g = reg.value_grad(theta[a:b])
                total += v
                grad[a:b] = g
        return total, grad

    def hessvec(self, v):
        out = np.zeros_like(v)
        for (reg, _), a, b in zip(self.parts, self.offsets[:-1], self.offsets[1:]):
            if reg is not None:
                out[a:b] = reg.hessvec(v[a:b])
        return out
