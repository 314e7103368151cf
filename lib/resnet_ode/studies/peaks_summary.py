"""Chapter 3.0's summary of the Peaks data, class by class.

One table instead of printed arrays: for every class its interval of ``peaks``
values, its grid points and their share, its training points (and how many are
distinct: they are drawn with replacement), its validation points and how many
of those are training points too (:func:`resnet_ode.studies.heldout.validation_overlap`),
and its held-out grid points, the ones the verdicts measure on.
"""
from __future__ import annotations

import numpy as np

from resnet_ode.core.data import Dataset, PeaksGrid
from resnet_ode.studies import heldout
from resnet_ode.studies.analysis import Analysis
from resnet_ode.util.formatting import Table


def data_summary(grid: PeaksGrid, data: Dataset) -> Analysis:
    """The Peaks grid, training and validation sets, class by class.

    Parameters
    ----------
    grid : PeaksGrid
        The labelled ``n x n`` grid (:func:`resnet_ode.core.data.peaks_grid`).
    data : Dataset
        Training and validation points drawn from that grid.

    Returns
    -------
    Analysis
        One table, a row per class and a row of totals. Numbers: ``n_grid``,
        ``grid_majority_share`` (the share of the largest class: what always
        answering it scores), ``grid_balanced_baseline`` (its class-balanced
        accuracy, ``1 / classes``), ``share_min``, ``share_max`` (per cent of the
        grid), ``n_train``, ``n_distinct_train``, ``n_val``, ``val_overlap``
        (validation points that are training points), ``n_heldout`` (grid points
        that are not).

    Raises
    ------
    ValueError
        If a training or validation point is not a point of ``grid``.
    """
    n = grid.labels.shape[0]
    labels = grid.labels.ravel()
    classes = len(grid.edges) + 1
    counts = np.bincount(labels, minlength=classes)
    bounds = np.concatenate([[grid.values.min()], grid.edges, [grid.values.max()]])
    train = heldout.grid_index(data.X_train, n)
    distinct = [np.unique(train[data.y_train == k]).size for k in range(classes)]
    overlap = heldout.validation_overlap(data.X_train, data.X_val, data.y_val, n)
    held = heldout.heldout_mask(data.X_train, n)
    held_counts = np.bincount(labels[held], minlength=classes)
    train_counts = np.bincount(data.y_train, minlength=classes)
    val_counts = overlap.per_class_n
    rows = [[k, float(bounds[k]), float(bounds[k + 1]), int(counts[k]), float(counts[k] / labels.size),
             int(train_counts[k]), int(distinct[k]), int(val_counts[k]), int(overlap.per_class[k]), int(held_counts[k])]
            for k in range(classes)]
    rows.append(["all", float(bounds[0]), float(bounds[-1]), int(labels.size), 1.0, int(train_counts.sum()),
                 int(np.unique(train).size), int(overlap.n), int(overlap.count), int(held.sum())])
    table = Table(["class", "peaks from", "to", "grid points", "share", "training", "distinct", "validation",
                   "validation = training", "held out"], rows,
                  caption=f"The Peaks data by class: the interval of peaks values (the lowest class includes its "
                          f"lower end), the points of the {n} x {n} grid, the training points drawn with "
                          "replacement (how many distinct), the validation points (how many are training points "
                          "too) and the grid points that are not training points.",
                  floatfmt=[None, "{:.3f}", "{:.3f}", None, "{:.3f}", None, None, None, None, None])
    baseline = heldout.majority_baseline(labels)
    shares = 100 * counts / labels.size
    numbers = {"n_grid": int(labels.size), "grid_majority_share": baseline.accuracy,
               "grid_balanced_baseline": baseline.balanced, "share_min": float(shares.min()),
               "share_max": float(shares.max()), "n_train": int(train.size), "n_distinct_train": int(np.unique(train).size),
               "n_val": int(overlap.n), "val_overlap": int(overlap.count), "n_heldout": int(held.sum())}
    return Analysis([table], numbers)
