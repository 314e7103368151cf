"""The thesis's conclusions set against the numbers the chapters measured.

Each claim of the thesis's Chapter 4 is judged by one explicit rule on the
key numbers the chapters write to ``_build/numbers`` (see
:func:`resnet_ode.book.numbers.read_numbers`). The rules are stated in each
function's docstring and applied in code to **one-sided 95 % bounds**
(:mod:`resnet_ode.studies.uncertainty`) against **the smallest effect that
matters**, stated before the numbers, so a verdict changes when the numbers or
their uncertainty do; they are tested on made-up numbers in
``tests/test_conclusions.py``.

**Grades** (:mod:`resnet_ode.studies.verdicts`): holds, holds with caveats,
inconclusive, does not hold. A claim that needs an effect is graded by
:func:`~resnet_ode.studies.verdicts.grade_margin`, a claim that asserts an
absence (an order equal to 4, a negligible share of unstable examples) by
:func:`~resnet_ode.studies.verdicts.grade_equivalence`. Claims about trained
networks resting on one initial-weight seed are never more than inconclusive
(:func:`~resnet_ode.studies.verdicts.one_seed_cap`). Every comparison carries
the seeds it rests on and the seeds a one-sided t test needs at the measured
spread (:func:`resnet_ode.studies.power.seeds_needed_from`), or says why no
such calculation applies.

**Inputs.** The key numbers the chapters write: Chapter 3.1's per-seed
held-out balanced accuracy matrices (``heldout``) and its depth-against-time
grid (``time_grid``), Chapter 3.2's per-seed stability records, Chapter 3.3's
per-seed surface measures (``surfaces``), Chapter 3.4's convergence points and
per-run held-out accuracies. The rules for classification, stability and
smoothness live in :mod:`resnet_ode.studies.margins`.

:func:`judge_all` judges every claim; with ``setting=`` it judges the numbers
a chapter stored under that key (``reference_cg``: the reference's Gauss-Newton
CG settings, stored by Chapters 3.1, 3.2 and 3.4; ``code_nt``: Chapter 3.1 with
the thesis code's control layers) and labels the verdicts with it.
:func:`judge_settings` does so for every setting, and :func:`~resnet_ode.studies.verdicts.disagreements`
lists the claims whose verdict changes with the setting.
"""

from __future__ import annotations

import numpy as np

from resnet_ode.core.costs import equal_cost_states, step_evaluations
from resnet_ode.studies import margins
from resnet_ode.studies.margins import ERROR_SHARE, MARGIN_COLUMNS, margin_rows  # noqa: F401 - re-exported for the book
from resnet_ode.studies.toy_landscapes import WRITTEN
from resnet_ode.studies.uncertainty import LEVEL, BoundedEstimate, population_estimate, slope_interval
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
    explain_equivalence,
    grade_equivalence,
    one_seed_cap,
    seeds_text,
    sentence,
)

#: Required advantage of the deep networks' transfer accuracy over the shallow ones' (Chapter 3.1), half the
#: majority-class baseline's balanced accuracy of 0.2.
TRANSFER_EFFECT = 0.1
#: Largest gap between the deep networks' own accuracy and their transfer accuracy for "works as well".
TRANSFER_GAP = 0.05
#: Largest share of (example, layer) pairs with an eigenvalue outside the stability region that still counts as
#: "the examples are stable" (Chapter 3.2's condition): the smallest effect that matters.
UNSTABLE_SHARE = 0.05
#: Largest distance of the thesis code's fitted order from 4 for "converges like RK4", the smallest effect that matters.
ORDER_TOLERANCE = 0.5
#: Largest factor between the largest objectives of the thesis's RK4 and Euler panels for "reproduces".
OBJECTIVE_RATIO = 2.0
#: Smallest step count of the toy convergence fit (as :func:`resnet_ode.studies.rkstudy.toy_convergence`).
FIT_MIN_STEPS = 128


# ----------------------------------------------------------------------------
# Chapter 3.1
# ----------------------------------------------------------------------------


def _heldout(n31: dict):
    source = margins.heldout_source(n31)
    if source is None:
        raise KeyError("Chapter 3.1's numbers hold no held-out accuracies ('heldout' with 'balanced_seeds'); "
                       "rerun Chapter 3.1")
    return source


def state_layers_accuracy(n31: dict) -> Verdict:
    """Thesis: more state layers give better classification.

    Rule: ``D`` is the deepest network's own held-out balanced accuracy (the
    diagonal of the per-seed cross-accuracy matrices ``heldout``) minus the
    shallowest network's, paired by seed (the depths share initial weights).
    Its one-sided 95 % bounds are graded against
    :data:`~resnet_ode.studies.margins.ERROR_SHARE` of the shallowest
    network's errors (:func:`~resnet_ode.studies.verdicts.grade_margin`); a
    verdict of :data:`~resnet_ode.studies.verdicts.HOLDS` becomes
    :data:`~resnet_ode.studies.verdicts.CAVEATS` if the own accuracy falls
    significantly (two-sided 95 % interval of the paired step below 0) between two
    neighbouring depths. Computed by :func:`resnet_ode.studies.margins.heldout_accuracy`.
    """
    return margins.heldout_accuracy(n31, _heldout(n31))


def state_layers_transfer(n31: dict) -> Verdict:
    """Thesis: weights of the deeper networks combine well with each other's networks, unlike the shallow ones.

    Rule: per seed, on held-out balanced accuracy, ``deep`` is the mean
    off-diagonal accuracy among the three deepest networks, ``shallow`` the
    mean off-diagonal accuracy in the rows of the two shallowest, ``own`` the
    mean own accuracy of the three deepest. ``deep - shallow``, paired by
    seed, is graded by its one-sided bounds against :data:`TRANSFER_EFFECT`;
    a verdict of :data:`~resnet_ode.studies.verdicts.HOLDS` becomes
    :data:`~resnet_ode.studies.verdicts.CAVEATS` unless the one-sided upper
    bound of ``own - deep`` is at most :data:`TRANSFER_GAP` (transfer as good
    as the networks' own accuracy). Computed by
    :func:`resnet_ode.studies.margins.heldout_transfer`.
    """
    return margins.heldout_transfer(_heldout(n31), TRANSFER_EFFECT, TRANSFER_GAP)


# ----------------------------------------------------------------------------
# Chapter 3.2
# ----------------------------------------------------------------------------


def stability_with_depth(n32: dict) -> Verdict:
    """Thesis: with more layers (a smaller step) the forward propagation becomes more stable.

    Four readings of "more stable", each paired by seed and graded against a
    smallest change that matters; the thesis's own (the share of eigenvalues
    inside the stability region) decides: :func:`resnet_ode.studies.margins.stability_readings`.
    """
    return margins.stability_readings(n32)


def stability_condition(n32: dict) -> Verdict:
    """Thesis: the eigenvalues of the deepest network meet the stability condition.

    Rule: for every seed of the deepest standard ResNet, ``u`` is the share of
    (example, layer) pairs, over every training example, whose layer Jacobian
    has an eigenvalue outside forward Euler's region (1 minus the share of
    pairs stable in every eigenvalue). The claim asserts that ``u`` is
    negligible: the seed mean of ``u`` with its one-sided 95 % bounds (Student
    t over the seeds, no sampling term: the examples are the whole training
    set, :func:`~resnet_ode.studies.uncertainty.population_estimate`) is graded
    by :func:`~resnet_ode.studies.verdicts.grade_equivalence` against
    :data:`UNSTABLE_SHARE`, the smallest share of unstable pairs that matters.
    One depth, so nothing is paired. The seeds asked for are those a one-sided
    t test needs at the measured spread of ``u`` to bound it below the margin
    were every pair stable. One seed is never more than inconclusive.

    Raises
    ------
    ValueError
        If the records analysed fewer examples than the training set
        (``n_samples`` below ``n_train``): a sample would need a sampling
        term this rule does not have.
    """
    fam = n32["standard"]
    deepest = max(fam, key=int)
    recs = fam[deepest]
    population = n32.get("n_train")
    for seed, rec in recs.items():
        n = rec.get("n_samples")
        if population is None or (n is not None and int(n) < int(population)):
            raise ValueError(f"3.2-condition needs the share over every training example; seed {seed} analysed "
                             f"n_samples = {n} of n_train = {population}")
    seeds = list(recs)
    unstable = np.array([1.0 - float(recs[s]["share_stable_examples"]) for s in seeds])
    U = population_estimate(unstable, LEVEL, clip=(0.0, 1.0))
    verdict = grade_equivalence(U.lower, U.upper, UNSTABLE_SHARE)
    rule = explain_equivalence(U.lower, U.upper, UNSTABLE_SHARE,
                               what="the share of (example, layer) pairs with an eigenvalue outside the region")
    verdict, rule = one_seed_cap(verdict, rule, len(seeds))
    inside = [float(rec["share_inside"]) for rec in recs.values()]
    positive = [float(rec["min_max_real"]) for rec in recs.values()]
    measured = (f"{deepest} layers, every one of the {int(population)} training examples: share of (example, layer) "
                f"pairs with an eigenvalue outside the region {U.fmt_bounds()}, per seed {unstable.min():.4f} to "
                f"{unstable.max():.4f} ({seeds_text(len(seeds))}); smallest share that matters {UNSTABLE_SHARE:.2f}; "
                f"share of eigenvalues inside the region between {min(inside):.2f} and {max(inside):.2f} over the seeds; "
                f"every (example, layer) pair has an eigenvalue λ with real part at least {min(positive):.1e}")
    evidence = {"layers": int(deepest), "n_examples": int(population), "inside_share": {"min": min(inside),
                "max": max(inside)}, "min_max_real": min(positive),
                "compared": "share of (example, layer) pairs with an eigenvalue outside the region, deepest network",
                **margins.margin_evidence(U, UNSTABLE_SHARE, "largest share of unstable pairs that still counts as "
                                          "stable", margins.seeds_for(unstable, UNSTABLE_SHARE), len(seeds),
                                          test="equivalence")}
    return Verdict("3.2-condition", measured, verdict, sentence(rule, verdict), evidence)


# ----------------------------------------------------------------------------
# Chapter 3.3
# ----------------------------------------------------------------------------


def landscape_smoothness(n33: dict) -> Verdict:
    """Thesis: the deeper network's loss landscape is smoother and more convex.

    Four readings (two objectives, two measures on filter-normalised planes),
    each paired by seed and graded against a smallest fall that matters, all
    four asserted: :func:`resnet_ode.studies.margins.smoothness_readings`.
    """
    return margins.smoothness_readings(n33)


# ----------------------------------------------------------------------------
# Chapter 3.4
# ----------------------------------------------------------------------------

#: Why 3.4-correct asks for no seeds (printed in Chapter 4's table of margins).
NO_TRAINING = "nothing trained: the bounds are a fit's over deterministic step counts, which seeds would not narrow"


def _order_estimate(n34: dict) -> BoundedEstimate:
    """Fitted order of the thesis's RK4 code: the slope over the convergence points, with its t bounds."""
    conv = n34["convergence"][WRITTEN]
    steps = np.asarray(conv["steps"], dtype=float)
    errors = np.asarray(conv["errors"], dtype=float)
    fit = steps >= n34.get("parameters", {}).get("fit_min_steps", FIT_MIN_STEPS)
    if fit.sum() < 2 or not np.all(errors[fit] > 0):
        raise ValueError(f"the convergence of {WRITTEN} needs at least 2 positive errors at steps >= "
                         f"{FIT_MIN_STEPS}, got steps {steps.tolist()} and errors {errors.tolist()}")
    return slope_interval(-np.log(steps[fit]), np.log(errors[fit]))  # log h = log T - log steps


def rk4_as_written(n34: dict) -> Verdict:
    """Thesis: RK4 with a four times larger step reproduces the standard ResNet's objective, so the RK4 code is correct.

    Rule: the fitted convergence order of the thesis's code on the toy
    problem (least-squares slope over the step counts of the fit) minus 4,
    the classical method's order, is graded by its one-sided 95 % t bounds
    (:func:`~resnet_ode.studies.uncertainty.slope_interval`) against
    :data:`ORDER_TOLERANCE`, the smallest departure from the order that
    matters (:func:`~resnet_ode.studies.verdicts.grade_equivalence`: holds if
    both bounds lie within it, does not hold if a bound shows a departure of
    at least it). It then holds with caveats if the thesis's evidence, the
    largest objective of its RK4 panel against Euler's, differs by more than
    a factor :data:`OBJECTIVE_RATIO` (the code is right but the comparison did
    not show it).

    No power calculation over seeds applies (:data:`NO_TRAINING`): nothing is
    trained, and the fit's residuals are the method's higher-order terms on
    one deterministic problem, not a spread over random draws.
    """
    orders = n34["convergence_order"]
    est = _order_estimate(n34)
    d = BoundedEstimate(est.value - 4.0, est.low - 4.0, est.high - 4.0, est.n, est.method,
                        lower=est.lower - 4.0, upper=est.upper - 4.0, level=est.level)
    pair = n34.get("toy_landscapes", {}).get("thesis_pair", {}).get("train", {})
    ratio = None
    if WRITTEN in pair and "euler" in pair:
        ratio = float(pair[WRITTEN]["max"]) / float(pair["euler"]["max"])
    verdict = grade_equivalence(d.lower, d.upper, ORDER_TOLERANCE)
    rule = explain_equivalence(d.lower, d.upper, ORDER_TOLERANCE, what="the fitted order of the thesis's code minus 4",
                               digits=2)
    if verdict == HOLDS and ratio is not None and not (1 / OBJECTIVE_RATIO <= ratio <= OBJECTIVE_RATIO):
        verdict = CAVEATS
        rule += (f", but its largest objective is {ratio:.1f} times Euler's, more than a factor {OBJECTIVE_RATIO:g} "
                 "apart")
    measured = (f"fitted order of the thesis's code {est.fmt_bounds(2)} (classical RK4 {orders['rk4']:.2f}, Euler "
                f"{orders['euler']:.2f}); smallest departure from 4 that matters {ORDER_TOLERANCE:.1f}; nothing trained")
    if ratio is not None:
        measured += f"; its largest objective {ratio:.1f} times Euler's on the thesis's grid"
    evidence = {"order": est.to_dict(), "orders": {k: float(v) for k, v in orders.items()},
                "objective_ratio": ratio, "largest_ratio": OBJECTIVE_RATIO,
                "compared": "fitted order of the thesis's RK4 code minus 4",
                **margins.margin_evidence(d, ORDER_TOLERANCE, "half an order", None, 0, test="equivalence",
                                          power_note=NO_TRAINING)}
    return Verdict("3.4-correct", measured, verdict, sentence(rule, verdict), evidence)


def _rk_pairs(runs):
    """RK4 nY with the Euler nY of equal cost, ``[(nY_rk4, nY_euler)]``."""
    have = {(r["integrator"], int(r["nY"])) for r in runs}
    euler_states = lambda n: equal_cost_states(n, step_evaluations("rk4"))  # noqa: E731
    return [(n, euler_states(n)) for m, n in sorted(have, key=lambda k: k[1])
            if m == "rk4" and ("euler", euler_states(n)) in have]


def rk4_accuracy(n34: dict) -> Verdict:
    """Thesis (expectation): an RK4 network should classify more accurately than a standard ResNet.

    Rule: pair every RK4 network with the Euler network of equal cost
    (function evaluations per forward pass), seed by seed (they start from
    the same weights); in each pair, RK4's held-out balanced accuracy minus
    Euler's, paired by seed, is graded by its one-sided 95 % bounds against
    :data:`~resnet_ode.studies.margins.ERROR_SHARE` of the Euler network's
    errors; the pairs are combined by :func:`~resnet_ode.studies.verdicts.combine`.
    Computed by :func:`resnet_ode.studies.margins.heldout_rk4_accuracy`.
    """
    runs = n34["peaks"].get("runs") or []
    missing = [f"{r.get('integrator')} nY = {r.get('nY')}" for r in runs if "heldout_balanced" not in r]
    if not runs or missing:
        raise KeyError(f"Chapter 3.4's runs need 'heldout_balanced' (missing in {missing or 'every run'}); "
                       "rerun Chapter 3.4")
    return margins.heldout_rk4_accuracy(runs, _rk_pairs(runs))


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

