"""Chapter 3.2's analyses (resnet_ode.studies.depth_stability) on small made-up networks."""
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from resnet_ode.core.network import ResNetODE
from resnet_ode.studies import depth_stability as ds
from resnet_ode.studies import stability
from resnet_ode.studies.depth_stability_plots import shown_layers
from resnet_ode.studies.evaluation import AccuracyCounts


def _run(nY, seed, rng):
    """A fake run: a small standard ResNet (one weight set per layer) with perturbed initial weights."""
    model = ResNetODE(nY=nY, T=3.0, nt=nY - 1, nc=4, workers=1, control="per_step")
    theta = model.init_params(seed) + 0.5 * rng.standard_normal(model.n_params)
    config = SimpleNamespace(nt=nY - 1, nY=nY, T=3.0, init_seed=seed,
                             dataset=lambda: SimpleNamespace(X_train=np.zeros((2, 30)), X_val=np.zeros((2, 7))))
    final = {"objective": 0.1 * nY + seed, "train_accuracy": 0.9, "val_accuracy": 0.8 + 0.01 * seed + 0.001 * nY}
    return SimpleNamespace(model=model, theta=theta, config=config, final=lambda f=final: f, train_seconds=1.0)


@pytest.fixture
def family(rng):
    runs = {(n, s): _run(n + 1, s, rng) for n in (3, 6) for s in (0, 1)}
    grid = {key: AccuracyCounts(50 + key[0] + key[1], 100) for key in runs}
    return runs, grid, rng.uniform(-3, 3, (2, 25))


def test_training_sample_keeps_the_highlighted_example():
    X = np.arange(20.0).reshape(2, 10)
    full, pos = ds.training_sample(X, 10, highlight=1)
    assert full is X and pos == 1
    sub, pos = ds.training_sample(X, 4, highlight=7, seed=3)
    assert sub.shape == (2, 4) and np.array_equal(sub[:, pos], X[:, 7])
    again, _ = ds.training_sample(X, 4, highlight=7, seed=3)
    assert np.array_equal(sub, again)          # seeded
    assert np.all(np.diff(sub[0]) > 0)          # sorted columns without repeats


def test_shown_layers_spread_and_keep_ends():
    assert shown_layers(8) == list(range(8))
    picked = shown_layers(32, 8)
    assert len(picked) == 8 and picked[0] == 0 and picked[-1] == 31
    assert len(set(picked)) == 8


def test_fit_summary_ranges(family, monkeypatch):
    runs, grid, _ = family
    monkeypatch.setattr(ds, "run_grid_accuracy", lambda r: grid[r.config.nt + 0, r.config.init_seed])
    a = ds.fit_summary(runs)
    val = [r.final()["val_accuracy"] for r in runs.values()]
    assert a["val_lo"] == min(val) and a["val_hi"] == max(val)
    assert a["grid_lo"] == pytest.approx(0.53) and a["grid_hi"] == pytest.approx(0.57)
    assert len(a.tables) == 1 and len(a.tables[0].rows) == 4


def test_depth_spectra_numbers_are_the_networks_summaries(family):
    runs, _, X = family
    a = ds.depth_spectra(runs, X, highlight=2)
    sp = a.arrays["spectra"]
    assert sorted(sp) == sorted(runs) and a.arrays["layers"] == [3, 6] and a.arrays["seeds"] == [0, 1]
    assert sp[3, 0].eigvals is not None and sp[3, 1].eigvals is None          # kept for the first seed only
    direct = stability.network_spectra(runs[6, 1].model, runs[6, 1].theta, X, keep=False)
    assert np.array_equal(direct.max_amp, sp[6, 1].max_amp)
    o = {k: v.overall() for k, v in sp.items()}
    assert a["N_first"] == 3 and a["N_last"] == 6 and a["n_examples"] == 25 and a["n_networks"] == 4
    assert a["max_amp_last"] == pytest.approx((o[6, 0]["max_amp"] + o[6, 1]["max_amp"]) / 2)
    assert a["lin_first"] == pytest.approx(1 + sp[3, 0].h * a["max_real_first"])
    assert a["minmax_lo"] == min(x["min_max_real"] for x in o.values())
    assert a["stable_pairs_max"] == max(x["share_stable_examples"] for x in o.values())
    assert a["all_unstable"] == all(x["min_max_real"] > 0 for x in o.values())
    # Two tables per network, one per depth, one per layer of each depth; none wider than 8 columns.
    assert len(a.tables) == 3 + 2
    assert all(len(t.headers) <= 8 for t in a.tables)
    assert len(a.tables[-1].rows) == 6


def test_small_largest_real_part_is_not_shown_as_zero():
    t = ds._largest_table({(8, 0): SimpleNamespace(h=1.25, overall=lambda: {
        "max_real": 0.5, "min_max_real": 1.4e-4, "max_amp": 1.01})}, caption="c")
    assert t.cells()[0][4] == "0.00014"


def test_initial_positive_weights_fail_in_every_layer(rng):
    # Positive K and tanh' > 0: every Jacobian is a positive matrix with a positive real eigenvalue.
    run = _run(5, 0, rng)
    K0 = run.model.init_params(0)
    run.model.init_params = lambda seed: np.abs(K0) + 0.01
    runs = {(4, 0): run}
    X = rng.uniform(-3, 3, (2, 12))
    trained = ds.depth_spectra(runs, X).arrays["spectra"]
    a = ds.initial_spectra(runs, trained, X)
    assert a["init_minmax_lo"] > 0 and a["init_max_real_lo"] == a["init_max_real_hi"] > 0
    assert [len(t.headers) for t in a.tables] == [6, 6]


def test_perturbation_study_ratios(family):
    runs, _, X = family
    sp = ds.depth_spectra(runs, X).arrays["spectra"]
    a = ds.perturbation_study(runs, sp, X, eps=1e-6)
    g = a.arrays["growth"]
    med = {k: np.median(v.linear[-1]) for k, v in g.items()}
    assert a["growth_first"] == pytest.approx((med[3, 0] + med[3, 1]) / 2)
    assert a["growth_min"] == min(med.values()) and a["growth_max"] == max(med.values())
    ratios = [np.median(np.exp(sp[k].log_norm_product)) / med[k] for k in g]
    assert a["norm_over_lo"] == pytest.approx(min(ratios))
    assert a["norm_over_lo"] >= 1.0 - 1e-12       # the product of norms bounds every example's growth
    assert a["lin_nonlin_diff"] < 1e-3
    assert all(row[-1] == 1.0 for row in a.tables[0].rows)   # the bound holds for every example


def test_depth_figure_draws_every_seed_and_their_mean(family):
    import matplotlib.pyplot as plt

    from resnet_ode.studies.depth_stability_plots import depth_figure

    runs, _, X = family
    sp = ds.depth_spectra(runs, X).arrays["spectra"]
    growth = ds.perturbation_study(runs, sp, X, eps=1e-6).arrays["growth"]
    sl = {4: sp[3, 0], 7: sp[6, 1]}
    sl_growth = {4: growth[3, 0], 7: growth[6, 1]}
    fig = depth_figure(sp, growth, sl, sl_growth, 0, "standard", "state layers")
    share, median = fig.axes[2], fig.axes[3]
    for ax, value in ((share, lambda k: sp[k].overall()["share_inside"]),
                      (median, lambda k: np.median(growth[k].linear[-1]))):
        lines = {line.get_label(): line for line in ax.get_lines()}
        mean = lines["standard ResNet, mean over the 2 seeds"]
        assert list(mean.get_xdata()) == [3, 6]
        assert np.allclose(mean.get_ydata(), [(value((n, 0)) + value((n, 1))) / 2 for n in (3, 6)])
        assert len(ax.get_lines()) == 2 + 1 + 1          # a line per seed, their mean, the state layers
    plt.close(fig)


def test_settings_comparison_and_record(family, monkeypatch):
    runs, grid, X = family
    monkeypatch.setattr(ds, "run_grid_accuracy", lambda r: AccuracyCounts(60, 100))
    spectra = ds.depth_spectra(runs, X).arrays["spectra"]
    growth = ds.perturbation_study(runs, spectra, X).arrays["growth"]
    book = {"runs": runs, "grid": grid, "spectra": spectra, "growth": growth}
    ref = ds.setting_comparison(book, runs, X)          # the same networks: the settings must agree
    assert ref["ref_max_amp_last"] == pytest.approx(ref["book_max_amp_last"])
    assert ref["ref_grid_lo"] == ref["ref_grid_hi"] == 0.6
    assert ref["ref_stable_pairs_max"] == ref["book_stable_pairs_max"]
    assert ref["ref_stable_pairs_max"] == 0 and ref["ref_stable_pairs_text"] == "no (example, layer) pair is inside"
    spectra_of = ds.stability.network_spectra            # every (example, layer) pair of a quarter of the layers inside
    monkeypatch.setattr(ds.stability, "network_spectra", lambda *a, **k: dataclasses.replace(
        sp := spectra_of(*a, **k), share_stable_examples=np.where(np.arange(sp.n_layers) % 4 == 0, 1.0, 0.0)))
    some = ds.setting_comparison(book, runs, X)
    assert some["ref_stable_pairs_max"] > 0
    assert some["ref_stable_pairs_text"] == (f"at most a share {some['ref_stable_pairs_max']:.2g} of (example, layer) "
                                             "pairs is inside")
    monkeypatch.setattr(ds.stability, "network_spectra", spectra_of)
    sl_runs = [_run(n, 0, np.random.default_rng(n)) for n in (4, 7)]
    sl = ds.state_layer_study(sl_runs, X)
    assert sl["sl_first"] == 4 and sl["sl_last"] == 7
    assert all(len(t.headers) <= 8 for t in sl.tables)
    settings = {"T": 3.0, "layers": [3, 6], "seeds": [0, 1], "n_train": 30}
    record = ds.stability_record(settings, book, sl, ref, {"cg_tol": 0.1}).numbers
    assert set(record) == {"n_train", "settings", "standard", "state_layers", "reference_cg"}
    assert record["n_train"] == 30 and "n_train" not in record["settings"]
    net = record["standard"]["6"]["1"]
    assert net["max_amp"] == spectra[6, 1].overall()["max_amp"]
    assert net["perturbation"]["median_growth_tangent"] == float(np.median(growth[6, 1].linear[-1]))
    assert net["grid_accuracy"]["accuracy"] == grid[6, 1].accuracy
    assert sorted(record["state_layers"]) == ["4", "7"]
    assert record["reference_cg"]["run_changes"] == {"cg_tol": 0.1}
