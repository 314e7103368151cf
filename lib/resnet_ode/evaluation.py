"""Evaluating trained runs: cross-evaluation between depths and prediction maps."""

from __future__ import annotations

import numpy as np

from .data import DOMAIN


def cross_accuracy(results, X, y) -> np.ndarray:
    """Accuracy of every run's weights under every run's network.

    Parameters
    ----------
    results : sequence of RunResult
        Runs whose networks share weight shapes (same ``nt``, ``nc``), e.g.
        the same network trained at several depths ``nY``.
    X : ndarray, shape (2, n)
    y : ndarray of int, shape (n,)

    Returns
    -------
    ndarray, shape (len(results), len(results))
        Entry ``[i, j]``: weights trained in run ``i`` evaluated by the
        network of run ``j``. The diagonal holds each run's own accuracy.
    """
    k = len(results)
    acc = np.empty((k, k))
    for i, trained in enumerate(results):
        for j, evaluator in enumerate(results):
            acc[i, j] = evaluator.model.accuracy(trained.theta, trained.W, X, y)
    return acc


def grid_points(n: int = 128, domain=DOMAIN):
    """A regular ``n`` x ``n`` grid over ``domain^2``.

    Returns
    -------
    X : ndarray, shape (2, n*n)
    extent : tuple
        ``(xmin, xmax, ymin, ymax)`` for ``imshow``.
    """
    t = np.linspace(domain[0], domain[1], n)
    x1, x2 = np.meshgrid(t, t)
    return np.vstack([x1.ravel(), x2.ravel()]), (domain[0], domain[1], domain[0], domain[1])


def prediction_map(model, theta, W, n: int = 128, domain=DOMAIN) -> np.ndarray:
    """Predicted class on a regular grid, shape (n, n) (row = x2, column = x1)."""
    X, _ = grid_points(n, domain)
    return model.predict(theta, W, X).reshape(n, n)


def confusion_matrix(y_true, y_pred, n_classes: int = 5) -> np.ndarray:
    """Counts ``C[i, j]`` of points of class ``i`` predicted as ``j``, shape (n_classes, n_classes)."""
    C = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(C, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return C


def cross_prediction_maps(results, n: int = 128, domain=DOMAIN) -> np.ndarray:
    """Prediction maps of every run's weights under every run's network.

    Returns
    -------
    ndarray of int, shape (k, k, n, n)
        ``[i, j]``: weights of run ``i``, network of run ``j``.
    """
    X, _ = grid_points(n, domain)
    k = len(results)
    maps = np.empty((k, k, n, n), dtype=int)
    for i, trained in enumerate(results):
        for j, evaluator in enumerate(results):
            maps[i, j] = evaluator.model.predict(trained.theta, trained.W, X).reshape(n, n)
    return maps


def feature_discrepancy(results, X) -> np.ndarray:
    """Relative change of the final features when another network evaluates the weights.

    Returns
    -------
    ndarray, shape (k, k)
        ``[i, j] = ||Y_T^j(theta_i) - Y_T^i(theta_i)||_F / ||Y_T^i(theta_i)||_F``: how far
        the network of run ``j`` carries the inputs from where the network the
        weights were trained with carries them.
    """
    k = len(results)
    out = np.empty((k, k))
    for i, trained in enumerate(results):
        own = trained.model.features.apply(trained.theta, X)
        for j, evaluator in enumerate(results):
            other = evaluator.model.features.apply(trained.theta, X)
            out[i, j] = np.linalg.norm(other - own) / np.linalg.norm(own)
    return out


def off_diagonal_mean(M, rows=None, cols=None) -> float:
    """Mean of the off-diagonal entries of ``M[rows][:, cols]`` (index lists into ``M``)."""
    M = np.asarray(M, dtype=float)
    rows = range(M.shape[0]) if rows is None else rows
    cols = range(M.shape[1]) if cols is None else cols
    vals = [M[i, j] for i in rows for j in cols if i != j]
    return float(np.mean(vals))


def score_gaps(model, theta, W, X) -> np.ndarray:
    """Gap between the largest and the second-largest class score of every point, shape (n,)."""
    top2 = np.sort(model.scores(theta, W, X), axis=0)[-2:]
    return top2[1] - top2[0]
