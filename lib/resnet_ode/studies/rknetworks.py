"""Chapter 3.4's analyses of the Peaks networks trained with RK4 and with forward Euler of equal cost.

Each RK4 network with ``nY`` state times (``4 (nY - 1)`` evaluations of the
dynamics per forward pass) is paired with the Euler network of equal cost
(``4 (nY - 1) + 1`` state times), trained from the same initial weights. Each
function is one analysis of the page and returns an
:class:`~resnet_ode.studies.analysis.Analysis`; ``numbers["record"]`` is the part
of the chapter's numbers record it owns, in the layout Chapter 4 reads
(:func:`resnet_ode.studies.conclusions.rk4_accuracy`).

- :func:`equal_cost_networks`: per-run and per-network accuracies (validation,
  grid, held-out), RK4 minus Euler paired by seed, and the held-out balanced
  comparison against the smallest gain that matters
  (:func:`resnet_ode.studies.margins.heldout_rk4_accuracy`).
- :func:`cross_discretisation`: the trained weights under other
  discretisations, and the distance of the final features from a fine RK4
  network that stands for the exact ODE.
- :func:`trained_network_convergence`: the order RK4 realises on a trained
  network, with steps aligned with the control times and not.
- :func:`numbers_record`: the chapter's numbers record from the analyses.
"""
from __future__ import annotations

import numpy as np

from resnet_ode.core.costs import equal_cost_states, evaluations, step_evaluations
from resnet_ode.studies import margins, rkstudy
from resnet_ode.studies.aggregate import (group_intervals, group_means, group_row_means, group_runs, method_key,
                                          pair_by_seed, run_record)
from resnet_ode.studies.analysis import Analysis
from resnet_ode.studies.evaluation import run_grid_accuracy
from resnet_ode.studies.heldout import confusion_scores, heldout_baseline, run_heldout_confusion
from resnet_ode.studies.uncertainty import Estimate, accuracy_difference, paired_difference
from resnet_ode.util.formatting import Table

#: Accuracies with an interval over seeds and evaluation points, in the tables' order.
ACCURACIES = ("val_accuracy", "grid_accuracy")


def network_labels(runs) -> list:
    """The ``(integrator, nY)`` of the runs, by evaluations per forward pass, RK4 before Euler at equal cost."""
    configs = {method_key(r): r.config for r in runs}
    return sorted(configs, key=lambda k: (evaluations(configs[k]), k[0] != "rk4"))


def equal_cost_pairs(labels) -> list:
    """``[((rk4, nY), (euler, nY_euler))]``: every RK4 network of ``labels`` with its Euler network of equal cost."""
    stages = step_evaluations("rk4")
    return [(k, ("euler", equal_cost_states(k[1], stages))) for k in labels
            if k[0] == "rk4" and ("euler", equal_cost_states(k[1], stages)) in labels]


def _signed(x) -> str:
    """``x`` as ``+0.012``; ``"–"`` for a bound that could not be formed (one seed)."""
    return "–" if x is None else f"{x:+.3f}"


def _name(key) -> str:
    return f"{key[0]} {key[1]}"


def run_records(runs) -> list:
    """One record per run: settings, final numbers, cost, grid accuracy and held-out plain and balanced accuracy.

    The grid accuracy is on all labelled grid points, the held-out numbers on
    the grid points not in the training set (both stored like the runs).
    """
    records = []
    for r in runs:
        g = run_grid_accuracy(r)
        C = run_heldout_confusion(r)
        plain, balanced = confusion_scores(C)
        records.append(run_record(r, evaluations=evaluations(r.config), grid_accuracy=g.accuracy,
                                  grid_correct=g.correct, heldout_accuracy=plain,
                                  heldout_balanced=balanced, n_heldout=int(C.sum())))
    return records


def equal_cost_networks(runs, setting: str = "book") -> Analysis:
    """RK4 and Euler Peaks networks of equal cost: accuracies per run and per network, and RK4 minus Euler.

    Parameters
    ----------
    runs : sequence of RunResult
        The runs of :func:`resnet_ode.book.experiments.runge_kutta_runs` (every
        network with every seed, all on the same data).
    setting : str
        Name of the training setting, shown in the difference table.

    Returns
    -------
    Analysis
        Tables: per run; seed means with 95 % intervals; RK4 minus Euler
        paired by seed (validation and grid accuracy); the held-out balanced
        comparison Chapter 4 grades. Numbers: ``n_val``, ``n_grid``,
        ``n_heldout``, ``n_seeds``, ``seed_list``, ``rk4_seed_spread``,
        ``val_/grid_/heldout_/evaluations_<method>_<nY>``, ``diff_<val|grid>_<evaluations>``,
        ``heldout_diff_<evaluations>`` (difference text), ``heldout_margin``,
        ``heldout_grade_<evaluations>``, ``heldout_verdict``, baselines
        ``baseline_balanced``/``baseline_accuracy``, ranges ``objective_lo/hi``,
        ``grid_lo/hi``, ``val_lo/hi`` and ``record`` (the ``peaks`` entry without
        the cross-evaluation). Arrays: ``labels``, ``groups`` (runs by network),
        ``intervals``, ``records``.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one trained run")
    labels = network_labels(runs)
    groups = group_runs(runs)
    records = run_records(runs)
    peaks = runs[0].config.dataset()
    n_val, n_grid, n_heldout = int(peaks.X_val.shape[1]), run_grid_accuracy(runs[0]).n, records[0]["n_heldout"]
    # The validation points are a sample (its Wilson term is added); the grid is every labelled point, so its
    # accuracies vary only with the seeds.
    n_points = {"val_accuracy": n_val}
    mean = group_means(records, ("objective", "train_accuracy") + ACCURACIES, order=labels)
    heldout_mean = group_means(records, ("heldout_accuracy", "heldout_balanced"), order=labels, seconds=False)
    intervals = group_intervals(records, ACCURACIES, order=labels, n_points=n_points)
    pairs = equal_cost_pairs(labels)
    diffs = {}
    for rk, eu in pairs:
        diffs[evaluations(groups[rk][0].config)] = {
            "val_accuracy": accuracy_difference(*pair_by_seed(records, rk, eu, "val_accuracy")[:2], n_val),
            "grid_accuracy": paired_difference(*pair_by_seed(records, rk, eu, "grid_accuracy")[:2])}
    verdict = margins.heldout_rk4_accuracy(records, [(rk[1], eu[1]) for rk, eu in pairs])
    base = heldout_baseline(peaks.X_train)
    seeds = list(dict.fromkeys(int(r.config.init_seed) for r in runs))

    run_table = Table(
        ["network", "seed", "objective", "train acc", "val acc", "grid acc", "held-out acc", "held-out bal acc"],
        [[_name(method_key(rec)), rec["init_seed"], rec["objective"], rec["train_accuracy"], rec["val_accuracy"],
          rec["grid_accuracy"], rec["heldout_accuracy"], rec["heldout_balanced"]] for rec in records],
        caption=f"Peaks networks trained with RK4 and with Euler (method and nY), per seed: final objective, "
                f"training accuracy, validation accuracy on {n_val} points, grid accuracy on all {n_grid} labelled "
                f"grid points, and plain and class-balanced accuracy on the {n_heldout} grid points not in the "
                "training set.")
    mean_table = Table(
        ["network", "evaluations", "h", "seeds", "objective", "train acc", "val acc [95 %]", "grid acc [95 %]"],
        [[_name(k), evaluations(groups[k][0].config), float(groups[k][0].model.ode.h), intervals[k]["val_accuracy"]["n"],
          mean[k]["objective"], mean[k]["train_accuracy"], Estimate.from_dict(intervals[k]["val_accuracy"]).fmt(),
          Estimate.from_dict(intervals[k]["grid_accuracy"]).fmt()] for k in labels],
        caption=f"Peaks networks ({setting} setting), seed means per network with the evaluations of the dynamics per "
                f"forward pass and the step h; the 95 % intervals cover the seeds and, for validation, the sample of {n_val} "
                f"points (the {n_grid} grid points are every labelled point: their interval covers the seeds only).", floatfmt=[None, None, "{:.3f}"] + [None] * 5)
    diff_table = Table(
        ["setting", "pair", "evaluations", "seeds", "val acc difference [95 %]", "grid acc difference [95 %]"],
        [[setting, f"{_name(rk)} - {_name(eu)}", ev, d["val_accuracy"].n, d["val_accuracy"].fmt(sign=True),
          d["grid_accuracy"].fmt(sign=True)] for (rk, eu), (ev, d) in zip(pairs, diffs.items())],
        caption=f"RK4 minus Euler of equal cost ({setting} setting), paired by seed: difference of validation "
                f"({n_val} points, a sample) and grid ({n_grid} points, the whole grid: paired t over the seeds only) "
                "accuracy with 95 % intervals.")
    ho_rows, numbers = [], {}
    for (rk, eu), (ev, p) in zip(pairs, verdict.evidence["pairs"].items()):
        d = p["difference"]
        ho_rows.append([f"{_name(rk)} - {_name(eu)}", int(ev), p["rk4"]["value"], p["euler"]["value"],
                        f"{d['value']:+.3f}", f"[{_signed(p['lower'])}, {_signed(p['upper'])}]", p["margin"], p["grade"]])
        numbers[f"heldout_diff_{ev}"] = f"{d['value']:+.3f}"
        numbers[f"heldout_bounds_{ev}"] = f"{_signed(p['lower'])} to {_signed(p['upper'])}"
        numbers[f"heldout_margin_{ev}"] = p["margin"]
        numbers[f"heldout_grade_{ev}"] = p["grade"]
    heldout_table = Table(
        ["pair", "evaluations", "RK4 bal acc", "Euler bal acc", "difference", "95 % one-sided bounds",
         "smallest gain that matters", "grade"], ho_rows,
        caption=f"Held-out balanced accuracy ({setting} setting; {n_heldout} grid points not in the training set, "
                f"mean over {verdict.evidence['seeds']} seeds, bounds – where one seed gives none; always answering one class scores "
                f"{base.balanced:.3f}): RK4 minus Euler paired by seed, graded against the smallest gain that matters, "
                f"{margins.ERROR_SHARE:g} of the Euler network's errors.", floatfmt="{:.3f}")

    for k in labels:
        tag = f"{k[0]}_{k[1]}"
        numbers[f"val_{tag}"] = mean[k]["val_accuracy"]
        numbers[f"grid_{tag}"] = mean[k]["grid_accuracy"]
        numbers[f"heldout_{tag}"] = heldout_mean[k]["heldout_balanced"]
        numbers[f"evaluations_{tag}"] = evaluations(groups[k][0].config)
    for ev, d in diffs.items():
        for metric, e in d.items():
            numbers[f"diff_{metric.split('_')[0]}_{ev}"] = e.fmt(sign=True)
    numbers.update({
        "n_val": n_val, "n_grid": n_grid, "n_heldout": n_heldout, "n_seeds": len(seeds),
        "seed_list": ", ".join(str(s) for s in seeds),
        "rk4_seed_spread": max(float(np.ptp([rec["val_accuracy"] for rec in group]))
                               for k, group in group_runs(records).items() if k[0] == "rk4"),
        "heldout_verdict": verdict.verdict, "heldout_margin": margins.ERROR_SHARE,
        "baseline_balanced": base.balanced, "baseline_accuracy": base.accuracy,
        "objective_lo": min(m["objective"] for m in mean.values()),
        "objective_hi": max(m["objective"] for m in mean.values()),
        "grid_lo": min(m["grid_accuracy"] for m in mean.values()),
        "grid_hi": max(m["grid_accuracy"] for m in mean.values()),
        "val_lo": min(m["val_accuracy"] for m in mean.values()),
        "val_hi": max(m["val_accuracy"] for m in mean.values()),
        "record": {"runs": records, "n_val": n_val, "n_grid": n_grid,
                   "mean": {f"{k[0]}-nY{k[1]}": v for k, v in mean.items()},
                   "intervals": {f"{k[0]}-nY{k[1]}": v for k, v in intervals.items()},
                   "rk4_minus_euler": {str(ev): {m: e.to_dict() for m, e in d.items()} for ev, d in diffs.items()}},
    })
    arrays = {"labels": labels, "groups": groups, "intervals": intervals, "records": records, "mean": mean,
              "verdict": verdict}
    return Analysis([run_table, mean_table, diff_table, heldout_table], numbers, arrays)


#: Networks that evaluate the trained weights besides the trained ones, as (method, nY) pairs.
EXTRA_EVALUATORS = (("rk4", 17), ("rk4", 33), ("euler", 65))


def cross_discretisation(runs, fine_states: int = 241, extra=EXTRA_EVALUATORS) -> Analysis:
    """Validation accuracy of every trained network's weights under other discretisations, and how far its
    final features are from those of a fine RK4 network.

    Parameters
    ----------
    runs : sequence of RunResult
        As for :func:`equal_cost_networks`.
    fine_states : int
        State times of the fine RK4 network that stands for the exact ODE
        (241: every control time of ``nt = 16`` is a state time).
    extra : sequence of (str, int)
        Evaluating networks besides the trained ones.

    Returns
    -------
    Analysis
        Two tables (rows: evaluating networks, columns: trained networks).
        Numbers ``own_err_<m>_<n>`` (distance under the network's own
        discretisation), ``fine_acc_<m>_<n>`` (accuracy under the fine network)
        and ``record`` (``evaluators``, ``trained``, ``val_accuracy_under`` and
        ``feature_error_vs_fine``, shape (trained, evaluators)). Arrays
        ``accuracy`` and ``feature_error`` (trained, evaluators), ``trained`` and
        ``evaluators`` (labels), ``own`` (column of each trained network).
    """
    runs = list(runs)
    labels = network_labels(runs)
    evaluators = sorted(set(labels) | set(extra), key=lambda k: (k[0] != "rk4", k[1])) + [("rk4", int(fine_states))]
    base = runs[0].config
    eval_configs = [base.replace(integrator=m, nY=n) for m, n in evaluators]
    fine = base.replace(integrator="rk4", nY=int(fine_states))
    peaks = base.dataset()
    n_val = int(peaks.X_val.shape[1])
    keys = [method_key(r) for r in runs]
    acc = group_row_means(rkstudy.accuracy_under(runs, eval_configs, peaks.X_val, peaks.y_val), keys, labels)
    ferr = group_row_means(rkstudy.feature_error_under(runs, eval_configs, fine, peaks.X_val), keys, labels)
    trained, cols = [_name(k) for k in labels], [_name(k) for k in evaluators]
    seeds = len(dict.fromkeys(r.config.init_seed for r in runs))
    own = [evaluators.index(k) for k in labels]

    def table(M, what):
        return Table(["evaluating \\ trained"] + trained, [[c] + list(M[:, j]) for j, c in enumerate(cols)],
                     caption=f"{what} on the {n_val} validation points, mean over the {seeds} seeds: columns are the "
                             "trained networks (method, nY), rows the networks that evaluate their weights; the last "
                             f"row, rk4 {fine_states}, stands for the exact ODE.", floatfmt="{:.3f}")

    numbers = {"fine_states": int(fine_states)}
    for i, k in enumerate(labels):
        numbers[f"own_err_{k[0]}_{k[1]}"] = float(ferr[i, own[i]])
        numbers[f"fine_acc_{k[0]}_{k[1]}"] = float(acc[i, -1])
    numbers["record"] = {"evaluators": cols, "trained": trained, "val_accuracy_under": acc,
                         "feature_error_vs_fine": ferr}
    return Analysis([table(acc, "Cross-evaluation, validation accuracy"),
                     table(ferr, f"Relative distance of the final features from those of rk4 {fine_states}")],
                    numbers, {"accuracy": acc, "feature_error": ferr, "trained": trained, "evaluators": cols,
                              "own": own})


def trained_network_convergence(runs, X, aligned_methods=("euler", "midpoint", "rk4", "rk4_38"),
                                other_methods=("midpoint", "rk4", "rk4_38"), levels: int = 5) -> Analysis:
    """Order of convergence of a trained RK4 network's final features, steps aligned with the control times or not.

    The network is the RK4 run with the most state times (lowest seed among
    them). Aligned step counts are ``(nt - 1) 2^k`` for ``k < levels``; the
    others are powers of two ``2^4 ... 2^(3 + levels)``; the reference is RK4
    with ``128 (nt - 1)`` steps.

    Parameters
    ----------
    runs : sequence of RunResult
    X : ndarray, shape (2, n)
        Inputs whose final features are compared.
    aligned_methods, other_methods : sequence of str
    levels : int

    Returns
    -------
    Analysis
        One table; numbers ``conv_seed``, ``conv_nY``, ``net_order_rk4_aligned``,
        ``net_order_rk4_other``, ``net_order_euler`` and ``record``
        (``{"aligned": {method: order}, "not_aligned": {...}}``). Arrays
        ``aligned`` and ``other`` (``{method: Convergence}``) and ``config``.
    """
    rk_runs = [r for r in runs if r.config.integrator == "rk4"]
    if not rk_runs:
        raise ValueError("runs must include an RK4 network")
    target = max(rk_runs, key=lambda r: (r.config.nY, -r.config.init_seed))
    cfg = target.config
    nt_steps = cfg.nt - 1
    ref = nt_steps * 128 + 1
    aligned = rkstudy.network_convergence(cfg, target.theta, X, list(aligned_methods),
                                          [nt_steps * 2**k + 1 for k in range(levels)], ref_states=ref)
    other = rkstudy.network_convergence(cfg, target.theta, X, list(other_methods),
                                        [2**k + 1 for k in range(4, 4 + levels)], ref_states=ref)
    rows = ([[f"{k} (aligned)", c.order] for k, c in aligned.items()]
            + [[f"{k} (not aligned)", c.order] for k, c in other.items()])
    table = Table(["method", "fitted order"], rows,
                  caption=f"Fitted order of convergence of the final features of the trained network ({cfg.integrator}, "
                          f"nY = {cfg.nY}, seed {cfg.init_seed}) on the validation points, with step counts that put "
                          "the control times on state times (aligned) and with others (not aligned).",
                  floatfmt="{:.2f}")
    numbers = {"conv_seed": str(cfg.init_seed), "conv_nY": int(cfg.nY),
               "net_order_rk4_aligned": aligned["rk4"].order, "net_order_rk4_other": other["rk4"].order,
               "record": {"aligned": {k: c.order for k, c in aligned.items()},
                          "not_aligned": {k: c.order for k, c in other.items()}}}
    if "euler" in aligned:
        numbers["net_order_euler"] = aligned["euler"].order
    return Analysis([table], numbers, {"aligned": aligned, "other": other, "config": cfg})


def numbers_record(parameters: dict, orders: Analysis, landscapes: Analysis, coarse: Analysis, book: Analysis,
                   cross: Analysis, convergence: Analysis, reference: Analysis, reference_changes: dict) -> dict:
    """Chapter 3.4's numbers record (``_build/numbers/chapter-3.4.json``) from its analyses.

    Parameters
    ----------
    parameters : dict
        The page's parameters.
    orders, landscapes, coarse : Analysis
        Of :func:`resnet_ode.studies.rktoy.toy_orders`, ``equal_cost_landscapes`` and ``coarse_pair``.
    book, reference : Analysis
        :func:`equal_cost_networks` of the book's and the reference's CG settings.
    cross, convergence : Analysis
        :func:`cross_discretisation` and :func:`trained_network_convergence` (book setting).
    reference_changes : dict
        The run settings of the reference's CG setting.

    Returns
    -------
    dict
        ``parameters``, ``convergence_order``, ``convergence_order_written_vs_f_over_6``,
        ``convergence``, ``toy_landscapes`` (``thesis_pair``, ``coarse_pair``),
        ``peaks`` and ``reference_cg`` (``peaks``, ``run_changes``).
    """
    return {
        "parameters": dict(parameters),
        **orders["record"],
        "toy_landscapes": {"thesis_pair": landscapes["record"], "coarse_pair": coarse["record"]},
        "peaks": {**book["record"], **cross["record"], "network_convergence_order": convergence["record"]},
        "reference_cg": {"peaks": reference["record"], "run_changes": dict(reference_changes)},
    }
