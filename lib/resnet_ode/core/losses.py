"""Softmax cross-entropy and the regularisers of the reference set-up.

Each function here returns its value together with the derivatives a
gradient or Gauss-Newton method needs, so nothing is recomputed.
"""

from __future__ import annotations

import numpy as np

from resnet_ode.util.validate import check_float, check_int


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


def cross_entropy(S: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None):
    """Cross-entropy of softmax class probabilities (mean or weighted over the samples), with its gradient.

    Parameters
    ----------
    S : ndarray, shape (n_classes, n) or (B, n_classes, n)
        Class scores; a leading axis holds ``B`` score sets of the same
        samples (the loss landscapes evaluate many weight vectors at once).
    y : ndarray of int, shape (n,)
        True classes.
    weights : ndarray, shape (n,), optional
        Sample weights ``w_i``. Omitted: the mean (``w_i = 1/n``, computed as
        a sum divided by ``n``, the training objectives' arithmetic). The
        loss landscapes pass ``count_i / n`` for distinct samples repeated
        ``count_i`` times, which gives the mean over all ``n`` samples.

    Returns
    -------
    value : float, or ndarray of shape (B,) for batched ``S``
        ``sum_i w_i [ logsumexp(S[:, i]) - S[y_i, i] ]``; every batch entry
        is reduced on its own, so it does not depend on the others.
    grad : ndarray, shape of ``S``
        ``(softmax(S) - onehot(y)) * w``.
    P : ndarray, shape of ``S``
        ``softmax(S)``, for Hessian products.
    """
    n = S.shape[-1]
    cols = np.arange(n)
    Smax = S.max(axis=-2)
    E = np.exp(S - Smax[..., None, :])
    Z = E.sum(axis=-2)
    terms = np.log(Z) + Smax - S[..., y, cols]
    P = E / Z[..., None, :]
    grad = P.copy()
    grad[..., y, cols] -= 1.0
    if weights is None:
        value = np.sum(terms, axis=-1) / n
        grad /= n
    else:
        value = np.sum(terms * weights, axis=-1)
        grad *= weights
    return (float(value) if S.ndim == 2 else value), grad, P


def cross_entropy_hessvec(P: np.ndarray, V: np.ndarray, shift: float = 0.0,
                          weights: np.ndarray | None = None) -> np.ndarray:
    """Product of the cross-entropy Hessian in the scores with ``V``.

    For every column the Hessian of ``logsumexp`` is ``diag(p) - p p^T``; the
    mean divides by ``n`` (``weights`` given: column ``i`` is multiplied by
    ``w_i`` instead, as in :func:`cross_entropy`). ``shift`` adds
    ``shift * I`` before that scaling (Meganet's regularisation of this
    positive semi-definite matrix, 1e-3 there).

    Parameters
    ----------
    P : ndarray, shape (n_classes, n)
        Softmax probabilities.
    V : ndarray, shape (n_classes, n)
    shift : float
    weights : ndarray, shape (n,), optional

    Returns
    -------
    ndarray, shape (n_classes, n)
    """
    PV = P * V
    out = PV - P * PV.sum(axis=0, keepdims=True)
    if shift:
        out += shift * V
    return out / P.shape[1] if weights is None else out * weights


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
