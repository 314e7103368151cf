"""Chapter 3.4's analyses (resnet_ode.studies.rktoy, rknetworks) and figures (rkfigures)."""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

from resnet_ode.book.experiments import runge_kutta_runs
from resnet_ode.core.integrators import METHODS
from resnet_ode.studies import margins, rkfigures, rknetworks, rkstudy, rktoy
from resnet_ode.studies.aggregate import pair_by_seed
from resnet_ode.training.runs import get_runs

matplotlib.use("Agg")


# ----------------------------------------------------------------------------
# The toy problem, on small grids
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_data():
    return rkstudy.make_toy_data(n_examples=4, seed=3)


@pytest.fixture(scope="module")
def small_landscapes(toy_data):
    return rktoy.equal_cost_landscapes(toy_data, rk4_steps=5, ref_steps=40, n_grid=11)


def test_method_table_weight_sums():
    a = rktoy.method_table((0.4, 2.0))
    sums = a["weight_sums"]
    assert set(sums) == set(METHODS)
    assert sums[rktoy.WRITTEN] == pytest.approx([1 / 6 + 0.2, 1 / 6 + 1.0])
    for name in ("euler", "rk4", "rk4_38"):
        assert sums[name] == pytest.approx([1.0, 1.0])
    (table,) = a.tables
    assert len(table.headers) == 5
    written = [r for r in table.rows if r[0] == rktoy.WRITTEN][0]
    assert written[2] == "–"                       # no declared order, said with a dash and the caption


@pytest.mark.slow
def test_toy_orders_known_orders(toy_data):
    a = rktoy.toy_orders(toy_data, methods=("euler", "rk4", rktoy.WRITTEN))
    assert a["order_euler"] == pytest.approx(1.0, abs=0.15)
    assert a["order_rk4"] == pytest.approx(4.0, abs=0.3)
    assert a["order_rk4_thesis_as_written"] < 0.5           # does not converge
    assert a["order_written_sixth"] == pytest.approx(1.0, abs=0.15)   # converges to dY/dt = f/6
    rec = a["record"]
    assert set(rec) == {"convergence_order", "convergence_order_written_vs_f_over_6", "convergence"}
    assert rec["convergence_order"]["rk4"] == a["order_rk4"]
    assert a["steps_fine"] == int(rec["convergence"]["rk4"]["steps"][-1])
    assert a["err_written_fine"] == rec["convergence"][rktoy.WRITTEN]["errors"][-1]


def test_equal_cost_landscapes_identities(toy_data, small_landscapes):
    a = small_landscapes
    T = toy_data.T
    assert a["H"] == pytest.approx(T / 5) and a["euler_steps"] == 20 and a["h_euler"] == pytest.approx(T / 20)
    assert a["a_H"] == pytest.approx(1 / 6 + a["H"] / 2)
    assert a["T_eff"] == pytest.approx(a["a_H"] * T)
    ref, land = a.arrays["ref_train"], a.arrays["land"]
    assert ref.shape == (11, 11) and land["euler"][1].shape == (11, 11)
    # The thesis's comparison splits exactly into the coding error and the two discretisation errors.
    split = a["record"]["difference_split"]
    coding, e_rk4, e_eu = (land[rktoy.WRITTEN][0] - land["rk4"][0], land["rk4"][0] - ref, ref - land["euler"][0])
    assert np.allclose(coding + e_rk4 + e_eu, land[rktoy.WRITTEN][0] - land["euler"][0])
    assert [v["frobenius"] for v in split.values()] == pytest.approx([np.linalg.norm(d) for d in (coding, e_rk4, e_eu)])
    assert a["bug_max_over_euler"] == pytest.approx(np.abs(coding).max() / np.abs(e_eu).max())
    train = a["record"]["train"]
    assert train["reference"]["rel_diff"] == 0.0 and train["reference"]["log_corr"] == pytest.approx(1.0)
    assert a["rel_euler"] == pytest.approx(np.linalg.norm(land["euler"][0] - ref) / np.linalg.norm(ref))
    assert a["thesis_pair_ratio"] == pytest.approx(land[rktoy.WRITTEN][0].max() / land["euler"][0].max())
    assert a["argmin_ref"].startswith("(") and a["argmin_ref"].count(",") == 1


def test_equal_cost_landscapes_tables_have_no_nan(small_landscapes):
    assert len(small_landscapes.tables) == 3
    for table in small_landscapes.tables:
        assert len(table.headers) <= 8
        for row in table.cells():
            assert "nan" not in row
    last = small_landscapes.tables[1].rows[-1]
    assert last[2] == "–" and "–" in small_landscapes.tables[1].caption


def test_coarse_pair_damped_share_from_eigenvalues(toy_data, small_landscapes):
    t = small_landscapes.arrays["t"]
    a = rktoy.coarse_pair(toy_data, 2, small_landscapes.arrays["ref_train"], t)
    assert a.arrays["steps"]["euler"] == (8, pytest.approx(toy_data.T / 8))
    # Euler damps where |1 + h lambda| <= 1 at both eigenvalues of the kernel's decaying modes.
    _, theta = rkstudy.theta_grid(t[0], t[-1], t.size)
    h = toy_data.T / 8
    s = theta.sum(axis=1)
    lam = -1.5 * s + 0.5j * np.sqrt(3) * (theta[:, 0] - theta[:, 1])
    expected = np.mean(np.abs(1 + h * lam) <= 1 + 1e-12)
    assert a["coarse_damped_euler"] == pytest.approx(expected)
    assert 0.0 <= a["coarse_damped_rk4"] <= 1.0
    assert set(a["record"]) == {"euler", "rk4", rktoy.WRITTEN}
    assert a["record"]["rk4"]["steps"] == 2


def test_toy_figures_draw(toy_data, small_landscapes):
    coarse = rktoy.coarse_pair(toy_data, 2, small_landscapes.arrays["ref_train"], small_landscapes.arrays["t"])
    for fig in (rkfigures.thesis_figure(small_landscapes, 5), rkfigures.landscapes_figure(small_landscapes, 5),
                rkfigures.landscape_errors_figure(small_landscapes),
                rkfigures.coarse_figure(coarse, small_landscapes.arrays["t"])):
        assert len(fig.axes) >= 3
        matplotlib.pyplot.close(fig)


# ----------------------------------------------------------------------------
# The Peaks networks: made-up configurations, and two published seeds of the cheapest pair
# ----------------------------------------------------------------------------


def _fake_run(integrator, nY):
    return SimpleNamespace(config=SimpleNamespace(integrator=integrator, nY=nY))


def test_labels_and_pairs():
    runs = [_fake_run("euler", 33), _fake_run("rk4", 9), _fake_run("euler", 17), _fake_run("rk4", 5),
            _fake_run("rk4", 16)]
    labels = rknetworks.network_labels(runs)
    assert labels == [("rk4", 5), ("euler", 17), ("rk4", 9), ("euler", 33), ("rk4", 16)]
    assert rknetworks.equal_cost_pairs(labels) == [(("rk4", 5), ("euler", 17)), (("rk4", 9), ("euler", 33))]


@pytest.fixture(scope="module")
def published_runs():
    return get_runs(runge_kutta_runs([5], [0, 1], 40, {}))


def test_equal_cost_networks_on_published_runs(published_runs):
    a = rknetworks.equal_cost_networks(published_runs)
    records = a.arrays["records"]
    assert len(records) == 4 and a["n_seeds"] == 2 and a["seed_list"] == "0, 1"
    rk = [r["heldout_balanced"] for r in records if r["integrator"] == "rk4"]
    assert a["heldout_rk4_5"] == pytest.approx(np.mean(rk))
    x, y, seeds = pair_by_seed(records, ("rk4", 5), ("euler", 17), "val_accuracy")
    assert seeds == [0, 1]
    assert a["record"]["rk4_minus_euler"]["16"]["val_accuracy"]["value"] == pytest.approx(np.mean(x - y))
    assert a["record"]["mean"]["euler-nY17"]["val_accuracy"] == pytest.approx(np.mean(y))
    # the grid is the whole labelled population: its intervals and differences cover the seeds only
    gx, gy, _ = pair_by_seed(records, ("rk4", 5), ("euler", 17), "grid_accuracy")
    grid_diff = a["record"]["rk4_minus_euler"]["16"]["grid_accuracy"]
    assert grid_diff["method"] == "paired t over 2 seeds" and grid_diff["value"] == pytest.approx(np.mean(gx - gy))
    assert "wilson" not in a["record"]["intervals"]["rk4-nY5"]["grid_accuracy"]["method"]
    assert "wilson" in a["record"]["intervals"]["rk4-nY5"]["val_accuracy"]["method"]
    verdict = margins.heldout_rk4_accuracy(records, [(5, 17)])
    assert a["heldout_grade_16"] == verdict.evidence["pairs"]["16"]["grade"] == a["heldout_verdict"]
    assert a["baseline_balanced"] == pytest.approx(0.2)
    assert all(len(t.headers) <= 8 for t in a.tables)
    matplotlib.pyplot.close(rkfigures.peaks_figure(a))


def test_cross_discretisation_on_published_runs(published_runs):
    a = rknetworks.cross_discretisation(published_runs, extra=())
    assert a.arrays["evaluators"] == ["rk4 5", "euler 17", "rk4 241"]
    acc, ferr = a.arrays["accuracy"], a.arrays["feature_error"]
    # Under its own discretisation a trained network has its own validation accuracy.
    for i, k in enumerate(rknetworks.network_labels(published_runs)):
        own = np.mean([r.final()["val_accuracy"] for r in published_runs if (r.config.integrator, r.config.nY) == k])
        assert acc[i, a.arrays["own"][i]] == pytest.approx(own)
    assert np.allclose(ferr[:, -1], 0.0)                      # the fine network against itself
    assert a["own_err_rk4_5"] == ferr[0, 0]
    assert all(len(t.headers) <= 8 for t in a.tables)


def test_trained_network_convergence_and_record(published_runs):
    X = published_runs[0].config.dataset().X_val[:, :20]
    a = rknetworks.trained_network_convergence(published_runs, X, aligned_methods=("rk4",), other_methods=("rk4",),
                                               levels=3)
    assert a["conv_nY"] == 5 and a["conv_seed"] == "0"
    assert a["net_order_rk4_aligned"] > a["net_order_rk4_other"]
    assert set(a["record"]) == {"aligned", "not_aligned"}
    with pytest.raises(ValueError, match="RK4"):
        rknetworks.trained_network_convergence([r for r in published_runs if r.config.integrator == "euler"], X)
