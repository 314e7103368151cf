"""Whether trained weights carry over between depths: Chapter 3.1's analyses.

Networks with different numbers of state layers ``nY`` share the same weights
(defined on control times), so the weights trained with one depth can be
evaluated by the network of another. Each function here is one analysis of the
chapter and returns an :class:`~resnet_ode.studies.analysis.Analysis`: its
tables, the numbers the page glues and writes to its numbers record (which
Chapter 4 reads), and the arrays its figures plot.

* :func:`training_runs`: the final numbers of every training run.
* :func:`cross_evaluation`: validation, training and grid accuracy of every
  pair of depths, per seed and as seed means, and the transfer blocks.
* :func:`heldout_transfer`: the same on the held-out grid points, balanced.
* :func:`feature_change`: why the transfer fails (features and classifier).
* :func:`optimizer_comparison`: the optimisers on one network.
* :func:`setting_cross_evaluation`: the cross-evaluation of a second set of
  runs (the reference's CG settings, the code's ``nt``).
* :func:`setting_comparison`: transfer of two settings side by side.
* :func:`depth_time`: held-out balanced accuracy over final time and depth.
* :func:`accuracy_record`: the per-seed and mean matrices as the record stores them.

Matrices are indexed ``[i, j]``: the weights trained with ``depths[i]`` in the
network of ``depths[j]``; ``s`` is the number of seeds and ``k`` of depths.
"""

from __future__ import annotations

import numpy as np

from resnet_ode.studies.aggregate import seed_summary, transfer_groups, transfer_summary
from resnet_ode.studies.analysis import Analysis
from resnet_ode.studies.evaluation import cross_accuracy, cross_grid_accuracy, feature_discrepancy, score_gaps
from resnet_ode.studies.heldout import cross_heldout_numbers, heldout_records, validation_overlap
from resnet_ode.util.formatting import Table

#: What the matrix tables' rows and columns are.
AXES = "rows are the nY the weights were trained with, columns the nY of the evaluating network."
#: Transfer blocks of :func:`resnet_ode.studies.aggregate.transfer_summary` shown by the chapter.
BLOCKS = ("deep_offdiag", "shallow_rows_offdiag", "shallow_cols_offdiag")


def _run_key(run) -> str:
    return f"{run.config.nY}/seed{run.config.init_seed}"


def _names(depths, idx) -> str:
    return ", ".join(str(depths[i]) for i in idx)


def _span(value, low, high) -> str:
    """``"mean (min-max)"`` with three decimals, as the span columns of the chapter's tables."""
    return f"{value:.3f} ({low:.3f}-{high:.3f})"


def _matrix_table(caption: str, depths, M) -> Table:
    return Table(["trained nY"] + list(depths), [[d] + [float(v) for v in row] for d, row in zip(depths, M)],
                 caption=caption, floatfmt="{:.3f}")


def accuracy_record(val_seeds, grid_list, n_val: int) -> dict:
    """Per-seed and seed-mean validation and grid accuracy matrices with intervals, as the numbers record holds them.

    Parameters
    ----------
    val_seeds : array_like, shape (s, k, k)
        Validation accuracy of every pair of depths, per seed.
    grid_list : sequence of AccuracyCounts
        Grid accuracy counts of every pair (``correct`` of shape (k, k)), per seed.
    n_val : int
        Validation points.

    Returns
    -------
    dict
        ``val_accuracy_seeds``, ``val_accuracy`` (seed mean), ``val_accuracy_summary``
        (:func:`~resnet_ode.studies.aggregate.seed_summary`), the same three for the
        grid (``grid_accuracy_seeds`` as counts), ``n_val`` and ``n_grid``.
    """
    val_seeds = np.asarray(val_seeds, dtype=float)
    grid_list = list(grid_list)
    grid_stack = np.stack([g.accuracy for g in grid_list])
    n_grid = int(grid_list[0].n)
    return {"val_accuracy_seeds": val_seeds, "val_accuracy": val_seeds.mean(axis=0),
            "val_accuracy_summary": seed_summary(val_seeds, n_points=int(n_val)),
            "grid_accuracy_seeds": [g.to_dict() for g in grid_list], "grid_accuracy": grid_stack.mean(axis=0),
            "grid_accuracy_summary": seed_summary(grid_stack),  # every labelled point: seeds only
            "n_val": int(n_val), "n_grid": n_grid}


def training_runs(runs, n_train: int, n_val: int) -> Analysis:
    """The final numbers of every training run.

    Parameters
    ----------
    runs : sequence of RunResult
        The chapter's runs (every depth and seed).
    n_train, n_val : int
        Training and validation points (for the caption).

    Returns
    -------
    Analysis
        One table (a row per run); numbers ``final`` and ``train_seconds`` (by
        ``"nY/seedS"``), ``n_seeds`` and ``seed_list`` (text).
    """
    runs = list(runs)
    seeds = sorted({int(r.config.init_seed) for r in runs})
    depths = sorted({int(r.config.nY) for r in runs})
    rows = []
    for r in runs:
        f = r.final()
        rows.append([r.config.nY, r.config.init_seed, f"{r.model.ode.h:.4f}", f["iterations"], f["cg_steps"],
                     f["objective"], f["train_accuracy"], f["val_accuracy"]])
    table = Table(["nY", "seed", "h", "GN iterations", "CG steps", "objective", "train acc", "val acc"], rows,
                  caption=f"Training runs, final numbers of every run ({len(depths)} depths, {len(seeds)} seeds): Euler "
                          "step h, Gauss-Newton iterations, CG steps in all, final objective Φ, and accuracy on the "
                          f"{n_train} training and {n_val} validation points.")
    return Analysis([table], {"n_seeds": str(len(seeds)), "seed_list": ", ".join(map(str, seeds)),
                              "final": {_run_key(r): r.final() for r in runs},
                              "train_seconds": {_run_key(r): r.train_seconds for r in runs}})


def _transfer_numbers(per_seed: list, depths) -> dict:
    """Glue numbers of the transfer blocks: seed mean, smallest and largest seed of each block."""
    tr = seed_summary(per_seed)
    out = {}
    for key in BLOCKS:
        out[key] = tr[key]["value"]
        out[key + "_min"] = tr[key]["min"]
        out[key + "_max"] = tr[key]["max"]
    wins = sum(p["deep_offdiag"] > p["shallow_rows_offdiag"] for p in per_seed)
    out["deep_beats_count"] = str(wins)
    out["deep_beats_shallow"] = ("holds on every seed" if wins == len(per_seed)
                                 else f"holds on {wins} of {len(per_seed)} seeds")
    return out


def cross_evaluation(by_seed: dict, X_train, y_train, X_val, y_val) -> Analysis:
    """Validation, training and grid accuracy of every pair of depths, per seed and as seed means.

    Parameters
    ----------
    by_seed : dict
        Seed -> runs of every depth in increasing order (the same depths for
        every seed, at least 4).
    X_train : ndarray, shape (2, m)
    y_train : ndarray, shape (m,)
    X_val : ndarray, shape (2, v)
    y_val : ndarray, shape (v,)

    Returns
    -------
    Analysis
        Tables: validation mean, its interval half-widths, grid mean, its
        half-widths, and the transfer blocks per seed. Numbers: the record's
        :func:`accuracy_record` entries, ``train_accuracy``, ``transfer``
        (``per_seed``, ``summary``) and the glued values (``diag_min``,
        ``spread_max``, ``deep_offdiag`` ...). Arrays: ``val_seeds`` (s, k, k),
        ``val_mean`` and ``spread`` (k, k), ``grid_seeds`` (AccuracyCounts).
    """
    seeds = list(by_seed)
    first = by_seed[seeds[0]]
    depths = [int(r.config.nY) for r in first]
    k, n_val = len(depths), int(np.shape(X_val)[1])
    val_seeds = np.stack([cross_accuracy(by_seed[s], X_val, y_val) for s in seeds])
    train_seeds = np.stack([cross_accuracy(by_seed[s], X_train, y_train) for s in seeds])
    grid_seeds = [cross_grid_accuracy(by_seed[s]) for s in seeds]
    record = accuracy_record(val_seeds, grid_seeds, n_val)
    val_mean, grid_mean = record["val_accuracy"], record["grid_accuracy"]
    val_sum, grid_sum = record["val_accuracy_summary"], record["grid_accuracy_summary"]
    spread = val_seeds.max(axis=0) - val_seeds.min(axis=0)
    per_seed = [transfer_summary(M) for M in val_seeds]
    deep, shallow = transfer_groups(k)
    n_grid = record["n_grid"]
    tables = [
        _matrix_table(f"Cross-evaluation, validation accuracy on {n_val} points, mean of {len(seeds)} seeds: " + AXES,
                      depths, val_mean),
        _matrix_table("Cross-evaluation, validation accuracy: half-width of the 95 % interval of each mean of the "
                      f"table above ({val_sum['method']}): " + AXES, depths, (val_sum["high"] - val_sum["low"]) / 2),
        _matrix_table(f"Cross-evaluation, grid accuracy on all {n_grid} labelled grid points, mean of {len(seeds)} "
                      "seeds: " + AXES, depths, grid_mean),
        _matrix_table("Cross-evaluation, grid accuracy: half-width of the 95 % interval of each mean of the table "
                      f"above ({grid_sum['method']}): " + AXES, depths, (grid_sum["high"] - grid_sum["low"]) / 2),
    ]
    tr = seed_summary(per_seed)
    labels = [f"deep block (nY = {_names(depths, deep)})", f"rows nY = {_names(depths, shallow)}",
              f"columns nY = {_names(depths, shallow)}"]
    rows = [[f"seed {s}"] + [p[key] for key in BLOCKS] for s, p in zip(seeds, per_seed)]
    rows += [[what] + [tr[key][stat] for key in BLOCKS]
             for what, stat in (("seed mean", "value"), ("smallest seed", "min"), ("largest seed", "max"))]
    tables.append(Table(["seed"] + labels, rows,
                        caption=f"Transfer between depths: mean off-diagonal validation accuracy ({n_val} points) of "
                                "three blocks of the cross-evaluation matrix (columns), for every seed, their mean, "
                                "and the smallest and largest seed.", floatfmt="{:.3f}"))
    numbers = {**record, "train_accuracy": train_seeds.mean(axis=0), "transfer": {"per_seed": per_seed, "summary": tr},
               "val_halfwidth_max": float(np.max(val_sum["high"] - val_sum["low"]) / 2),
               "spread_max": float(spread.max()), "spread_diag_max": float(np.diag(spread).max()),
               "grid_diag_min": float(np.diag(grid_mean).min()), "grid_diag_max": float(np.diag(grid_mean).max()),
               "grid_val_gap_max": float(np.max(np.abs(grid_mean - val_mean))),
               "diag_min": float(np.diag(val_mean).min()), "diag_max": float(np.diag(val_mean).max()),
               "deep_names": _names(depths, deep), "shallow_names": _names(depths, shallow),
               "acc_sl_l": float(val_mean[k - 2, k - 1]), "acc_l_sl": float(val_mean[k - 1, k - 2]),
               "acc_first_last": float(val_mean[0, k - 1]),
               **_transfer_numbers(per_seed, depths)}
    return Analysis(tables, numbers, {"val_seeds": val_seeds, "val_mean": val_mean, "spread": spread,
                                      "grid_seeds": grid_seeds, "depths": depths, "seeds": seeds})


def heldout_transfer(by_seed: dict, X_train, X_val, y_val) -> Analysis:
    """Own and transferred accuracy on the grid points not in the training set, balanced and plain.

    Parameters
    ----------
    by_seed : dict
        Seed -> runs of every depth in increasing order.
    X_train : ndarray, shape (2, m)
    X_val : ndarray, shape (2, v)
    y_val : ndarray, shape (v,)

    Returns
    -------
    Analysis
        One table (own accuracy per depth: seed mean and smallest-largest seed);
        numbers ``heldout`` (:func:`~resnet_ode.studies.heldout.cross_heldout_numbers`),
        ``validation_overlap`` (validation points that are training points) and
        the glued ``heldout_*`` values.
    """
    seeds = list(by_seed)
    depths = [int(r.config.nY) for r in by_seed[seeds[0]]]
    overlap = validation_overlap(X_train, X_val, y_val)
    heldout = cross_heldout_numbers([by_seed[s] for s in seeds])
    bal, plain = np.asarray(heldout["balanced_seeds"]), np.asarray(heldout["accuracy_seeds"])
    own_bal = np.stack([np.diag(m) for m in bal])          # (s, k)
    own_plain = np.stack([np.diag(m) for m in plain])
    span = lambda v: _span(v.mean(), v.min(), v.max())  # noqa: E731
    base = heldout["baseline"]
    table = Table(["nY", "balanced accuracy", "plain accuracy"],
                  [[d, span(b), span(a)] for d, b, a in zip(depths, own_bal.T, own_plain.T)],
                  caption=f"Own accuracy of every depth on the {heldout['n']} grid points not in the training set, seed "
                          f"mean (smallest-largest seed) over {len(seeds)} seeds: class-balanced and plain. Always "
                          f"answering the majority class scores {base['balanced']:.3f} balanced, "
                          f"{base['accuracy']:.3f} plain.")
    tr = seed_summary([transfer_summary(M) for M in bal])
    per_seed = [transfer_summary(M) for M in bal]
    deep, shallow = transfer_groups(len(depths))
    blocks = Table(["block", "seed mean", "min", "max"],
                   [[f"off-diagonal among nY = {_names(depths, deep)}", tr["deep_offdiag"]["value"],
                     tr["deep_offdiag"]["min"], tr["deep_offdiag"]["max"]],
                    [f"rows nY = {_names(depths, shallow)}, off-diagonal", tr["shallow_rows_offdiag"]["value"],
                     tr["shallow_rows_offdiag"]["min"], tr["shallow_rows_offdiag"]["max"]]],
                   caption=f"Transfer between depths on the {heldout['n']} held-out grid points: mean off-diagonal "
                           f"class-balanced accuracy of two blocks, mean of the {len(seeds)} seeds, smallest and "
                           f"largest seed. Always answering one class scores {base['balanced']:.3f}.",
                   floatfmt="{:.3f}")
    wins = sum(p["deep_offdiag"] > p["shallow_rows_offdiag"] for p in per_seed)
    numbers = {"heldout": heldout, "validation_overlap": overlap.count,
               "val_overlap": str(overlap.count), "n_heldout": str(heldout["n"]),
               "heldout_baseline_plain": base["accuracy"], "heldout_baseline_balanced": base["balanced"],
               "heldout_own_bal_min": float(own_bal.mean(axis=0).min()),
               "heldout_own_bal_max": float(own_bal.mean(axis=0).max()),
               "heldout_deep_offdiag": tr["deep_offdiag"]["value"],
               "heldout_deep_offdiag_min": tr["deep_offdiag"]["min"],
               "heldout_deep_offdiag_max": tr["deep_offdiag"]["max"],
               "heldout_shallow_rows": tr["shallow_rows_offdiag"]["value"],
               "heldout_shallow_rows_min": tr["shallow_rows_offdiag"]["min"],
               "heldout_shallow_rows_max": tr["shallow_rows_offdiag"]["max"],
               "heldout_deep_beats_count": str(wins)}
    return Analysis([table, blocks], numbers, {"balanced_seeds": bal, "accuracy_seeds": plain})


def feature_change(runs, X_val) -> Analysis:
    """How much the final features move under another depth, and how finely the classifier reads them (one seed).

    Parameters
    ----------
    runs : sequence of RunResult
        One seed's runs of every depth in increasing order.
    X_val : ndarray, shape (2, v)

    Returns
    -------
    Analysis
        Two tables (relative feature change of every pair; classifier weights,
        features and score gaps per depth); numbers ``feature_discrepancy``
        (k, k) and the glued ``disc_sl_l``, ``max_W_sl``, ``feat_sl``,
        ``gap_sl`` (second-deepest network).
    """
    runs = list(runs)
    depths = [int(r.config.nY) for r in runs]
    seed, k, n_val = runs[0].config.init_seed, len(runs), int(np.shape(X_val)[1])
    disc = feature_discrepancy(runs, X_val)
    rows = []
    for r in runs:
        W = r.model.classifier.matrix(r.W)[:, :-1]
        Y = r.model.features.apply(r.theta, X_val)
        rows.append([r.config.nY, float(np.abs(W).max()), float(np.abs(Y).mean()),
                     float(np.median(score_gaps(r.model, r.theta, r.W, X_val)))])
    tables = [
        _matrix_table("Feature change under another depth: relative change of the final features, "
                      "‖Y_T^j(θ_i) − Y_T^i(θ_i)‖ / ‖Y_T^i(θ_i)‖, when the weights trained with nY = d_i (rows) are "
                      f"evaluated by the network with nY = d_j (columns), on the {n_val} validation points (seed {seed}).",
                      depths, disc),
        Table(["nY", "max |W|", "mean |Y_T|", "median score gap"], rows,
              caption=f"Classifier weights, features and score gaps per depth (seed {seed}): largest classifier weight "
                      "|W| (bias column left out), mean |Y_T| of the final features and median gap between the largest "
                      f"and the second-largest class score, over the {n_val} validation points.", floatfmt="{:.2f}"),
    ]
    return Analysis(tables, {"feature_discrepancy": disc, "disc_sl_l": float(disc[k - 2, k - 1]),
                             "max_W_sl": rows[k - 2][1], "feat_sl": rows[k - 2][2], "gap_sl": rows[k - 2][3]})


def optimizer_comparison(opt_runs: dict, n_train: int, n_val: int) -> Analysis:
    """The optimisers compared on one network from the same initial weights.

    Parameters
    ----------
    opt_runs : dict
        Optimiser name -> RunResult.
    n_train, n_val : int
        Training and validation points (for the caption).

    Returns
    -------
    Analysis
        One table; numbers ``optimizers`` (name -> final numbers, ``train_seconds``,
        ``evaluations``) and ``opt_nY``.
    """
    rows, record = [], {}
    for name, r in opt_runs.items():
        f = r.final()
        evaluations = int(r.history["evaluations"][-1])
        rows.append([name, f["iterations"], evaluations, f["objective"], f["train_accuracy"], f["val_accuracy"]])
        record[name] = {**f, "train_seconds": r.train_seconds, "evaluations": evaluations}
    nY = next(iter(opt_runs.values())).config.nY
    table = Table(["optimiser", "iterations", "objective evaluations", "objective", "train acc", "val acc"], rows,
                  caption=f"Optimisers compared on the network with nY = {nY} from the same initial weights: "
                          "iterations, objective evaluations, final objective, and accuracy on the "
                          f"{n_train} training and {n_val} validation points.")
    return Analysis([table], {"optimizers": record, "opt_nY": str(nY)})


def setting_cross_evaluation(by_seed: dict, X_val, y_val, label: str) -> Analysis:
    """The cross-evaluation of a second set of runs (other training settings), with its held-out numbers.

    Parameters
    ----------
    by_seed : dict
        Seed -> runs of every depth in increasing order.
    X_val : ndarray, shape (2, v)
    y_val : ndarray, shape (v,)
    label : str
        The setting, for the caption ("with the reference's CG settings").

    Returns
    -------
    Analysis
        One table (seed-mean validation matrix); numbers: the record's
        :func:`accuracy_record` entries, ``seeds``, ``heldout``, ``transfer``
        (seed summary of the validation blocks), ``final`` and ``train_seconds``;
        glued: ``n_seeds``, ``diag_min`` (lowest own accuracy of the seed mean) and
        ``deep_offdiag`` with its ``_min`` and ``_max`` over the seeds. Arrays: ``val_seeds``, ``val_mean``, ``grid_seeds``.
    """
    seeds = list(by_seed)
    runs = [r for s in seeds for r in by_seed[s]]
    depths = [int(r.config.nY) for r in by_seed[seeds[0]]]
    n_val = int(np.shape(X_val)[1])
    val_seeds = np.stack([cross_accuracy(by_seed[s], X_val, y_val) for s in seeds])
    grid_seeds = [cross_grid_accuracy(by_seed[s]) for s in seeds]
    record = accuracy_record(val_seeds, grid_seeds, n_val)
    table = _matrix_table(f"Cross-evaluation {label}, validation accuracy on {n_val} points, mean of {len(seeds)} "
                          "seeds: " + AXES, depths, record["val_accuracy"])
    tr = seed_summary([transfer_summary(M) for M in val_seeds])
    numbers = {**record, "seeds": seeds, "heldout": cross_heldout_numbers([by_seed[s] for s in seeds]),
               "transfer": tr, "final": {_run_key(r): r.final() for r in runs},
               "train_seconds": {_run_key(r): r.train_seconds for r in runs},
               "n_seeds": str(len(seeds)), "diag_min": float(np.diag(record["val_accuracy"]).min()),
               "deep_offdiag": tr["deep_offdiag"]["value"], "deep_offdiag_min": tr["deep_offdiag"]["min"],
               "deep_offdiag_max": tr["deep_offdiag"]["max"]}
    return Analysis([table], numbers, {"val_seeds": val_seeds, "val_mean": record["val_accuracy"],
                                       "grid_seeds": grid_seeds, "depths": depths})


def setting_comparison(settings: dict, depths) -> Analysis:
    """Transfer under several training settings side by side, on the validation points and the whole grid.

    Parameters
    ----------
    settings : dict
        Short name (a glue prefix, ``"book"``) -> ``(label, val_seeds, grid_seeds)``:
        the row's label, validation accuracy matrices of shape (s, k, k) and grid
        AccuracyCounts per seed (the ``arrays`` of :func:`cross_evaluation` and
        :func:`setting_cross_evaluation`).
    depths : sequence of int, length k

    Returns
    -------
    Analysis
        One table (a row per setting: lowest own validation and grid accuracy,
        mean off-diagonal validation accuracy of the deep block and the shallow
        rows, and grid accuracy of the deep block; seed mean with smallest-largest
        seed). Numbers ``<name>_diag_min``, ``<name>_grid_diag_min``,
        ``<name>_deep_offdiag``, ``<name>_shallow_rows``, ``<name>_grid_deep``
        (seed means) and ``<name>_n_seeds``.
    """
    deep, shallow = transfer_groups(len(depths))
    span = lambda e: _span(e["value"], e["min"], e["max"])  # noqa: E731
    rows, numbers, counts = [], {}, []
    for name, (label, val_seeds, grid_seeds) in settings.items():
        t_val = seed_summary([transfer_summary(M) for M in val_seeds])
        t_grid = seed_summary([transfer_summary(g.accuracy) for g in grid_seeds])
        counts.append(str(len(val_seeds)))
        rows.append([label, span(t_val["diag_min"]), span(t_grid["diag_min"]), span(t_val["deep_offdiag"]),
                     span(t_val["shallow_rows_offdiag"]), span(t_grid["deep_offdiag"])])
        numbers.update({f"{name}_diag_min": t_val["diag_min"]["value"], f"{name}_grid_diag_min": t_grid["diag_min"]["value"],
                        f"{name}_deep_offdiag": t_val["deep_offdiag"]["value"],
                        f"{name}_shallow_rows": t_val["shallow_rows_offdiag"]["value"],
                        f"{name}_grid_deep": t_grid["deep_offdiag"]["value"], f"{name}_n_seeds": str(len(val_seeds))})
    table = Table(["setting", "lowest own: val", "lowest own: grid", "val: deep block", "val: shallow rows",
                   "grid: deep block"], rows,
                  caption=f"Transfer under {len(settings)} training settings, seed means (smallest-largest seed) over "
                          f"{', '.join(counts)} seeds: lowest own accuracy of the networks on the validation points "
                          f"and on the grid, and mean off-diagonal accuracy of the deep block (nY = {_names(depths, deep)}) "
                          f"and of the shallow rows (nY = {_names(depths, shallow)}).")
    return Analysis([table], numbers)


def _direction(deep: float, shallow: float, decimals: int = 3) -> str:
    """Whether the deepest network scores ``"higher than"``, ``"lower than"`` or ``"the same as"`` the shallowest (at
    the decimals shown)."""
    d, s = round(float(deep), decimals), round(float(shallow), decimals)
    return "higher than" if d > s else "lower than" if d < s else "the same as"


def depth_time(runs) -> Analysis:
    """Held-out class-balanced accuracy over a grid of final times T and numbers of state layers nY.

    Parameters
    ----------
    runs : sequence of RunResult
        The grid's runs (every T, nY and seed), sharing one training set.

    Returns
    -------
    Analysis
        One table (rows T, columns nY: seed mean and smallest-largest seed);
        numbers ``time_grid`` (:func:`~resnet_ode.studies.heldout.heldout_records`)
        and the glued ``time_drop_largest_T`` and ``time_drop_smallest_T`` (seed
        mean of the deepest minus the shallowest network at the largest and the
        smallest T), ``time_T_largest``, ``time_T_smallest``, ``time_nY_min``,
        ``time_nY_max``, the seed means ``time_acc_largest_T_min_nY`` and
        ``time_acc_largest_T_max_nY``, ``time_n_seeds`` and ``time_direction``
        (the deepest network scores "higher than", "lower than" or "the same
        as" the shallowest at the largest T). Arrays: ``times`` (a,), ``depths`` (b,), ``values``
        (a, b, s) per-seed accuracies, ``steps`` (a, b).
    """
    grid = heldout_records(runs)
    recs = grid["runs"]
    times, ns = sorted({r["T"] for r in recs}), sorted({r["nY"] for r in recs})
    cell = lambda t, n: [r["heldout_balanced"] for r in recs if r["T"] == t and r["nY"] == n]  # noqa: E731
    sizes = {len(cell(t, n)) for t in times for n in ns}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"runs: every (T, nY) needs the same number of seeds, got {sorted(sizes)}")
    values = np.array([[cell(t, n) for n in ns] for t in times])     # (a, b, s)
    means = values.mean(axis=2)
    table = Table(["T"] + [f"nY = {n}" for n in ns],
                  [[f"{t:g}"] + [_span(v.mean(), v.min(), v.max()) for v in row] for t, row in zip(times, values)],
                  caption=f"Depth against final time: held-out class-balanced accuracy ({grid['n']} points), seed mean "
                          f"(smallest-largest seed) over {values.shape[2]} seeds, for every final time T (rows) and "
                          "number of state layers nY (columns); the step is h = T / (nY - 1). Always answering one "
                          "class scores 0.200.")
    numbers = {"time_grid": grid, "time_drop_largest_T": float(means[-1, -1] - means[-1, 0]),
               "time_drop_smallest_T": float(means[0, -1] - means[0, 0]),
               "time_T_largest": f"{times[-1]:g}", "time_T_smallest": f"{times[0]:g}",
               "time_nY_min": str(ns[0]), "time_nY_max": str(ns[-1]),
               "time_acc_largest_T_min_nY": float(means[-1, 0]), "time_acc_largest_T_max_nY": float(means[-1, -1]),
               "time_n_seeds": str(values.shape[2]), "time_direction": _direction(means[-1, -1], means[-1, 0])}
    steps = np.array([[t / (n - 1) for n in ns] for t in times])
    return Analysis([table], numbers, {"times": times, "depths": ns, "values": values, "steps": steps})


#: Entries of :func:`setting_cross_evaluation` kept in the numbers record under its setting.
SETTING_RECORD = ("val_accuracy_seeds", "val_accuracy", "val_accuracy_summary", "grid_accuracy_seeds", "grid_accuracy",
                  "grid_accuracy_summary", "n_val", "n_grid", "seeds", "heldout", "final", "train_seconds")


def chapter_record(depths, seeds, changes, runs: Analysis, cross: Analysis, heldout: Analysis, features: Analysis,
                   optimizers: Analysis, reference_cg: Analysis, code_nt: Analysis, nt: int, time: Analysis) -> dict:
    """The numbers record of Chapter 3.1 (``_build/numbers/chapter-3.1.json``), which Chapter 4 reads.

    Parameters
    ----------
    depths, seeds : list of int
        The chapter's depths nY and initial-weight seeds.
    changes : dict
        Run settings changed from the defaults.
    runs, cross, heldout, features, optimizers : Analysis
        Of :func:`training_runs`, :func:`cross_evaluation`, :func:`heldout_transfer`,
        :func:`feature_change` and :func:`optimizer_comparison`.
    reference_cg, code_nt : Analysis
        Of :func:`setting_cross_evaluation` for the reference's CG settings and the code's ``nt``.
    nt : int
        The code's number of control layers.
    time : Analysis
        Of :func:`depth_time`.

    Returns
    -------
    dict
        ``depths``, ``seeds``, ``changes``, ``heldout``, ``validation_overlap``,
        ``time_grid``, the :func:`accuracy_record` entries, ``train_accuracy``,
        ``transfer``, ``train_seconds``, ``final``, ``feature_discrepancy``,
        ``optimizers``, and ``reference_cg`` and ``code_nt`` (each with its
        accuracy record, ``seeds``, ``heldout``, ``final``, ``train_seconds``;
        ``transfer`` for the reference CG, ``nt`` for the code's runs).
    """
    accuracy = {key: cross[key] for key in ("val_accuracy_seeds", "val_accuracy", "val_accuracy_summary",
                                            "grid_accuracy_seeds", "grid_accuracy", "grid_accuracy_summary",
                                            "n_val", "n_grid")}
    setting = lambda a: {key: a[key] for key in SETTING_RECORD}  # noqa: E731
    return {"depths": list(depths), "seeds": list(seeds), "heldout": heldout["heldout"], "time_grid": time["time_grid"],
            "validation_overlap": heldout["validation_overlap"], "changes": changes, **accuracy,
            "train_accuracy": cross["train_accuracy"], "transfer": cross["transfer"],
            "train_seconds": runs["train_seconds"], "final": runs["final"],
            "feature_discrepancy": features["feature_discrepancy"],
            "reference_cg": {**setting(reference_cg), "transfer": reference_cg["transfer"]},
            "code_nt": {**setting(code_nt), "nt": int(nt)},
            "optimizers": optimizers["optimizers"]}
