"""Grades of a claim: the scale, the rule that grades an interval, and the judged claim.

The rules of :mod:`resnet_ode.studies.conclusions` apply them to the thesis's claims.

Most claims need an effect: a difference (deeper minus shallower accuracy,
shallower minus deeper instability, ...) of at least a required size. Its 95 %
interval ``[low, high]`` is set against two values, ``null`` (no effect) and
``required`` (the claimed effect), by :func:`grade`:

* :data:`HOLDS`: ``low >= required``: the effect is there, at least as large
  as the claim needs;
* :data:`FAILS` ("does not hold"): ``high < required``: the effect is absent,
  reversed, or smaller than the claim needs;
* :data:`CAVEATS` ("holds with caveats"): ``null < low < required <= high``:
  an effect in the claimed direction, whose size is not established;
* :data:`INCONCLUSIVE`: ``low <= null`` and ``high >= required``: the
  difference the claim needs lies within the uncertainty.

A rule may also give :data:`CAVEATS` when the main effect holds but a part of
the claim does not (each rule says which). Claims about trained networks
(Chapter 3.1's two, Chapter 3.4's accuracy) resting on one initial-weight seed
are never more than :data:`INCONCLUSIVE` (:func:`one_seed_cap`). Claims with several parts combine
their grades by :func:`combine`. Threshold claims (a share of at least 95 %)
use ``null = required``, so they hold, fail or are inconclusive.

:func:`grade_margin` grades on the same scale by one-sided 95 % bounds against
the smallest effect that matters, stated before the numbers (for accuracies
relative to the error rate, :func:`error_rate_margin`), so that "does not hold:
no effect as large as the margin" (equivalence) is a result the data can give.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from resnet_ode.studies.uncertainty import Estimate

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


def grade(est: Estimate, required: float, null: float = 0.0) -> str:
    """Grade an interval against the effect a claim needs (see the module description).

    Parameters
    ----------
    est : Estimate
        The measured effect with its interval, oriented so that the claim
        predicts large values.
    required : float
        The effect the claim needs (``>= null``).
    null : float
        No effect.

    Returns
    -------
    str
        :data:`HOLDS` if ``low >= required``; :data:`FAILS` if ``high <
        required``; :data:`CAVEATS` if ``low > null``; :data:`INCONCLUSIVE`
        otherwise.
    """
    if required < null:
        raise ValueError(f"required ({required}) must not be below null ({null})")
    if est.low >= required:
        return HOLDS
    if est.high < required:
        return FAILS
    if est.low > null:
        return CAVEATS
    return INCONCLUSIVE


def explain(est: Estimate, required: float, null: float = 0.0, what: str = "the effect", digits: int = 3,
            sign: bool = True) -> str:
    """The clause :func:`grade` decided by, e.g. ``"... [-0.002, +0.050] contains both 0 and the required +0.010"``."""
    g = grade(est, required, null)

    def f(x):
        if x == 0:
            return "0"
        return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"

    head = f"{what} {est.fmt(digits, sign)}"
    target = "the threshold" if required == null else "the required"
    if g == HOLDS:
        return f"{head} lies at or above {target} {f(required)}"
    if g == FAILS:
        return f"{head} lies below {target} {f(required)}"
    if g == CAVEATS:
        return f"{head} lies above {f(null)} (no effect) but reaches below the required {f(required)}"
    if required == null:
        return f"{head} contains the threshold {f(required)}"
    return f"{head} contains both {f(null)} (no effect) and the required {f(required)}"


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

    With one seed, an interval covers only the evaluation points (on the
    65,536 grid points it is a few tenths of a percentage point wide), not the
    spread over initial weights, which Chapter 3.1 measures to be far larger.
    Any grade other than :data:`INCONCLUSIVE` then becomes
    :data:`INCONCLUSIVE`, and the rule says why. Returns ``(verdict, rule)``.
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
    return f"no {what} as large as the required {m} {b}"


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

#: Fields of a comparison graded against a smallest effect that matters, with their types.
MARGIN_FIELDS = {"margin": float, "margin_rule": str, "lower": (float, type(None)), "upper": (float, type(None)),
                 "seeds": int, "seeds_needed": (int, type(None)), "interval": str, "difference": dict}


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
    if ev["seeds"] < 1 or (ev["seeds_needed"] is not None and ev["seeds_needed"] < 2):
        raise ValueError(f"{where}: seeds {ev['seeds']!r} and seeds_needed {ev['seeds_needed']!r} out of range")
    if ev["lower"] is not None and ev["upper"] is not None and ev["lower"] > ev["upper"]:
        raise ValueError(f"{where}: lower bound {ev['lower']} above upper bound {ev['upper']}")


def check_verdict_record(record: dict) -> dict:
    """Check one verdict as Chapter 4 writes it (:meth:`Verdict.to_dict`); return it.

    Every field of :class:`Verdict` with its type, a grade of :data:`GRADES`,
    and for every comparison graded against a smallest effect that matters (the
    evidence itself, or an entry of its ``pairs`` or ``readings``) the fields of
    :data:`MARGIN_FIELDS`.

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
