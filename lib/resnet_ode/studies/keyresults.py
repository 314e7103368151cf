"""The book's key results: one short line per claim of the thesis, from Chapter 4's verdicts.

The front page and Chapter 1 show, for every claim, its verdict and the one comparison
it rests on most directly, in a line short enough for a table cell.
:func:`key_results` builds those lines from the verdicts of
:func:`resnet_ode.studies.conclusions.judge_all`: the claim's first comparison graded
against a smallest effect that matters (its difference, one-sided 95 % bounds, margin
and seeds) and, where the claim rests on several comparisons, how many of them
received each grade. Chapter 4 glues them, the other pages paste them;
:func:`verdict_counts` says in one sentence how many claims received each verdict.
"""

from __future__ import annotations

from collections import Counter

from resnet_ode.studies.verdicts import CAVEATS, FAILS, GRADES, HOLDS, INCONCLUSIVE
from resnet_ode.util.formatting import in_words

#: What each claim's first comparison measures, in a few words (the evidence says it at length).
COMPARED = {
    "3.1-accuracy": "deepest minus shallowest network",
    "3.1-transfer": "deep networks' transfer minus the shallow ones'",
    "3.1-time": "deepest minus shallowest network at the largest final time",
    "3.2-depth": "rise of the share of eigenvalues inside the stability region",
    "3.2-condition": "share of (example, layer) pairs with an eigenvalue outside the region",
    "3.3-smoothness": "fall of the joint objective's non-convex share",
    "3.4-correct": "fitted order of the thesis's code minus 4",
    "3.4-accuracy": "RK4 minus Euler at the smallest equal cost",
}


def comparisons(verdict) -> list[dict]:
    """The comparisons graded against a smallest effect that matters on which ``verdict`` rests, in order.

    Parameters
    ----------
    verdict : Verdict
        A verdict of :func:`resnet_ode.studies.conclusions.judge_all`.

    Returns
    -------
    list of dict
        Evidence entries with ``difference`` (a dict with ``value``), ``lower``,
        ``upper``, ``margin`` and ``seeds``, and ``grade`` where the rule grades
        each comparison on its own: the claim's own entry, its readings, or its
        pairs (those that have a margin).
    """
    ev = verdict.evidence
    found = [ev] if "margin" in ev else []
    found += list(ev.get("readings", {}).values())
    found += [pair for pair in ev.get("pairs", {}).values() if "margin" in pair]
    return found


def _bound(x) -> str:
    return "–" if x is None else f"{x:+.3f}"


def key_result(verdict) -> dict:
    """One claim's key result: ``key``, ``verdict`` and ``number``, a short line of what was measured.

    ``number`` reads "what: difference (95 % one-sided bounds lower to upper; smallest
    effect m; n seeds)", followed, where the claim rests on several comparisons, by the
    number of comparisons with each grade ("4 comparisons (holds: 1, inconclusive: 3)"). A verdict without a graded comparison gives the
    first clause of its ``measured`` text.
    """
    found = comparisons(verdict)
    if not found:
        return {"key": verdict.key, "verdict": verdict.verdict, "number": verdict.measured.split(";")[0]}
    first = found[0]
    seeds = first["seeds"]
    text = (f"{COMPARED.get(verdict.key, 'difference')}: {first['difference']['value']:+.3f} (95 % one-sided "
            f"bounds {_bound(first['lower'])} to {_bound(first['upper'])}; smallest effect {first['margin']:.3f}"
            + (f"; {seeds} seeds)" if seeds else "; nothing trained)"))
    if len(found) > 1:
        counts = Counter(c.get("grade") for c in found)
        text += f"; {len(found)} comparisons (" + ", ".join(f"{g}: {counts[g]}" for g in GRADES if counts[g]) + ")"
    return {"key": verdict.key, "verdict": verdict.verdict, "number": text}


def key_results(verdicts) -> list[dict]:
    """:func:`key_result` of every verdict, in order."""
    return [key_result(v) for v in verdicts]


#: The words for a count of claims with each verdict, for one claim and for several.
VERDICT_WORDS = {HOLDS: ("holds", "hold"), CAVEATS: ("holds with caveats", "hold with caveats"),
                 INCONCLUSIVE: ("is inconclusive", "are inconclusive"), FAILS: ("does not hold", "do not hold")}


def verdict_counts(verdicts) -> str:
    """One sentence: how many of the graded claims received each verdict, in the order of ``GRADES``.

    For example "Of the 8 claims graded, 1 holds with caveats, 2 are inconclusive and 5
    do not hold; none holds." (the last clause only when no claim holds).

    Raises
    ------
    ValueError
        If ``verdicts`` is empty or holds a verdict that is not one of ``GRADES``.
    """
    counts = Counter(v.verdict for v in verdicts)
    if not verdicts or set(counts) - set(GRADES):
        raise ValueError(f"verdicts: expected one or more of {list(GRADES)}, got {sorted(counts)}")
    parts = [f"{counts[g]} {VERDICT_WORDS[g][counts[g] != 1]}" for g in GRADES if counts[g]]
    return f"Of the {len(verdicts)} claims graded, {in_words(parts)}" + ("; none holds." if not counts[HOLDS] else ".")


def settings_sentence(differ: dict, labels: dict) -> str:
    """One sentence: which verdicts differ between the training settings, and how.

    Parameters
    ----------
    differ : dict
        ``claim key -> {setting -> verdict}``, as :func:`resnet_ode.studies.verdicts.disagreements`
        returns.
    labels : dict
        ``setting -> label`` for the reader (e.g. ``"reference_cg" -> "reference CG"``).

    Returns
    -------
    str
        "The verdicts agree under every training setting that judged them." or, e.g.,
        "1 verdict differs between the training settings: 3.4-accuracy (book's setting:
        does not hold; reference CG: inconclusive)."
    """
    if not differ:
        return "The verdicts agree under every training setting that judged them."
    said = "; ".join(f"{key} (" + "; ".join(f"{labels.get(s, s)}: {g}" for s, g in grades.items()) + ")"
                     for key, grades in differ.items())
    n = len(differ)
    return f"{n} verdict{' differs' if n == 1 else 's differ'} between the training settings: {said}."
