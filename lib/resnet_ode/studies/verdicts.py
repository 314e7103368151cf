"""Grades of a claim: the scale, the rules that grade one-sided bounds, and the judged claim.

The rules of :mod:`resnet_ode.studies.conclusions` apply them to the thesis's claims.

Every claim is graded by one-sided 95 % bounds ``lower``, ``upper`` of an
effect against ``m``, the smallest effect that matters, stated before the
numbers (for accuracies relative to the error rate, :func:`error_rate_margin`):

* a claim that needs an effect (deeper minus shallower accuracy, ...), by
  :func:`grade_margin`: :data:`HOLDS` if ``lower >= m``; :data:`FAILS` ("does
  not hold") if ``upper < m``, which includes equivalence (no effect as large
  as ``m``) and a reversed effect; :data:`CAVEATS` ("holds with caveats") if
  ``0 < lower < m <= upper`` (the direction, not the size);
  :data:`INCONCLUSIVE` otherwise;
* a claim that asserts an absence (an order equal to 4, a negligible share of
  unstable examples), by :func:`grade_equivalence`: :data:`HOLDS` if the
  effect lies within ``m`` of zero, :data:`FAILS` if it is shown to be at
  least ``m`` away, :data:`INCONCLUSIVE` otherwise.

A rule may also give :data:`CAVEATS` when the main effect holds but a part of
the claim does not (each rule says which). Claims about trained networks
resting on one initial-weight seed are never more than :data:`INCONCLUSIVE`
(:func:`one_seed_cap`). Claims with several parts combine their grades by
:func:`combine`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

#: Verdict: the measurements support the claim.
HOLDS = "holds"
#: Verdict: the measurements support part of the claim, or its direction but not its size.
CAVEATS = "holds with caveats"
#: Verdict: the difference the claim needs lies within the uncertainty of the measurements.
INCONCLUSIVE = "inconclusive"
#: Verdict: the measurements contradict the claim.
FAILS = "does not hold"
#: All grades, from the strongest support to none.
GRADES = (HOLDS, CAVEATS, INCONCLUSIVE, FAILS)

#: Label of the verdicts on the book's own training settings.
BOOK_SETTING = "book"


@dataclass(frozen=True)
class Verdict:
    """One judged claim.

    Attributes
    ----------
    key : str
        Short identifier, e.g. ``"3.1-accuracy"``.
    measured : str
        The numbers the verdict rests on, with their intervals, as a short sentence.
    verdict : str
        One of :data:`GRADES`.
    rule : str
        One sentence: the rule that decided, with the numbers it compared.
    evidence : dict
        The numbers with their intervals (plain JSON types).
    setting : str
        The training setting the numbers come from (:data:`BOOK_SETTING`
        unless :func:`~resnet_ode.studies.conclusions.judge_all` was given another).
    """

    key: str
    measured: str
    verdict: str
    rule: str = ""
    evidence: dict = field(default_factory=dict)
    setting: str = BOOK_SETTING

    def to_dict(self) -> dict:
        """All fields, as plain JSON types."""
        return asdict(self)


# ----------------------------------------------------------------------------
# Grading
# ----------------------------------------------------------------------------


def combine(grades) -> str:
    """One grade for a claim made of several parts (all of which it asserts).

    :data:`HOLDS` if every part holds; :data:`CAVEATS` if at least one part
    holds or holds with caveats; otherwise :data:`INCONCLUSIVE` if at least
    one part is inconclusive; :data:`FAILS` if every part fails.
    """
    grades = list(grades)
    if not grades:
        return INCONCLUSIVE
    unknown = set(grades) - set(GRADES)
    if unknown:
        raise ValueError(f"not grades: {sorted(unknown)}")
    if all(g == HOLDS for g in grades):
        return HOLDS
    if any(g in (HOLDS, CAVEATS) for g in grades):
        return CAVEATS
    if any(g == INCONCLUSIVE for g in grades):
        return INCONCLUSIVE
    return FAILS


def sentence(text: str, verdict: str) -> str:
    return f"{text[0].upper()}{text[1:]}: {verdict}."


def seeds_text(s: int) -> str:
    return "1 seed" if s == 1 else f"{s} seeds"


def one_seed_cap(verdict: str, rule: str, seeds: int) -> tuple[str, str]:
    """A claim about trained networks cannot be decided from one initial-weight seed.

    With one seed the spread over initial weights, which Chapter 3.1 measures
    to be far larger than any evaluation-set term, is unmeasured. Any grade
    other than :data:`INCONCLUSIVE` then becomes :data:`INCONCLUSIVE`, and the
    rule says why (a guard: the t bounds of one seed are infinite, so the
    rules already grade it inconclusive). Returns ``(verdict, rule)``.
    """
    if seeds >= 2 or verdict == INCONCLUSIVE:
        return verdict, rule
    return INCONCLUSIVE, (rule + f" (graded {verdict} on the points alone; with one seed the spread over initial "
                                 "weights is unmeasured, so no verdict beyond inconclusive)")


def disagreements(by_setting: dict) -> dict:
    """The claims whose verdict differs between the settings that judged them.

    Parameters
    ----------
    by_setting : dict
        As :func:`resnet_ode.studies.conclusions.judge_settings` returns: ``setting -> {claim key -> Verdict}``.

    Returns
    -------
    dict
        ``claim key -> {setting -> grade}`` for every claim judged under at
        least two settings with at least two different grades, in the order
        of the claims.
    """
    keys = list(dict.fromkeys(k for verdicts in by_setting.values() for k in verdicts))
    out = {}
    for key in keys:
        grades = {s: verdicts[key].verdict for s, verdicts in by_setting.items() if key in verdicts}
        if len(grades) >= 2 and len(set(grades.values())) >= 2:
            out[key] = grades
    return out


# ----------------------------------------------------------------------------
# Grading by one-sided bounds against the smallest effect that matters
# ----------------------------------------------------------------------------


def _check_bounds(lower, upper, margin):
    lower, upper, margin = float(lower), float(upper), float(margin)
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"the margin (smallest effect that matters) must be finite and > 0, got {margin}")
    if math.isnan(lower) or math.isnan(upper) or lower > upper:
        raise ValueError(f"need lower <= upper, got lower={lower}, upper={upper}")
    return lower, upper, margin


def grade_margin(lower: float, upper: float, margin: float) -> str:
    """Grade an effect by its one-sided bounds against the smallest effect that matters.

    Parameters
    ----------
    lower, upper : float
        One-sided lower and upper 95 % bounds of the effect (e.g. ``lower``
        and ``upper`` of a :class:`~resnet_ode.studies.uncertainty.BoundedEstimate`),
        oriented so that the claim predicts a positive effect;
        ``-inf`` / ``inf`` where no bound could be formed.
    margin : float
        ``m > 0``, the smallest effect that matters: the effect the claim
        needs, fixed before the numbers are seen.

    Returns
    -------
    str
        The first of these that applies:

        1. :data:`HOLDS` if ``lower >= m``: an effect at least as large as
           the claim needs is shown;
        2. :data:`FAILS` ("does not hold") if ``upper < m``: no effect as large
           as ``m``. This includes the **equivalence** case ``-m < lower``
           and ``upper < m`` (the effect lies within ``m`` of zero), a
           reversed effect (``upper < 0``) and an effect in the claimed
           direction too small to matter (``lower > 0``, ``upper < m``);
        3. :data:`CAVEATS` if ``lower > 0`` (so ``0 < lower < m <= upper``):
           an effect in the claimed direction is shown, but not that it is as
           large as ``m``;
        4. :data:`INCONCLUSIVE` otherwise (``lower <= 0`` and ``upper >= m``):
           both no effect and an effect of ``m`` are compatible with the data.

        At the boundaries: ``lower == m`` holds, ``upper == m`` does not fail
        (an effect of exactly ``m`` is not excluded), ``lower == 0`` is not
        a shown effect. Infinite bounds (one seed) give :data:`INCONCLUSIVE`.

    Raises
    ------
    ValueError
        If ``m`` is not finite and positive, or ``lower > upper``.
    """
    lower, upper, margin = _check_bounds(lower, upper, margin)
    if lower >= margin:
        return HOLDS
    if upper < margin:
        return FAILS
    if lower > 0:
        return CAVEATS
    return INCONCLUSIVE


def explain_margin(lower: float, upper: float, margin: float, what: str = "the effect", digits: int = 3) -> str:
    """The clause :func:`grade_margin` decided by, naming the kind of "does not hold".

    E.g. ``"the effect lies within +/-0.010 of 0 (one-sided bounds -0.015, +0.009; equivalence)"``.
    """
    g = grade_margin(lower, upper, margin)

    def f(x):
        return f"{x:+.{digits}f}" if math.isfinite(x) else ("-inf" if x < 0 else "inf")

    b = f"(one-sided bounds {f(lower)}, {f(upper)})"
    m = f(margin)
    if g == HOLDS:
        return f"{what} is at least the required {m} {b}"
    if g == CAVEATS:
        return f"{what} is above 0 but not shown to reach the required {m} {b}"
    if g == INCONCLUSIVE:
        return f"{what} may be 0 or the required {m} {b}"
    if upper < 0:
        return f"{what} is reversed: below 0 {b}"
    if lower > -margin:
        return f"{what} lies within +/-{margin:.{digits}f} of 0 {b}; equivalence: no effect as large as {m}"
    return f"{what} is shown to stay below the required {m} {b}"


def grade_equivalence(lower: float, upper: float, margin: float) -> str:
    """Grade a claim of **no effect that matters** by its one-sided bounds (two one-sided tests).

    Some claims assert an absence: the thesis's RK4 code has the classical
    order (its fitted order minus 4 is negligible), the deepest network's
    examples are stable (the share of unstable ones is negligible). The effect
    (order minus 4; the unstable share) is graded against the smallest effect
    that matters ``m``, stated before the numbers.

    Parameters
    ----------
    lower, upper : float
        One-sided lower and upper 95 % bounds of the effect; ``-inf`` /
        ``inf`` where none could be formed.
    margin : float
        ``m > 0``, the smallest effect that matters.

    Returns
    -------
    str
        1. :data:`HOLDS` if ``-m < lower`` and ``upper < m``: the effect lies
           within ``m`` of zero (both one-sided tests reject an effect of
           ``m``);
        2. :data:`FAILS` ("does not hold") if ``lower >= m`` or ``upper <=
           -m``: an effect at least as large as ``m`` is shown;
        3. :data:`INCONCLUSIVE` otherwise. There is no :data:`CAVEATS` on this
           scale (a rule may still give it for another part of its claim).

        The boundaries mirror :func:`grade_margin`: an effect of exactly ``m``
        is not excluded, and a bound at ``m`` shows it.

    Raises
    ------
    ValueError
        If ``m`` is not finite and positive, or ``lower > upper``.
    """
    lower, upper, margin = _check_bounds(lower, upper, margin)
    if -margin < lower and upper < margin:
        return HOLDS
    if lower >= margin or upper <= -margin:
        return FAILS
    return INCONCLUSIVE


def explain_equivalence(lower: float, upper: float, margin: float, what: str = "the effect", digits: int = 3) -> str:
    """The clause :func:`grade_equivalence` decided by, e.g. ``"the effect lies within +/-0.500 of 0 (...)"``."""
    g = grade_equivalence(lower, upper, margin)

    def f(x):
        return f"{x:+.{digits}f}" if math.isfinite(x) else ("-inf" if x < 0 else "inf")

    b = f"(one-sided bounds {f(lower)}, {f(upper)})"
    m = f"{margin:.{digits}f}"
    if g == HOLDS:
        return f"{what} lies within +/-{m} of 0 {b}"
    if g == FAILS:
        return f"{what} is at least {m} away from 0 {b}"
    return f"{what} may lie within +/-{m} of 0 or beyond it {b}"


def error_rate_margin(baseline_accuracy: float, share: float = 0.1) -> float:
    """An accuracy margin relative to the error rate, as an absolute accuracy difference.

    A gain "that removes ``share`` of the errors" of a baseline with accuracy
    ``a`` is ``share * (1 - a)``: for ``a = 0.98`` and ``share = 0.1``, 0.002;
    for ``a = 0.726`` (the majority-class baseline of the grid), 0.0274.

    Parameters
    ----------
    baseline_accuracy : float
        In [0, 1).
    share : float
        Share of the baseline's errors the effect must remove, in (0, 1].

    Returns
    -------
    float
        ``share * (1 - baseline_accuracy)``, a margin for :func:`grade_margin`.
    """
    a, share = float(baseline_accuracy), float(share)
    if not 0.0 <= a < 1.0:
        raise ValueError(f"baseline_accuracy must lie in [0, 1) (a baseline without errors leaves none to remove), "
                         f"got {a}")
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must lie in (0, 1], got {share}")
    return share * (1.0 - a)


# ----------------------------------------------------------------------------
# The record Chapter 4 writes
# ----------------------------------------------------------------------------

#: Fields of a comparison graded against a smallest effect that matters, with their types. ``test`` is one of
#: :data:`TESTS`; ``margin_rule`` says how the margin was set (in words, without its value, which ``margin`` holds).
MARGIN_FIELDS = {"margin": float, "margin_rule": str, "lower": (float, type(None)), "upper": (float, type(None)),
                 "seeds": int, "seeds_needed": (int, type(None)), "interval": str, "difference": dict, "test": str}

#: How a margin comparison is graded; ``"effect"`` by :func:`grade_margin` (the claim needs an effect of at least
#: the margin), ``"equivalence"`` by :func:`grade_equivalence` (the claim is that no effect as large exists).
TESTS = ("effect", "equivalence")


def _check_margin(where: str, ev: dict):
    for name, kind in MARGIN_FIELDS.items():
        if name not in ev:
            raise ValueError(f"{where}: the margin comparison lacks {name!r}")
        value = ev[name]
        if isinstance(value, bool) or not isinstance(value, kind if isinstance(kind, tuple) else (kind,)):
            if not (kind is float and isinstance(value, int)):
                raise ValueError(f"{where}: {name} must be {kind}, got {value!r}")
    if not ev["margin"] > 0:
        raise ValueError(f"{where}: margin must be > 0, got {ev['margin']!r}")
    if ev["test"] not in TESTS:
        raise ValueError(f"{where}: test {ev['test']!r} is not one of {TESTS}")
    note = ev.get("power_note")
    if note is not None and not (isinstance(note, str) and note):
        raise ValueError(f"{where}: power_note must be a non-empty str, got {note!r}")
    if ev["seeds"] < (0 if note else 1) or (ev["seeds_needed"] is not None and ev["seeds_needed"] < 2):
        raise ValueError(f"{where}: seeds {ev['seeds']!r} and seeds_needed {ev['seeds_needed']!r} out of range")
    if note and ev["seeds_needed"] is not None:
        raise ValueError(f"{where}: a power_note says why no seeds are asked for, but seeds_needed is "
                         f"{ev['seeds_needed']!r}")
    if ev["lower"] is not None and ev["upper"] is not None and ev["lower"] > ev["upper"]:
        raise ValueError(f"{where}: lower bound {ev['lower']} above upper bound {ev['upper']}")


def check_verdict_record(record: dict) -> dict:
    """Check one verdict as Chapter 4 writes it (:meth:`Verdict.to_dict`); return it.

    Every field of :class:`Verdict` with its type, a grade of :data:`GRADES`,
    and for every comparison graded against a smallest effect that matters (the
    evidence itself, or an entry of its ``pairs`` or ``readings``) the fields of
    :data:`MARGIN_FIELDS`. A comparison for which no power calculation over
    seeds applies (nothing trained, e.g. the thesis's RK4 code on its toy
    problem) says why in ``power_note``; it may then rest on 0 seeds and must
    leave ``seeds_needed`` empty.

    Raises
    ------
    ValueError
        Naming the claim and the field that is missing or wrong.
    """
    if not isinstance(record, dict):
        raise ValueError(f"a verdict record must be a dict, got {type(record).__name__}")
    where = str(record.get("key", "?"))
    for name, kind in (("key", str), ("measured", str), ("verdict", str), ("rule", str), ("evidence", dict),
                       ("setting", str)):
        if not isinstance(record.get(name), kind):
            raise ValueError(f"{where}: {name} must be a {kind.__name__}, got {record.get(name)!r}")
    if record["verdict"] not in GRADES:
        raise ValueError(f"{where}: verdict {record['verdict']!r} is not one of {GRADES}")
    ev = record["evidence"]
    if "margin" in ev:
        _check_margin(where, ev)
    for group in ("pairs", "readings"):
        entries = ev.get(group)
        for name, sub in (entries.items() if isinstance(entries, dict) else ()):
            if isinstance(sub, dict) and "margin" in sub:
                _check_margin(f"{where} {group} {name}", sub)
    return record


def check_conclusions_record(data: dict) -> dict:
    """Check the whole record of Chapter 4 (``_build/numbers/chapter-4.json`` before its ``_meta``); return it.

    ``grades`` (the scale), ``verdicts`` (claim key -> verdict record),
    ``settings`` (setting -> ``label`` and ``verdicts``) and ``disagreements``.
    """
    for name, kind in (("grades", list), ("verdicts", dict), ("settings", dict), ("disagreements", dict)):
        if not isinstance(data.get(name), kind):
            raise ValueError(f"the Chapter 4 record's {name} must be a {kind.__name__}, got {data.get(name)!r}")
    if list(data["grades"]) != list(GRADES):
        raise ValueError(f"the Chapter 4 record's grades must be {list(GRADES)}, got {data['grades']!r}")
    for key, rec in data["verdicts"].items():
        if check_verdict_record(rec)["key"] != key:
            raise ValueError(f"verdict {key!r} holds the record of {rec['key']!r}")
    for setting, block in data["settings"].items():
        if not isinstance(block, dict) or not isinstance(block.get("verdicts"), dict):
            raise ValueError(f"the Chapter 4 record's setting {setting!r} must hold a dict of verdicts")
        for rec in block["verdicts"].values():
            check_verdict_record(rec)
    return data
