"""The verdict rules of Chapter 4, on made-up numbers."""

import numpy as np
import pytest

from resnet_ode import conclusions as c


def _n31(diag, off, ref_off=None):
    M = np.full((6, 6), off)
    np.fill_diagonal(M, diag)
    out = {"depths": [8, 16, 32, 64, 128, 256], "val_accuracy": M.tolist()}
    if ref_off is not None:
        R = np.full((6, 6), ref_off)
        np.fill_diagonal(R, 0.9)
        out["reference_cg"] = {"val_accuracy": R.tolist()}
    return out


def test_state_layer_accuracy_rule():
    assert c.state_layers_accuracy(_n31([0.6, 0.7, 0.8, 0.9, 0.95, 0.99], 0.5)).verdict == c.HOLDS
    assert c.state_layers_accuracy(_n31([0.98, 0.985, 0.985, 0.995, 0.99, 1.0], 0.5)).verdict == c.FAILS
    assert c.state_layers_accuracy(_n31([0.9, 0.7, 0.8, 0.9, 0.95, 0.99], 0.5)).verdict == c.CAVEATS


def test_transfer_rule():
    n = _n31([0.99] * 6, 0.1)
    M = np.array(n["val_accuracy"])
    M[3:, 3:] = 0.97
    np.fill_diagonal(M, 0.99)
    n["val_accuracy"] = M.tolist()
    assert c.state_layers_transfer(n).verdict == c.HOLDS
    M[3:, 3:] = 0.6
    np.fill_diagonal(M, 0.99)
    n["val_accuracy"] = M.tolist()
    assert c.state_layers_transfer(n).verdict == c.CAVEATS
    assert c.state_layers_transfer(_n31([0.99] * 6, 0.3, ref_off=0.8)).verdict == c.FAILS
    assert "0.800" in c.state_layers_transfer(_n31([0.99] * 6, 0.3, ref_off=0.8)).measured


def _n32(max_real, growth, stable):
    fam = {}
    for d, mr, g in zip((8, 16, 32), max_real, growth):
        fam[str(d)] = {s: {"max_real": mr, "max_amp": 1 + mr, "share_stable_examples": stable, "share_inside": stable,
                           "min_max_real": -0.1 if stable == 1 else 0.01,
                           "perturbation": {"median_growth_tangent": g}} for s in ("0", "1")}
    return {"standard": fam}


def test_stability_rules():
    assert c.stability_with_depth(_n32([0.9, 0.5, 0.1], [10, 5, 2], 1.0)).verdict == c.HOLDS
    assert c.stability_with_depth(_n32([0.9, 0.5, 0.1], [10, 12, 13], 1.0)).verdict == c.CAVEATS
    assert c.stability_with_depth(_n32([0.8, 0.9, 1.0], [17, 13, 14], 0.0)).verdict == c.FAILS
    assert c.stability_condition(_n32([0.1] * 3, [1] * 3, 1.0)).verdict == c.HOLDS
    assert c.stability_condition(_n32([0.1] * 3, [1] * 3, 0.5)).verdict == c.FAILS


@pytest.mark.parametrize("lower, verdict", [(3, c.HOLDS), (2, c.CAVEATS), (1, c.FAILS)])
def test_landscape_rule(lower, verdict):
    counts = {f"{o}/filter/{m}": {"lower": lower, "ties": 0} for o in ("joint", "varpro")
              for m in ("local_minima", "negative_share")}
    counts["joint/thesis/local_minima"] = {"lower": 0, "ties": 0}  # not counted
    assert c.landscape_smoothness({"deep_smoother_on_seeds": counts, "seeds": [0, 1, 2]}).verdict == verdict


def _n34(order, rk4_acc):
    return {"convergence_order": {"rk4_thesis_as_written": order, "rk4": 4.0, "euler": 1.0},
            "toy_landscapes": {"thesis_pair": {"train": {"rk4_thesis_as_written": {"max": 2.0}, "euler": {"max": 1.0}}}},
            "peaks": {"mean": {"rk4-nY5": {"val_accuracy": rk4_acc}, "euler-nY17": {"val_accuracy": 0.9},
                               "rk4-nY9": {"val_accuracy": rk4_acc}, "euler-nY33": {"val_accuracy": 0.9}}}}


def test_rk4_rules():
    assert c.rk4_as_written(_n34(3.9, 0.9)).verdict == c.HOLDS
    assert c.rk4_as_written(_n34(-0.3, 0.9)).verdict == c.FAILS
    assert c.rk4_accuracy(_n34(4, 0.95)).verdict == c.HOLDS
    assert c.rk4_accuracy(_n34(4, 0.91)).verdict == c.FAILS
    assert "16 evaluations" in c.rk4_accuracy(_n34(4, 0.91)).measured
