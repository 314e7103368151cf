"""Chapter 3.3's analyses (resnet_ode.studies.smoothness) and figures (resnet_ode.studies.landscape_figures)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from resnet_ode.book.experiments import standard_resnet_config  # noqa: E402
from resnet_ode.studies import landscape as L  # noqa: E402
from resnet_ode.studies import landscape_figures as F  # noqa: E402
from resnet_ode.studies import smoothness as S  # noqa: E402
from resnet_ode.training.runs import get_run  # noqa: E402

TINY = dict(nc=4, n_train_per_class=10, n_val_per_class=4, max_iter=2, cg_max_iter=4)
DEPTHS, SEEDS = (2, 3), (0, 1)


@pytest.fixture
def all_runs(tmp_cache):
    return {(d, s): get_run(standard_resnet_config(d, T=1.0, init_seed=s, **TINY)) for s in SEEDS for d in DEPTHS}


def test_check_settings_names_the_bad_parameter():
    assert S.check_settings([4, 8, 20], [0, 1], [8, 20], [8, 20]) == [0, 1]
    with pytest.raises(ValueError, match="thesis_depths must list at least 2 of depths"):
        S.check_settings([4, 8], [0], [8, 20], [4, 8])
    with pytest.raises(ValueError, match="varpro_depths must list at least 2"):
        S.check_settings([4, 8], [0], [4, 8], [8])
    with pytest.raises(ValueError, match="seeds"):
        S.check_settings([4, 8], [-1], [4, 8], [4, 8])


def made_up_measures():
    """Measures with known comparisons: at seed 0 the deeper network has fewer minima, at seed 1 as many."""
    m = {}
    for obj, norm in S.COMBINATIONS:
        for s in SEEDS:
            m[(obj, norm, 8, s)] = {"negative_share": 0.5, "local_minima": 4}
            m[(obj, norm, 20, s)] = {"negative_share": 0.6 + 0.1 * s, "local_minima": 2 if s == 0 else 4}
    return m


def test_depth_comparison_counts_means_and_words():
    share = {(o, "near", d, s): (0.1 if d == 20 else 0.2) * (1 + s) for o in ("joint", "varpro") for d in (8, 20)
             for s in SEEDS}
    hess = {("joint", 8): {"ratio": -1e-6}, ("joint", 20): {"ratio": -1e-7},
            ("varpro", 8): {"ratio": -0.006}, ("varpro", 20): {"ratio": -0.003}}
    a = S.depth_comparison(made_up_measures(), share, hess, [8, 20], SEEDS, shallow=8, deep=20)
    c = a["deep_smoother_on_seeds"]["joint/thesis/local_minima"]
    assert c == {"lower": 1, "ties": 1, "higher": 0, "n": 2}
    assert a["deep_smoother_on_seeds"]["varpro/filter/negative_share"] == {"lower": 0, "ties": 0, "higher": 2, "n": 2}
    assert a["deep_smoother_by_seed"]["1"]["joint/filter/local_minima"] == "tie"
    assert a["mean"]["joint/filter/local_minima"] == {"shallow": 4.0, "deep": 3.0}
    assert a["mean"]["joint/filter/negative_share"]["deep"] == pytest.approx(0.65)
    assert a["minima_word"]["joint/thesis"] == "fewer"
    assert a["mean_by_depth"]["local_minima"] == {"8": 4.0, "20": 3.0}
    assert a["near"]["varpro"] == pytest.approx({"shallow": 0.3, "deep": 0.15, "lower": 2})
    assert a["varpro_more_convex"] is True
    (table,) = a.tables
    assert len(table.headers) <= 8 and table.cells()[1][5] == "1 of 2"
    # Chapter 4's rule (filter planes only): the deeper network's share is higher on both seeds (-0.1, -0.2),
    # its minima fewer on one (2, 0); two seeds bound none of the four readings away from 0 and the margin.
    assert a["rule"] == {"verdict": "inconclusive", "share": 0.1, "readings": 4, "holds": 0, "does_not_hold": 0,
                         "inconclusive": 4}


def test_order_of_the_final_objectives_in_words():
    assert S._order([3.0, 2.0, 1.0]) == "falls with depth"
    assert S._order([1.0, 2.0]) == "rises with depth"
    assert S._order([0.0111, 0.0064, 0.0127, 0.0139]) == "in no monotone order"


def test_the_word_follows_the_direction_of_the_means():
    m = made_up_measures()
    for s in SEEDS:   # the deeper network now has more minima on average, though fewer on seed 0
        m[("joint", "thesis", 20, s)]["local_minima"] = 3 if s == 0 else 9
    share = {(o, "near", d, s): 0.1 for o in ("joint", "varpro") for d in (8, 20) for s in SEEDS}
    hess = {(o, d): {"ratio": -1.0} for o in ("joint", "varpro") for d in (8, 20)}
    a = S.depth_comparison(m, share, hess, [8, 20], SEEDS, shallow=8, deep=20)
    assert a["deep_smoother_on_seeds"]["joint/thesis/local_minima"]["lower"] == 1
    assert a["minima_word"]["joint/thesis"] == "more"
    assert a["varpro_more_convex"] is False


def test_measure_tables_fit_the_column():
    m = made_up_measures()
    tables = S.measure_tables(m, {("joint", "filter"): [8, 20], ("varpro", "filter"): [8, 20]}, SEEDS, 21)
    assert len(tables) == 4 and all(len(t.headers) == 1 + len(SEEDS) for t in tables)
    assert tables[1].cells() == [["8", "4", "4"], ["20", "2", "4"]]
    assert tables[0].cells()[1] == ["20", "0.600", "0.700"]


def test_hessian_tables_split_values_and_checks():
    h = {("joint", 4): {"lam_min": -0.025, "lam_max": 3.974e4, "ratio": -6.25e-7, "second_difference_min": -0.0247,
                        "asymmetry": 1e-9, "matvecs": 87, "grad_norm": 0.083}}
    values, checks = S.hessian_tables(h)
    assert values.cells() == [["joint", "4", "-0.025", "3.974e+04", "-6.25e-07", "0.083"]]
    assert checks.cells() == [["joint", "4", "-0.025", "-0.0247", "< 1e-06", "87"]]
    assert max(len(t.headers) for t in (values, checks)) <= 8


@pytest.mark.slow
def test_analyses_on_tiny_runs(all_runs):
    assert S.trained_networks(all_runs, list(SEEDS))["objective_range"]["2"] == [
        min(all_runs[(2, s)].final()["objective"] for s in SEEDS),
        max(all_runs[(2, s)].final()["objective"] for s in SEEDS)]
    runs = S.trained_networks(all_runs, list(SEEDS)).arrays["runs"]
    assert set(runs) == set(DEPTHS) and all(runs[d] is all_runs[(d, 0)] for d in DEPTHS)

    grid = L.li_grid(5)
    fig = S.thesis_figures(runs, DEPTHS, 0, varpro_grid=grid, joint_grid=grid)
    s = fig.arrays["varpro"][3]
    assert fig["minima"][3] == L.local_minima(s.values)
    assert fig["thesis_figures"]["joint/2"]["centre"] == pytest.approx(fig.arrays["joint"][2].centre)
    assert fig["subproblems"] == 2 * 25 and fig["not_converged"] == 0

    sizes = S.layer_sizes(all_runs, DEPTHS, list(SEEDS))
    v = sizes.arrays["sizes"][(3, 1, 0)]
    assert v.shape == (4,)                                   # opening layer and three layers
    assert sizes["sizes"]["3"]["max"] >= sizes["sizes"]["3"]["max_first_seed"] >= sizes["sizes"]["3"]["min"] > 0

    surf = S.filter_surfaces(all_runs, DEPTHS, DEPTHS, list(SEEDS), 5)
    assert surf["n_surfaces"] == 3 * len(DEPTHS) * len(SEEDS) and len(surf.tables) == 6
    key = ("varpro", "filter", 2, 1)
    assert surf["surfaces"]["varpro/filter"]["2"]["1"]["local_minima"] == surf.arrays["measures"][key]["local_minima"]

    sl = S.slices(all_runs, DEPTHS, [3], list(SEEDS), n=5)
    assert ("varpro", "near", 2, 0) not in sl.arrays["share"] and ("varpro", "near", 3, 0) in sl.arrays["share"]
    near = sl.arrays["slices"][("joint", "near", 2, 0)]
    assert near.a.max() == pytest.approx(S.NEAR)
    assert sl["slices"]["joint/wide"]["2"]["0"]["nonconvex_share"] == L.slice_nonconvex_share(
        sl.arrays["slices"][("joint", "wide", 2, 0)].values[:, 0], L.li_grid(5))

    every = list(surf.arrays["surfaces"].values()) + list(sl.arrays["slices"].values())
    counts = S.objective_evaluations(every, 3)
    assert counts["joint"] == 2 * 4 * 25 + 2 * 2 * 2 * 5 and counts["varpro"] == 4 * 25 + 2 * 2 * 5
    assert counts["surfaces_and_slices"] == len(every)


def test_compared_panels_share_one_colour_scale(all_runs):
    run = all_runs[(2, 0)]
    grid = L.li_grid(5)
    a = L.get_surface(run, L.SurfaceSpec("joint", "filter", seed=0, a=grid, b=grid))
    b = L.get_surface(run, L.SurfaceSpec("joint", "filter", seed=1, a=grid, b=grid))
    levels = F.shared_levels([a, b])
    logs = np.log10(np.concatenate([a.values.ravel(), b.values.ravel()]))
    assert levels[0] == logs.min() and levels[-1] == logs.max() and levels.size == F.LEVELS
    fig = F.contour_rows([("joint", [("seed 0", a), ("seed 1", b)])])
    colour_bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 1
    fig3 = F.surfaces_3d_row([("seed 0", a), ("seed 1", b)])
    assert {ax.get_zlim() for ax in fig3.axes} == {(levels[0], levels[-1])}


def test_3d_scenes_show_every_axis_on_one_scale_and_turn_together():
    from resnet_ode.studies import interactive

    a = np.linspace(-1, 1, 5)
    Z = np.add.outer(a**2, a**2)
    fig = interactive.surfaces_3d([("8 layers", a, a, Z), ("20 layers", a, a, 2 * Z)], "pair", "two surfaces")
    layout = fig.figure.layout
    assert layout.scene.camera.eye.to_plotly_json() == interactive.CAMERA_EYE
    assert layout.scene2.camera.eye.to_plotly_json() == interactive.CAMERA_EYE
    assert tuple(layout.scene.zaxis.range) == tuple(layout.scene2.zaxis.range) == (0.0, 4.0)
    assert [t.cmin for t in fig.figure.data] == [0.0, 0.0] and [t.cmax for t in fig.figure.data] == [4.0, 4.0]
    page = fig._repr_html_()
    assert "plotly_relayouting" in page and "['scene', 'scene2']" in page and "getElementById('pair')" in page
    assert "cdn" not in page.lower() and "<script src" not in page
    alone = interactive.surfaces_3d([("8 layers", a, a, Z), ("20 layers", a, a, Z)], "p2", "d", link=False)
    assert "plotly_relayout" not in alone._repr_html_()
    assert "plotly_relayout" not in interactive.surfaces_3d([("8 layers", a, a, Z)], "p3", "d")._repr_html_()
