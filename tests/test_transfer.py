"""Chapter 3.1's analyses (resnet_ode.studies.transfer) on made-up inputs with known answers."""
import json

import numpy as np
import pytest

from resnet_ode.book.numbers import to_jsonable
from resnet_ode.core.data import classify_values, peaks, peaks_grid
from resnet_ode.studies import transfer
from resnet_ode.studies.analysis import Analysis
from resnet_ode.studies.evaluation import AccuracyCounts


def _matrix(diag, off, k=4):
    M = np.full((k, k), float(off))
    np.fill_diagonal(M, diag)
    return M


def test_accuracy_record_means_and_counts():
    val = np.stack([_matrix(1.0, 0.5), _matrix(0.9, 0.3)])
    grid = [AccuracyCounts(np.full((4, 4), 30), 40), AccuracyCounts(np.full((4, 4), 10), 40)]
    rec = transfer.accuracy_record(val, grid, n_val=200)
    assert np.allclose(rec["val_accuracy"], _matrix(0.95, 0.4))
    assert np.allclose(rec["grid_accuracy"], 0.5)                       # (30 + 10) / 2 / 40
    assert rec["n_val"] == 200 and rec["n_grid"] == 40
    assert rec["grid_accuracy_seeds"][0]["correct"][0][0] == 30
    assert rec["val_accuracy_summary"]["n"] == 2
    # the validation points are a sample, the grid is every labelled point: no sampling term there
    assert "wilson" in rec["val_accuracy_summary"]["method"]
    assert rec["grid_accuracy_summary"]["method"] == "t over 2 seeds", rec["grid_accuracy_summary"]["method"]
    json.dumps(to_jsonable(rec))


def test_setting_comparison_of_made_up_matrices():
    depths = [8, 16, 32, 64, 128]
    # book: diagonal 1, off-diagonal 0.5 everywhere; other: diagonal 0.8, deep block (rows/cols 2-4) 0.7, rest 0.2
    other = _matrix(0.8, 0.2, 5)
    other[2:, 2:] = 0.7
    np.fill_diagonal(other, 0.8)
    grid = lambda frac: [AccuracyCounts(np.round(frac * 100).astype(int), 100)]  # noqa: E731
    out = transfer.setting_comparison({"book": ("book", [_matrix(1.0, 0.5, 5)] * 2, grid(_matrix(1.0, 0.5, 5)) * 2),
                                       "other": ("other", [other], grid(other))}, depths)
    assert out["book_diag_min"] == pytest.approx(1.0) and out["book_deep_offdiag"] == pytest.approx(0.5)
    assert out["other_diag_min"] == pytest.approx(0.8) and out["other_grid_diag_min"] == pytest.approx(0.8)
    assert out["other_deep_offdiag"] == pytest.approx(0.7) and out["other_grid_deep"] == pytest.approx(0.7)
    # rows of the two shallowest: 2 x 4 off-diagonal entries, all 0.2
    assert out["other_shallow_rows"] == pytest.approx(0.2)
    assert out["book_n_seeds"] == "2" and out["other_n_seeds"] == "1"
    (table,) = out.tables
    assert len(table.headers) <= 8
    assert table.cells()[1][3] == "0.700 (0.700-0.700)"


class _PeaksModel:
    """Predicts every point's true Peaks class, except class ``wrong`` which it calls class 2."""

    def __init__(self, edges, wrong=-1):
        self.edges, self.wrong = edges, wrong

    def predict(self, theta, W, X):
        c = classify_values(peaks(X[0], X[1]), self.edges)
        return np.where(c == self.wrong, 2, c)


class _FakeRun:
    def __init__(self, config, model):
        self.config, self.model, self.theta, self.W = config, model, None, None


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RESNET_ODE_PUBLISHED", str(tmp_path / "published"))


def test_cross_evaluation_of_known_classifiers(own_cache):
    from resnet_ode.training.trainer import RunConfig

    edges = peaks_grid().edges
    good, bad = _PeaksModel(edges), _PeaksModel(edges, wrong=0)
    # the fake networks ignore the weights: column j is the network of depth j; the shallowest loses class 0
    by_seed = {s: [_FakeRun(RunConfig(nY=n, init_seed=s), bad if n == 4 else good) for n in (4, 5, 6, 7)]
               for s in (0, 1)}
    data = by_seed[0][0].config.dataset()
    out = transfer.cross_evaluation(by_seed, data.X_train, data.y_train, data.X_val, data.y_val)
    val = out.arrays["val_mean"]
    assert np.allclose(val[:, 1:], 1.0) and np.allclose(val[:, 0], 0.8)      # 40 of 200 validation points are class 0
    assert out["diag_min"] == pytest.approx(0.8) and out["spread_max"] == 0.0
    assert out["deep_offdiag"] == pytest.approx(1.0)
    assert out["shallow_cols_offdiag"] == pytest.approx((0.8 * 3 + 1.0 * 3) / 6)   # columns 4, 5: (1,0),(2,0),(3,0) at 0.8
    assert out["deep_beats_shallow"] == "holds on every seed"
    assert [len(t.headers) for t in out.tables] == [5, 5, 5, 5, 4]
    transfer_rows = out.tables[4].cells()
    assert [r[0] for r in transfer_rows] == ["seed 0", "seed 1", "seed mean", "smallest seed", "largest seed"]
    assert out["n_grid"] == 65_536 and json.dumps(to_jsonable(out["transfer"]))


def test_depth_time_of_known_classifiers(own_cache):
    from resnet_ode.training.trainer import RunConfig

    edges = peaks_grid().edges
    good, bad = _PeaksModel(edges), _PeaksModel(edges, wrong=0)        # balanced 1.0 and 0.8 (class 0 lost)
    model = {(5.0, 4): good, (5.0, 8): good, (10.0, 4): bad, (10.0, 8): good}
    runs = [_FakeRun(RunConfig(T=t, nY=n, init_seed=s), model[(t, n)]) for (t, n) in model for s in (0, 1)]
    out = transfer.depth_time(runs)
    assert out.arrays["times"] == [5.0, 10.0] and out.arrays["depths"] == [4, 8]
    assert out.arrays["values"].shape == (2, 2, 2)
    assert np.allclose(out.arrays["steps"], [[5 / 3, 5 / 7], [10 / 3, 10 / 7]])
    assert out["time_drop_largest_T"] == pytest.approx(0.2) and out["time_drop_smallest_T"] == pytest.approx(0.0)
    assert out["time_acc_largest_T_min_nY"] == pytest.approx(0.8)
    assert out["time_T_largest"] == "10" and out["time_nY_min"] == "4"
    assert out["time_direction"] == "higher than" and out["time_n_seeds"] == "2"
    assert out.tables[0].cells()[1][1] == "0.800 (0.800-0.800)"
    with pytest.raises(ValueError, match="same number of seeds"):
        transfer.depth_time(runs[:-1])


def test_direction_at_the_shown_decimals():
    assert transfer._direction(0.9571, 0.9879) == "lower than"
    assert transfer._direction(0.98801, 0.98799) == "the same as"
    assert transfer._direction(0.99, 0.98) == "higher than"


def test_heldout_transfer_of_known_classifiers(own_cache):
    from resnet_ode.training.trainer import RunConfig

    edges = peaks_grid().edges
    good, bad = _PeaksModel(edges), _PeaksModel(edges, wrong=0)
    # four depths; the network of the shallowest loses class 0, the others are perfect: column 0 scores 0.8
    by_seed = {s: [_FakeRun(RunConfig(nY=n, init_seed=s), bad if n == 4 else good) for n in (4, 5, 6, 7)]
               for s in (0, 1)}
    data = by_seed[0][0].config.dataset()
    out = transfer.heldout_transfer(by_seed, data.X_train, data.X_val, data.y_val)
    assert out["validation_overlap"] == 50 and out["n_heldout"] == "61160"
    assert out["heldout_own_bal_min"] == pytest.approx(0.8) and out["heldout_own_bal_max"] == pytest.approx(1.0)
    assert out["heldout_deep_offdiag"] == pytest.approx(1.0)                 # depths 5, 6, 7 among themselves
    # rows of depths 4 and 5: off-diagonal entries (0,1),(0,2),(0,3),(1,0),(1,2),(1,3); (1,0) is 0.8
    assert out["heldout_shallow_rows"] == pytest.approx((5 * 1.0 + 0.8) / 6)
    assert out["heldout_deep_beats_count"] == "2"
    assert out["heldout_baseline_balanced"] == pytest.approx(0.2)
    assert out.tables[0].cells()[0][1] == "0.800 (0.800-0.800)"


def test_chapter_record_keeps_the_keys_chapter_4_reads():
    def analysis(**numbers):
        return Analysis(numbers=numbers)

    acc = {k: k for k in ("val_accuracy_seeds", "val_accuracy", "val_accuracy_summary", "grid_accuracy_seeds",
                          "grid_accuracy", "grid_accuracy_summary", "n_val", "n_grid")}
    setting = analysis(**acc, seeds=[0], heldout="h", final="f", train_seconds="t", transfer="tr")
    rec = transfer.chapter_record([8], [0], {}, analysis(final="F", train_seconds="T"),
                                  analysis(**acc, train_accuracy="ta", transfer="TR"),
                                  analysis(heldout="H", validation_overlap=50), analysis(feature_discrepancy="d"),
                                  analysis(optimizers="o"), setting, setting, 8, analysis(time_grid="g"))
    assert set(rec) == {"depths", "seeds", "heldout", "time_grid", "validation_overlap", "changes", *acc,
                        "train_accuracy", "transfer", "train_seconds", "final", "feature_discrepancy",
                        "reference_cg", "code_nt", "optimizers"}
    assert rec["code_nt"]["nt"] == 8 and "transfer" not in rec["code_nt"]
    assert rec["reference_cg"]["transfer"] == "tr" and rec["heldout"] == "H"


# ----------------------------------------------------------------------------
# the published runs of the first seed (read, never trained: skipped where they are not published)
# ----------------------------------------------------------------------------


def _published(configs):
    from resnet_ode.training.runs import cached_result

    found = [cached_result(c) for c in configs]
    if any(r is None for r in found):
        pytest.skip("the Chapter 3.1 runs are not published in this clone")
    return found


def test_training_runs_and_feature_change_of_the_published_runs():
    from resnet_ode.book.experiments import state_layer_runs

    runs = _published(state_layer_runs(seeds=(0,)))
    data = runs[0].config.dataset()
    t = transfer.training_runs(runs, data.X_train.shape[1], data.X_val.shape[1])
    assert t["n_seeds"] == "1" and t["seed_list"] == "0"
    cells = t.tables[0].cells()
    assert [float(row[2]) for row in cells] == pytest.approx([r.config.T / (r.config.nY - 1) for r in runs], abs=5e-5)
    assert set(t["final"]) == {f"{r.config.nY}/seed0" for r in runs}

    f = transfer.feature_change(runs, data.X_val)
    disc = np.asarray(f["feature_discrepancy"])
    k = len(runs)
    assert disc.shape == (k, k) and np.allclose(np.diag(disc), 0.0) and np.all(disc >= 0)
    assert f["disc_sl_l"] == disc[k - 2, k - 1]
    gaps = f.tables[1].rows
    assert [row[0] for row in gaps] == [r.config.nY for r in runs]
    assert f["gap_sl"] == gaps[k - 2][3] > 0 and f["max_W_sl"] == gaps[k - 2][1] > 0
