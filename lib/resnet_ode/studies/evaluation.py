"""Evaluating trained runs: cross-evaluation between depths, prediction maps, accuracy on the whole grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_ode.core.data import DOMAIN, GRID_SIZE, peaks_grid
from resnet_ode.studies import memo
from resnet_ode.studies.aggregate import off_diagonal_mean  # noqa: F401 - part of this module's interface
from resnet_ode.studies.uncertainty import LEVEL, Estimate, wilson_bounds


def accuracy_under(results, models, X, y) -> np.ndarray:
    """Accuracy of every run's weights under each of ``models``.

    Parameters
    ----------
    results : sequence of RunResult
        Trained runs (anything with ``theta`` and ``W``) whose weights fit
        every model (same ``nt``, ``nc``).
    models : sequence of ResNetODE
        Networks to evaluate the weights with, e.g. the networks of other runs,
        or of another integrator or number of state times
        (``[config.model() for config in configs]``).
    X : ndarray, shape (2, n)
    y : ndarray of int, shape (n,)

    Returns
    -------
    ndarray, shape (len(results), len(models))
        Entry ``[i, j]``: weights of run ``i`` evaluated by model ``j``
        (equal to ``models[j].accuracy(results[i].theta, results[i].W, X, y)``).
    """
    y = np.asarray(y)
    return _correct_under(results, models, X, y, chunk=None) / y.size


def cross_accuracy(results, X, y) -> np.ndarray:
    """Accuracy of every run's weights under every run's network (:func:`accuracy_under` with the runs' own models).

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
    return accuracy_under(results, [r.model for r in results], X, y)


def _correct_under(results, models, X, y, chunk) -> np.ndarray:
    """Correctly classified points of every run's weights under every model, shape (len(results), len(models)).

    The points are classified ``chunk`` at a time (all at once for ``None``).
    """
    correct = np.empty((len(results), len(models)), dtype=int)
    for i, trained in enumerate(results):
        for j, model in enumerate(models):
            correct[i, j] = _count_correct(model, trained.theta, trained.W, X, y, chunk)
    return correct


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
    """Prediction maps of every run's weights under every run's network (stored: :func:`resnet_ode.studies.memo.stored`).

    Returns
    -------
    ndarray of int, shape (k, k, n, n)
        ``[i, j]``: weights of run ``i``, network of run ``j``.
    """
    domain = [float(domain[0]), float(domain[1])]
    return memo.stored("cross_prediction_maps", results, n=int(n), domain=domain)["maps"]


@memo.register("cross_prediction_maps", ("studies/evaluation.py",))
def _cross_prediction_maps(results, n: int, domain) -> dict:
    X, _ = grid_points(n, tuple(domain))
    k = len(results)
    maps = np.empty((k, k, n, n), dtype=int)
    for i, trained in enumerate(results):
        for j, evaluator in enumerate(results):
            maps[i, j] = evaluator.model.predict(trained.theta, trained.W, X).reshape(n, n)
    return {"maps": maps}


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


def score_gaps(model, theta, W, X) -> np.ndarray:
    """Gap between the largest and the second-largest class score of every point, shape (n,)."""
    top2 = np.sort(model.scores(theta, W, X), axis=0)[-2:]
    return top2[1] - top2[0]


# ----------------------------------------------------------------------------
# Accuracy over the whole labelled grid
# ----------------------------------------------------------------------------

#: Points classified at once by :func:`grid_accuracy` (memory stays at a few MB).
GRID_CHUNK = 8192


@dataclass(frozen=True)
class AccuracyCounts:
    """Correctly classified points out of ``n``, for one network or a matrix of them.

    Attributes
    ----------
    correct : int or ndarray of int, shape (k, k)
        Correctly classified points.
    n : int
        Points evaluated (65,536 for the whole 256 x 256 grid).
    """

    correct: int | np.ndarray
    n: int

    @property
    def accuracy(self):
        """``correct / n``: a float, or an array of the shape of ``correct``."""
        acc = np.asarray(self.correct, dtype=float) / self.n
        return float(acc) if acc.ndim == 0 else acc

    def bounds(self, level: float = LEVEL):
        """Wilson bounds ``(low, high)``, floats or arrays of the shape of ``correct``."""
        low, high = wilson_bounds(self.correct, self.n, level)
        return (float(low), float(high)) if np.ndim(low) == 0 else (low, high)

    def interval(self, level: float = LEVEL) -> Estimate:
        """The Wilson interval as an :class:`~resnet_ode.studies.uncertainty.Estimate` (one network only)."""
        if np.ndim(self.correct) != 0:
            raise ValueError("interval() is for one network; use bounds() for a matrix")
        low, high = self.bounds(level)
        return Estimate(self.accuracy, low, high, self.n, "wilson")

    def to_dict(self, level: float = LEVEL) -> dict:
        """``accuracy``, ``correct``, ``n`` and the Wilson ``low``/``high``, as plain JSON types."""
        low, high = self.bounds(level)
        plain = lambda v: v.tolist() if isinstance(v, np.ndarray) else v  # noqa: E731
        return {"accuracy": plain(self.accuracy), "correct": plain(np.asarray(self.correct).tolist()),
                "n": int(self.n), "low": plain(low), "high": plain(high)}


def _labelled_grid(n: int):
    grid = peaks_grid(n)
    return grid.points, grid.labels.ravel()


def _count_correct(model, theta, W, X, y, chunk: int | None) -> int:
    if chunk is None:
        return int(np.sum(model.predict(theta, W, X) == y))
    correct = 0
    for a in range(0, X.shape[1], chunk):
        correct += int(np.sum(model.predict(theta, W, X[:, a:a + chunk]) == y[a:a + chunk]))
    return correct


def grid_accuracy(model, theta, W, n: int = GRID_SIZE, chunk: int = GRID_CHUNK) -> AccuracyCounts:
    """Accuracy over every labelled point of the ``n`` x ``n`` Peaks grid ("grid accuracy").

    The grid and its labels are those the data set samples its training and
    validation points from (:func:`resnet_ode.core.data.peaks_grid`), so with the
    default ``n = 256`` this is the accuracy over all 65,536 points of the
    domain the classes are defined on, not over a sample.

    Parameters
    ----------
    model : ResNetODE
    theta : ndarray, shape (model.n_params,)
    W : ndarray
        Classifier weights.
    n : int
        Grid points per axis.
    chunk : int
        Points classified at once (memory: ``width x chunk`` states).

    Returns
    -------
    AccuracyCounts
        Correct points out of ``n * n``; ``.accuracy``, ``.interval()``.
    """
    X, y = _labelled_grid(n)
    return AccuracyCounts(_count_correct(model, theta, W, X, y, int(chunk)), int(y.size))


def run_grid_accuracy(run, n: int = GRID_SIZE, chunk: int = GRID_CHUNK) -> AccuracyCounts:
    """:func:`grid_accuracy` of a trained run in its own network, stored (:func:`resnet_ode.studies.memo.stored`)."""
    out = memo.stored("grid_accuracy", [run], n=int(n), chunk=int(chunk))
    return AccuracyCounts(int(out["correct"]), int(out["n"]))


@memo.register("grid_accuracy", ("studies/evaluation.py",))
def _run_grid_accuracy(results, n: int, chunk: int) -> dict:
    (run,) = results
    X, y = _labelled_grid(n)
    return {"correct": np.array(_count_correct(run.model, run.theta, run.W, X, y, chunk)), "n": np.array(y.size)}


def cross_grid_accuracy(results, n: int = GRID_SIZE, chunk: int = GRID_CHUNK) -> AccuracyCounts:
    """Grid accuracy of every run's weights under every run's network (see :func:`cross_accuracy`).

    Parameters
    ----------
    results : sequence of RunResult
        Runs whose networks share weight shapes.
    n, chunk : int
        As in :func:`grid_accuracy`.

    Returns
    -------
    AccuracyCounts
        ``correct`` of shape (len(results), len(results)): entry ``[i, j]``
        counts the grid points the weights of run ``i`` classify correctly
        in the network of run ``j``; ``.accuracy`` is the matrix of
        accuracies, ``.bounds()`` its Wilson bounds.
    """
    out = memo.stored("cross_grid_accuracy", results, n=int(n), chunk=int(chunk))
    return AccuracyCounts(out["correct"], int(out["n"]))


@memo.register("cross_grid_accuracy", ("studies/evaluation.py",))
def _cross_grid_accuracy(results, n: int, chunk: int) -> dict:
    X, y = _labelled_grid(n)
    return {"correct": _correct_under(results, [r.model for r in results], X, y, chunk), "n": np.array(y.size)}
