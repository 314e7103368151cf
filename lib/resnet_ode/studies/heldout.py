"""Held-out and class-balanced measures on the Peaks grid.

The reference set-up (:mod:`resnet_ode.core.data`) draws its training and its
200 validation points per class, uniformly *with replacement* from the points
of the 256 x 256 grid. Two consequences for what an accuracy means:

* **the validation points are not held out.** Drawn from the same grid
  points as the training set, some of them coincide with training points
  (with the book's data seed 0: 50 of the 200, 19 of the 40 in each of the two
  smallest classes); :func:`validation_overlap` counts them. The measure that
  is held out is every grid point that is *not* a training point
  (:func:`heldout_mask`, :func:`heldout_set`).
* **the grid is dominated by one class.** The middle class holds 72.6 % of the
  grid points, so answering it everywhere scores 0.726 plain accuracy
  (:func:`majority_baseline`); training and validation sets are
  class-balanced, the grid is not. Class-balanced accuracy (the mean recall
  over the classes, :func:`balanced_accuracy`) weighs every class alike; its
  majority-class baseline is ``1 / n_classes``.

:func:`scores` gives both accuracies of a set of predictions with the two
baselines beside them, :func:`heldout_scores` those of a network on the held-out
grid points. :func:`run_heldout_confusion` and :func:`cross_heldout_confusion`
store the confusion counts of trained runs on the held-out points (one network,
or every run's weights under every run's network) like runs
(:mod:`resnet_ode.studies.memo`); :func:`confusion_scores` turns them into plain
and balanced accuracies. Grid points are identified by their flat index into the grid's
``points`` (row ``x2``, column ``x1``, as ``PeaksGrid.points`` orders them):
training points are exact copies of grid coordinates, which
:func:`grid_index` checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_ode.core.data import GRID_SIZE, peaks_grid
from resnet_ode.studies import memo
from resnet_ode.studies.evaluation import GRID_CHUNK


def _axes(n: int):
    grid = peaks_grid(n)
    return grid.x1[0, :], grid.x2[:, 0]


def grid_index(X, n: int = GRID_SIZE) -> np.ndarray:
    """Flat index of each point into the ``n`` x ``n`` Peaks grid.

    Parameters
    ----------
    X : array_like, shape (2, m)
        Points as columns; every one must be a grid point (coordinates equal,
        bit for bit, to the grid's, as :func:`resnet_ode.core.data.sample_per_class`
        draws them).
    n : int
        Grid points per axis.

    Returns
    -------
    ndarray of int, shape (m,)
        ``i2 * n + i1`` for the point ``(t[i1], t[i2])``: the column of
        ``peaks_grid(n).points`` that holds it.

    Raises
    ------
    ValueError
        If ``X`` is not of shape (2, m) or a point is not a grid point.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != 2:
        raise ValueError(f"X must hold points as columns, shape (2, m), got shape {X.shape}")
    t1, t2 = _axes(n)
    i1 = np.clip(np.searchsorted(t1, X[0]), 0, n - 1)
    i2 = np.clip(np.searchsorted(t2, X[1]), 0, n - 1)
    off = (t1[i1] != X[0]) | (t2[i2] != X[1])
    if np.any(off):
        j = int(np.flatnonzero(off)[0])
        raise ValueError(f"{int(off.sum())} of {X.shape[1]} points are not points of the {n} x {n} grid, "
                         f"the first is column {j}: {X[:, j].tolist()}")
    return i2 * n + i1


def heldout_mask(X_train, n: int = GRID_SIZE) -> np.ndarray:
    """Which grid points are held out: not among the training points.

    Parameters
    ----------
    X_train : array_like, shape (2, m)
        The training points (grid points, repeats allowed).
    n : int
        Grid points per axis.

    Returns
    -------
    ndarray of bool, shape (n * n,)
        ``True`` for every grid point that no training point coincides with,
        in the order of ``peaks_grid(n).points``.
    """
    mask = np.ones(n * n, dtype=bool)
    mask[grid_index(X_train, n)] = False
    return mask


def heldout_set(X_train, n: int = GRID_SIZE):
    """The held-out grid points and their labels.

    Returns
    -------
    X : ndarray, shape (2, k)
        Every grid point not among the training points (:func:`heldout_mask`),
        in grid order.
    y : ndarray of int, shape (k,)
        Their classes.
    """
    grid = peaks_grid(n)
    mask = heldout_mask(X_train, n)
    return grid.points[:, mask], grid.labels.ravel()[mask]


# ----------------------------------------------------------------------------
# Plain and class-balanced accuracy, and their baselines
# ----------------------------------------------------------------------------


def _labels(y_true, y_pred=None):
    y_true = np.asarray(y_true).ravel()
    if y_true.size == 0:
        raise ValueError("no points to score")
    if not np.issubdtype(y_true.dtype, np.integer) or y_true.min() < 0:
        raise ValueError("labels must be non-negative integers")
    if y_pred is None:
        return y_true, None
    y_pred = np.asarray(y_pred).ravel()
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_true and y_pred must be of the same length, got {y_true.size} and {y_pred.size}")
    return y_true, y_pred


def _n_classes(y_true, n_classes):
    k = int(y_true.max()) + 1
    if n_classes is None:
        return k
    if int(n_classes) < k:
        raise ValueError(f"n_classes is {n_classes} but y_true holds class {k - 1}")
    return int(n_classes)


def accuracy(y_true, y_pred) -> float:
    """Plain accuracy: the share of points whose predicted class is their class.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (m,)
    """
    y_true, y_pred = _labels(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def class_recalls(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """Recall of every class: the share of its points predicted as it.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (m,)
    n_classes : int, optional
        Number of classes (default: the largest class in ``y_true`` plus one).

    Returns
    -------
    ndarray, shape (n_classes,)
        ``NaN`` for a class without points in ``y_true`` (its recall is undefined).
    """
    y_true, y_pred = _labels(y_true, y_pred)
    k = _n_classes(y_true, n_classes)
    counts = np.bincount(y_true, minlength=k)
    hits = np.bincount(y_true[y_true == y_pred], minlength=k)[:k]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def balanced_accuracy(y_true, y_pred, n_classes: int | None = None) -> float:
    """Class-balanced accuracy: the mean of the recalls of the classes present in ``y_true``.

    Every class counts alike whatever its number of points; a class without
    points in ``y_true`` is left out of the mean. Always answering one class
    scores ``1 / K`` for ``K`` classes present.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (m,)
    n_classes : int, optional
    """
    r = class_recalls(y_true, y_pred, n_classes)
    return float(np.nanmean(r))


@dataclass(frozen=True)
class Baseline:
    """What a classifier that always answers the most frequent class scores.

    Attributes
    ----------
    accuracy : float
        Plain accuracy: the share of the most frequent class.
    balanced : float
        Class-balanced accuracy: ``1 / classes``.
    majority_class : int
        The most frequent class (the smallest, on a tie).
    classes : int
        Classes present.
    """

    accuracy: float
    balanced: float
    majority_class: int
    classes: int

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "balanced": self.balanced, "majority_class": self.majority_class,
                "classes": self.classes}


def majority_baseline(y) -> Baseline:
    """The majority-class baseline of a set of labels.

    Parameters
    ----------
    y : array_like of int, shape (m,)

    Returns
    -------
    Baseline
        On the 65,536 labels of the Peaks grid: plain accuracy 47,557 / 65,536
        = 0.726 (the middle class, 2), balanced 0.2.
    """
    y, _ = _labels(y)
    counts = np.bincount(y)
    present = int(np.count_nonzero(counts))
    return Baseline(float(counts.max() / y.size), 1.0 / present, int(np.argmax(counts)), present)


@dataclass(frozen=True)
class Scores:
    """Plain and class-balanced accuracy of predictions on a set of points, with their baselines.

    Attributes
    ----------
    accuracy : float
        Plain accuracy.
    balanced : float
        Class-balanced accuracy (mean recall over the classes present).
    recalls : ndarray, shape (n_classes,)
        Recall per class (``NaN`` for an absent class).
    counts : ndarray of int, shape (n_classes,)
        Points per class.
    baseline : Baseline
        The majority-class baseline of the same points.
    """

    accuracy: float
    balanced: float
    recalls: np.ndarray
    counts: np.ndarray
    baseline: Baseline

    @property
    def n(self) -> int:
        """Points scored."""
        return int(self.counts.sum())

    def to_dict(self) -> dict:
        """Plain JSON types (an undefined recall becomes ``None``)."""
        return {"accuracy": self.accuracy, "balanced": self.balanced, "n": self.n,
                "recalls": [None if np.isnan(r) else float(r) for r in self.recalls],
                "counts": [int(c) for c in self.counts], "baseline": self.baseline.to_dict()}


def scores(y_true, y_pred, n_classes: int | None = None) -> Scores:
    """:func:`accuracy`, :func:`balanced_accuracy` and :func:`majority_baseline` of one set of predictions.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (m,)
    n_classes : int, optional
    """
    y_true, y_pred = _labels(y_true, y_pred)
    r = class_recalls(y_true, y_pred, n_classes)
    counts = np.bincount(y_true, minlength=r.size)
    return Scores(accuracy(y_true, y_pred), float(np.nanmean(r)), r, counts, majority_baseline(y_true))


def heldout_scores(model, theta, W, X_train, n: int = GRID_SIZE, chunk: int = GRID_CHUNK) -> Scores:
    """:func:`scores` of a network on every grid point not among its training points.

    Parameters
    ----------
    model : ResNetODE
        Anything with ``predict(theta, W, X) -> labels`` for ``X`` of shape (2, m).
    theta : ndarray, shape (model.n_params,)
    W : ndarray
        Classifier weights.
    X_train : array_like, shape (2, m)
        The points the network was trained on (``config.dataset().X_train``).
    n : int
        Grid points per axis.
    chunk : int
        Points classified at once.

    Returns
    -------
    Scores
        Over the :func:`heldout_set` (61,160 of the 65,536 points with the
        book's data seed 0), with its majority-class baseline (0.761 there).
    """
    X, y = heldout_set(X_train, n)
    chunk = int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    pred = np.concatenate([np.asarray(model.predict(theta, W, X[:, a:a + chunk])).ravel()
                           for a in range(0, X.shape[1], chunk)])
    return scores(y, pred, n_classes=int(peaks_grid(n).labels.max()) + 1)


# ----------------------------------------------------------------------------
# The reference validation set against the training set
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Overlap:
    """Validation points that coincide with a training point.

    Attributes
    ----------
    count : int
        Validation points (columns, repeats counted) at a grid point that is
        also a training point.
    n : int
        Validation points.
    per_class : ndarray of int, shape (n_classes,)
        ``count`` split by the validation points' class.
    per_class_n : ndarray of int, shape (n_classes,)
        Validation points per class.
    distinct : int
        Distinct grid points among the validation points.
    """

    count: int
    n: int
    per_class: np.ndarray
    per_class_n: np.ndarray
    distinct: int

    @property
    def share(self) -> float:
        """``count / n``."""
        return self.count / self.n

    def to_dict(self) -> dict:
        return {"count": self.count, "n": self.n, "per_class": [int(c) for c in self.per_class],
                "per_class_n": [int(c) for c in self.per_class_n], "distinct": self.distinct}


def validation_overlap(X_train, X_val, y_val, n: int = GRID_SIZE) -> Overlap:
    """How many validation points are training points too.

    Parameters
    ----------
    X_train : array_like, shape (2, m)
    X_val : array_like, shape (2, v)
    y_val : array_like of int, shape (v,)
    n : int
        Grid points per axis.

    Returns
    -------
    Overlap
        With the book's data set (``make_peaks_dataset(1000, 40, seed=0)``):
        50 of the 200 validation points, per class ``[19, 3, 0, 9, 19]`` of 40.
    """
    y_val, _ = _labels(y_val)
    val = grid_index(X_val, n)
    if val.size != y_val.size:
        raise ValueError(f"X_val has {val.size} points but y_val {y_val.size} labels")
    inside = ~heldout_mask(X_train, n)[val]
    k = int(y_val.max()) + 1
    return Overlap(int(inside.sum()), int(val.size), np.bincount(y_val[inside], minlength=k),
                   np.bincount(y_val, minlength=k), int(np.unique(val).size))


# ----------------------------------------------------------------------------
# Stored held-out confusion matrices of trained runs (what the verdicts read)
# ----------------------------------------------------------------------------


def confusion_counts(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts ``C[a, b]`` of points of class ``a`` predicted as ``b``, shape (n_classes, n_classes)."""
    y_true, y_pred = _labels(y_true, y_pred)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def confusion_scores(C) -> tuple:
    """``(plain accuracy, balanced accuracy)`` of confusion counts ``C`` of shape (..., c, c).

    Balanced accuracy is the mean recall over the classes that have points.
    Both are floats for one matrix, arrays of shape ``C.shape[:-2]`` otherwise.
    """
    C = np.asarray(C, dtype=float)
    support = C.sum(axis=-1)                                   # (..., c)
    correct = np.diagonal(C, axis1=-2, axis2=-1)               # (..., c)
    plain = correct.sum(axis=-1) / support.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        balanced = np.nanmean(np.where(support > 0, correct / support, np.nan), axis=-1)
    return (float(plain), float(balanced)) if plain.ndim == 0 else (plain, balanced)


def _training_points(results) -> np.ndarray:
    """The training points all ``results`` share (their data settings must agree)."""
    sets = {(r.config.n_train_per_class, r.config.data_seed) for r in results}
    if len(sets) != 1:
        raise ValueError(f"the runs were trained on different data sets {sorted(sets)}; held-out points differ")
    return results[0].config.dataset().X_train


def _heldout_confusions(results, models, n: int, chunk: int) -> np.ndarray:
    """Confusion counts on the held-out grid points of every run's weights under every model, (r, m, c, c)."""
    X, y = heldout_set(_training_points(results), n)
    c = int(peaks_grid(n).labels.max()) + 1
    out = np.zeros((len(results), len(models), c, c), dtype=np.int64)
    for i, trained in enumerate(results):
        for j, model in enumerate(models):
            for a in range(0, X.shape[1], chunk):
                pred = np.asarray(model.predict(trained.theta, trained.W, X[:, a:a + chunk])).ravel()
                out[i, j] += confusion_counts(y[a:a + chunk], pred, c)
    return out


def run_heldout_confusion(run, n: int = GRID_SIZE, chunk: int = GRID_CHUNK) -> np.ndarray:
    """Confusion counts of a trained run on the grid points it was not trained on, stored like a run.

    Returns
    -------
    ndarray of int, shape (c, c)
        ``C[a, b]``: held-out points of class ``a`` the network labels ``b``
        (61,160 points with the book's data seed 0); :func:`confusion_scores`
        gives plain and balanced accuracy.
    """
    return memo.stored("heldout_confusion", [run], n=int(n), chunk=int(chunk))["confusion"]


@memo.register("heldout_confusion", ("studies/heldout.py",))
def _run_heldout_confusion(results, n: int, chunk: int) -> dict:
    return {"confusion": _heldout_confusions(results, [results[0].model], n, chunk)[0, 0]}


def cross_heldout_confusion(results, n: int = GRID_SIZE, chunk: int = GRID_CHUNK) -> np.ndarray:
    """Held-out confusion counts of every run's weights under every run's network, stored like a run.

    Parameters
    ----------
    results : sequence of RunResult
        Runs trained on the same data, whose networks share weight shapes
        (Chapter 3.1's depths of one seed).

    Returns
    -------
    ndarray of int, shape (k, k, c, c)
        Entry ``[i, j]``: the confusion counts of the weights of run ``i`` in
        the network of run ``j`` on the held-out grid points.
    """
    return memo.stored("cross_heldout_confusion", results, n=int(n), chunk=int(chunk))["confusion"]


@memo.register("cross_heldout_confusion", ("studies/heldout.py",))
def _cross_heldout_confusion(results, n: int, chunk: int) -> dict:
    return {"confusion": _heldout_confusions(results, [r.model for r in results], n, chunk)}


def heldout_baseline(X_train, n: int = GRID_SIZE) -> "Baseline":
    """The majority-class baseline on the held-out grid points of a training set (plain 0.761, balanced 0.2 with
    the book's data)."""
    return majority_baseline(heldout_set(X_train, n)[1])


def cross_heldout_numbers(runs_by_seed, n: int = GRID_SIZE) -> dict:
    """Chapter 3.1's held-out numbers: per seed, plain and balanced accuracy of every pair of depths.

    Parameters
    ----------
    runs_by_seed : sequence of sequences of RunResult
        For every seed, the runs of every depth (the same depths in the same
        order), all trained on the same data.

    Returns
    -------
    dict
        ``balanced_seeds`` and ``accuracy_seeds`` (lists of shape (s, k, k):
        weights of row ``i`` in the network of column ``j``), ``n`` (held-out
        points), ``baseline`` (``accuracy`` and ``balanced`` of always answering
        the majority class) and ``method`` (how the numbers were measured), as
        plain JSON types.
    """
    runs_by_seed = [list(runs) for runs in runs_by_seed]
    if not runs_by_seed:
        raise ValueError("runs_by_seed must hold the runs of at least one seed")
    confusions = np.stack([cross_heldout_confusion(runs, n) for runs in runs_by_seed])   # (s, k, k, c, c)
    plain, balanced = confusion_scores(confusions)
    base = heldout_baseline(_training_points(runs_by_seed[0]), n)
    return {"balanced_seeds": balanced.tolist(), "accuracy_seeds": plain.tolist(),
            "n": int(confusions[0, 0, 0].sum()),
            "baseline": {"accuracy": base.accuracy, "balanced": base.balanced},
            "method": "grid points not in the training set; balanced accuracy = mean recall over the classes"}


def heldout_records(runs, n: int = GRID_SIZE) -> dict:
    """Held-out plain and balanced accuracy of every run, as records (Chapter 3.1's depth-against-time grid).

    Returns
    -------
    dict
        ``runs``: one record per run (``T``, ``nY``, ``init_seed``, step ``h``,
        ``heldout_balanced``, ``heldout_accuracy``), and ``n``, the held-out
        points of each (the runs must share their training set).
    """
    runs = list(runs)
    _training_points(runs)
    records, points = [], 0
    for r in runs:
        C = run_heldout_confusion(r, n)
        plain, balanced = confusion_scores(C)
        points = int(C.sum())
        records.append({"T": float(r.config.T), "nY": int(r.config.nY), "init_seed": int(r.config.init_seed),
                        "h": float(r.config.T) / (int(r.config.nY) - 1), "heldout_balanced": balanced,
                        "heldout_accuracy": plain})
    return {"runs": records, "n": points}
