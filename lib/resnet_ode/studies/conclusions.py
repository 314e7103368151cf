"""The thesis's conclusions set against the numbers the chapters measured.

Each claim of the thesis's Chapter 4 is judged by an explicit rule on the
key numbers the chapters write to ``_build/numbers`` (see
:func:`resnet_ode.book.numbers.read_numbers`). The rules are stated in each
function's docstring and applied in code to **intervals**
(:mod:`resnet_ode.studies.uncertainty`), so a verdict changes when the numbers or
their uncertainty do; they are tested on made-up numbers in
``tests/test_conclusions.py``.

**Grades** (:mod:`resnet_ode.studies.verdicts`): holds, holds with caveats,
inconclusive, does not hold, decided by :func:`~resnet_ode.studies.verdicts.grade`
from an interval and the effect a claim needs. Claims about trained networks
(Chapter 3.1's two, Chapter 3.4's accuracy) resting on one initial-weight seed
are never more than inconclusive (:func:`~resnet_ode.studies.verdicts.one_seed_cap`).

**Inputs.** The key numbers the chapters write: per-seed accuracy matrices
(Chapter 3.1: validation, grid, and held-out balanced under ``heldout``), any
number of seeds per depth (3.2), counts of comparisons (3.3), per-run records
paired by seed (3.4), and older or poorer forms of them (one matrix, seed
means only) without a change of rule. The claims about classification are
judged on held-out balanced accuracy against a smallest effect that matters
when the chapters wrote it (:mod:`resnet_ode.studies.margins`).

:func:`judge_all` judges every claim; with ``setting=`` it judges the numbers
a chapter stored under that key (``reference_cg``: the reference's Gauss-Newton
CG settings, stored by Chapters 3.1, 3.2 and 3.4; ``code_nt``: Chapter 3.1 with
the thesis code's control layers) and labels the verdicts with it.
:func:`judge_settings` does so for every setting, and :func:`~resnet_ode.studies.verdicts.disagreements`
lists the claims whose verdict changes with the setting.
"""

from __future__ import annotations

import math
import numpy as np

from resnet_ode.core.costs import equal_cost_states, step_evaluations
from resnet_ode.studies.aggregate import pair_by_seed, transfer_groups, transfer_summary
from resnet_ode.studies import margins
from resnet_ode.studies.margins import ERROR_SHARE, MARGIN_COLUMNS, margin_rows  # noqa: F401 - re-exported for the book
from resnet_ode.studies.uncertainty import (
    LEVEL,
    Estimate,
    accuracy_difference,
    seed_interval,
    sign_test,
    slope_interval,
    wilson_interval,
)
from resnet_ode.studies.verdicts import (  # the scale of grades and the judged claim, re-exported for the book
    BOOK_SETTING,
    CAVEATS,
    FAILS,
    GRADES,
    HOLDS,
    INCONCLUSIVE,
    Verdict,
    combine,
    disagreements,
    explain,
    grade,
    one_seed_cap,
    seeds_text,
    sentence,
)

#: Smallest accuracy difference that counts as "classifies better", one
#: percentage point (2 of the 200 validation points, 655 of the 65,536 grid
#: points), a third to a half of the error rates the networks reach.
ACCURACY_EFFECT = 0.01
#: Validation points of the chapters' networks (40 per class, 5 classes) unless the numbers say otherwise.
VAL_POINTS = 200
#: Points of the labelled 256 x 256 grid (grid accuracy).
GRID_POINTS = 256 * 256
#: Required advantage of the deep networks' transfer accuracy over the shallow ones' (Chapter 3.1).
TRANSFER_EFFECT = 0.1
#: Largest gap between the deep networks' own accuracy and their transfer accuracy for "works as well".
TRANSFER_GAP = 0.05
#: Share of examples that must be stable in every layer for the stability condition to count as met.
STABLE_SHARE = 0.95
#: Required share of (untied) comparisons in which the deeper network is smoother (Chapter 3.3).
SMOOTHER_SHARE = 2 / 3
#: Largest distance of the thesis code's fitted order from 4 for "converges like RK4".
ORDER_TOLERANCE = 0.5
#: Largest factor between the largest objectives of the thesis's RK4 and Euler panels for "reproduces".
OBJECTIVE_RATIO = 2.0
#: Smallest step count of the toy convergence fit (as :func:`resnet_ode.studies.rkstudy.toy_convergence`).
FIT_MIN_STEPS = 128
#: Name of the thesis's RK4 code in Chapter 3.4's numbers.
WRITTEN = "rk4_thesis_as_written"


# ----------------------------------------------------------------------------
# Chapter 3.1
# ----------------------------------------------------------------------------


def _stack(value):
    """``(stack of shape (s, k, k), n or None)`` from a matrix, a stack or an AccuracyCounts dict."""
    n = None
    if isinstance(value, dict):
        n = value.get("n")
        value = value["accuracy"]
    elif isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):  # one dict per seed
        n = value[0].get("n")
        value = [v["accuracy"] for v in value]
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(f"an accuracy matrix must have shape (k, k) or (s, k, k), got {arr.shape}")
    return arr, n


def accuracy_source(n31: dict):
    """The accuracy matrices a Chapter 3.1 rule uses.

    Returns
    -------
    stack : ndarray, shape (s, k, k)
        Per-seed cross-accuracy matrices (rows: trained, columns: evaluated).
    n_points : int
    label : str
        ``"grid accuracy"`` (preferred when present) or ``"validation accuracy"``.
    """
    for key_seeds, key_one, n_key, default, label in [
        ("grid_accuracy_seeds", "grid_accuracy", "n_grid", GRID_POINTS, "grid accuracy"),
        ("val_accuracy_seeds", "val_accuracy", "n_val", VAL_POINTS, "validation accuracy"),
    ]:
        value = n31.get(key_seeds, n31.get(key_one))
        if value is not None:
            stack, n = _stack(value)
            return stack, int(n or n31.get(n_key, default)), label
    raise KeyError("Chapter 3.1's numbers hold no accuracy matrix (val_accuracy or grid_accuracy)")


def state_layers_accuracy(n31: dict) -> Verdict:
    """Thesis: more state layers give better classification.

    Rule: ``D`` is the deepest network's own accuracy minus the shallowest
    network's (the diagonal of the cross-accuracy matrix; grid accuracy if
    present, else validation accuracy), with the interval of
    :func:`resnet_ode.studies.uncertainty.accuracy_difference` (seeds paired, plus
    the evaluation points). :func:`~resnet_ode.studies.verdicts.grade` sets ``D`` against 0 and the
    required :data:`ACCURACY_EFFECT`; a verdict of :data:`~resnet_ode.studies.verdicts.HOLDS` becomes
    :data:`~resnet_ode.studies.verdicts.CAVEATS` if the own accuracy falls significantly (interval of the
    step entirely below 0) between two neighbouring depths.

    **With held-out numbers** (``heldout``) :func:`resnet_ode.studies.margins.heldout_accuracy` decides.
    """
    source = margins.heldout_source(n31)
    if source is not None:
        return margins.heldout_accuracy(n31, source)
    stack, n_pts, label = accuracy_source(n31)
    depths = list(n31["depths"])
    diag = np.stack([np.diag(m) for m in stack])  # (s, k)
    s, k = diag.shape
    own = [seed_interval(diag[:, i], LEVEL, n_pts) for i in range(k)]
    D = accuracy_difference(diag[:, -1], diag[:, 0], n_pts)
    steps = [accuracy_difference(diag[:, i + 1], diag[:, i], n_pts) for i in range(k - 1)]
    falls = [(depths[i], depths[i + 1]) for i, st in enumerate(steps) if st.high < 0]
    verdict = grade(D, ACCURACY_EFFECT)
    rule = explain(D, ACCURACY_EFFECT, what="deepest minus shallowest own accuracy")
    if verdict == HOLDS and falls:
        verdict = CAVEATS
        rule += ", but it falls significantly from nY = " + ", ".join(f"{a} to {b}" for a, b in falls)
    verdict, rule = one_seed_cap(verdict, rule, s)
    means = diag.mean(axis=0)
    measured = (f"own {label} {own[0].fmt()} at nY = {depths[0]}, {own[-1].fmt()} at nY = {depths[-1]} "
                f"(from {means.min():.3f} to {means.max():.3f} over nY = {depths[0]} to {depths[-1]}; {n_pts} points, "
                f"{seeds_text(s)}); deepest minus shallowest {D.fmt(sign=True)}")
    evidence = {"source": label, "n_points": n_pts, "seeds": s, "depths": depths,
                "own_accuracy": {str(d): e.to_dict() for d, e in zip(depths, own)},
                "difference": D.to_dict(), "neighbour_steps": {f"{a}->{b}": st.to_dict() for a, b, st in
                                                               zip(depths, depths[1:], steps)},
                "required_effect": ACCURACY_EFFECT}
    return Verdict("3.1-accuracy", measured, verdict, sentence(rule, verdict), evidence)


def state_layers_transfer(n31: dict) -> Verdict:
    """Thesis: weights of the deeper networks combine well with each other's networks, unlike the shallow ones.

    Rule: per seed, ``deep`` is the mean off-diagonal accuracy among the three
    deepest networks, ``shallow`` the mean off-diagonal accuracy in the rows
    of the two shallowest, ``own`` the mean own accuracy of the three deepest
    (grid accuracy if present, else validation accuracy). :func:`~resnet_ode.studies.verdicts.grade` sets
    ``deep - shallow`` against 0 and the required :data:`TRANSFER_EFFECT`; a
    verdict of :data:`~resnet_ode.studies.verdicts.HOLDS` becomes :data:`~resnet_ode.studies.verdicts.CAVEATS` unless the interval of
    ``own - deep`` lies at or below :data:`TRANSFER_GAP` (transfer as good as
    the networks' own accuracy). The reference-CG matrix, if present, is
    reported but not judged here (see ``setting`` in :func:`judge_all`).

    **With held-out numbers** (``heldout``) :func:`resnet_ode.studies.margins.heldout_transfer` decides.
    """
    source = margins.heldout_source(n31)
    if source is not None:
        return margins.heldout_transfer(source, TRANSFER_EFFECT, TRANSFER_GAP)
    stack, n_pts, label = accuracy_source(n31)
    s, k = stack.shape[0], stack.shape[1]
    deep_idx, _ = transfer_groups(k)
    summaries = [transfer_summary(M) for M in stack]
    deep = np.array([t["deep_offdiag"] for t in summaries])
    shallow = np.array([t["shallow_rows_offdiag"] for t in summaries])
    own = np.array([float(np.mean(np.diag(M)[deep_idx])) for M in stack])
    D = accuracy_difference(deep, shallow, n_pts)
    gap = accuracy_difference(own, deep, n_pts)
    e_deep, e_shallow, e_own = (seed_interval(v, LEVEL, n_pts) for v in (deep, shallow, own))
    verdict = grade(D, TRANSFER_EFFECT)
    rule = explain(D, TRANSFER_EFFECT, what="the deep networks' transfer accuracy minus the shallow ones'")
    if verdict == HOLDS:
        if gap.high <= TRANSFER_GAP:
            rule += f", and their own accuracy exceeds it by {gap.fmt(sign=True)}, at most {TRANSFER_GAP:.2f}"
        else:
            verdict = CAVEATS
            rule += (f", but their own accuracy exceeds it by {gap.fmt(sign=True)}, "
                     f"not shown to be at most {TRANSFER_GAP:.2f}")
    verdict, rule = one_seed_cap(verdict, rule, s)
    measured = (f"off-diagonal {label} among the three deepest networks {e_deep.fmt()} (their own: {e_own.fmt()}); "
                f"rows of the two shallowest {e_shallow.fmt()} ({n_pts} points, {seeds_text(s)})")
    evidence = {"source": label, "n_points": n_pts, "seeds": s, "deep": e_deep.to_dict(),
                "shallow": e_shallow.to_dict(), "own": e_own.to_dict(), "difference": D.to_dict(),
                "own_minus_deep": gap.to_dict(), "required_effect": TRANSFER_EFFECT, "largest_gap": TRANSFER_GAP}
    ref = n31.get("reference_cg")
    if isinstance(ref, dict) and any(k in ref for k in ("val_accuracy", "grid_accuracy", "val_accuracy_seeds",
                                                        "grid_accuracy_seeds")):
        r_stack, r_n, r_label = accuracy_source(ref)
        r_deep = seed_interval([transfer_summary(M)["deep_offdiag"] for M in r_stack], LEVEL, r_n)
        measured += f"; with the reference's looser CG solve {r_deep.fmt()}"
        evidence["reference_cg_deep"] = r_deep.to_dict()
    return Verdict("3.1-transfer", measured, verdict, sentence(rule, verdict), evidence)


# ----------------------------------------------------------------------------
# Chapter 3.2
# ----------------------------------------------------------------------------


def _per_seed(n32: dict, get, family: str = "standard"):
    """``(depths sorted, [values over seeds] per depth)`` of a per-network number."""
    fam = n32[family]
    depths = sorted(fam, key=int)
    return [int(d) for d in depths], [[float(get(fam[d][s])) for s in fam[d]] for d in depths]


def stability_with_depth(n32: dict) -> Verdict:
    """Thesis: with more layers (a smaller step) the forward propagation becomes more stable.

    Four readings of "more stable", each paired by seed and graded against a
    smallest change that matters; the thesis's own (the share of eigenvalues
    inside the stability region) decides: :func:`resnet_ode.studies.margins.stability_readings`.
    """
    return margins.stability_readings(n32)


def stability_condition(n32: dict) -> Verdict:
    """Thesis: the eigenvalues of the deepest network meet the stability condition.

    Rule: for every seed of the deepest standard ResNet, the share of
    (example, layer) pairs whose layer Jacobian has every eigenvalue inside
    forward Euler's region, over the training examples analysed, is graded by
    :func:`~resnet_ode.studies.verdicts.grade` against the threshold :data:`STABLE_SHARE` (holds at or
    above it, fails below). When the examples analysed are the whole training
    set the share is exact (no sampling term: there is no larger set it
    estimates); a sample of ``n_samples`` of them gets its Wilson interval. The
    seeds are combined by :func:`~resnet_ode.studies.verdicts.combine`.
    """
    fam = n32["standard"]
    deepest = max(fam, key=int)
    recs = fam[deepest]
    ests = {}
    population = n32.get("n_train")
    for seed, rec in recs.items():
        share = float(rec["share_stable_examples"])
        n = rec.get("n_samples")
        sample = n and not (population and int(n) >= int(population))
        ests[seed] = wilson_interval(share * int(n), int(n)) if sample else Estimate.exact(share)
    grades = [grade(e, STABLE_SHARE, STABLE_SHARE) for e in ests.values()]
    verdict = combine(grades)
    worst_seed = min(ests, key=lambda k: ests[k].value)
    worst = ests[worst_seed]
    stable = [e.value for e in ests.values()]
    inside = [float(rec["share_inside"]) for rec in recs.values()]
    positive = [float(rec["min_max_real"]) for rec in recs.values()]
    n_txt = f" of {worst.n} examples" if worst.method == "wilson" else ""
    measured = (f"{deepest} layers: share of (example, layer) pairs with every eigenvalue inside the region "
                f"{min(stable):.2f} to {max(stable):.2f} (lowest {worst.fmt()}{n_txt}); share of eigenvalues inside the region {min(inside):.2f} to "
                f"{max(inside):.2f}; smallest largest Re(lambda) over examples and layers {min(positive):.1e}"
                f"{' (every example has an unstable eigenvalue in every layer)' if min(positive) > 0 else ''}")
    rule = explain(worst, STABLE_SHARE, STABLE_SHARE, what=f"the lowest share of stable (example, layer) pairs (seed {worst_seed})",
                   digits=2, sign=False)
    rule += f"; {sum(g == HOLDS for g in grades)} of {len(grades)} seeds at or above {STABLE_SHARE:.2f}"
    evidence = {"layers": int(deepest), "share_stable_examples": {k: e.to_dict() for k, e in ests.items()},
                "grades": dict(zip(ests, grades)), "threshold": STABLE_SHARE,
                "share_inside": {"min": min(inside), "max": max(inside)}, "min_max_real": min(positive)}
    return Verdict("3.2-condition", measured, verdict, sentence(rule, verdict), evidence)


# ----------------------------------------------------------------------------
# Chapter 3.3
# ----------------------------------------------------------------------------


def landscape_smoothness(n33: dict) -> Verdict:
    """Thesis: the deeper network's loss landscape is smoother and more convex.

    Rule: compare the two depths of the thesis (8 and 20 layers) on every
    direction seed with filter-normalised directions, for both objectives and
    both measures (share of grid points with a negative Hessian eigenvalue,
    number of local minima). Ties are left out; the share of the remaining
    comparisons in which the deeper network is smoother, with its Wilson
    interval, is graded by :func:`~resnet_ode.studies.verdicts.grade` against 1/2 (no effect) and the
    required :data:`SMOOTHER_SHARE`. The comparisons share networks and
    surfaces, so the interval, which treats them as independent, is if
    anything too narrow. The sign test's p-value and the thesis's own
    normalisation are reported alongside. With one network per depth and seed
    (``deep_smoother_by_seed``) :func:`resnet_ode.studies.margins.smoothness_by_network` decides.
    """
    if n33.get("deep_smoother_by_seed"):
        return margins.smoothness_by_network(n33, SMOOTHER_SHARE)
    counts = n33["deep_smoother_on_seeds"]
    n_seeds = len(n33["seeds"])
    filt = {k: v for k, v in counts.items() if "/filter/" in k}
    wins = sum(int(v["lower"]) for v in filt.values())
    ties = sum(int(v.get("ties", 0)) for v in filt.values())
    total = sum(int(v.get("n", n_seeds)) for v in filt.values())
    untied = total - ties
    losses = untied - wins
    share = (wilson_interval(wins, untied) if untied > 0
             else Estimate(0.5, -math.inf, math.inf, 0, "no untied comparison"))
    p = sign_test(wins, total, ties)
    parts = [f"{k.replace('/filter/', ' ').replace('_', ' ')}: {v['lower']} of {v.get('n', n_seeds)}"
             for k, v in filt.items()]
    measured = (f"20 layers smoother than 8 on filter-normalised planes in {wins} of {total} comparisons, "
                f"{ties} tied ({'; '.join(parts)}); share of untied comparisons {share.fmt(2)}, sign test p = {p:.2f}")
    thesis = n33.get("thesis_figures", {})
    if "VarPro/8" in thesis and "VarPro/20" in thesis:
        measured += (f"; with the thesis's normalisation {thesis['VarPro/8']['local_minima']} local minima at 8 layers "
                     f"against {thesis['VarPro/20']['local_minima']} at 20")
    verdict = grade(share, SMOOTHER_SHARE, 0.5)
    rule = explain(share, SMOOTHER_SHARE, 0.5, what="the share of comparisons the deeper network wins", digits=2,
                   sign=False)
    evidence = {"wins": wins, "ties": ties, "losses": losses, "comparisons": total, "share": share.to_dict(),
                "sign_test_p": p, "required_share": SMOOTHER_SHARE,
                "counts": {k: {kk: int(vv) for kk, vv in v.items()} for k, v in filt.items()}}
    return Verdict("3.3-smoothness", measured, verdict, sentence(rule, verdict), evidence)


# ----------------------------------------------------------------------------
# Chapter 3.4
# ----------------------------------------------------------------------------


def _order_estimate(n34: dict) -> Estimate:
    """Fitted order of the thesis's RK4 code, with the slope's t-interval if the convergence points are stored."""
    order = float(n34["convergence_order"][WRITTEN])
    conv = n34.get("convergence", {}).get(WRITTEN)
    if conv:
        steps = np.asarray(conv["steps"], dtype=float)
        errors = np.asarray(conv["errors"], dtype=float)
        fit = steps >= n34.get("parameters", {}).get("fit_min_steps", FIT_MIN_STEPS)
        if fit.sum() >= 2 and np.all(errors[fit] > 0):
            return slope_interval(-np.log(steps[fit]), np.log(errors[fit]))  # log h = log T - log steps
    return Estimate.exact(order, "fitted order, no points stored")


def rk4_as_written(n34: dict) -> Verdict:
    """Thesis: RK4 with a four times larger step reproduces the standard ResNet's objective, so the RK4 code is correct.

    Rule: the fitted convergence order of the thesis's code on the toy
    problem (least-squares slope over the step counts of the fit, with its
    t-interval) must lie within :data:`ORDER_TOLERANCE` of 4, the classical
    method's order: it fails if its interval lies entirely outside ``[3.5,
    4.5]``, is inconclusive if it crosses a bound, and holds if inside;
    then it holds with caveats if the thesis's evidence, the largest objective
    of its RK4 panel against Euler's, differs by more than a factor
    :data:`OBJECTIVE_RATIO` (the code is right but the comparison did not show it).
    """
    orders = n34["convergence_order"]
    est = _order_estimate(n34)
    lo, hi = 4.0 - ORDER_TOLERANCE, 4.0 + ORDER_TOLERANCE
    pair = n34.get("toy_landscapes", {}).get("thesis_pair", {}).get("train", {})
    ratio = None
    if WRITTEN in pair and "euler" in pair:
        ratio = float(pair[WRITTEN]["max"]) / float(pair["euler"]["max"])
    order_txt = f"fitted order of the thesis's code {est.fmt(2)}"
    if est.high < lo or est.low > hi:
        verdict, rule = FAILS, f"{order_txt} lies outside [{lo:.1f}, {hi:.1f}]"
    elif est.low < lo or est.high > hi:
        verdict, rule = INCONCLUSIVE, f"{order_txt} crosses a bound of [{lo:.1f}, {hi:.1f}]"
    elif ratio is not None and not (1 / OBJECTIVE_RATIO <= ratio <= OBJECTIVE_RATIO):
        verdict = CAVEATS
        rule = (f"{order_txt} lies within [{lo:.1f}, {hi:.1f}], but its largest objective is {ratio:.1f} times "
                f"Euler's, more than a factor {OBJECTIVE_RATIO:g} apart")
    else:
        verdict, rule = HOLDS, f"{order_txt} lies within [{lo:.1f}, {hi:.1f}]"
    measured = (f"{order_txt} (classical RK4 {orders['rk4']:.2f}, Euler {orders['euler']:.2f})")
    if ratio is not None:
        measured += f"; its largest objective {ratio:.1f} times Euler's on the thesis's grid"
    evidence = {"order": est.to_dict(), "orders": {k: float(v) for k, v in orders.items()},
                "tolerance": ORDER_TOLERANCE, "objective_ratio": ratio, "largest_ratio": OBJECTIVE_RATIO}
    return Verdict("3.4-correct", measured, verdict, sentence(rule, verdict), evidence)


def _rk_pairs(peaks: dict):
    """RK4 nY with the Euler nY of equal cost, ``[(nY_rk4, nY_euler)]``."""
    if peaks.get("runs"):
        have = {(r["integrator"], int(r["nY"])) for r in peaks["runs"]}
    else:
        have = {(k.split("-nY")[0], int(k.split("-nY")[1])) for k in peaks["mean"]}
    euler_states = lambda n: equal_cost_states(n, step_evaluations("rk4"))  # noqa: E731
    return [(n, euler_states(n)) for m, n in sorted(have, key=lambda k: k[1])
            if m == "rk4" and ("euler", euler_states(n)) in have]


def rk4_accuracy(n34: dict) -> Verdict:
    """Thesis (expectation): an RK4 network should classify more accurately than a standard ResNet.

    Rule: pair every RK4 network with the Euler network of equal cost
    (function evaluations per forward pass), seed by seed (they start from
    the same weights); in each pair, RK4's accuracy minus Euler's (grid
    accuracy if every run has one, else validation accuracy; interval of
    :func:`resnet_ode.studies.uncertainty.accuracy_difference`, or of the seed means
    on the evaluation points only if per-run numbers are missing) is graded
    by :func:`~resnet_ode.studies.verdicts.grade` against 0 and the required :data:`ACCURACY_EFFECT`; the
    pairs are combined by :func:`~resnet_ode.studies.verdicts.combine`.

    **With held-out numbers** in every run (``heldout_balanced``)
    :func:`resnet_ode.studies.margins.heldout_rk4_accuracy` decides.
    """
    peaks = n34["peaks"]
    runs = peaks.get("runs") or []
    if runs and all("heldout_balanced" in r for r in runs):
        return margins.heldout_rk4_accuracy(runs, _rk_pairs(peaks))
    use_grid = bool(runs) and all("grid_accuracy" in r for r in runs)
    metric, label = ("grid_accuracy", "grid accuracy") if use_grid else ("val_accuracy", "validation accuracy")
    n_pts = int(peaks.get("n_grid", GRID_POINTS) if use_grid else peaks.get("n_val", n34.get("n_val", VAL_POINTS)))
    grades, parts, texts, evidence = [], [], [], {"source": label, "n_points": n_pts, "pairs": {}}
    seeds = 1
    for n_rk, n_eu in _rk_pairs(peaks):
        if runs:
            a, b, common = pair_by_seed(runs, ("rk4", n_rk), ("euler", n_eu), metric)
            seeds = max(seeds, len(common))
        else:
            a = np.array([peaks["mean"][f"rk4-nY{n_rk}"][metric]])
            b = np.array([peaks["mean"][f"euler-nY{n_eu}"][metric]])
        D = accuracy_difference(a, b, n_pts)
        g = grade(D, ACCURACY_EFFECT)
        grades.append(g)
        evals = step_evaluations("rk4") * (n_rk - 1)
        ea, eb = seed_interval(a, LEVEL, n_pts), seed_interval(b, LEVEL, n_pts)
        texts.append(f"{evals} evaluations: RK4 {ea.fmt()}, Euler {eb.fmt()}, difference {D.fmt(sign=True)}")
        parts.append(explain(D, ACCURACY_EFFECT, what=f"RK4 minus Euler at {evals} evaluations") + f" ({g})")
        evidence["pairs"][str(evals)] = {"rk4_nY": n_rk, "euler_nY": n_eu, "rk4": ea.to_dict(), "euler": eb.to_dict(),
                                         "difference": D.to_dict(), "grade": g}
    verdict = combine(grades)
    rule = ("; ".join(parts) + ("; combined" if len(parts) > 1 else "")) if parts else "no RK4-Euler pair of equal cost"
    verdict, rule = one_seed_cap(verdict, rule, seeds)
    over = f"means over {seeds_text(seeds)}" if seeds > 1 else seeds_text(seeds)
    measured = "; ".join(texts) + f" ({label} on {n_pts} points, {over})"
    evidence.update({"seeds": seeds, "required_effect": ACCURACY_EFFECT})
    return Verdict("3.4-accuracy", measured, verdict, sentence(rule, verdict), evidence)


# ----------------------------------------------------------------------------
# All claims
# ----------------------------------------------------------------------------

def state_layers_time(n31: dict) -> Verdict:
    """Thesis: a minimum number of state layers for a given final time: :func:`resnet_ode.studies.margins.depth_for_time`."""
    return margins.depth_for_time(n31)


_RULES = [
    ("3.1", state_layers_accuracy),
    ("3.1", state_layers_transfer),
    ("3.1", state_layers_time),
    ("3.2", stability_with_depth),
    ("3.2", stability_condition),
    ("3.3", landscape_smoothness),
    ("3.4", rk4_as_written),
    ("3.4", rk4_accuracy),
]


#: Rules judged under the book's setting only: the thesis's RK4 code (a toy problem that trains nothing) and the
#: depth-against-time grid (trained under the book's setting only).
_TRAINING_FREE = (rk4_as_written, state_layers_time)

#: Rules that need a key of their chapter's numbers, left out when it is missing (numbers of an older build).
_NEEDS = {state_layers_time: "time_grid"}

#: Keys under which chapters store their numbers of other training settings (see :func:`judge_all`).
OTHER_SETTINGS = ("reference_cg", "code_nt")


def numbers_for_setting(chapter_numbers: dict, setting: str) -> dict | None:
    """A chapter's numbers under another training setting, or ``None`` if it stored none.

    The chapter stores them as ``chapter_numbers[setting]``, a dict with (some
    of) the keys of its own numbers; the missing ones are taken from the
    chapter's (e.g. the depths), except the numbers of the other settings
    (:data:`OTHER_SETTINGS`).
    """
    sub = chapter_numbers.get(setting)
    if not isinstance(sub, dict):
        return None
    merged = {k: v for k, v in chapter_numbers.items() if k != setting and k not in OTHER_SETTINGS}
    merged.update(sub)
    return merged


def judge_all(numbers: dict, setting: str | None = None) -> list[Verdict]:
    """Every verdict, from ``{"3.1": ..., "3.2": ..., "3.3": ..., "3.4": ...}``.

    Parameters
    ----------
    numbers : dict
        The chapters' key numbers.
    setting : str, optional
        Judge the numbers each chapter stored under this key (e.g.
        ``"reference_cg"``, see :func:`numbers_for_setting`) instead of its
        own; claims whose chapter stored none are left out, and so is the
        claim about the thesis's RK4 code, whose toy problem trains nothing. The verdicts are
        labelled with the setting (:data:`~resnet_ode.studies.verdicts.BOOK_SETTING` when ``None``).

    Returns
    -------
    list of Verdict
    """
    out = []
    for chapter, rule in _RULES:
        if setting is not None and rule in _TRAINING_FREE:
            continue
        data = numbers[chapter] if setting is None else numbers_for_setting(numbers[chapter], setting)
        if data is None or (rule in _NEEDS and _NEEDS[rule] not in data):
            continue
        v = rule(data)
        if setting is not None:
            v = Verdict(v.key, v.measured, v.verdict, v.rule, v.evidence, setting)
        out.append(v)
    return out


def judge_settings(numbers: dict, settings=(BOOK_SETTING, *OTHER_SETTINGS)) -> dict:
    """The verdicts under each training setting, for a side-by-side table.

    Parameters
    ----------
    numbers : dict
        The chapters' key numbers, as for :func:`judge_all`.
    settings : sequence of str
        :data:`~resnet_ode.studies.verdicts.BOOK_SETTING` (the chapters' own numbers) and the keys under
        which chapters stored numbers of other settings (``"reference_cg"``:
        the reference's CG solve; ``"code_nt"``: Chapter 3.1 with the thesis
        code's control layers).

    Returns
    -------
    dict
        ``setting -> {claim key -> Verdict}``; a setting holds only the
        claims whose chapter stored numbers for it.
    """
    return {s: {v.key: v for v in judge_all(numbers, None if s == BOOK_SETTING else s)} for s in settings}

