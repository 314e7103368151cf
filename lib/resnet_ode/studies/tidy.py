"""Reading a study's tidy table: each network's transfer to other depths, groups, paired changes.

The rows are those :func:`resnet_ode.studies.study.run_study` writes (one per
trained network and evaluation depth, ``results.parquet`` read back with
``pyarrow.parquet.read_table(path).to_pylist()``).

- :func:`transfer_matrix`: mean grid accuracy of the weights trained with one
  ``nY`` evaluated with another;
- :func:`networks`: one row per network with its ``transfer``, the mean grid
  accuracy at the other depths;
- :func:`select` and :func:`summarise`: the networks of some settings, and
  mean, smallest and largest values per group;
- :func:`paired_change`: how a number changes between two values of one
  setting, network by network (same depth and seed), and the rule that gives
  the change a direction only when every pair moves that way by more than
  :data:`CHANGE_THRESHOLD`. Chapter 6 words its findings by that rule.
"""

from __future__ import annotations

import math

import numpy as np

def transfer_matrix(rows):
    """Mean grid accuracy of the networks trained with ``nY`` (rows) evaluated with ``eval_nY`` (columns).

    Returns
    -------
    depths : list of int, length k
    mean : ndarray, shape (k, k)
        NaN where no network was evaluated so (``control="per_step"``).
    count : ndarray of int, shape (k, k)
        Networks averaged in each entry (every other setting and seed pooled).
    """
    depths = sorted({r["nY"] for r in rows} | {r["eval_nY"] for r in rows})
    index = {d: k for k, d in enumerate(depths)}
    total = np.zeros((len(depths), len(depths)))
    count = np.zeros((len(depths), len(depths)), dtype=int)
    for r in rows:
        i, j = index[r["nY"]], index[r["eval_nY"]]
        total[i, j] += r["eval_grid_accuracy"]
        count[i, j] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return depths, mean, count


#: A paired change has a direction only when every pair moves that way by more than this (accuracy).
CHANGE_THRESHOLD = 0.02


#: Run-level columns of a study's table after the settings, in order.
RUN_COLUMNS = ("key", "final_objective", "final_loss", "train_accuracy", "val_accuracy", "iterations",
               "train_seconds")
#: Evaluation columns, last, in order.
EVAL_COLUMNS = ("eval_nY", "eval_own", "eval_val_accuracy", "eval_grid_accuracy", "eval_grid_correct",
                "eval_grid_n")


def columns() -> list[str]:
    """A study table's columns, in order: every RunConfig field, :data:`RUN_COLUMNS`, :data:`EVAL_COLUMNS`."""
    from resnet_ode.training.runs import RunConfig

    return RunConfig.fields() + list(RUN_COLUMNS) + list(EVAL_COLUMNS)


def _check_columns(names, where: str):
    unknown = sorted(set(names) - set(columns()) - {"transfer"})
    if unknown:
        raise ValueError(f"{where}: unknown column(s) {unknown}; allowed: the study table's columns "
                         f"(resnet_ode.studies.tidy.columns()) and 'transfer'")


def select(rows, **settings) -> list[dict]:
    """The rows whose values equal ``settings`` (e.g. ``select(rows, T=5.0, alpha=0.5)``), in their order.

    Raises
    ------
    ValueError
        If a name is not a column of the table (a typo would otherwise select nothing).
    """
    _check_columns(settings, "select")
    return [r for r in rows if all(r[k] == v for k, v in settings.items())]


def networks(rows) -> list[dict]:
    """One row per trained network, its evaluation at its own depth, with its ``transfer`` added.

    Parameters
    ----------
    rows : sequence of dict
        Rows of a study's table (:func:`resnet_ode.studies.study.run_study`, or ``results.parquet`` read back).

    Returns
    -------
    list of dict
        Copies of the rows with ``eval_own`` true, in their order, each with
        ``transfer``: the mean ``eval_grid_accuracy`` of the network's weights
        (same ``key``) at every other evaluation depth of the table; NaN when
        it was evaluated at no other depth (``control="per_step"``, or a study
        with one ``nY``).
    """
    others: dict[str, list[float]] = {}
    for r in rows:
        if not r["eval_own"]:
            others.setdefault(r["key"], []).append(r["eval_grid_accuracy"])
    out = []
    for r in rows:
        if r["eval_own"]:
            values = others.get(r["key"], [])
            out.append({**r, "transfer": float(np.mean(values)) if values else math.nan})
    return out


def summarise(nets, by, fields) -> list[dict]:
    """Mean, smallest and largest of ``fields`` over the networks of each combination of ``by``.

    Parameters
    ----------
    nets : sequence of dict
        Rows of :func:`networks` (or any rows holding ``by`` and ``fields``).
    by : sequence of str
        Columns that define a group, e.g. ``("T", "alpha")``.
    fields : sequence of str
        Columns summarised, e.g. ``("eval_grid_accuracy", "transfer")``.

    Returns
    -------
    list of dict
        One per group, ordered by the values of ``by``: those values,
        ``networks`` (how many), and per field a dict with ``mean``, ``min``
        and ``max``.
    """
    by, fields = list(by), list(fields)
    _check_columns(by + fields, "summarise")
    groups: dict[tuple, list[dict]] = {}
    for r in nets:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for values in sorted(groups):
        group = groups[values]
        entry = dict(zip(by, values), networks=len(group))
        for name in fields:
            column = np.asarray([r[name] for r in group], dtype=float)
            entry[name] = {"mean": float(column.mean()), "min": float(column.min()), "max": float(column.max())}
        out.append(entry)
    return out


def paired_change(nets, vary: str, lo, hi, field: str = "transfer", match=("nY", "init_seed"),
                  threshold: float = CHANGE_THRESHOLD) -> dict:
    """How ``field`` changes from ``vary == lo`` to ``vary == hi``, network by network, and its direction.

    The networks at ``lo`` and at ``hi`` are paired by the values of
    ``match`` (by default the same depth and seed); each pair gives one
    change, ``field`` at ``hi`` minus ``field`` at ``lo``.

    Parameters
    ----------
    nets : sequence of dict
        Rows of :func:`networks`, already restricted (:func:`select`) so that
        ``vary`` and ``match`` tell the networks apart.
    vary : str
        The setting that changes, e.g. ``"alpha"``.
    lo, hi
        Its two values.
    field : str
        The number compared, e.g. ``"transfer"`` or ``"eval_grid_accuracy"``.
    match : sequence of str
        Settings a pair shares.
    threshold : float
        Smallest change (> 0) that counts, see ``direction`` below.

    Returns
    -------
    dict
        ``changes`` (ndarray, shape (n,), pairs ordered by the values of
        ``match``), ``n``, ``mean``, ``min``, ``max`` (NaN when ``n`` is 0)
        and ``direction``: ``"rises"`` when every change exceeds
        ``threshold``, ``"falls"`` when every change is below ``-threshold``,
        ``"mixed"`` otherwise, ``"none"`` when no pair exists.

    Raises
    ------
    ValueError
        If a column is unknown, ``threshold`` is not positive, or two
        networks at ``lo`` (or at ``hi``) share ``match`` (then another
        setting varies: :func:`select` one value of it first).
    """
    match = list(match)
    _check_columns([vary, field] + match, "paired_change")
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive number, got {threshold!r}")
    ends = []
    for value in (lo, hi):
        side: dict[tuple, dict] = {}
        for r in nets:
            if r[vary] == value:
                k = tuple(r[m] for m in match)
                if k in side:
                    raise ValueError(f"two networks with {vary} = {value!r} share {dict(zip(match, k))}: another "
                                     f"setting varies among them; select() one value of it first")
                side[k] = r
        ends.append(side)
    pairs = sorted(set(ends[0]) & set(ends[1]))
    changes = np.array([ends[1][k][field] - ends[0][k][field] for k in pairs], dtype=float)
    if not changes.size:
        return {"changes": changes, "n": 0, "mean": math.nan, "min": math.nan, "max": math.nan,
                "direction": "none"}
    if np.all(changes > threshold):
        direction = "rises"
    elif np.all(changes < -threshold):
        direction = "falls"
    else:
        direction = "mixed"
    return {"changes": changes, "n": int(changes.size), "mean": float(changes.mean()),
            "min": float(changes.min()), "max": float(changes.max()), "direction": direction}
