"""The verdict rules of Chapter 4, on made-up numbers: every grade of every rule."""

import json

import numpy as np
import pytest

from resnet_ode.studies import conclusions as c
from resnet_ode.studies.uncertainty import Estimate

DEPTHS = [8, 16, 32, 64, 128, 256]


def _matrix(diag, off):
    M = np.full((6, 6), off, dtype=float)
    np.fill_diagonal(M, diag)
    return M


#: Seeds of the made-up Chapter 3.1 numbers: three that agree, so that an interval is the points' one and a
#: verdict is not capped for resting on one seed (see test_one_seed_is_never_more_than_inconclusive).
SEEDS = 3


def _v31(M, seeds=SEEDS):
    """Chapter 3.1 numbers: the validation-accuracy matrix ``M`` on ``seeds`` seeds that agree."""
    return {"depths": DEPTHS, "val_accuracy_seeds": [np.asarray(M, dtype=float).tolist()] * seeds}


def _n31(diag, off, ref_off=None, seeds=SEEDS):
    out = _v31(_matrix(diag, off), seeds)
    if ref_off is not None:
        out["reference_cg"] = _v31(_matrix(0.9, ref_off), seeds)
    return out


def _grid31(M, seeds=SEEDS):
    """Chapter 3.1 numbers with grid-accuracy matrices as AccuracyCounts.to_dict writes them, one per seed."""
    M = np.asarray(M, dtype=float)
    counts = {"accuracy": M.tolist(), "correct": np.round(M * 65536).astype(int).tolist(), "n": 65536}
    return {**_v31(M, seeds), "grid_accuracy_seeds": [counts] * seeds}


def _json(v):
    return json.loads(json.dumps(v.to_dict(), allow_nan=False))


# -- the shared helpers ------------------------------------------------------------------------


@pytest.mark.parametrize("low, high, grade", [
    (0.02, 0.05, c.HOLDS), (0.01, 0.05, c.HOLDS),          # at or above the required effect
    (-0.05, 0.009, c.FAILS), (0.001, 0.009, c.FAILS),      # below it: absent, reversed or too small
    (0.002, 0.05, c.CAVEATS),                              # the direction, not the size
    (-0.002, 0.05, c.INCONCLUSIVE), (0.0, 0.01, c.INCONCLUSIVE),
])
def test_grade_regions(low, high, grade):
    est = Estimate((low + high) / 2, low, high, 1, "made up")
    assert c.grade(est, 0.01) == grade
    assert c.explain(est, 0.01).startswith("the effect")


def test_grade_threshold_and_checks():
    share = lambda lo, hi: Estimate((lo + hi) / 2, lo, hi, 100, "wilson")  # noqa: E731
    assert c.grade(share(0.96, 0.99), 0.95, 0.95) == c.HOLDS
    assert c.grade(share(0.90, 0.94), 0.95, 0.95) == c.FAILS
    assert c.grade(share(0.90, 0.97), 0.95, 0.95) == c.INCONCLUSIVE
    assert "threshold" in c.explain(share(0.90, 0.97), 0.95, 0.95)
    assert c.grade(Estimate(0.5, -np.inf, np.inf, 1, "no interval"), 0.01) == c.INCONCLUSIVE
    with pytest.raises(ValueError):
        c.grade(share(0.9, 0.97), 0.1, 0.5)


def test_combine():
    assert c.combine([c.HOLDS, c.HOLDS]) == c.HOLDS
    assert c.combine([c.HOLDS, c.FAILS]) == c.CAVEATS
    assert c.combine([c.CAVEATS, c.INCONCLUSIVE]) == c.CAVEATS
    assert c.combine([c.INCONCLUSIVE, c.FAILS]) == c.INCONCLUSIVE
    assert c.combine([c.FAILS, c.FAILS]) == c.FAILS
    assert c.combine([]) == c.INCONCLUSIVE
    with pytest.raises(ValueError):
        c.combine(["maybe"])


# -- 3.1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("numbers, verdict", [
    (_n31([0.6, 0.7, 0.8, 0.9, 0.95, 0.99], 0.5), c.HOLDS),
    (_n31([0.8, 0.99, 0.85, 0.9, 0.95, 0.99], 0.5), c.CAVEATS),                   # significant fall 16 -> 32
    (_grid31(_matrix([0.976, 0.98, 0.98, 0.98, 0.98, 0.985], 0.5)), c.CAVEATS),  # +0.009: direction, not size
    (_n31([0.98, 0.985, 0.985, 0.995, 0.99, 1.0], 0.5), c.INCONCLUSIVE),         # the book's 0.980 -> 1.000 of 200
    (_n31([0.99, 0.98, 0.96, 0.95, 0.93, 0.9], 0.5), c.FAILS),                    # falls with depth
    (_grid31(_matrix([0.98] * 6, 0.5)), c.FAILS),                                 # no effect, measured precisely
])
def test_state_layer_accuracy_rule(numbers, verdict):
    v = c.state_layers_accuracy(numbers)
    assert v.verdict == verdict and v.rule.endswith(f"{verdict}.")
    assert v.key == "3.1-accuracy" and _json(v)["evidence"]["difference"]["n"] >= 1


def test_state_layer_accuracy_reads_seeds_and_points():
    v = c.state_layers_accuracy(_n31([0.98, 0.985, 0.985, 0.995, 0.99, 1.0], 0.5))
    assert v.evidence["source"] == "validation accuracy" and v.evidence["n_points"] == 200
    assert "0.980 [0.950, 0.992] at nY = 8" in v.measured and "+0.020 [-0.002, +0.050]" in v.measured
    # the same diagonal on three seeds that agree: the seeds do not remove the evaluation-set uncertainty
    seeds = [_matrix([0.98, 0.985, 0.985, 0.995, 0.99, 1.0], 0.5).tolist()] * 3
    v3 = c.state_layers_accuracy({"depths": DEPTHS, "val_accuracy_seeds": seeds})
    assert v3.verdict == c.INCONCLUSIVE and v3.evidence["seeds"] == 3
    # on the grid the same difference is resolved, and so is the fall 0.995 -> 0.990 from nY = 64 to 128
    vg = c.state_layers_accuracy(_grid31(_matrix([0.98, 0.985, 0.985, 0.995, 0.99, 1.0], 0.5)))
    assert vg.verdict == c.CAVEATS and "falls significantly from nY = 64 to 128" in vg.rule
    assert vg.evidence["source"] == "grid accuracy" and vg.evidence["n_points"] == 65536
    # per-seed grid matrices (a list of AccuracyCounts dicts) and n_val are read too
    stack = [{"accuracy": _matrix([0.9, 0.92, 0.94, 0.96, 0.98, 0.99], 0.5).tolist(), "n": 65536}] * 2
    assert c.state_layers_accuracy({"depths": DEPTHS, "val_accuracy": stack[0]["accuracy"],
                                    "grid_accuracy_seeds": stack}).evidence["seeds"] == 2
    big = {**_n31([0.98, 0.985, 0.985, 0.99, 0.995, 1.0], 0.5), "n_val": 20000}
    assert c.state_layers_accuracy(big).verdict == c.HOLDS


def _transfer(deep_block, own=0.99, rest=0.1):
    M = np.full((6, 6), rest)
    M[3:, 3:] = deep_block
    np.fill_diagonal(M, own)
    return M


@pytest.mark.parametrize("numbers, verdict", [
    (_grid31(_transfer(0.97)), c.HOLDS),                                   # transfer within 0.05 of own, on the grid
    (_v31(_transfer(0.99)), c.HOLDS),
    (_v31(_transfer(0.97)), c.CAVEATS),   # gap 0.02 not shown <= 0.05 on 200
    (_v31(_transfer(0.6)), c.CAVEATS),    # the book's case
    (_v31(_transfer(0.40, rest=0.27)), c.CAVEATS),  # direction, not size
    (_v31(_transfer(0.35, rest=0.30)), c.INCONCLUSIVE),
    (_n31([0.99] * 6, 0.3, ref_off=0.8), c.FAILS),
    (_grid31(_transfer(0.35, rest=0.30)), c.FAILS),
])
def test_transfer_rule(numbers, verdict):
    v = c.state_layers_transfer(numbers)
    assert v.verdict == verdict and v.key == "3.1-transfer"
    _json(v)


def test_transfer_reports_reference_cg():
    v = c.state_layers_transfer(_n31([0.99] * 6, 0.3, ref_off=0.8))
    assert "with the reference's looser CG solve 0.800" in v.measured
    assert v.evidence["reference_cg_deep"]["value"] == pytest.approx(0.8)


# -- 3.2 ------------------------------------------------------------------------------------------


def _n32(max_real, growth, stable=1.0, spread=0.0, seeds=3, n_samples=5000):
    """Per depth (8, 16, 32) the given seed mean, seeds spread by +-spread (relative)."""
    offsets = np.linspace(-1, 1, seeds) * spread if seeds > 1 else [0.0]
    fam = {}
    for d, mr, g in zip((8, 16, 32), max_real, growth):
        fam[str(d)] = {str(s): {"max_real": mr * (1 + o), "max_amp": 1 + mr, "share_stable_examples": stable,
                                "share_inside": stable, "min_max_real": -0.1 if stable == 1 else 0.01,
                                "n_samples": n_samples, "perturbation": {"median_growth_tangent": g * (1 + o)}}
                       for s, o in enumerate(offsets)}
    return {"standard": fam}


BOOK_32 = {"standard": {str(d): {str(s): {"max_real": mr, "max_amp": 2.0, "share_stable_examples": 0.0,
                                          "share_inside": 0.4, "min_max_real": 0.001, "n_samples": 5000,
                                          "perturbation": {"median_growth_tangent": g}}
                                 for s, (mr, g) in enumerate(zip(mrs, gs))}
                        for d, mrs, gs in [(8, [0.698, 1.050, 0.830], [11.5, 19.6, 21.2]),
                                           (16, [0.713, 0.806, 1.177], [15.4, 14.7, 10.6]),
                                           (32, [0.841, 0.787, 1.258], [7.3, 13.9, 20.0])]}}


def _readings(inside, amp, real, growth, seeds=5, spread=0.0):
    """3.2 numbers for depths 8, 16, 32: per depth the seed mean of each reading; the deepest network's seeds are
    offset by up to +-spread (absolute), so that the paired differences spread."""
    fam = {}
    for d, si, a, r, g in zip((8, 16, 32), inside, amp, real, growth):
        offsets = np.linspace(-1, 1, seeds) * spread if seeds > 1 and d == 32 else [0.0] * seeds
        fam[str(d)] = {str(s): {"share_inside": si + o, "max_amp": a + o, "max_real": r + o,
                                "share_stable_examples": 0.0, "min_max_real": 0.01, "n_samples": 5000,
                                "perturbation": {"median_growth_tangent": g + o}} for s, o in enumerate(offsets)}
    return {"standard": fam}


@pytest.mark.parametrize("numbers, verdict", [
    (_readings([0.4, 0.6, 0.9], [2.0, 1.5, 1.1], [0.9, 0.5, 0.1], [10, 5, 2], spread=0.01), c.HOLDS),
    (_readings([0.4, 0.6, 0.9], [2.0, 1.5, 1.1], [0.9, 0.9, 0.95], [10, 5, 2], spread=0.01), c.CAVEATS),  # Re rises
    (_readings([0.4, 0.35, 0.3], [2.0, 1.5, 1.1], [0.9, 0.5, 0.1], [10, 5, 2], spread=0.01), c.FAILS),  # share falls
    (_readings([0.4, 0.4, 0.401], [2.0, 2.0, 2.0], [0.9] * 3, [10] * 3, spread=0.002), c.FAILS),  # no change: equivalence
    (_readings([0.4, 0.5, 0.5], [2.0, 1.5, 1.1], [0.9, 0.5, 0.1], [10, 5, 2], spread=0.3), c.INCONCLUSIVE),
    (_readings([0.4, 0.6, 0.9], [2.0, 1.5, 1.1], [0.9, 0.5, 0.1], [10, 5, 2], seeds=1), c.INCONCLUSIVE),  # one seed
])
def test_stability_with_depth_rule(numbers, verdict):
    v = c.stability_with_depth(numbers)
    assert v.verdict == verdict and v.key == "3.2-depth"
    assert set(v.evidence["readings"]) == {"share_inside", "max_amp", "max_real", "perturbation"}
    assert len(c.margin_rows([v])) == 4
    _json(v)


@pytest.mark.parametrize("numbers, verdict", [
    (_n32([0.1] * 3, [1] * 3, stable=1.0), c.HOLDS),
    (_n32([0.1] * 3, [1] * 3, stable=0.5), c.FAILS),
    (_n32([0.1] * 3, [1] * 3, stable=0.95, n_samples=100), c.INCONCLUSIVE),
    (BOOK_32, c.FAILS),
])
def test_stability_condition_rule(numbers, verdict):
    v = c.stability_condition(numbers)
    assert v.verdict == verdict and v.key == "3.2-condition"
    _json(v)


def test_stability_condition_caveats_when_seeds_disagree():
    n = _n32([0.1] * 3, [1] * 3, stable=1.0)
    n["standard"]["32"]["1"]["share_stable_examples"] = 0.5
    v = c.stability_condition(n)
    assert v.verdict == c.CAVEATS and "2 of 3 seeds" in v.rule
    del n["standard"]["32"]["0"]["n_samples"]       # without a count the share is taken as exact
    assert c.stability_condition(n).evidence["share_stable_examples"]["0"]["method"] == "exact"


# -- 3.3 ------------------------------------------------------------------------------------------


def _n33(lower, ties=0, n=None, seeds=(0, 1, 2)):
    counts = {f"{o}/filter/{m}": {"lower": lower, "ties": ties, **({"n": n} if n else {})}
              for o in ("joint", "varpro") for m in ("local_minima", "negative_share")}
    counts["joint/thesis/local_minima"] = {"lower": 0, "ties": 0}  # not counted
    return {"deep_smoother_on_seeds": counts, "seeds": list(seeds)}


@pytest.mark.parametrize("numbers, verdict", [
    (_n33(3), c.HOLDS),                     # 12 of 12
    (_n33(25, n=30), c.HOLDS),              # 100 of 120
    (_n33(10, n=12), c.HOLDS),              # 40 of 48
    (_n33(5, n=6), c.CAVEATS),              # 20 of 24: a majority, not shown to reach two thirds
    (_n33(2), c.INCONCLUSIVE),              # 8 of 12
    (_n33(1), c.FAILS),                     # 4 of 12
    (_n33(0), c.FAILS),
    (_n33(0, ties=3), c.INCONCLUSIVE),      # every comparison tied
])
def test_landscape_rule(numbers, verdict):
    v = c.landscape_smoothness(numbers)
    assert v.verdict == verdict and v.key == "3.3-smoothness"
    _json(v)


def test_landscape_rule_on_the_books_counts():
    counts = {"joint/filter/local_minima": {"lower": 2, "ties": 1}, "joint/filter/negative_share": {"lower": 0, "ties": 0},
              "varpro/filter/local_minima": {"lower": 1, "ties": 0}, "varpro/filter/negative_share": {"lower": 2, "ties": 0}}
    v = c.landscape_smoothness({"deep_smoother_on_seeds": counts, "seeds": [0, 1, 2]})
    assert v.verdict == c.INCONCLUSIVE
    assert "5 of 12 comparisons, 1 tied" in v.measured and v.evidence["sign_test_p"] == pytest.approx(1.0)
    assert (v.evidence["wins"], v.evidence["losses"]) == (5, 6)
    ten = c.landscape_smoothness(_n33(10, n=12))
    assert ten.evidence["sign_test_p"] < 1e-4


# -- 3.4 ------------------------------------------------------------------------------------------


def _n34(order, rk4_acc, euler_acc=0.9, ratio=2.0, convergence=None):
    out = {"convergence_order": {"rk4_thesis_as_written": order, "rk4": 4.0, "euler": 1.0},
           "toy_landscapes": {"thesis_pair": {"train": {"rk4_thesis_as_written": {"max": ratio}, "euler": {"max": 1.0}}}},
           "peaks": {"mean": {"rk4-nY5": {"val_accuracy": rk4_acc}, "euler-nY17": {"val_accuracy": euler_acc},
                              "rk4-nY9": {"val_accuracy": rk4_acc}, "euler-nY33": {"val_accuracy": euler_acc}}}}
    if convergence is not None:
        out["convergence"] = {"rk4_thesis_as_written": convergence}
    return out


def _convergence(order, noise):
    steps = np.array([16, 32, 64, 128, 256, 512, 1024])
    errors = (1.0 / steps) ** order * np.exp(np.r_[0, 0, 0, noise])
    return {"steps": steps.tolist(), "errors": errors.tolist()}


@pytest.mark.parametrize("numbers, verdict", [
    (_n34(3.9, 0.9), c.HOLDS),
    (_n34(4.0, 0.9, convergence=_convergence(4.0, [0.01, -0.02, 0.01, 0.0])), c.HOLDS),
    (_n34(4.0, 0.9, ratio=18.9), c.CAVEATS),                                       # right order, objectives apart
    (_n34(3.6, 0.9, convergence=_convergence(3.6, [0.5, -0.5, 0.4, -0.4])), c.INCONCLUSIVE),
    (_n34(-0.3, 0.9), c.FAILS),
    (_n34(-0.3, 0.9, convergence=_convergence(-0.3, [0.0, 0.01, 0.0, 0.01])), c.FAILS),
])
def test_rk4_as_written_rule(numbers, verdict):
    v = c.rk4_as_written(numbers)
    assert v.verdict == verdict and v.key == "3.4-correct"
    _json(v)


def test_rk4_order_interval_from_the_fit():
    conv = _convergence(3.6, [0.5, -0.5, 0.4, -0.4])
    v = c.rk4_as_written(_n34(3.6, 0.9, convergence=conv))
    fit = np.polyfit(np.log(1.0 / np.array(conv["steps"][3:])), np.log(conv["errors"][3:]), 1)[0]
    assert v.evidence["order"]["value"] == pytest.approx(fit)     # the fit over steps >= 128, like the chapter's
    assert v.evidence["order"]["low"] < 3.5 < v.evidence["order"]["high"]
    assert "(exact)" in c.rk4_as_written(_n34(3.9, 0.9)).measured


def _runs34(rk4, euler, metric="val_accuracy"):
    """Per-seed records for the pairs (rk4 5, euler 17) and (rk4 9, euler 33)."""
    out = []
    for (n_rk, n_eu), (a, b) in zip([(5, 17), (9, 33)], zip(rk4, euler)):
        for s, (x, y) in enumerate(zip(a, b)):
            out.append({"integrator": "rk4", "nY": n_rk, "init_seed": s, "val_accuracy": x, metric: x})
            out.append({"integrator": "euler", "nY": n_eu, "init_seed": s, "val_accuracy": y, metric: y})
    return out


BOOK_34 = _runs34([[0.975, 0.995, 0.985], [0.970, 0.970, 0.995]], [[0.990, 0.990, 0.985], [0.980, 0.985, 0.985]])


@pytest.mark.parametrize("numbers, verdict", [
    (_n34(4, 0.99), c.INCONCLUSIVE),                 # +0.09 on 200 points, but one seed each: capped
    (_n34(4, 0.95), c.INCONCLUSIVE),                                  # +0.05 on 200 points of one seed each
    (_n34(4, 0.91), c.INCONCLUSIVE),
    (_n34(4, 0.88, euler_acc=0.98), c.INCONCLUSIVE),  # -0.10 on one seed each: capped
    ({**_n34(4, 0.9), "peaks": {"runs": _runs34([[0.99] * 3] * 2, [[0.9] * 3] * 2)}}, c.HOLDS),
    ({**_n34(4, 0.9), "peaks": {"runs": _runs34([[0.88] * 3] * 2, [[0.98] * 3] * 2)}}, c.FAILS),
    ({**_n34(4, 0.9), "peaks": {"runs": BOOK_34}}, c.INCONCLUSIVE),    # the book's seeds
    ({**_n34(4, 0.9), "peaks": {"runs": _runs34([[0.985, 0.984, 0.985], [0.95, 0.95, 0.95]],
                                                [[0.98, 0.98, 0.98], [0.95, 0.95, 0.95]], "grid_accuracy")}},
     c.FAILS),                                                        # grid: +0.005 and 0, resolved
    ({**_n34(4, 0.9), "peaks": {"runs": _runs34([[0.99, 0.99, 0.99], [0.95, 0.95, 0.95]],
                                                [[0.95, 0.95, 0.95], [0.95, 0.95, 0.95]], "grid_accuracy")}},
     c.CAVEATS),                                                      # one pair holds, the other does not
    ({**_n34(4, 0.9), "peaks": {"runs": _runs34([[0.958, 0.96, 0.962], [0.958, 0.96, 0.962]],
                                                [[0.95, 0.95, 0.95], [0.95, 0.95, 0.95]], "grid_accuracy")}},
     c.CAVEATS),                                                      # +0.010 +- 0.005: direction, not size
])
def test_rk4_accuracy_rule(numbers, verdict):
    v = c.rk4_accuracy(numbers)
    assert v.verdict == verdict and v.key == "3.4-accuracy"
    _json(v)


def test_rk4_accuracy_measured_text():
    v = c.rk4_accuracy({**_n34(4, 0.9), "peaks": {"runs": BOOK_34}})
    assert "16 evaluations: RK4 0.985" in v.measured and "32 evaluations" in v.measured
    assert "means over 3 seeds" in v.measured and v.evidence["source"] == "validation accuracy"
    assert v.evidence["pairs"]["16"]["difference"]["value"] == pytest.approx(-0.01 / 3)
    grid = c.rk4_accuracy({**_n34(4, 0.9), "peaks": {"runs": _runs34([[0.9] * 3] * 2, [[0.9] * 3] * 2,
                                                                      "grid_accuracy")}})
    assert grid.evidence["source"] == "grid accuracy" and grid.evidence["n_points"] == 65536
    assert "16 evaluations" in c.rk4_accuracy(_n34(4, 0.91)).measured


# -- all claims -----------------------------------------------------------------------------------


def _numbers():
    n31 = _n31([0.98, 0.985, 0.985, 0.995, 0.99, 1.0], 0.5)
    n31["reference_cg"] = _v31(_matrix([0.945, 0.965, 0.915, 0.935, 0.875, 0.880], 0.4))
    return {"3.1": n31, "3.2": BOOK_32, "3.3": _n33(1), "3.4": _n34(-0.33, 0.9)}


def test_judge_all():
    verdicts = c.judge_all(_numbers())
    assert [v.key for v in verdicts] == ["3.1-accuracy", "3.1-transfer", "3.2-depth", "3.2-condition",
                                         "3.3-smoothness", "3.4-correct", "3.4-accuracy"]
    assert all(v.setting == c.BOOK_SETTING and v.verdict in c.GRADES and v.rule for v in verdicts)
    json.dumps([v.to_dict() for v in verdicts], allow_nan=False)


def test_judge_all_under_another_setting():
    ref = c.judge_all(_numbers(), setting="reference_cg")
    assert [v.key for v in ref] == ["3.1-accuracy", "3.1-transfer"]     # only Chapter 3.1 stored the setting
    assert all(v.setting == "reference_cg" for v in ref)
    assert ref[0].verdict == c.FAILS                                    # 0.945 -> 0.880: falls with depth
    assert "reference's looser CG" not in ref[1].measured
    merged = c.numbers_for_setting(_numbers()["3.1"], "reference_cg")
    assert merged["depths"] == DEPTHS and "reference_cg" not in merged
    assert c.numbers_for_setting(_numbers()["3.2"], "reference_cg") is None


def test_judge_settings_side_by_side_and_disagreements():
    numbers = _numbers()
    # The code's nt: own accuracy flat at 0.99 (inconclusive, as the book's), transfer 0.99 in the deep block
    # against 0.1 elsewhere (holds), where the book's matrix (0.5 everywhere off the diagonal) does not hold.
    numbers["3.1"]["code_nt"] = {**_v31(_transfer(0.99)), "nt": 8}
    by = c.judge_settings(numbers)
    assert list(by) == [c.BOOK_SETTING, "reference_cg", "code_nt"]
    assert len(by[c.BOOK_SETTING]) == 7 and list(by["reference_cg"]) == list(by["code_nt"]) == [
        "3.1-accuracy", "3.1-transfer"]
    assert all(v.setting == "code_nt" for v in by["code_nt"].values())
    assert by[c.BOOK_SETTING]["3.1-transfer"].verdict == c.FAILS
    assert by["code_nt"]["3.1-transfer"].verdict == c.HOLDS
    diff = c.disagreements(by)
    assert "reference's looser CG" not in by["code_nt"]["3.1-transfer"].measured   # not another setting's numbers
    assert diff == {
        "3.1-accuracy": {c.BOOK_SETTING: c.INCONCLUSIVE, "reference_cg": c.FAILS, "code_nt": c.INCONCLUSIVE},
        "3.1-transfer": {c.BOOK_SETTING: c.FAILS, "reference_cg": c.FAILS, "code_nt": c.HOLDS},
    }
    # Claims judged under one setting only never disagree.
    assert c.disagreements({c.BOOK_SETTING: by[c.BOOK_SETTING]}) == {}


def test_one_seed_is_never_more_than_inconclusive():
    """One initial-weight seed measures the evaluation points, not the spread over initial weights."""
    clear = _grid31(_matrix([0.6, 0.7, 0.8, 0.9, 0.95, 0.99], 0.5), seeds=1)    # +0.39 on 65,536 points
    v = c.state_layers_accuracy(clear)
    assert v.verdict == c.INCONCLUSIVE and v.evidence["seeds"] == 1
    assert "graded holds on the points alone; with one seed the spread over initial weights is unmeasured" in v.rule
    assert c.state_layers_accuracy(_grid31(_matrix([0.6, 0.7, 0.8, 0.9, 0.95, 0.99], 0.5), seeds=2)).verdict == c.HOLDS
    assert c.state_layers_transfer(_grid31(_transfer(0.97), seeds=1)).verdict == c.INCONCLUSIVE
    assert c.state_layers_transfer(_grid31(_transfer(0.97), seeds=2)).verdict == c.HOLDS
    assert c.one_seed_cap(c.FAILS, "rule", 1) == (c.INCONCLUSIVE, "rule (graded does not hold on the points alone; "
                          "with one seed the spread over initial weights is unmeasured, so no verdict beyond inconclusive)")
    assert c.one_seed_cap(c.FAILS, "rule", 3) == (c.FAILS, "rule")
    assert c.one_seed_cap(c.INCONCLUSIVE, "rule", 1) == (c.INCONCLUSIVE, "rule")


def test_a_claim_without_trained_networks_is_judged_under_the_books_setting_only():
    numbers = _numbers()
    numbers["3.4"] = {**numbers["3.4"], "reference_cg": {"peaks": {"runs": BOOK_34}}}
    by = c.judge_settings(numbers)
    assert "3.4-correct" in by[c.BOOK_SETTING] and "3.4-correct" not in by["reference_cg"]
    assert "3.4-accuracy" in by["reference_cg"]


# ----------------------------------------------------------------------------
# held-out balanced measures: paired intervals, one-sided bounds against the smallest effect that matters
# ----------------------------------------------------------------------------



def _heldout31(own_first, own_last, offdiag_deep=0.9, offdiag_shallow=0.5, k=6):
    """Chapter 3.1 numbers with held-out matrices: per seed, the own accuracies rise linearly from first to last."""
    bal = []
    for f, l in zip(own_first, own_last):
        M = np.full((k, k), offdiag_shallow)
        M[k - 3:, k - 3:] = offdiag_deep
        np.fill_diagonal(M, np.linspace(f, l, k))
        bal.append(M)
    bal = np.array(bal)
    return {"depths": [8, 16, 32, 64, 128, 256][:k],
            "heldout": {"balanced_seeds": bal.tolist(), "accuracy_seeds": bal.tolist(), "n": 61160,
                        "baseline": {"accuracy": 0.761, "balanced": 0.2}, "method": "test"}}


def test_heldout_accuracy_grades_by_one_sided_bounds_against_the_margin():
    first = np.array([0.90, 0.91, 0.92, 0.90, 0.91])           # errors ~0.09: margin 0.25 * 0.092 = 0.023
    v = c.state_layers_accuracy(_heldout31(first, first + np.array([0.05, 0.06, 0.05, 0.055, 0.06])))
    assert v.verdict == c.HOLDS and v.evidence["source"] == "held-out balanced accuracy"
    assert v.evidence["margin"] == pytest.approx(0.25 * (1 - first.mean()))
    assert v.evidence["lower"] >= v.evidence["margin"] and v.evidence["seeds"] == 5
    assert "61160 held-out grid points" in v.measured and "0.200 balanced" in v.measured
    # no gain, tightly measured: the upper bound lies below the margin, so it does not hold (equivalence)
    v = c.state_layers_accuracy(_heldout31(first, first + np.array([0.001, -0.001, 0.0, 0.002, -0.002])))
    assert v.verdict == c.FAILS and "equivalen" in v.rule
    assert v.evidence["upper"] < v.evidence["margin"]
    # a spread too large to decide: inconclusive, and the power calculation asks for more seeds
    v = c.state_layers_accuracy(_heldout31(first, first + np.array([0.05, -0.04, 0.06, -0.03, 0.02])))
    assert v.verdict == c.INCONCLUSIVE and v.evidence["seeds_needed"] > 5
    # one seed: no interval, never more than inconclusive
    v = c.state_layers_accuracy(_heldout31(first[:1], first[:1] + 0.05))
    assert v.verdict == c.INCONCLUSIVE and v.evidence["seeds_needed"] is None


def test_heldout_transfer_uses_paired_bounds_and_the_gap():
    first = np.array([0.95, 0.96, 0.95, 0.96, 0.955])
    v = c.state_layers_transfer(_heldout31(first, first, offdiag_deep=0.94, offdiag_shallow=0.5))
    assert v.verdict == c.HOLDS and v.evidence["margin"] == c.TRANSFER_EFFECT
    v = c.state_layers_transfer(_heldout31(first, first, offdiag_deep=0.7, offdiag_shallow=0.5))
    assert v.verdict == c.CAVEATS                                 # transfer shown, but far below the own accuracy
    v = c.state_layers_transfer(_heldout31(first, first, offdiag_deep=0.52, offdiag_shallow=0.5))
    assert v.verdict == c.FAILS                                   # the difference is shown to be below 0.1


def test_heldout_rk4_accuracy_pairs_by_seed():
    def recs(diffs):
        out = []
        for s, d in enumerate(diffs):
            out.append({"integrator": "euler", "nY": 17, "init_seed": s, "heldout_balanced": 0.9 + 0.01 * s,
                        "n_heldout": 61160})
            out.append({"integrator": "rk4", "nY": 5, "init_seed": s, "heldout_balanced": 0.9 + 0.01 * s + d,
                        "n_heldout": 61160})
        return {"peaks": {"runs": out}}
    v = c.rk4_accuracy(recs([0.04, 0.05, 0.045, 0.05, 0.04]))    # margin 0.25 * 0.08 = 0.02
    assert v.verdict == c.HOLDS and v.evidence["source"] == "held-out balanced accuracy"
    pair = v.evidence["pairs"]["16"]
    assert pair["margin"] == pytest.approx(0.25 * (1 - 0.92)) and pair["seeds"] == 5
    v = c.rk4_accuracy(recs([0.001, -0.001, 0.0, 0.001, 0.0]))
    assert v.verdict == c.FAILS
    v = c.rk4_accuracy(recs([0.06, -0.05, 0.04, -0.06, 0.01]))
    assert v.verdict == c.INCONCLUSIVE


def test_margin_rows_list_every_comparison_graded_by_a_margin():
    first = np.array([0.90, 0.91, 0.92, 0.90, 0.91])
    n31 = _heldout31(first, first + np.array([0.05, -0.04, 0.06, -0.03, 0.02]))
    runs = []
    for s in range(3):
        runs += [{"integrator": "euler", "nY": 17, "init_seed": s, "heldout_balanced": 0.9, "n_heldout": 61160},
                 {"integrator": "rk4", "nY": 5, "init_seed": s, "heldout_balanced": 0.9 + 0.01 * s, "n_heldout": 61160}]
    verdicts = [c.state_layers_accuracy(n31), c.state_layers_transfer(n31), c.rk4_accuracy({"peaks": {"runs": runs}}),
                c.state_layers_accuracy(_n31([0.6, 0.7, 0.8, 0.9, 0.95, 0.99], 0.5))]   # the old rule: no row
    rows = c.margin_rows(verdicts)
    assert [r[0] for r in rows] == ["3.1-accuracy", "3.1-transfer", "3.4-accuracy"]
    assert all(len(r) == len(c.MARGIN_COLUMNS) for r in rows)
    assert rows[0][5] == "5" and int(rows[0][6]) > 5 and rows[2][5] == "3"
    assert rows[2][1].startswith("RK4 nY = 5 minus Euler nY = 17")


def test_stability_condition_over_every_training_example_has_no_sampling_term():
    n = _n32([0.1] * 3, [1] * 3, stable=0.95, n_samples=5000)
    assert c.stability_condition(n).verdict == c.INCONCLUSIVE           # a sample of 5000: Wilson interval
    n["n_train"] = 5000
    v = c.stability_condition(n)
    assert v.verdict == c.HOLDS and "(example, layer) pairs" in v.measured


def _by_seed(outcomes):
    """3.3 numbers from per-seed outcomes: each a 4-character string over the filter comparisons (l, t, h)."""
    keys = ["joint/filter/negative_share", "joint/filter/local_minima", "varpro/filter/negative_share",
            "varpro/filter/local_minima"]
    word = {"l": "lower", "t": "tie", "h": "higher"}
    return {"seeds": list(range(len(outcomes))), "deep_smoother_on_seeds": {},
            "deep_smoother_by_seed": {str(s): {k: word[ch] for k, ch in zip(keys, o)} for s, o in enumerate(outcomes)}}


@pytest.mark.parametrize("outcomes, verdict", [
    (["llll"] * 12, c.HOLDS),                          # 12 of 12 pairs smoother: Wilson lower bound above 2/3
    (["lllh"] * 5, c.CAVEATS),                         # 5 of 5: above 1/2, not shown to reach 2/3
    (["llhh", "lhhh", "hhhl", "lllh", "hhhh"], c.INCONCLUSIVE),
    (["hhhh"] * 8, c.FAILS),
    (["llll"], c.INCONCLUSIVE),                        # one pair of networks
])
def test_landscape_smoothness_by_network_pair(outcomes, verdict):
    v = c.landscape_smoothness(_by_seed(outcomes))
    assert v.verdict == verdict and v.evidence["network_pairs"] == len(outcomes)
    _json(v)


def _time_grid(acc, seeds=3, spread=0.002):
    """3.1 numbers with a depth-against-time grid: acc[(T, nY)] the seed mean, seeds offset by +-spread."""
    offsets = np.linspace(-1, 1, seeds) * spread if seeds > 1 else [0.0]
    runs = [{"T": t, "nY": n, "init_seed": s, "h": t / (n - 1), "heldout_balanced": a + o * ((n + s) % 2)}
            for (t, n), a in acc.items() for s, o in enumerate(offsets)]
    return {"time_grid": {"runs": runs, "n": 61160}}


def _grid(shallow_by_T, deep=0.95):
    return {**{(t, 4): a for t, a in shallow_by_T.items()}, **{(t, 64): deep for t in shallow_by_T},
            **{(t, 16): deep - 0.005 for t in shallow_by_T}}


@pytest.mark.parametrize("shallow_by_T, verdict", [
    ({5.0: 0.949, 40.0: 0.60}, c.HOLDS),               # fine at small T, bad at large T
    ({5.0: 0.60, 40.0: 0.60}, c.CAVEATS),              # bad everywhere: depth, not the step
    ({5.0: 0.95, 40.0: 0.9495}, c.FAILS),              # no drop anywhere (equivalence)
])
def test_depth_for_time_rule(shallow_by_T, verdict):
    v = c.state_layers_time(_time_grid(_grid(shallow_by_T)))
    assert v.verdict == verdict and v.key == "3.1-time"
    assert set(v.evidence["minimum_depth"]) == {"5", "40"}
    assert c.margin_rows([v])[0][1] == "nY = 64 minus nY = 4 at T = 40"
    _json(v)


def test_depth_for_time_is_judged_only_with_its_grid():
    assert c.state_layers_time in c._NEEDS
    v = c.state_layers_time(_time_grid(_grid({5.0: 0.949, 40.0: 0.60}), seeds=1))
    assert v.verdict == c.INCONCLUSIVE


def test_the_chapter_4_record_has_its_schema():
    from resnet_ode.studies.verdicts import check_conclusions_record, check_verdict_record

    first = np.array([0.90, 0.91, 0.92, 0.90, 0.91])
    n31 = {**_heldout31(first, first + 0.05), **_time_grid(_grid({5.0: 0.949, 40.0: 0.60}))}
    verdicts = [c.state_layers_accuracy(n31), c.state_layers_transfer(n31), c.state_layers_time(n31),
                c.stability_with_depth(_readings([0.4, 0.6, 0.9], [2.0, 1.5, 1.1], [0.9, 0.5, 0.1], [10, 5, 2])),
                c.landscape_smoothness(_by_seed(["llll"] * 5))]
    records = {v.key: json.loads(json.dumps(v.to_dict())) for v in verdicts}
    data = {"grades": list(c.GRADES), "verdicts": records,
            "settings": {"book": {"label": "book's setting", "verdicts": records}}, "disagreements": {}}
    assert check_conclusions_record(data) is data
    bad = json.loads(json.dumps(records["3.1-accuracy"]))
    bad["evidence"]["margin"] = -0.01
    with pytest.raises(ValueError, match="3.1-accuracy: margin must be > 0"):
        check_verdict_record(bad)
    bad = json.loads(json.dumps(records["3.2-depth"]))
    del bad["evidence"]["readings"]["max_amp"]["seeds_needed"]
    with pytest.raises(ValueError, match="readings max_amp: the margin comparison lacks 'seeds_needed'"):
        check_verdict_record(bad)
    with pytest.raises(ValueError, match="is not one of"):
        check_verdict_record({**records["3.1-time"], "verdict": "holds mostly"})
    with pytest.raises(ValueError, match="holds the record of"):
        check_conclusions_record({**data, "verdicts": {"3.1-accuracy": records["3.1-time"]}})
