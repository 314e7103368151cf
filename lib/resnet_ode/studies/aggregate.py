"""Turning per-seed and per-run results into the numbers the chapters report and Chapter 4 judges.

The chapters repeat runs over seeds and group them; the functions here do the
averaging, the counting and the grouping, with intervals from
:mod:`resnet_ode.studies.uncertainty`, so that notebooks and verdict rules share one
tested implementation.

* :func:`seed_summary`: seed mean, interval and extremes of per-seed numbers,
  arrays (e.g. Chapter 3.1's accuracy matrices) or dicts of them.
* :func:`off_diagonal_mean` and :func:`transfer_summary`: how well the
  weights of one depth work in the networks of others (Chapter 3.1).
* :func:`count_lower` and :func:`deeper_smoother`: on how many seeds the
  deeper network's landscape measure is lower (Chapter 3.3).
* :func:`run_record`: a run's settings and final numbers as a plain record.
* :func:`group_runs`, :func:`group_means`, :func:`group_intervals`,
  :func:`group_row_means` and :func:`pair_by_seed`: runs grouped by
  (integrator, nY) and compared seed by seed (Chapter 3.4).

Runs may be :class:`resnet_ode.training.trainer.RunResult` objects or plain records
(dicts with the run's settings and final numbers, as the chapters write them
to ``_build/numbers``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from resnet_ode.studies.uncertainty import LEVEL, seed_interval

# ----------------------------------------------------------------------------
# Seeds
# ----------------------------------------------------------------------------


def _array_summary(stack: np.ndarray, level: float, n_points):
    """Element-wise :func:`seed_interval` of ``stack``, shape (s, ...)."""
    shape = stack.shape[1:]
    flat = stack.reshape(stack.shape[0], -1)
    ests = [seed_interval(flat[:, i], level, n_points) for i in range(flat.shape[1])]
    pick = lambda attr: np.array([getattr(e, attr) for e in ests], dtype=float).reshape(shape)  # noqa: E731
    return {"mean": pick("value"), "low": pick("low"), "high": pick("high"), "min": pick("minimum"),
            "max": pick("maximum"), "n": int(stack.shape[0]), "method": ests[0].method if ests else ""}


def seed_summary(per_seed, level: float = LEVEL, n_points: int | None = None):
    """Seed mean, interval and extremes of per-seed results.

    Parameters
    ----------
    per_seed : sequence
        One result per seed, all of the same structure: numbers, arrays of
        one shape ``S`` (e.g. ``(k, k)`` accuracy matrices), or dicts (nested
        to any depth) of those with the same keys.
    level : float
    n_points : int, optional
        The results are accuracies on ``n_points`` points (see
        :func:`resnet_ode.studies.uncertainty.seed_interval`).

    Returns
    -------
    dict
        For numbers: :meth:`resnet_ode.studies.uncertainty.Estimate.to_dict` of the
        seed interval (``value``, ``low``, ``high``, ``n``, ``method``,
        ``min``, ``max``). For arrays: ``{"mean", "low", "high", "min",
        "max"}`` arrays of shape ``S``, plus ``n`` (seeds) and ``method``.
        For dicts: the same keys, each summarised. With one seed the
        interval is the Wilson one if ``n_points`` is given, else ``-inf`` to
        ``inf`` (``None`` for numbers).

    Examples
    --------
    >>> seed_summary([0.98, 0.99, 0.985])["value"]
    0.985
    """
    per_seed = list(per_seed)
    if not per_seed:
        raise ValueError("seed_summary needs at least one seed")
    first = per_seed[0]
    if isinstance(first, Mapping):
        keys = list(first)
        for other in per_seed[1:]:
            if list(other) != keys:
                raise ValueError(f"per-seed dicts differ in their keys: {keys} and {list(other)}")
        return {k: seed_summary([d[k] for d in per_seed], level, n_points) for k in keys}
    stack = np.asarray(per_seed, dtype=float)
    if stack.ndim == 1:
        return seed_interval(stack, level, n_points).to_dict()
    return _array_summary(stack, level, n_points)


# ----------------------------------------------------------------------------
# Cross-evaluation matrices (Chapter 3.1)
# ----------------------------------------------------------------------------


def off_diagonal_mean(M, rows=None, cols=None) -> float:
    """Mean of the off-diagonal entries of ``M[rows][:, cols]`` (index lists into ``M``; ``None``: all)."""
    M = np.asarray(M, dtype=float)
    rows = range(M.shape[0]) if rows is None else rows
    cols = range(M.shape[1]) if cols is None else cols
    vals = [M[i, j] for i in rows for j in cols if i != j]
    if not vals:
        raise ValueError("no off-diagonal entry in the rows and columns given")
    return float(np.mean(vals))


def transfer_groups(k: int) -> tuple[list, list]:
    """Indices of the three deepest and the two shallowest of ``k`` depths (ordered by depth), as Chapter 3.1 compares them."""
    if k < 4:
        raise ValueError(f"a transfer summary needs at least 4 depths, got {k}")
    return [k - 3, k - 2, k - 1], [0, 1]


def transfer_summary(M) -> dict:
    """Chapter 3.1's summaries of one cross-accuracy matrix (rows: trained, columns: evaluated, by depth).

    Parameters
    ----------
    M : array_like, shape (k, k)
        Accuracies, ``k >= 4`` depths in increasing order.

    Returns
    -------
    dict
        ``diag_min``, ``diag_max`` (own accuracies); ``deep_offdiag``, the
        mean off-diagonal accuracy among the three deepest networks;
        ``shallow_rows_offdiag`` and ``shallow_cols_offdiag``, the mean
        off-diagonal accuracy in the rows (weights of) and columns (networks
        of) the two shallowest.
    """
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"a cross-accuracy matrix must be square, got shape {M.shape}")
    deep, shallow = transfer_groups(M.shape[0])
    return {"diag_min": float(np.diag(M).min()), "diag_max": float(np.diag(M).max()),
            "deep_offdiag": off_diagonal_mean(M, deep, deep),
            "shallow_rows_offdiag": off_diagonal_mean(M, shallow, None),
            "shallow_cols_offdiag": off_diagonal_mean(M, None, shallow)}


# ----------------------------------------------------------------------------
# Comparisons over seeds (Chapter 3.3)
# ----------------------------------------------------------------------------


def count_lower(a, b) -> dict:
    """On how many entries ``a`` is lower than ``b``.

    Parameters
    ----------
    a, b : array_like, shape (s,)
        Paired values (e.g. a measure of the deeper and the shallower network
        on the same direction seeds).

    Returns
    -------
    dict
        ``lower`` (``a < b``), ``ties`` (``a == b``), ``higher`` and ``n``
        (``lower + ties + higher``).
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    lower, ties = int(np.sum(a < b)), int(np.sum(a == b))
    return {"lower": lower, "ties": ties, "higher": int(a.size - lower - ties), "n": int(a.size)}


#: The (objective, normalisation) pairs and measures Chapter 3.3 compares.
LANDSCAPE_COMBINATIONS = (("joint", "filter"), ("joint", "thesis"), ("varpro", "filter"))
LANDSCAPE_MEASURES = ("local_minima", "negative_share")


def deeper_smoother(measures: dict, deep, shallow, seeds, combinations=LANDSCAPE_COMBINATIONS,
                    measure_names=LANDSCAPE_MEASURES) -> dict:
    """Seeds on which the deeper network's landscape measure is lower (smoother) than the shallower one's.

    Parameters
    ----------
    measures : mapping
        ``(objective, normalisation, layers, seed) -> {measure name: value}``,
        as Chapter 3.3 collects :func:`resnet_ode.studies.landscape.measures.curvature_measures`.
    deep, shallow : int
        The two depths compared.
    seeds : sequence of int
        Direction seeds (the pairs compared).
    combinations : sequence of (str, str)
        (objective, normalisation) pairs.
    measure_names : sequence of str

    Returns
    -------
    dict
        ``"objective/normalisation/measure" -> count_lower(deep, shallow)``:
        the layout of ``deep_smoother_on_seeds`` in Chapter 3.3's numbers,
        which :func:`resnet_ode.studies.conclusions.landscape_smoothness` reads.
    """
    out = {}
    for obj, norm in combinations:
        for m in measure_names:
            a = [measures[(obj, norm, deep, s)][m] for s in seeds]
            b = [measures[(obj, norm, shallow, s)][m] for s in seeds]
            out[f"{obj}/{norm}/{m}"] = count_lower(a, b)
    return out


def deeper_smoother_by_seed(measures: dict, deep, shallow, seeds, combinations=LANDSCAPE_COMBINATIONS,
                            measure_names=LANDSCAPE_MEASURES) -> dict:
    """Per seed, whether the deeper network's measure is lower, tied or higher, for every comparison.

    Parameters
    ----------
    measures, deep, shallow, combinations, measure_names
        As in :func:`deeper_smoother`.
    seeds : sequence of int
        Seeds of the compared pairs of networks (and of their directions).

    Returns
    -------
    dict
        ``str(seed) -> {"objective/normalisation/measure": "lower" | "tie" | "higher"}``.
    """
    out = {}
    for s in seeds:
        row = {}
        for obj, norm in combinations:
            for m in measure_names:
                a, b = measures[(obj, norm, deep, s)][m], measures[(obj, norm, shallow, s)][m]
                row[f"{obj}/{norm}/{m}"] = "lower" if a < b else ("tie" if a == b else "higher")
        out[str(s)] = row
    return out


# ----------------------------------------------------------------------------
# Grouping runs (Chapter 3.4)
# ----------------------------------------------------------------------------


def _setting(run, name):
    """A setting of a run object (from its config) or record."""
    return run[name] if isinstance(run, Mapping) else getattr(run.config, name)


def _result(run, name):
    """A final number of a run object (``final()``, else an attribute such as ``train_seconds``) or record."""
    if isinstance(run, Mapping):
        return run[name]
    final = run.final()
    return final[name] if name in final else getattr(run, name)


#: Settings a run record names by default (those :func:`method_key` and :func:`pair_by_seed` read).
RECORD_SETTINGS = ("integrator", "nY", "init_seed")


def run_record(run, settings=RECORD_SETTINGS, **extra) -> dict:
    """A run's settings and final numbers as a plain record (the layout of the chapters' ``runs`` lists).

    Parameters
    ----------
    run : RunResult
    settings : sequence of str
        Names of :class:`~resnet_ode.training.trainer.RunConfig` settings to copy.
    **extra
        Further entries (e.g. ``grid_accuracy=...``), added last.

    Returns
    -------
    dict
        ``settings``, then :meth:`resnet_ode.training.trainer.RunResult.final` (objective,
        accuracies, ...), ``train_seconds``, then ``extra``. Every function of
        this module accepts such records in place of the runs.
    """
    return {**{name: _setting(run, name) for name in settings}, **run.final(),
            "train_seconds": float(run.train_seconds), **extra}


def method_key(run) -> tuple:
    """``(integrator, nY)`` of a run or record."""
    return (_setting(run, "integrator"), int(_setting(run, "nY")))


def group_runs(runs, key=method_key) -> dict:
    """Runs grouped by ``key(run)``, groups in order of first appearance.

    Parameters
    ----------
    runs : iterable of RunResult or dict
    key : callable
        Default :func:`method_key`, ``(integrator, nY)``.

    Returns
    -------
    dict
        ``key -> list of runs`` (in their order).
    """
    groups: dict = {}
    for r in runs:
        groups.setdefault(key(r), []).append(r)
    return groups


def group_means(runs, metrics=("objective", "train_accuracy", "val_accuracy"), key=method_key, order=None,
                seconds: bool = True) -> dict:
    """Mean over the runs of each group (the seeds) of final numbers.

    Parameters
    ----------
    runs : iterable of RunResult or dict
    metrics : sequence of str
        Keys of :meth:`resnet_ode.training.trainer.RunResult.final` (or of the records).
    key : callable
    order : sequence, optional
        The group keys in the wanted order (default: first appearance).
    seconds : bool
        Also average ``train_seconds``.

    Returns
    -------
    dict
        ``key -> {metric: mean}``, as Chapter 3.4 writes to ``peaks/mean``.
    """
    groups = group_runs(runs, key)
    keys = list(groups) if order is None else list(order)
    names = list(metrics) + (["train_seconds"] if seconds else [])
    return {k: {m: float(np.mean([_result(r, m) for r in groups[k]])) for m in names} for k in keys}


def group_intervals(runs, metrics=("val_accuracy",), key=method_key, order=None, level: float = LEVEL,
                    n_points: dict | int | None = None) -> dict:
    """:func:`resnet_ode.studies.uncertainty.seed_interval` of final numbers per group.

    Parameters
    ----------
    n_points : int or dict, optional
        Points an accuracy was measured on, for all metrics or per metric
        name (e.g. ``{"val_accuracy": 200, "grid_accuracy": 65536}``);
        metrics without one get a t-interval only.

    Returns
    -------
    dict
        ``key -> {metric: Estimate.to_dict()}``.
    """
    groups = group_runs(runs, key)
    keys = list(groups) if order is None else list(order)
    pts = (lambda m: n_points.get(m)) if isinstance(n_points, Mapping) else (lambda m: n_points)  # noqa: E731
    return {k: {m: seed_interval([_result(r, m) for r in groups[k]], level, pts(m)).to_dict() for m in metrics}
            for k in keys}


def group_row_means(values, row_keys, order) -> np.ndarray:
    """Mean of the rows of ``values`` belonging to each group.

    Parameters
    ----------
    values : array_like, shape (n_runs, m)
        One row per run (e.g. the accuracy of each trained network under
        every evaluating network).
    row_keys : sequence, length n_runs
        The group of each row (e.g. ``[method_key(r) for r in runs]``).
    order : sequence
        Group keys, one output row each.

    Returns
    -------
    ndarray, shape (len(order), m)
    """
    values = np.asarray(values, dtype=float)
    row_keys = list(row_keys)
    if len(row_keys) != values.shape[0]:
        raise ValueError(f"{len(row_keys)} row keys for {values.shape[0]} rows")
    out = []
    for k in order:
        rows = [i for i, rk in enumerate(row_keys) if rk == k]
        if not rows:
            raise ValueError(f"no row belongs to group {k!r}")
        out.append(values[rows].mean(axis=0))
    return np.array(out)


def pair_by_seed(runs, key_a, key_b, metric: str, key=method_key, seed: str = "init_seed"):
    """Values of ``metric`` of two groups, paired by initial-weight seed.

    Returns
    -------
    a, b : ndarray, shape (s,)
        The values of groups ``key_a`` and ``key_b`` on the seeds both have.
    seeds : list
        Those seeds, sorted.
    """
    groups = group_runs(runs, key)
    va = {_setting(r, seed): float(_result(r, metric)) for r in groups.get(key_a, [])}
    vb = {_setting(r, seed): float(_result(r, metric)) for r in groups.get(key_b, [])}
    seeds = sorted(set(va) & set(vb))
    return np.array([va[s] for s in seeds]), np.array([vb[s] for s in seeds]), seeds
