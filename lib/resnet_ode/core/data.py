"""The Peaks data set of Haber & Ruthotto (2017), as in the reference code.

The MATLAB ``peaks`` function is evaluated on a regular 256 x 256 grid over
``[-3, 3]^2``; its values are split into five equal-width bins between the
minimum and the maximum over the grid (not quantiles). Training and validation
points are drawn per class, uniformly with replacement from that class's grid
points, by independent seeded draws. Points are stored as columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_ode.util.validate import check_int

#: Number of grid points per axis in the reference set-up.
GRID_SIZE = 256
#: Number of classes (equal-width bins of the function value).
N_CLASSES = 5
#: Domain of both coordinates.
DOMAIN = (-3.0, 3.0)


def peaks(x1, x2):
    """MATLAB's ``peaks`` function.

    Parameters
    ----------
    x1, x2 : array_like
        Coordinates, broadcast against each other.

    Returns
    -------
    ndarray
        ``3(1-x1)^2 exp(-x1^2-(x2+1)^2) - 10(x1/5-x1^3-x2^5) exp(-x1^2-x2^2)
        - 1/3 exp(-(x1+1)^2-x2^2)``, with the broadcast shape.
    """
    x1 = np.asarray(x1, dtype=float)
    x2 = np.asarray(x2, dtype=float)
    return (
        3.0 * (1.0 - x1) ** 2 * np.exp(-(x1**2) - (x2 + 1.0) ** 2)
        - 10.0 * (x1 / 5.0 - x1**3 - x2**5) * np.exp(-(x1**2) - x2**2)
        - 1.0 / 3.0 * np.exp(-((x1 + 1.0) ** 2) - x2**2)
    )


def class_edges(values, n_classes: int = N_CLASSES):
    """Inner edges of ``n_classes`` equal-width bins between min and max.

    Parameters
    ----------
    values : ndarray
        Function values over the grid (any shape).

    Returns
    -------
    ndarray, shape (n_classes - 1,)
        ``min + k h`` for ``k = 1, ..., n_classes - 1`` with
        ``h = (max - min) / n_classes``.
    """
    vmin, vmax = float(np.min(values)), float(np.max(values))
    h = (vmax - vmin) / n_classes
    return vmin + h * np.arange(1, n_classes)


def classify_values(values, edges):
    """Class of each value: bin ``k`` holds values in ``(e_{k-1}, e_k]``.

    The minimum over the grid, which the half-open first bin of the reference
    code leaves unlabelled, is put in class 0.

    Returns
    -------
    ndarray of int, same shape as ``values``
    """
    return np.searchsorted(edges, values, side="left")


@dataclass(frozen=True)
class PeaksGrid:
    """The labelled grid.

    Attributes
    ----------
    x1, x2 : ndarray, shape (n, n)
        Meshgrid coordinates (``x1`` varies along axis 1).
    values : ndarray, shape (n, n)
        ``peaks(x1, x2)``.
    labels : ndarray of int, shape (n, n)
        Class of every grid point.
    edges : ndarray, shape (n_classes - 1,)
        Inner bin edges.
    """

    x1: np.ndarray
    x2: np.ndarray
    values: np.ndarray
    labels: np.ndarray
    edges: np.ndarray

    @property
    def points(self) -> np.ndarray:
        """All grid points as columns, shape (2, n*n)."""
        return np.vstack([self.x1.ravel(), self.x2.ravel()])

    def class_counts(self) -> np.ndarray:
        """Number of grid points in each class, shape (n_classes,)."""
        return np.bincount(self.labels.ravel(), minlength=len(self.edges) + 1)


def peaks_grid(n: int = GRID_SIZE, n_classes: int = N_CLASSES) -> PeaksGrid:
    """Evaluate and label the Peaks function on an ``n`` x ``n`` grid over [-3, 3]^2."""
    n = check_int("n", n, min_value=2)
    n_classes = check_int("n_classes", n_classes, min_value=2)
    t = np.linspace(*DOMAIN, n)
    x1, x2 = np.meshgrid(t, t)
    values = peaks(x1, x2)
    edges = class_edges(values, n_classes)
    labels = classify_values(values, edges)
    return PeaksGrid(x1=x1, x2=x2, values=values, labels=labels, edges=edges)


def sample_per_class(grid: PeaksGrid, n_per_class: int, rng: np.random.Generator):
    """Draw ``n_per_class`` grid points of every class, uniformly with replacement.

    Returns
    -------
    X : ndarray, shape (2, n_classes * n_per_class)
        Points as columns, class by class.
    y : ndarray of int, shape (n_classes * n_per_class,)
        Their classes.
    """
    n_per_class = check_int("n_per_class", n_per_class, min_value=1)
    pts = grid.points
    flat = grid.labels.ravel()
    n_classes = len(grid.edges) + 1
    cols, ys = [], []
    for k in range(n_classes):
        members = np.flatnonzero(flat == k)
        pick = members[rng.integers(0, members.size, size=n_per_class)]
        cols.append(pts[:, pick])
        ys.append(np.full(n_per_class, k))
    return np.hstack(cols), np.concatenate(ys)


@dataclass(frozen=True)
class Dataset:
    """Training and validation points with their labels.

    Attributes
    ----------
    X_train : ndarray, shape (2, n_train)
    y_train : ndarray of int, shape (n_train,)
    X_val : ndarray, shape (2, n_val)
    y_val : ndarray of int, shape (n_val,)
    seed : int
        The seed the two independent draws were spawned from.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    seed: int

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max())) + 1


def make_peaks_dataset(n_train_per_class: int = 1000, n_val_per_class: int = 40, seed: int = 0) -> Dataset:
    """The Peaks training and validation sets of the reference set-up.

    The training and validation draws use two independent generators spawned
    from ``seed`` (``numpy.random.SeedSequence(seed).spawn(2)``).
    """
    n_train_per_class = check_int("n_train_per_class", n_train_per_class, min_value=1)
    n_val_per_class = check_int("n_val_per_class", n_val_per_class, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    grid = peaks_grid()
    train_ss, val_ss = np.random.SeedSequence(seed).spawn(2)
    X_train, y_train = sample_per_class(grid, n_train_per_class, np.random.default_rng(train_ss))
    X_val, y_val = sample_per_class(grid, n_val_per_class, np.random.default_rng(val_ss))
    return Dataset(X_train, y_train, X_val, y_val, seed)
