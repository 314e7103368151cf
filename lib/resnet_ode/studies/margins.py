"""Verdicts graded against the smallest effect that matters: the rules :mod:`resnet_ode.studies.conclusions` applies.

For the claims about classification (Chapter 3.1's accuracy, transfer and
depth against final time, Chapter 3.4's accuracy), on the held-out numbers the
chapters write (:mod:`resnet_ode.studies.heldout`):

* the measure is class-balanced accuracy on the grid points not in the
  training set, printed next to the majority-class baseline;
* differences are paired by initial-weight seed
  (:func:`~resnet_ode.studies.uncertainty.paired_interval`: the compared networks start from the
  same weights; no sampling term, the held-out points are the whole
  population);
* each is graded by its one-sided 95 % bounds against the smallest effect
  that matters (:func:`~resnet_ode.studies.verdicts.grade_margin`), so "does not hold" is a result
  where the upper bound lies below it;
* the evidence (:func:`margin_evidence`) holds the seeds a one-sided paired
  t test needs at the measured spread (:func:`seeds_for`), which
  :func:`margin_rows` lays out for Chapter 4's table.

Chapter 3.2's "more stable with depth" is read four ways, each graded the same
way (:func:`stability_readings`), and so is Chapter 3.3's "smoother and more
convex" (:func:`smoothness_readings`).
"""

from __future__ import annotations

import numpy as np

from resnet_ode.core.costs import step_evaluations
from resnet_ode.studies.aggregate import pair_by_seed, transfer_groups, transfer_summary
from resnet_ode.studies.power import seeds_needed_from
from resnet_ode.studies.uncertainty import LEVEL, paired_interval, population_estimate
from resnet_ode.studies.verdicts import (
    CAVEATS,
    HOLDS,
    Verdict,
    combine,
    error_rate_margin,
    explain_margin,
    grade_margin,
    one_seed_cap,
    seeds_text,
    sentence,
)

#: Share of the compared (shallower, or Euler) network's held-out balanced errors that a gain must remove to count
#: as "classifies better": the smallest effect that matters for 3.1-accuracy and 3.4-accuracy on the held-out
#: measure (:func:`~resnet_ode.studies.verdicts.error_rate_margin`); fixed before the held-out numbers were seen.
ERROR_SHARE = 0.25


def heldout_source(n31: dict):
    """Chapter 3.1's held-out numbers, if it wrote them: ``(balanced (s, k, k), plain (s, k, k), n, baseline)`` or None."""
    ho = n31.get("heldout")
    if not isinstance(ho, dict) or "balanced_seeds" not in ho:
        return None
    bal, plain = (np.asarray(ho[k], dtype=float) for k in ("balanced_seeds", "accuracy_seeds"))
    if bal.ndim != 3 or bal.shape != plain.shape or bal.shape[1] != bal.shape[2]:
        raise ValueError(f"held-out accuracy matrices must have shape (s, k, k), got {bal.shape} and {plain.shape}")
    return bal, plain, int(ho["n"]), dict(ho["baseline"])


def seeds_for(differences, margin: float):
    """Seeds a one-sided t test needs to decide ``margin`` at the spread of ``differences`` (None: one seed, unmeasured).

    A spread measured as zero over two or more seeds is taken as measured:
    :func:`resnet_ode.studies.power.seeds_needed` then asks for 2.
    """
    d = np.asarray(differences, dtype=float)
    if d.size < 2:
        return None
    return int(seeds_needed_from(d, margin))


def _baseline_text(n: int, baseline: dict) -> str:
    return (f"{n} held-out grid points; always answering the majority class scores {baseline['balanced']:.3f} "
            f"balanced, {baseline['accuracy']:.3f} plain")


def margin_evidence(D, margin: float, margin_rule: str, needed, seeds: int, test: str = "effect",
                    power_note: str | None = None) -> dict:
    """The fields of :data:`~resnet_ode.studies.verdicts.MARGIN_FIELDS` for a comparison graded against ``margin``.

    Parameters
    ----------
    D : BoundedEstimate
        The effect with its one-sided bounds.
    margin : float
        The smallest effect that matters.
    margin_rule : str
        How the margin was set, in words (its value is ``margin``; :func:`margin_rows` prints both).
    needed : int or None
        Seeds the power calculation asks for.
    seeds : int
        Seeds the comparison rests on.
    test : str
        ``"effect"`` or ``"equivalence"`` (:data:`~resnet_ode.studies.verdicts.TESTS`).
    power_note : str, optional
        Why no power calculation over seeds applies (then ``needed`` is None).
    """
    bounds = D.to_dict()
    out = {"difference": bounds, "margin": float(margin), "margin_rule": margin_rule, "lower": bounds["lower"],
           "upper": bounds["upper"], "seeds": int(seeds), "seeds_needed": needed, "interval": D.method, "test": test}
    if power_note:
        out["power_note"] = power_note
    return out


def heldout_accuracy(n31: dict, source) -> Verdict:
    """3.1-accuracy on held-out balanced accuracy (``source``: :func:`heldout_source`); the rule is
    :func:`resnet_ode.studies.conclusions.state_layers_accuracy`'s, paired and against :data:`ERROR_SHARE`."""
    bal, plain, n_pts, baseline = source
    depths = list(n31["depths"])
    diag = np.stack([np.diag(m) for m in bal])                       # (s, k)
    s, k = diag.shape
    own = [population_estimate(diag[:, i], LEVEL, clip=(0.0, 1.0)) for i in range(k)]
    D = paired_interval(diag[:, -1], diag[:, 0])
    margin = error_rate_margin(float(diag[:, 0].mean()), ERROR_SHARE)
    margin_rule = f"{ERROR_SHARE:g} of the errors of the shallowest network (balanced accuracy {diag[:, 0].mean():.3f})"
    steps = [paired_interval(diag[:, i + 1], diag[:, i]) for i in range(k - 1)]
    falls = [(depths[i], depths[i + 1]) for i, st in enumerate(steps) if st.high < 0]
    verdict = grade_margin(D.lower, D.upper, margin)
    rule = explain_margin(D.lower, D.upper, margin, what="deepest minus shallowest own balanced accuracy")
    if verdict == HOLDS and falls:
        verdict = CAVEATS
        rule += ", but it falls significantly from nY = " + ", ".join(f"{a} to {b}" for a, b in falls)
    verdict, rule = one_seed_cap(verdict, rule, s)
    needed = seeds_for(diag[:, -1] - diag[:, 0], margin)
    measured = (f"own held-out balanced accuracy {own[0].fmt()} at nY = {depths[0]}, {own[-1].fmt()} at "
                f"nY = {depths[-1]} ({_baseline_text(n_pts, baseline)}; {seeds_text(s)}); deepest minus shallowest "
                f"{D.fmt_bounds(sign=True)}; smallest gain that matters {margin:.3f}")
    evidence = {"source": "held-out balanced accuracy", "n_points": n_pts, "baseline": baseline, "depths": depths,
                "compared": "deepest minus shallowest own accuracy",
                "own_accuracy": {str(d): e.to_dict() for d, e in zip(depths, own)},
                "own_plain_accuracy": {str(d): float(v) for d, v in zip(depths, np.stack([np.diag(m) for m in plain]).mean(axis=0))},
                "neighbour_steps": {f"{a}->{b}": st.to_dict() for a, b, st in zip(depths, depths[1:], steps)},
                **margin_evidence(D, margin, margin_rule, needed, s)}
    return Verdict("3.1-accuracy", measured, verdict, sentence(rule, verdict), evidence)


def heldout_transfer(source, effect: float, largest_gap: float) -> Verdict:
    """3.1-transfer on held-out balanced accuracy: deep block minus shallow rows, paired by seed, against ``effect``;
    a holding claim has caveats unless the one-sided upper bound of own minus transfer is at most ``largest_gap``."""
    bal, _, n_pts, baseline = source
    s, k = bal.shape[0], bal.shape[1]
    deep_idx, _ = transfer_groups(k)
    summaries = [transfer_summary(M) for M in bal]
    deep = np.array([t["deep_offdiag"] for t in summaries])
    shallow = np.array([t["shallow_rows_offdiag"] for t in summaries])
    own = np.array([float(np.mean(np.diag(M)[deep_idx])) for M in bal])
    D = paired_interval(deep, shallow)
    gap = paired_interval(own, deep)
    e_deep, e_shallow, e_own = (population_estimate(v, LEVEL, clip=(0.0, 1.0)) for v in (deep, shallow, own))
    verdict = grade_margin(D.lower, D.upper, effect)
    rule = explain_margin(D.lower, D.upper, effect,
                          what="the deep networks' held-out balanced transfer accuracy minus the shallow ones'")
    if verdict == HOLDS:
        if gap.upper <= largest_gap:
            rule += f", and their own accuracy exceeds it by {gap.fmt_bounds(sign=True)}, at most {largest_gap:.2f}"
        else:
            verdict = CAVEATS
            rule += (f", but their own accuracy exceeds it by {gap.fmt_bounds(sign=True)}, "
                     f"not shown to be at most {largest_gap:.2f}")
    verdict, rule = one_seed_cap(verdict, rule, s)
    measured = (f"off-diagonal held-out balanced accuracy among the three deepest networks {e_deep.fmt()} (their own: "
                f"{e_own.fmt()}); rows of the two shallowest {e_shallow.fmt()} ({_baseline_text(n_pts, baseline)}; "
                f"{seeds_text(s)}); difference {D.fmt_bounds(sign=True)}; smallest difference that matters "
                f"{effect:.2f}")
    margin_rule = f"half the majority-class baseline's balanced accuracy, {baseline['balanced']:.2f}"
    evidence = {"source": "held-out balanced accuracy", "n_points": n_pts, "baseline": baseline,
                "compared": "deep block's transfer minus the shallow rows'", "deep": e_deep.to_dict(), "shallow": e_shallow.to_dict(), "own": e_own.to_dict(),
                "own_minus_deep": gap.to_dict(), "largest_gap": largest_gap,
                **margin_evidence(D, effect, margin_rule, seeds_for(deep - shallow, effect), s)}
    return Verdict("3.1-transfer", measured, verdict, sentence(rule, verdict), evidence)


def heldout_rk4_accuracy(runs, pairs) -> Verdict:
    """3.4-accuracy on held-out balanced accuracy: every ``(RK4 nY, Euler nY)`` of ``pairs``, RK4 minus Euler paired
    by seed against :data:`ERROR_SHARE` of Euler's errors; the pairs' grades combined."""
    n_pts = int(runs[0].get("n_heldout", 0))
    grades, parts, texts, seeds = [], [], [], 1
    evidence = {"source": "held-out balanced accuracy", "n_points": n_pts, "pairs": {}}
    for n_rk, n_eu in pairs:
        a, b, common = pair_by_seed(runs, ("rk4", n_rk), ("euler", n_eu), "heldout_balanced")
        seeds = max(seeds, len(common))
        D = paired_interval(a, b)
        margin = error_rate_margin(float(np.mean(b)), ERROR_SHARE)
        g = grade_margin(D.lower, D.upper, margin)
        grades.append(g)
        evals = step_evaluations("rk4") * (n_rk - 1)
        ea, eb = (population_estimate(v, LEVEL, clip=(0.0, 1.0)) for v in (a, b))
        texts.append(f"{evals} evaluations: RK4 {ea.fmt()}, Euler {eb.fmt()}, difference {D.fmt_bounds(sign=True)}, "
                     f"smallest gain that matters {margin:.3f}")
        parts.append(explain_margin(D.lower, D.upper, margin, what=f"RK4 minus Euler at {evals} evaluations") + f" ({g})")
        margin_rule = f"{ERROR_SHARE:g} of the Euler network's errors (balanced accuracy {np.mean(b):.3f})"
        evidence["pairs"][str(evals)] = {"rk4_nY": n_rk, "euler_nY": n_eu, "rk4": ea.to_dict(), "euler": eb.to_dict(),
                                         "grade": g, **margin_evidence(D, margin, margin_rule,
                                                                        seeds_for(np.asarray(a) - np.asarray(b),
                                                                                      margin), len(common))}
    verdict = combine(grades)
    rule = ("; ".join(parts) + ("; combined" if len(parts) > 1 else "")) if parts else "no RK4-Euler pair of equal cost"
    verdict, rule = one_seed_cap(verdict, rule, seeds)
    measured = "; ".join(texts) + f" (held-out balanced accuracy on {n_pts} grid points, {seeds_text(seeds)})"
    evidence["seeds"] = seeds
    return Verdict("3.4-accuracy", measured, verdict, sentence(rule, verdict), evidence)


#: Columns of :func:`margin_rows`.
MARGIN_COLUMNS = ("claim", "compared", "difference", "95 % one-sided bounds", "smallest effect that matters",
                  "seeds", "seeds a decision needs")


def margin_rows(verdicts) -> list:
    """One row per comparison graded against a smallest effect that matters, for a table.

    Parameters
    ----------
    verdicts : sequence of Verdict

    Returns
    -------
    list of list
        Rows of :data:`MARGIN_COLUMNS`: the claim, what is compared (an
        equivalence claim says so), the mean difference, its one-sided 95 %
        bounds, the margin followed by how it was set, the seeds it rests on and
        the seeds the power calculation
        (:func:`resnet_ode.studies.power.seeds_needed_from`: one-sided t, power
        0.8) asks for at the measured spread ("-" where the spread is
        unmeasured; the comparison's ``power_note`` where no calculation over
        seeds applies). Verdicts without such a comparison give no row.
    """
    def row(key, what, ev):
        d = ev["difference"]
        bound = lambda x: "-" if x is None else f"{x:+.3f}"  # noqa: E731
        needed = "-" if ev.get("seeds_needed") is None else str(ev["seeds_needed"])
        if ev.get("power_note"):
            needed = f"none: {ev['power_note']}"
        if ev["test"] == "equivalence":
            what += f" (claimed within +/-{ev['margin']:.3f} of 0)"
        return [key, what, f"{d['value']:+.3f}", f">= {bound(ev['lower'])}, <= {bound(ev['upper'])}",
                f"{ev['margin']:.3f} ({ev['margin_rule']})", str(ev["seeds"]), needed]

    rows = []
    for v in verdicts:
        ev = v.evidence
        if "margin" in ev:
            rows.append(row(v.key, ev["compared"], ev))
        for field, reading in ev.get("readings", {}).items():
            rows.append(row(v.key, f"{reading['words']}: {reading['direction']} from the shallowest to the deepest",
                            reading))
        for evals, pair in ev.get("pairs", {}).items():
            if "margin" in pair:
                rows.append(row(v.key, f"RK4 nY = {pair['rk4_nY']} minus Euler nY = {pair['euler_nY']} "
                                       f"({evals} evaluations)", pair))
    return rows


# ----------------------------------------------------------------------------
# Chapter 3.2: the four readings of "more stable"
# ----------------------------------------------------------------------------

#: Share of the shallowest network's value (or, for the share inside the region, of the way to all inside) that a
#: change from the shallowest to the deepest network must reach to count (the smallest effect that matters).
STABILITY_SHARE = 0.1

#: The readings of "more stable with depth" as record field, direction (+1 should rise with depth, -1 should
#: fall) and words. The first is the thesis's own, as its Section 3.2 speaks of eigenvalues inside the region.
STABILITY_READINGS = (
    ("share_inside", +1, "share of eigenvalues inside Euler's stability region"),
    ("max_amp", -1, "largest |1 + hλ|"),
    ("max_real", -1, "largest real part of λ"),
    ("perturbation", -1, "median perturbation growth"),
)


def _reading(rec: dict, field: str) -> float:
    return float(rec["perturbation"]["median_growth_tangent"] if field == "perturbation" else rec[field])


def stability_readings(n32: dict) -> Verdict:
    """Thesis: with more layers (a smaller step) the forward propagation becomes more stable.

    Rule, fixed before the five-seed numbers were computed: each reading of
    :data:`STABILITY_READINGS` is the change from the shallowest to the deepest
    standard ResNet, oriented so that "more stable" is positive and paired by
    seed (:func:`~resnet_ode.studies.uncertainty.paired_interval`), graded by its one-sided 95 % bounds
    against :data:`STABILITY_SHARE` of the shallowest network's value (of ``1 -
    share`` for the share inside the region; :func:`~resnet_ode.studies.verdicts.grade_margin`). The
    verdict is the grade of the thesis's reading, the share of eigenvalues
    inside the region; if that holds while another reading does not, it holds
    with caveats. Every reading's grade is reported.
    """
    fam = n32["standard"]
    depths = sorted(fam, key=int)
    first, last = fam[depths[0]], fam[depths[-1]]
    common = [s for s in first if s in last]
    grades, parts, evidence = {}, [], {"depths": [int(d) for d in depths], "readings": {}}
    for field, sign, words in STABILITY_READINGS:
        a = np.array([_reading(first[s], field) for s in common])
        b = np.array([_reading(last[s], field) for s in common])
        D = paired_interval(b, a) if sign > 0 else paired_interval(a, b)
        base = float(a.mean())
        margin = STABILITY_SHARE * ((1.0 - base) if sign > 0 else abs(base))
        margin = margin if margin > 0 else STABILITY_SHARE
        g = grade_margin(D.lower, D.upper, margin)
        grades[field] = g
        change = "rise" if sign > 0 else "fall"
        parts.append(f"{words}: {explain_margin(D.lower, D.upper, margin, what=f'its {change}', digits=3)} ({g})")
        evidence["readings"][field] = {"words": words, "direction": change, "shallowest": base,
                                       "deepest": float(b.mean()), "grade": g,
                                       **margin_evidence(D, margin, f"{STABILITY_SHARE:g} of "
                                                          + ("1 - the shallowest share" if sign > 0
                                                             else "the shallowest network's value"),
                                                          seeds_for(b - a if sign > 0 else a - b, margin), len(common))}
    verdict = grades["share_inside"]
    others = [evidence["readings"][f]["words"] for f, *_ in STABILITY_READINGS[1:] if grades[f] == "does not hold"]
    rule = "; ".join(parts) + "; the thesis's reading (the share inside the region) decides"
    if verdict == HOLDS and others:
        verdict = CAVEATS
        rule += ", and " + ", ".join(others) + " does not improve"
    verdict, rule = one_seed_cap(verdict, rule, len(common))
    measured = "; ".join(f"{e['words']} {e['shallowest']:.3g} at {depths[0]} layers, {e['deepest']:.3g} at "
                         f"{depths[-1]} ({e['grade']})" for e in evidence["readings"].values())
    measured += f" (means over {seeds_text(len(common))}, paired by seed)"
    evidence["seeds"] = len(common)
    return Verdict("3.2-depth", measured, verdict, sentence(rule, verdict), evidence)


# ----------------------------------------------------------------------------
# Chapter 3.3: smoother landscapes, one pair of networks per seed
# ----------------------------------------------------------------------------


#: Share of the shallower network's value that a fall to the deeper network must reach to count as smoother or
#: more convex (the smallest effect that matters; the convention of :data:`STABILITY_SHARE`).
SMOOTHNESS_SHARE = 0.1

#: The readings of "smoother and more convex" as surface family (filter-normalised directions), measure and words.
SMOOTHNESS_READINGS = (
    ("joint/filter", "negative_share", "share of grid points with a negative Hessian eigenvalue, joint objective"),
    ("joint/filter", "local_minima", "grid local minima, joint objective"),
    ("varpro/filter", "negative_share", "share of grid points with a negative Hessian eigenvalue, VarPro objective"),
    ("varpro/filter", "local_minima", "grid local minima, VarPro objective"),
)


def smoothness_readings(n33: dict) -> Verdict:
    """Thesis: the deeper network's loss landscape is smoother and more convex.

    Rule, the frame of :func:`stability_readings`: the unit is an
    initial-weight seed, which trains one network of each of the thesis's two
    depths (``thesis_depths``, 8 and 20 layers) and draws the
    filter-normalised directions of both, so the two are paired by seed. Each
    reading of :data:`SMOOTHNESS_READINGS` (``surfaces``: per family, depth and
    seed) is the shallower network's value minus the deeper one's (positive:
    the deeper is smoother), paired by seed
    (:func:`~resnet_ode.studies.uncertainty.paired_interval`), graded by its
    one-sided 95 % bounds against :data:`SMOOTHNESS_SHARE` of the shallower
    network's seed mean (:func:`~resnet_ode.studies.verdicts.grade_margin`),
    with the seeds a one-sided paired t test needs at the measured spread. The
    claim asserts all four (smoother: fewer minima; more convex: fewer points
    of negative curvature; for both objectives), so their grades are combined
    by :func:`~resnet_ode.studies.verdicts.combine`; one seed is never more
    than inconclusive. The rule was written after the five-seed numbers were
    seen; it takes the frame and the share of Chapter 3.2's readings unchanged,
    and the grade of every reading is reported.
    """
    shallow, deep = (str(d) for d in sorted(n33.get("thesis_depths", (8, 20)))[:2])
    surfaces = n33["surfaces"]
    grades, parts, readings, n_seeds = [], [], {}, []
    for family, measure, words in SMOOTHNESS_READINGS:
        first, last = surfaces[family][shallow], surfaces[family][deep]
        common = [s for s in first if s in last]
        a = np.array([float(first[s][measure]) for s in common])
        b = np.array([float(last[s][measure]) for s in common])
        D = paired_interval(a, b)
        base = float(a.mean())
        margin = SMOOTHNESS_SHARE * base if base > 0 else SMOOTHNESS_SHARE
        g = grade_margin(D.lower, D.upper, margin)
        grades.append(g)
        n_seeds.append(len(common))
        parts.append(f"{words}: {explain_margin(D.lower, D.upper, margin, what='its fall', digits=3)} ({g})")
        readings[f"{family}/{measure}"] = {
            "words": words, "direction": "fall", "shallowest": base, "deepest": float(b.mean()), "grade": g,
            **margin_evidence(D, margin, f"{SMOOTHNESS_SHARE:g} of the {shallow}-layer network's value",
                              seeds_for(a - b, margin), len(common))}
    seeds = min(n_seeds)
    verdict = combine(grades)
    rule = "; ".join(parts) + "; the claim asserts every reading, so the grades are combined"
    verdict, rule = one_seed_cap(verdict, rule, seeds)
    measured = "; ".join(f"{e['words']} {e['shallowest']:.3g} at {shallow} layers, {e['deepest']:.3g} at {deep} "
                         f"({e['grade']})" for e in readings.values())
    measured += f" (filter-normalised planes; means over {seeds_text(seeds)}, paired by seed)"
    thesis = n33.get("thesis_figures", {})
    if f"VarPro/{shallow}" in thesis and f"VarPro/{deep}" in thesis:
        measured += (f"; with the thesis's normalisation (first seed) {thesis[f'VarPro/{shallow}']['local_minima']} "
                     f"local minima at {shallow} layers against {thesis[f'VarPro/{deep}']['local_minima']} at {deep}")
    evidence = {"depths": [int(shallow), int(deep)], "readings": readings, "seeds": seeds}
    return Verdict("3.3-smoothness", measured, verdict, sentence(rule, verdict), evidence)


# ----------------------------------------------------------------------------
# Chapter 3.1: a minimum number of state layers for a given final time
# ----------------------------------------------------------------------------


def depth_for_time(n31: dict) -> Verdict:
    """Thesis: a network needs a minimum number of state layers for a given final time T (big steps classify badly).

    Rule, fixed before the grid's numbers were computed, on Chapter 3.1's
    depth-against-time grid (``time_grid``: held-out balanced accuracy of a
    network per T, number of state layers nY and seed): at the largest T the
    deepest network minus the shallowest, paired by seed
    (:func:`~resnet_ode.studies.uncertainty.paired_interval`), is graded by its one-sided bounds against
    :data:`ERROR_SHARE` of the deepest network's errors (:func:`~resnet_ode.studies.verdicts.grade_margin`):
    big steps classify badly. If that holds, the minimum must also grow with T:
    the same drop at the largest T minus the drop at the smallest, paired by
    seed, must have a one-sided lower bound above 0, else it holds with
    caveats. The smallest nY within the margin of the best seed mean is
    reported for every T.
    """
    recs = n31["time_grid"]["runs"]
    times = sorted({float(r["T"]) for r in recs})
    depths = sorted({int(r["nY"]) for r in recs})
    val = {}
    for r in recs:
        val.setdefault((float(r["T"]), int(r["nY"])), {})[int(r["init_seed"])] = float(r["heldout_balanced"])
    seeds = sorted(set.intersection(*(set(v) for v in val.values())))

    def series(t, n):
        return np.array([val[(t, n)][s] for s in seeds])

    lo, hi, big, small = depths[0], depths[-1], times[-1], times[0]
    drop = {t: series(t, hi) - series(t, lo) for t in times}
    D = paired_interval(series(big, hi), series(big, lo))
    margin = error_rate_margin(float(series(big, hi).mean()), ERROR_SHARE)
    growth = paired_interval(drop[big], drop[small])
    verdict = grade_margin(D.lower, D.upper, margin)
    rule = explain_margin(D.lower, D.upper, margin, what=f"the gain of nY = {hi} over nY = {lo} at T = {big:g}")
    if verdict == HOLDS and not growth.lower > 0:
        verdict = CAVEATS
        rule += (f", but the drop at T = {big:g} is not shown to exceed the drop at T = {small:g} "
                 f"(difference {growth.fmt_bounds(sign=True)})")
    verdict, rule = one_seed_cap(verdict, rule, len(seeds))
    means = {(t, n): float(series(t, n).mean()) for t in times for n in depths}
    minimum = {t: min(n for n in depths if means[(t, n)] >= max(means[(t, m)] for m in depths) - margin)
               for t in times}
    measured = ("held-out balanced accuracy, nY = " + f"{lo} against {hi}: "
                + "; ".join(f"T = {t:g}: {means[(t, lo)]:.3f} against {means[(t, hi)]:.3f}" for t in times)
                + f" ({seeds_text(len(seeds))}); at T = {big:g} the difference is {D.fmt_bounds(sign=True)}, smallest "
                f"gain that matters {margin:.3f}; smallest nY within it of the best: "
                + ", ".join(f"{minimum[t]} (T = {t:g})" for t in times))
    margin_rule = f"{ERROR_SHARE:g} of the errors of nY = {hi} at T = {big:g}"
    evidence = {"source": "held-out balanced accuracy", "times": times, "depths": depths,
                "compared": f"nY = {hi} minus nY = {lo} at T = {big:g}",
                "means": {f"T{t:g}/nY{n}": m for (t, n), m in means.items()},
                "minimum_depth": {f"{t:g}": n for t, n in minimum.items()},
                "drop_growth": growth.to_dict(),
                **margin_evidence(D, margin, margin_rule, seeds_for(drop[big], margin), len(seeds))}
    return Verdict("3.1-time", measured, verdict, sentence(rule, verdict), evidence)
