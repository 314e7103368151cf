"""The verdict rules of Chapter 4, on made-up numbers in the shape the chapters write: every grade of every rule."""

import json

import numpy as np
import pytest

from resnet_ode.studies import conclusions as c

DEPTHS = [8, 16, 32, 64, 128, 256]
#: Own held-out balanced accuracy of the shallowest network per seed (errors ~0.09: margin 0.25 * 0.092 = 0.023).
FIRST = np.array([0.90, 0.91, 0.92, 0.90, 0.91])


def _json(v):
    return json.loads(json.dumps(v.to_dict(), allow_nan=False))


def _heldout31(diag, offdiag_deep=0.9, offdiag_shallow=0.5):
    """Chapter 3.1 numbers as it writes them (``heldout``): per seed a held-out balanced accuracy matrix with the
    given diagonal ``diag`` (s, k), ``offdiag_deep`` (scalar or per seed) in the block of the three deepest networks
    and ``offdiag_shallow`` elsewhere."""
    diag = np.atleast_2d(np.asarray(diag, dtype=float))
    s, k = diag.shape
    deep = np.broadcast_to(np.asarray(offdiag_deep, dtype=float), (s,))
    bal = []
    for d, od in zip(diag, deep):
        M = np.full((k, k), offdiag_shallow)
        M[k - 3:, k - 3:] = od
        np.fill_diagonal(M, d)
        bal.append(M)
    bal = np.array(bal)
    return {"depths": DEPTHS[:k],
            "heldout": {"balanced_seeds": bal.tolist(), "accuracy_seeds": bal.tolist(), "n": 61160,
                        "baseline": {"accuracy": 0.761, "balanced": 0.2}, "method": "test"}}


def _rising(first, gain, k=6):
    """Per seed, own accuracies rising linearly from ``first`` to ``first + gain``: shape (s, k)."""
    first, gain = np.asarray(first, dtype=float), np.asarray(gain, dtype=float)
    return first[:, None] + gain[:, None] * np.linspace(0, 1, k)[None, :]


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


FALL = np.array([0.0, 0.06, 0.02, 0.04, 0.05, 0.055])          # rises overall, but falls from nY = 16 to 32


@pytest.mark.parametrize("diag, verdict, words", [
    (_rising(FIRST, [0.05, 0.06, 0.05, 0.055, 0.06]), c.HOLDS, "at least the required"),
    (FIRST[:, None] + FALL + np.array([0.0, 0.001, -0.001, 0.0005, 0.0])[:, None], c.CAVEATS,
     "falls significantly from nY = 16 to 32"),
    (_rising(FIRST, [0.005, 0.035, 0.01, 0.03, 0.02]), c.CAVEATS, "above 0 but not shown"),     # direction, not size
    (_rising(FIRST, [0.05, -0.04, 0.06, -0.03, 0.02]), c.INCONCLUSIVE, "may be 0 or"),
    (_rising(FIRST, [0.001, -0.001, 0.0, 0.002, -0.002]), c.FAILS, "equivalence"),             # no gain, tight
    (_rising(FIRST, [-0.05, -0.06, -0.05, -0.055, -0.06]), c.FAILS, "reversed"),               # falls with depth
])
def test_state_layer_accuracy_rule(diag, verdict, words):
    v = c.state_layers_accuracy(_heldout31(diag))
    assert v.verdict == verdict and v.rule.endswith(f"{verdict}.") and words in v.rule
    ev = _json(v)["evidence"]
    assert v.key == "3.1-accuracy" and ev["source"] == "held-out balanced accuracy" and ev["seeds"] == 5
    assert ev["margin"] == pytest.approx(0.25 * (1 - np.mean(diag[:, 0]))) and ev["test"] == "effect"
    assert ev["seeds_needed"] >= 2


def test_state_layer_accuracy_measured_text_and_power():
    v = c.state_layers_accuracy(_heldout31(_rising(FIRST, [0.05, 0.06, 0.05, 0.055, 0.06])))
    assert "61160 held-out grid points" in v.measured and "0.200 balanced" in v.measured
    assert v.evidence["lower"] >= v.evidence["margin"]
    v = c.state_layers_accuracy(_heldout31(_rising(FIRST, [0.05, -0.04, 0.06, -0.03, 0.02])))
    assert v.evidence["seeds_needed"] > 5                    # too spread to decide: the calculation asks for more
    v = c.state_layers_accuracy(_heldout31(_rising(FIRST[:1], [0.05])))
    assert v.verdict == c.INCONCLUSIVE and v.evidence["seeds_needed"] is None


def test_the_chapter_3_1_rules_need_held_out_numbers():
    old = {"depths": DEPTHS, "val_accuracy_seeds": [np.eye(6).tolist()] * 3}
    for rule in (c.state_layers_accuracy, c.state_layers_transfer):
        with pytest.raises(KeyError, match="held-out"):
            rule(old)


OWN = np.full((5, 6), 0.955) + np.array([-0.005, 0.005, -0.005, 0.005, 0.0])[:, None]


@pytest.mark.parametrize("deep, verdict, words", [
    (0.94, c.HOLDS, "at most 0.05"),                                                 # transfer near own accuracy
    (0.7, c.CAVEATS, "not shown to be at most 0.05"),                                # far below own accuracy
    ([0.55, 0.62, 0.57, 0.6, 0.61], c.CAVEATS, "above 0 but not shown"),              # direction, not size
    ([0.4, 0.65, 0.45, 0.7, 0.55], c.INCONCLUSIVE, "may be 0 or"),
    (0.52, c.FAILS, "equivalence"),                                                   # shown to be below 0.1
])
def test_transfer_rule(deep, verdict, words):
    v = c.state_layers_transfer(_heldout31(OWN, offdiag_deep=deep, offdiag_shallow=0.5))
    assert v.verdict == verdict and v.key == "3.1-transfer" and words in v.rule
    ev = _json(v)["evidence"]
    assert ev["margin"] == c.TRANSFER_EFFECT and ev["compared"] == "deep block's transfer minus the shallow rows'"


# -- 3.2 ------------------------------------------------------------------------------------------


def _readings(inside, amp, real, growth, seeds=5, spread=0.0, stable=0.0):
    """3.2 numbers for depths 8, 16, 32: per depth the seed mean of each reading; the deepest network's seeds are
    offset by up to +-spread (absolute), so that the paired differences spread. ``stable``: the share of (example,
    layer) pairs stable in every eigenvalue, per seed of every depth (scalar or per seed)."""
    fam = {}
    stable = np.broadcast_to(np.asarray(stable, dtype=float), (seeds,))
    for d, si, a, r, g in zip((8, 16, 32), inside, amp, real, growth):
        offsets = np.linspace(-1, 1, seeds) * spread if seeds > 1 and d == 32 else [0.0] * seeds
        fam[str(d)] = {str(s): {"share_inside": si + o, "max_amp": a + o, "max_real": r + o,
                                "share_stable_examples": float(st), "min_max_real": 0.01, "n_samples": 5000,
                                "perturbation": {"median_growth_tangent": g + o}}
                       for s, (o, st) in enumerate(zip(offsets, stable))}
    return {"n_train": 5000, "standard": fam}


STABLE = ([0.4, 0.6, 0.9], [2.0, 1.5, 1.1], [0.9, 0.5, 0.1], [10, 5, 2])


@pytest.mark.parametrize("numbers, verdict", [
    (_readings(*STABLE, spread=0.01), c.HOLDS),
    (_readings([0.4, 0.6, 0.9], [2.0, 1.5, 1.1], [0.9, 0.9, 0.95], [10, 5, 2], spread=0.01), c.CAVEATS),  # Re rises
    (_readings([0.4, 0.35, 0.3], [2.0, 1.5, 1.1], [0.9, 0.5, 0.1], [10, 5, 2], spread=0.01), c.FAILS),  # share falls
    (_readings([0.4, 0.4, 0.401], [2.0, 2.0, 2.0], [0.9] * 3, [10] * 3, spread=0.002), c.FAILS),  # no change: equivalence
    (_readings([0.4, 0.5, 0.5], [2.0, 1.5, 1.1], [0.9, 0.5, 0.1], [10, 5, 2], spread=0.3), c.INCONCLUSIVE),
    (_readings(*STABLE, seeds=1), c.INCONCLUSIVE),  # one seed
])
def test_stability_with_depth_rule(numbers, verdict):
    v = c.stability_with_depth(numbers)
    assert v.verdict == verdict and v.key == "3.2-depth"
    assert set(v.evidence["readings"]) == {"share_inside", "max_amp", "max_real", "perturbation"}
    assert len(c.margin_rows([v])) == 4
    _json(v)


@pytest.mark.parametrize("stable, verdict, words", [
    (1.0, c.HOLDS, "within +/-0.050 of 0"),                                    # every pair stable, every seed
    ([0.99, 0.985, 0.995, 0.99, 0.98], c.HOLDS, "within +/-0.050 of 0"),       # 1 to 2 % unstable
    (0.0, c.FAILS, "at least 0.050 away from 0"),                              # the book's case: none stable
    ([0.0, 0.000175, 0.0, 0.0, 0.0], c.FAILS, "at least 0.050 away from 0"),
    ([0.99, 0.9, 0.97, 0.92, 0.96], c.INCONCLUSIVE, "may lie within"),         # around the margin
])
def test_stability_condition_rule(stable, verdict, words):
    v = c.stability_condition(_readings(*STABLE, stable=stable))
    assert v.verdict == verdict and v.key == "3.2-condition" and words in v.rule
    ev = _json(v)["evidence"]
    assert ev["test"] == "equivalence" and ev["margin"] == c.UNSTABLE_SHARE and ev["seeds"] == 5
    assert ev["difference"]["value"] == pytest.approx(1 - np.mean(stable))
    assert ev["interval"] == "population t over 5 seeds" and ev["seeds_needed"] >= 2
    assert "every one of the 5000 training examples" in v.measured


def test_stability_condition_power_and_its_limits():
    # a wider spread of the unstable share asks for more seeds
    narrow = c.stability_condition(_readings(*STABLE, stable=[0.99, 0.985, 0.995, 0.99, 0.98]))
    wide = c.stability_condition(_readings(*STABLE, stable=[0.99, 0.9, 0.97, 0.92, 0.96]))
    assert narrow.evidence["seeds_needed"] < wide.evidence["seeds_needed"]
    # one seed: no bounds, inconclusive
    one = c.stability_condition(_readings(*STABLE, seeds=1, stable=1.0))
    assert one.verdict == c.INCONCLUSIVE and one.evidence["seeds_needed"] is None
    # a sample of the training examples would need a sampling term: refused
    sample = _readings(*STABLE, stable=1.0)
    sample["standard"]["32"]["0"]["n_samples"] = 100
    with pytest.raises(ValueError, match="n_samples = 100 of n_train = 5000"):
        c.stability_condition(sample)
    del sample["n_train"]
    with pytest.raises(ValueError, match="every training example"):
        c.stability_condition(sample)


# -- 3.3 ------------------------------------------------------------------------------------------

#: Seed means of the readings at 8 layers: (family, measure) -> value.
BASE33 = {("joint/filter", "negative_share"): 0.8, ("joint/filter", "local_minima"): 4.0,
          ("varpro/filter", "negative_share"): 0.7, ("varpro/filter", "local_minima"): 12.0}


def _n33(fall, spread=0.0, seeds=5):
    """Chapter 3.3 numbers (``surfaces``): per reading the 20-layer value is the 8-layer one times ``1 - fall``
    (a dict per reading or one number for all), the seeds offset by +-spread (relative) at 20 layers only."""
    fall = fall if isinstance(fall, dict) else {k: fall for k in BASE33}
    offsets = np.linspace(-1, 1, seeds) * spread if seeds > 1 else [0.0]
    surfaces = {}
    for (family, measure), base in BASE33.items():
        fam = surfaces.setdefault(family, {"8": {}, "20": {}})
        for s, o in enumerate(offsets):
            fam["8"].setdefault(str(s), {})[measure] = base
            fam["20"].setdefault(str(s), {})[measure] = base * (1 - fall[(family, measure)] + o)
    return {"thesis_depths": [8, 20], "seeds": list(range(seeds)), "surfaces": surfaces,
            "thesis_figures": {"VarPro/8": {"local_minima": 19}, "VarPro/20": {"local_minima": 5}}}


HALF = {k: (0.5 if k[1] == "local_minima" else 0.0) for k in BASE33}   # fewer minima, curvature unchanged


@pytest.mark.parametrize("numbers, verdict", [
    (_n33(0.5, spread=0.05), c.HOLDS),                 # every reading falls by half
    (_n33(HALF, spread=0.01), c.CAVEATS),              # smoother, not more convex: two readings hold, two do not
    (_n33(0.15, spread=0.3), c.INCONCLUSIVE),          # too spread to decide
    (_n33(0.0, spread=0.01), c.FAILS),                 # no change anywhere: equivalence
    (_n33(-0.5, spread=0.05), c.FAILS),                # rougher
    (_n33(0.5, seeds=1), c.INCONCLUSIVE),              # one pair of networks
])
def test_landscape_smoothness_rule(numbers, verdict):
    v = c.landscape_smoothness(numbers)
    assert v.verdict == verdict and v.key == "3.3-smoothness"
    ev = _json(v)["evidence"]
    assert set(ev["readings"]) == {f"{f}/{m}" for f, m in BASE33}
    rows = c.margin_rows([v])
    assert len(rows) == 4 and all(r[0] == "3.3-smoothness" for r in rows)
    assert "19 local minima at 8 layers against 5 at 20" in v.measured


def test_landscape_smoothness_margins_and_seeds():
    v = c.landscape_smoothness(_n33(0.15, spread=0.3))
    for (family, measure), base in BASE33.items():
        r = v.evidence["readings"][f"{family}/{measure}"]
        assert r["margin"] == pytest.approx(0.1 * base) and r["seeds"] == 5 and r["seeds_needed"] > 5
        assert r["difference"]["value"] == pytest.approx(0.15 * base)


# -- 3.4 ------------------------------------------------------------------------------------------


def _convergence(order, noise):
    steps = np.array([16, 32, 64, 128, 256, 512, 1024])
    errors = (1.0 / steps) ** order * np.exp(np.r_[0, 0, 0, noise])
    return {"steps": steps.tolist(), "errors": errors.tolist()}


def _n34(order, noise=(0.0, 0.01, -0.01, 0.0), ratio=2.0, runs=None):
    out = {"convergence_order": {"rk4_thesis_as_written": order, "rk4": 4.0, "euler": 1.0},
           "convergence": {"rk4_thesis_as_written": _convergence(order, list(noise))},
           "toy_landscapes": {"thesis_pair": {"train": {"rk4_thesis_as_written": {"max": ratio}, "euler": {"max": 1.0}}}},
           "peaks": {"runs": runs or []}}
    return out


@pytest.mark.parametrize("numbers, verdict, words", [
    (_n34(4.0), c.HOLDS, "within +/-0.50 of 0"),
    (_n34(3.9, noise=(0.01, -0.02, 0.01, 0.0)), c.HOLDS, "within +/-0.50 of 0"),
    (_n34(4.0, ratio=18.9), c.CAVEATS, "18.9 times Euler's"),                   # right order, objectives apart
    (_n34(3.6, noise=(0.5, -0.5, 0.4, -0.4)), c.INCONCLUSIVE, "may lie within"),
    (_n34(-0.3), c.FAILS, "at least 0.50 away from 0"),                          # the book's case
    (_n34(5.0), c.FAILS, "at least 0.50 away from 0"),                           # too high is no better
])
def test_rk4_as_written_rule(numbers, verdict, words):
    v = c.rk4_as_written(numbers)
    assert v.verdict == verdict and v.key == "3.4-correct" and words in v.rule
    ev = _json(v)["evidence"]
    assert ev["test"] == "equivalence" and ev["margin"] == c.ORDER_TOLERANCE
    assert ev["seeds"] == 0 and ev["seeds_needed"] is None and ev["power_note"] == c.NO_TRAINING
    assert ev["difference"]["value"] == pytest.approx(ev["order"]["value"] - 4.0)


def test_rk4_order_bounds_from_the_fit():
    conv = _convergence(3.6, [0.5, -0.5, 0.4, -0.4])
    v = c.rk4_as_written(_n34(3.6, noise=(0.5, -0.5, 0.4, -0.4)))
    fit = np.polyfit(np.log(1.0 / np.array(conv["steps"][3:])), np.log(conv["errors"][3:]), 1)[0]
    assert v.evidence["order"]["value"] == pytest.approx(fit)     # the fit over steps >= 128, like the chapter's
    assert v.evidence["order"]["low"] < v.evidence["order"]["lower"] < 3.5 < v.evidence["order"]["upper"]
    assert "one-sided" in v.measured and "nothing trained" in v.measured
    bad = _n34(4.0)
    bad["convergence"]["rk4_thesis_as_written"]["steps"] = [16, 32, 64, 100, 110, 120, 128]
    with pytest.raises(ValueError, match="at least 2 positive errors"):
        c.rk4_as_written(bad)


def _runs34(diffs_by_pair, base=0.92):
    """Per-seed runs with held-out balanced accuracy: for each (RK4 nY, Euler nY) of (5, 17), (9, 33), RK4 minus
    Euler per seed from ``diffs_by_pair`` (one list per pair); Euler at ``base`` with a spread over seeds."""
    out = []
    for (n_rk, n_eu), diffs in zip([(5, 17), (9, 33)], diffs_by_pair):
        for s, d in enumerate(diffs):
            e = base + 0.01 * (s - 2)
            out.append({"integrator": "euler", "nY": n_eu, "init_seed": s, "heldout_balanced": e, "n_heldout": 61160})
            out.append({"integrator": "rk4", "nY": n_rk, "init_seed": s, "heldout_balanced": e + d, "n_heldout": 61160})
    return out


GAIN = [0.04, 0.05, 0.045, 0.05, 0.04]          # margin 0.25 * 0.08 = 0.02: shown
NONE = [0.001, -0.001, 0.0, 0.001, 0.0]         # no gain, tight: equivalence


@pytest.mark.parametrize("diffs, verdict", [
    ([GAIN, GAIN], c.HOLDS),
    ([GAIN, NONE], c.CAVEATS),                                        # one pair holds, the other does not
    ([[0.005, 0.035, 0.01, 0.03, 0.02]], c.CAVEATS),                  # direction, not size
    ([[0.06, -0.05, 0.04, -0.06, 0.01]], c.INCONCLUSIVE),
    ([NONE, NONE], c.FAILS),
    ([[-0.04, -0.05, -0.045, -0.05, -0.04]], c.FAILS),                # reversed
    ([GAIN[:1]], c.INCONCLUSIVE),                                     # one seed
])
def test_rk4_accuracy_rule(diffs, verdict):
    v = c.rk4_accuracy(_n34(4.0, runs=_runs34(diffs)))
    assert v.verdict == verdict and v.key == "3.4-accuracy"
    ev = _json(v)["evidence"]
    assert ev["source"] == "held-out balanced accuracy" and len(ev["pairs"]) == len(diffs)
    pair = ev["pairs"]["16"]
    assert pair["margin"] == pytest.approx(0.25 * (1 - np.mean([0.92 + 0.01 * (s - 2) for s in range(len(diffs[0]))])))
    assert pair["seeds"] == len(diffs[0]) and pair["test"] == "effect"


def test_rk4_accuracy_needs_held_out_runs():
    runs = _runs34([GAIN])
    del runs[3]["heldout_balanced"]
    with pytest.raises(KeyError, match="rk4 nY = 5"):
        c.rk4_accuracy(_n34(4.0, runs=runs))
    with pytest.raises(KeyError, match="every run"):
        c.rk4_accuracy(_n34(4.0))


# -- all claims -----------------------------------------------------------------------------------


def _time_grid(acc, seeds=3, spread=0.002):
    """3.1 numbers with a depth-against-time grid: acc[(T, nY)] the seed mean, seeds offset by +-spread."""
    offsets = np.linspace(-1, 1, seeds) * spread if seeds > 1 else [0.0]
    runs = [{"T": t, "nY": n, "init_seed": s, "h": t / (n - 1), "heldout_balanced": a + o * ((n + s) % 2)}
            for (t, n), a in acc.items() for s, o in enumerate(offsets)]
    return {"time_grid": {"runs": runs, "n": 61160}}


def _grid(shallow_by_T, deep=0.95):
    return {**{(t, 4): a for t, a in shallow_by_T.items()}, **{(t, 64): deep for t in shallow_by_T},
            **{(t, 16): deep - 0.005 for t in shallow_by_T}}


def _numbers():
    n31 = {**_heldout31(_rising(FIRST, [0.001, -0.001, 0.0, 0.002, -0.002]), offdiag_deep=0.52),
           **_time_grid(_grid({5.0: 0.949, 40.0: 0.60}))}
    n31["reference_cg"] = _heldout31(_rising(FIRST + 0.05, [-0.05, -0.06, -0.05, -0.055, -0.06]), offdiag_deep=0.52)
    return {"3.1": n31, "3.2": _readings(*STABLE, spread=0.01), "3.3": _n33(0.15, spread=0.3),
            "3.4": _n34(-0.33, runs=_runs34([NONE, NONE]))}


def test_judge_all():
    verdicts = c.judge_all(_numbers())
    assert [v.key for v in verdicts] == ["3.1-accuracy", "3.1-transfer", "3.1-time", "3.2-depth", "3.2-condition",
                                         "3.3-smoothness", "3.4-correct", "3.4-accuracy"]
    assert [v.verdict for v in verdicts] == [c.FAILS, c.FAILS, c.HOLDS, c.HOLDS, c.FAILS, c.INCONCLUSIVE, c.FAILS,
                                             c.FAILS]
    assert all(v.setting == c.BOOK_SETTING and v.verdict in c.GRADES and v.rule for v in verdicts)
    json.dumps([v.to_dict() for v in verdicts], allow_nan=False)


def test_judge_all_under_another_setting():
    ref = c.judge_all(_numbers(), setting="reference_cg")
    assert [v.key for v in ref] == ["3.1-accuracy", "3.1-transfer"]     # only Chapter 3.1 stored the setting
    assert all(v.setting == "reference_cg" for v in ref)
    assert ref[0].verdict == c.FAILS and "reversed" in ref[0].rule      # falls with depth
    merged = c.numbers_for_setting(_numbers()["3.1"], "reference_cg")
    assert merged["depths"] == DEPTHS and "reference_cg" not in merged
    assert c.numbers_for_setting(_numbers()["3.2"], "reference_cg") is None


def test_judge_settings_side_by_side_and_disagreements():
    numbers = _numbers()
    # The code's nt: own accuracy flat over depth, transfer 0.94 in the deep block against 0.5 elsewhere (holds),
    # where the book's (0.52 against 0.5) does not hold.
    numbers["3.1"]["code_nt"] = {**_heldout31(OWN, offdiag_deep=0.94), "nt": 8}
    by = c.judge_settings(numbers)
    assert list(by) == [c.BOOK_SETTING, "reference_cg", "code_nt"]
    assert len(by[c.BOOK_SETTING]) == 8 and list(by["reference_cg"]) == list(by["code_nt"]) == [
        "3.1-accuracy", "3.1-transfer"]
    assert all(v.setting == "code_nt" for v in by["code_nt"].values())
    assert by[c.BOOK_SETTING]["3.1-transfer"].verdict == c.FAILS
    assert by["code_nt"]["3.1-transfer"].verdict == c.HOLDS
    # 3.1-accuracy does not hold under all three (no gain; reversed; flat), so only the transfer disagrees
    assert c.disagreements(by) == {"3.1-transfer": {c.BOOK_SETTING: c.FAILS, "reference_cg": c.FAILS,
                                                    "code_nt": c.HOLDS}}
    # Claims judged under one setting only never disagree.
    assert c.disagreements({c.BOOK_SETTING: by[c.BOOK_SETTING]}) == {}


def test_one_seed_is_never_more_than_inconclusive():
    """One initial-weight seed leaves the spread over initial weights unmeasured."""
    clear = _heldout31(_rising(FIRST[:1], [0.09]))
    v = c.state_layers_accuracy(clear)
    assert v.verdict == c.INCONCLUSIVE and v.evidence["seeds"] == 1
    assert c.state_layers_accuracy(_heldout31(_rising(FIRST[:2], [0.09, 0.08]))).verdict == c.HOLDS
    assert c.state_layers_transfer(_heldout31(OWN[:1], offdiag_deep=0.94)).verdict == c.INCONCLUSIVE
    assert c.state_layers_transfer(_heldout31(OWN[:2], offdiag_deep=0.94)).verdict == c.HOLDS
    assert c.one_seed_cap(c.FAILS, "rule", 1) == (c.INCONCLUSIVE, "rule (graded does not hold on the points alone; "
                          "with one seed the spread over initial weights is unmeasured, so no verdict beyond inconclusive)")
    assert c.one_seed_cap(c.FAILS, "rule", 3) == (c.FAILS, "rule")
    assert c.one_seed_cap(c.INCONCLUSIVE, "rule", 1) == (c.INCONCLUSIVE, "rule")


def test_a_claim_without_trained_networks_is_judged_under_the_books_setting_only():
    numbers = _numbers()
    numbers["3.4"] = {**numbers["3.4"], "reference_cg": {"peaks": {"runs": _runs34([GAIN])}}}
    by = c.judge_settings(numbers)
    assert "3.4-correct" in by[c.BOOK_SETTING] and "3.4-correct" not in by["reference_cg"]
    assert by["reference_cg"]["3.4-accuracy"].verdict == c.HOLDS


# -- the table of margins and the record ------------------------------------------------------------


def test_margin_rows_list_every_comparison_graded_by_a_margin():
    verdicts = c.judge_all(_numbers())
    rows = c.margin_rows(verdicts)
    assert [r[0] for r in rows] == (["3.1-accuracy", "3.1-transfer", "3.1-time"] + ["3.2-depth"] * 4
                                    + ["3.2-condition"] + ["3.3-smoothness"] * 4 + ["3.4-correct"]
                                    + ["3.4-accuracy"] * 2)
    assert all(len(r) == len(c.MARGIN_COLUMNS) for r in rows)
    by = {r[0]: r for r in rows}
    assert by["3.1-accuracy"][5] == "5" and by["3.4-accuracy"][1].startswith("RK4 nY = 9 minus Euler nY = 33")
    # the margin is printed once, followed by how it was set
    margin = f"{verdicts[0].evidence['margin']:.3f}"
    assert by["3.1-accuracy"][4].startswith(f"{margin} (0.25 of the errors of the shallowest network")
    for r in rows:
        assert r[4].count(r[4].split(" ")[0]) == 1, r[4]
    # equivalence claims say so; a claim with nothing trained says why it asks for no seeds
    assert "claimed within +/-0.500 of 0" in by["3.4-correct"][1] and "claimed within +/-0.050" in by["3.2-condition"][1]
    assert by["3.4-correct"][5] == "0" and by["3.4-correct"][6] == f"none: {c.NO_TRAINING}"
    assert by["3.2-condition"][6].isdigit()


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

    verdicts = c.judge_all(_numbers())
    records = {v.key: json.loads(json.dumps(v.to_dict())) for v in verdicts}
    data = {"grades": list(c.GRADES), "verdicts": records,
            "settings": {"book": {"label": "book's setting", "verdicts": records}}, "disagreements": {}}
    assert check_conclusions_record(data) is data
    assert all(records[k]["evidence"].get("seeds_needed") or records[k]["evidence"].get("power_note")
               for k in ("3.1-accuracy", "3.1-transfer", "3.1-time", "3.2-condition", "3.4-correct"))
    bad = json.loads(json.dumps(records["3.1-accuracy"]))
    bad["evidence"]["margin"] = -0.01
    with pytest.raises(ValueError, match="3.1-accuracy: margin must be > 0"):
        check_verdict_record(bad)
    bad = json.loads(json.dumps(records["3.2-depth"]))
    del bad["evidence"]["readings"]["max_amp"]["seeds_needed"]
    with pytest.raises(ValueError, match="readings max_amp: the margin comparison lacks 'seeds_needed'"):
        check_verdict_record(bad)
    bad = json.loads(json.dumps(records["3.3-smoothness"]))
    bad["evidence"]["readings"]["joint/filter/local_minima"]["test"] = "superiority"
    with pytest.raises(ValueError, match="test 'superiority' is not one of"):
        check_verdict_record(bad)
    bad = json.loads(json.dumps(records["3.4-correct"]))      # 0 seeds only with a reason
    del bad["evidence"]["power_note"]
    with pytest.raises(ValueError, match="seeds 0 and seeds_needed None out of range"):
        check_verdict_record(bad)
    bad = json.loads(json.dumps(records["3.4-correct"]))
    bad["evidence"]["seeds_needed"] = 5
    with pytest.raises(ValueError, match="power_note says why"):
        check_verdict_record(bad)
    with pytest.raises(ValueError, match="is not one of"):
        check_verdict_record({**records["3.1-time"], "verdict": "holds mostly"})
    with pytest.raises(ValueError, match="holds the record of"):
        check_conclusions_record({**data, "verdicts": {"3.1-accuracy": records["3.1-time"]}})
