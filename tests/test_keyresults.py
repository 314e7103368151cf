"""The key results of the front page: one line per claim, from the verdicts' evidence."""
import pytest

from resnet_ode.studies.keyresults import comparisons, key_result, key_results, settings_sentence, verdict_counts
from resnet_ode.studies.verdicts import Verdict


def _entry(value, lower, upper, margin, seeds, grade=None):
    out = {"difference": {"value": value}, "lower": lower, "upper": upper, "margin": margin, "seeds": seeds}
    if grade:
        out["grade"] = grade
    return out


def test_one_comparison_gives_its_difference_bounds_margin_and_seeds():
    v = Verdict("3.1-accuracy", "measured text; more", "inconclusive", "rule", _entry(-0.0004, -0.003, 0.003, 0.0028, 5))
    assert key_result(v) == {"key": "3.1-accuracy", "verdict": "inconclusive", "number": (
        "deepest minus shallowest network: -0.000 (95 % one-sided bounds -0.003 to +0.003; smallest effect 0.003; "
        "5 seeds)")}


def test_several_comparisons_are_counted_by_grade_and_the_first_one_shown():
    readings = {"a": _entry(0.1, 0.05, 0.15, 0.02, 5, "holds"), "b": _entry(0.0, -0.1, 0.1, 0.02, 5, "inconclusive"),
                "c": _entry(0.0, -0.1, 0.1, 0.02, 5, "inconclusive")}
    v = Verdict("3.2-depth", "m", "inconclusive", "r", {"readings": readings})
    assert [c["difference"]["value"] for c in comparisons(v)] == [0.1, 0.0, 0.0]
    number = key_result(v)["number"]
    assert number.startswith("rise of the share of eigenvalues inside the stability region: +0.100 (95 % one-sided "
                             "bounds +0.050 to +0.150; smallest effect 0.020; 5 seeds)")
    assert number.endswith("; 3 comparisons (holds: 1, inconclusive: 2)")


def test_pairs_without_a_margin_and_untrained_claims():
    pairs = {"16": {"rk4_nY": 5}, "32": _entry(-0.001, -0.004, 0.002, 0.002, 5, "does not hold")}
    v = Verdict("3.4-accuracy", "m", "does not hold", "r", {"pairs": pairs})
    assert key_result(v)["number"].startswith("RK4 minus Euler at the smallest equal cost: -0.001")
    v = Verdict("3.4-correct", "m", "does not hold", "r", _entry(-4.3, -4.5, -4.2, 0.5, 0))
    assert key_result(v)["number"].endswith("; smallest effect 0.500; nothing trained)")


def test_a_verdict_without_graded_comparisons_gives_its_measurement():
    v = Verdict("3.9-other", "first clause; second clause", "holds", "r", {"source": "x"})
    assert key_results([v]) == [{"key": "3.9-other", "verdict": "holds", "number": "first clause"}]


def _verdicts(*grades):
    return [Verdict(f"3.{k}-x", "m", g, "r", {}) for k, g in enumerate(grades)]


def test_verdict_counts_says_how_many_claims_got_each_verdict_in_order():
    got = verdict_counts(_verdicts("does not hold", "holds with caveats", "inconclusive", "does not hold"))
    assert got == "Of the 4 claims graded, 1 holds with caveats, 1 is inconclusive and 2 do not hold; none holds."
    assert verdict_counts(_verdicts("holds", "holds")) == "Of the 2 claims graded, 2 hold."
    assert (verdict_counts(_verdicts("inconclusive", "holds", "inconclusive"))
            == "Of the 3 claims graded, 1 holds and 2 are inconclusive.")


@pytest.mark.parametrize("grades", [(), ("holds", "probably")])
def test_verdict_counts_refuses_an_empty_list_or_an_unknown_verdict(grades):
    with pytest.raises(ValueError, match="verdicts"):
        verdict_counts(_verdicts(*grades))


def test_settings_sentence_names_the_verdicts_that_differ():
    labels = {"book": "book's setting", "reference_cg": "reference CG"}
    assert settings_sentence({}, labels) == "The verdicts agree under every training setting that judged them."
    one = {"3.4-accuracy": {"book": "does not hold", "reference_cg": "inconclusive"}}
    assert settings_sentence(one, labels) == ("1 verdict differs between the training settings: 3.4-accuracy "
                                              "(book's setting: does not hold; reference CG: inconclusive).")
    two = {**one, "3.1-x": {"book": "holds", "code_nt": "inconclusive"}}
    assert settings_sentence(two, labels).startswith("2 verdicts differ between the training settings: 3.4-accuracy (")
    assert settings_sentence(two, labels).endswith("; 3.1-x (book's setting: holds; code_nt: inconclusive).")
