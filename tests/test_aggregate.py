"""Aggregation of per-seed and per-run results (resnet_ode.studies.aggregate) and the grid accuracy (resnet_ode.studies.evaluation)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from resnet_ode.studies import aggregate as A
from resnet_ode.studies import evaluation as E
from resnet_ode.core.data import classify_values, peaks, peaks_grid
from resnet_ode.studies.uncertainty import seed_interval, wilson_interval


def test_seed_summary_numbers_arrays_and_dicts():
    s = A.seed_summary([0.98, 0.99, 0.985])
    assert s == seed_interval([0.98, 0.99, 0.985]).to_dict()
    assert s["value"] == pytest.approx(0.985) and s["n"] == 3
    mats = [np.full((2, 2), v) for v in (0.9, 0.95, 1.0)]
    m = A.seed_summary(mats, n_points=200)
    assert m["mean"].shape == (2, 2) and m["n"] == 3
    assert np.allclose(m["mean"], 0.95) and np.allclose(m["min"], 0.9) and np.allclose(m["max"], 1.0)
    assert np.all(m["low"] < 0.95) and np.all(m["high"] <= 1.0)
    ref = seed_interval([0.9, 0.95, 1.0], n_points=200)
    assert m["low"][0, 1] == pytest.approx(ref.low) and m["method"] == ref.method
    nested = A.seed_summary([{"a": 1.0, "b": {"c": [1.0, 2.0]}}, {"a": 3.0, "b": {"c": [3.0, 4.0]}}])
    assert nested["a"]["value"] == 2.0
    assert np.allclose(nested["b"]["c"]["mean"], [2.0, 3.0])
    one = A.seed_summary([0.98], n_points=200)
    assert one["low"] == pytest.approx(wilson_interval(196, 200).low)
    assert A.seed_summary([0.98])["high"] is None      # no interval from one seed, JSON-able
    with pytest.raises(ValueError, match="keys"):
        A.seed_summary([{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="at least one"):
        A.seed_summary([])


def test_count_lower_and_deeper_smoother():
    assert A.count_lower([1, 2, 3], [2, 2, 1]) == {"lower": 1, "ties": 1, "higher": 1, "n": 3}
    seeds = [0, 1, 2]
    measures = {}
    for obj, norm in A.LANDSCAPE_COMBINATIONS:
        for d, minima, share in [(8, [3, 2, 2], [0.7, 0.7, 0.7]), (20, [1, 2, 4], [0.8, 0.6, 0.9])]:
            for s in seeds:
                measures[(obj, norm, d, s)] = {"local_minima": minima[s], "negative_share": share[s]}
    out = A.deeper_smoother(measures, 20, 8, seeds)
    assert set(out) == {f"{o}/{n}/{m}" for o, n in A.LANDSCAPE_COMBINATIONS for m in A.LANDSCAPE_MEASURES}
    assert out["joint/filter/local_minima"] == {"lower": 1, "ties": 1, "higher": 1, "n": 3}
    assert out["varpro/filter/negative_share"] == {"lower": 1, "ties": 0, "higher": 2, "n": 3}
    json.dumps(out)


def _run(integrator, nY, seed, val, objective=0.1, seconds=1.0):
    cfg = SimpleNamespace(integrator=integrator, nY=nY, init_seed=seed, objective="varpro")
    return SimpleNamespace(config=cfg, train_seconds=seconds,
                           final=lambda: {"objective": objective, "train_accuracy": 1.0, "val_accuracy": val})


def test_grouping_runs_and_records():
    runs = [_run("rk4", 5, s, v, objective=0.1 * (s + 1)) for s, v in enumerate([0.975, 0.995, 0.985])]
    runs += [_run("euler", 17, s, v) for s, v in enumerate([0.99, 0.99, 0.985])]
    groups = A.group_runs(runs)
    assert list(groups) == [("rk4", 5), ("euler", 17)] and len(groups[("rk4", 5)]) == 3
    means = A.group_means(runs)
    assert means[("rk4", 5)]["val_accuracy"] == pytest.approx(0.985)
    assert means[("rk4", 5)]["objective"] == pytest.approx(0.2)        # the final objective, not the setting
    assert means[("euler", 17)]["train_seconds"] == 1.0
    assert list(A.group_means(runs, order=[("euler", 17), ("rk4", 5)])) == [("euler", 17), ("rk4", 5)]
    records = [{"integrator": r.config.integrator, "nY": r.config.nY, "init_seed": r.config.init_seed,
                **r.final(), "train_seconds": 1.0} for r in runs]
    assert A.group_means(records) == means
    iv = A.group_intervals(records, n_points=200)
    assert iv[("rk4", 5)]["val_accuracy"] == seed_interval([0.975, 0.995, 0.985], n_points=200).to_dict()
    iv2 = A.group_intervals(records, metrics=("val_accuracy", "objective"), n_points={"val_accuracy": 200})
    assert iv2[("rk4", 5)]["objective"]["method"] == "t over 3 seeds"
    a, b, seeds = A.pair_by_seed(records[::-1], ("rk4", 5), ("euler", 17), "val_accuracy")
    assert seeds == [0, 1, 2] and np.allclose(a, [0.975, 0.995, 0.985]) and np.allclose(b, [0.99, 0.99, 0.985])
    rows = np.arange(12.0).reshape(6, 2)
    keys = [A.method_key(r) for r in runs]
    assert np.allclose(A.group_row_means(rows, keys, [("euler", 17), ("rk4", 5)]), [[8, 9], [2, 3]])
    with pytest.raises(ValueError, match="no row"):
        A.group_row_means(rows, keys, [("rk4", 9)])


def test_run_record_is_a_record_the_grouping_reads():
    runs = [_run("rk4", 5, s, v, seconds=2.0) for s, v in enumerate([0.975, 0.995])]
    rec = A.run_record(runs[0], grid_accuracy=0.97, evaluations=16)
    assert rec == {"integrator": "rk4", "nY": 5, "init_seed": 0, "objective": 0.1, "train_accuracy": 1.0,
                   "val_accuracy": 0.975, "train_seconds": 2.0, "grid_accuracy": 0.97, "evaluations": 16}
    assert list(rec)[:3] == ["integrator", "nY", "init_seed"]
    assert A.run_record(runs[1], settings=("nY",)) == {"nY": 5, "objective": 0.1, "train_accuracy": 1.0,
                                                        "val_accuracy": 0.995, "train_seconds": 2.0}
    records = [A.run_record(r, grid_accuracy=g) for r, g in zip(runs, (0.96, 0.98))]
    assert A.group_means(records, metrics=("grid_accuracy",))[("rk4", 5)]["grid_accuracy"] == pytest.approx(0.97)
    assert A.group_means(records) == A.group_means(runs)
    json.dumps(records)


class _Oracle:
    """Predicts the Peaks class of every point exactly, except where ``x1 > cut``."""

    def __init__(self, cut=np.inf):
        self.edges = peaks_grid().edges
        self.cut = cut

    def predict(self, theta, W, X):
        y = classify_values(peaks(X[0], X[1]), self.edges)
        return np.where(X[0] > self.cut, (y + 1) % 5, y)


def test_grid_accuracy_counts_every_grid_point():
    full = E.grid_accuracy(_Oracle(), None, None)
    assert (full.correct, full.n, full.accuracy) == (65536, 65536, 1.0)
    half = E.grid_accuracy(_Oracle(cut=0.0), None, None, chunk=1000)
    assert half.n == 65536 and half.correct == 32768       # x1 > 0 on half of the 256 columns
    assert half.interval().low < 0.5 < half.interval().high
    assert half.interval() == wilson_interval(32768, 65536)
    assert E.grid_accuracy(_Oracle(cut=0.0), None, None, chunk=65536) == half
    json.dumps(half.to_dict(), allow_nan=False)


def test_grid_accuracy_of_a_network_and_cross_grid_accuracy():
    from resnet_ode.core.network import ResNetODE

    rng = np.random.default_rng(0)
    models = [ResNetODE(nY=n, T=2.0, nt=4, nc=4, workers=1) for n in (3, 5)]
    results = [SimpleNamespace(model=m, theta=m.init_params(i), W=rng.standard_normal(m.n_classifier_params))
               for i, m in enumerate(models)]
    g = peaks_grid()
    X, y = g.points, g.labels.ravel()
    for r in results:
        got = E.grid_accuracy(r.model, r.theta, r.W, chunk=5000)
        assert got.accuracy == pytest.approx(r.model.accuracy(r.theta, r.W, X, y))
    cross = E.cross_grid_accuracy(results)
    assert cross.correct.shape == (2, 2) and cross.n == 65536
    assert cross.accuracy[0, 0] == pytest.approx(E.grid_accuracy(models[0], results[0].theta, results[0].W).accuracy)
    assert cross.accuracy[1, 0] == pytest.approx(models[0].accuracy(results[1].theta, results[1].W, X, y))
    low, high = cross.bounds()
    assert low.shape == (2, 2) and np.all(low <= cross.accuracy) and np.all(cross.accuracy <= high)
    d = cross.to_dict()
    assert np.asarray(d["accuracy"]).shape == (2, 2) and d["n"] == 65536
    json.dumps(d, allow_nan=False)
    with pytest.raises(ValueError, match="one network"):
        cross.interval()


def test_transfer_summary_of_a_cross_accuracy_matrix():
    from resnet_ode.studies.aggregate import off_diagonal_mean, transfer_summary

    M = np.full((5, 5), 0.2)
    M[2:, 2:] = 0.7                      # the three deepest work in each other's networks
    M[0, :] = 0.1                        # the shallowest's weights work nowhere else
    np.fill_diagonal(M, [0.99, 0.98, 0.97, 0.96, 0.95])
    t = transfer_summary(M)
    assert t["diag_min"] == pytest.approx(0.95) and t["diag_max"] == pytest.approx(0.99)
    assert t["deep_offdiag"] == pytest.approx(0.7)
    assert t["shallow_rows_offdiag"] == pytest.approx((4 * 0.1 + 4 * 0.2) / 8)
    assert t["shallow_cols_offdiag"] == pytest.approx((0.1 + 0.2 + 3 * 0.2 + 3 * 0.2) / 8)
    assert off_diagonal_mean(M) == pytest.approx((M.sum() - np.trace(M)) / 20)
    with pytest.raises(ValueError, match="at least 4 depths"):
        transfer_summary(np.eye(3))
    with pytest.raises(ValueError, match="square"):
        transfer_summary(np.ones((4, 5)))


def test_accuracy_under_other_networks_is_each_networks_accuracy():
    from resnet_ode.core.network import ResNetODE

    rng = np.random.default_rng(1)
    models = [ResNetODE(nY=n, T=2.0, nt=4, nc=4, integrator=m, workers=1)
              for n, m in ((3, "euler"), (3, "rk4"), (9, "euler"))]
    results = [SimpleNamespace(model=m, theta=m.init_params(i) + 0.5 * rng.standard_normal(m.n_params),
                               W=rng.standard_normal(m.n_classifier_params)) for i, m in enumerate(models)]
    X, y = rng.uniform(-3, 3, size=(2, 301)), rng.integers(0, 5, size=301)
    acc = E.accuracy_under(results[:2], models, X, y)
    assert acc.shape == (2, 3)
    for i, r in enumerate(results[:2]):
        for j, m in enumerate(models):
            assert acc[i, j] == m.accuracy(r.theta, r.W, X, y)      # bit for bit
    assert np.array_equal(E.cross_accuracy(results, X, y), E.accuracy_under(results, models, X, y))
