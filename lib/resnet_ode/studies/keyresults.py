"""The book's key results: one short line per claim of the thesis, from Chapter 4's verdicts.

The front page and Chapter 1 show, for every claim, its verdict and the one comparison
it rests on most directly, in a line short enough for a table cell.
:func:`key_results` builds those lines from the verdicts of
:func:`resnet_ode.studies.conclusions.judge_all`: the claim's first comparison graded
against a smallest effect that matters (its difference, one-sided 95 % bounds, margin
and seeds) and, where the claim rests on several comparisons, how many of them
received each grade. Chapter 4 glues them, the other pages paste them.
"""

from __future__ import annotations

from collections import Counter

from resnet_ode.studies.verdicts import GRADES

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
