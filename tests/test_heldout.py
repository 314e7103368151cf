"""Held-out grid points, plain and class-balanced accuracy, baselines and the validation overlap
(resnet_ode.studies.heldout): hand-made cases, then the book's Peaks data."""

import json

import numpy as np
import pytest

from resnet_ode.core.data import classify_values, make_peaks_dataset, peaks, peaks_grid
from resnet_ode.studies import heldout as h

# ----------------------------------------------------------------------------
# hand-made cases on a 4 x 4 grid: axis values -3, -1, 1, 3
# ----------------------------------------------------------------------------


def _cols(*idx, n=4):
    return peaks_grid(n).points[:, list(idx)]


def test_grid_index_of_hand_picked_points():
    X = np.array([[-3.0, 1.0, 3.0, -1.0], [-3.0, -3.0, 3.0, 1.0]])   # (x1, x2) per column
    # flat index i2 * 4 + i1: (0, 0) -> 0, (2, 0) -> 2, (3, 3) -> 15, (1, 2) -> 9
    assert h.grid_index(X, 4).tolist() == [0, 2, 15, 9]
    # and it is the column of the grid's points
    assert np.array_equal(peaks_grid(4).points[:, h.grid_index(X, 4)], X)


def test_grid_index_refuses_points_off_the_grid():
    with pytest.raises(ValueError, match="not points of the 4 x 4 grid"):
        h.grid_index(np.array([[-3.0, 0.0], [-3.0, 1.0]]), 4)
    with pytest.raises(ValueError, match="not points"):
        h.grid_index(np.array([[-3.0 + 1e-12], [-3.0]]), 4)   # not bit for bit
    with pytest.raises(ValueError, match="shape"):
        h.grid_index(np.zeros((3, 2)), 4)


def test_heldout_mask_and_set():
    X_train = _cols(0, 5, 5, 5, 15)                          # repeats count once
    mask = h.heldout_mask(X_train, 4)
    assert mask.shape == (16,) and mask.sum() == 13
    assert np.flatnonzero(~mask).tolist() == [0, 5, 15]
    X, y = h.heldout_set(X_train, 4)
    grid = peaks_grid(4)
    keep = [i for i in range(16) if i not in (0, 5, 15)]
    assert np.array_equal(X, grid.points[:, keep])
    assert np.array_equal(y, grid.labels.ravel()[keep])


def test_plain_and_balanced_accuracy_by_hand():
    y = np.array([0] * 8 + [1] * 2)
    always0 = np.zeros(10, dtype=int)
    assert h.accuracy(y, always0) == 0.8
    assert h.class_recalls(y, always0).tolist() == [1.0, 0.0]
    assert h.balanced_accuracy(y, always0) == 0.5
    # half of class 0 right, all of class 1 right: plain (4 + 2) / 10, balanced (0.5 + 1) / 2
    pred = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    assert h.accuracy(y, pred) == pytest.approx(0.6)
    assert h.balanced_accuracy(y, pred) == pytest.approx(0.75)


def test_balanced_accuracy_leaves_out_absent_classes():
    y = np.array([0, 0, 2, 2])
    pred = np.array([0, 1, 2, 2])
    r = h.class_recalls(y, pred, n_classes=4)
    assert r.shape == (4,) and np.isnan(r[1]) and np.isnan(r[3])
    assert r[0] == 0.5 and r[2] == 1.0
    assert h.balanced_accuracy(y, pred, n_classes=4) == 0.75
    with pytest.raises(ValueError, match="n_classes"):
        h.class_recalls(y, pred, n_classes=2)


def test_labels_are_checked():
    with pytest.raises(ValueError, match="same length"):
        h.accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="no points"):
        h.majority_baseline([])
    with pytest.raises(ValueError, match="non-negative integers"):
        h.balanced_accuracy([0.0, 1.0], [0, 1])


def test_majority_baseline_is_what_always_answering_it_scores():
    y = np.array([3, 1, 1, 3, 3, 0])
    b = h.majority_baseline(y)
    assert (b.majority_class, b.classes) == (3, 3)
    assert b.accuracy == 0.5 and b.balanced == pytest.approx(1 / 3)
    const = np.full(y.size, b.majority_class)
    assert h.accuracy(y, const) == b.accuracy
    assert h.balanced_accuracy(y, const) == pytest.approx(b.balanced)
    # a tie goes to the smaller class
    assert h.majority_baseline([2, 2, 1, 1]).majority_class == 1


def test_scores_bundle_and_json():
    y = np.array([0, 0, 0, 1, 2, 2])
    pred = np.array([0, 0, 1, 1, 2, 0])
    s = h.scores(y, pred)
    assert s.n == 6 and s.counts.tolist() == [3, 1, 2]
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.balanced == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    assert s.baseline == h.majority_baseline(y)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["recalls"] == pytest.approx([2 / 3, 1.0, 0.5]) and d["baseline"]["accuracy"] == 0.5
    assert h.scores([0, 0], [0, 0], n_classes=2).to_dict()["recalls"] == [1.0, None]


def test_validation_overlap_by_hand():
    X_train = _cols(1, 5)
    X_val = _cols(1, 1, 2, 5, 7)
    y_val = np.array([0, 0, 1, 1, 2])
    o = h.validation_overlap(X_train, X_val, y_val, n=4)
    assert (o.count, o.n, o.distinct) == (3, 5, 4)
    assert o.per_class.tolist() == [2, 1, 0] and o.per_class_n.tolist() == [2, 2, 1]
    assert o.share == 0.6
    assert json.loads(json.dumps(o.to_dict()))["per_class"] == [2, 1, 0]
    with pytest.raises(ValueError, match="labels"):
        h.validation_overlap(X_train, X_val, y_val[:4], n=4)


class _PeaksModel:
    """Predicts every point's true Peaks class, except class ``wrong`` which it calls ``as_``."""

    def __init__(self, edges, wrong=0, as_=2):
        self.edges, self.wrong, self.as_ = edges, wrong, as_
        self.calls = 0

    def predict(self, theta, W, X):
        self.calls += 1
        c = classify_values(peaks(X[0], X[1]), self.edges)
        return np.where(c == self.wrong, self.as_, c)


def test_heldout_scores_of_a_known_classifier():
    data = make_peaks_dataset()
    grid = peaks_grid()
    model = _PeaksModel(grid.edges)
    s = h.heldout_scores(model, None, None, data.X_train, chunk=10_000)
    assert model.calls == 7                                # 61,160 points, 10,000 at a time
    counts = s.counts
    assert s.n == 61_160
    assert s.recalls.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]
    assert s.balanced == pytest.approx(0.8)
    assert s.accuracy == pytest.approx(1 - counts[0] / s.n)
    again = h.heldout_scores(_PeaksModel(grid.edges), None, None, data.X_train, chunk=123_456)
    assert again.accuracy == s.accuracy and np.array_equal(again.counts, counts)


# ----------------------------------------------------------------------------
# the book's data: data seed 0, 1000 training and 40 validation points per class
# ----------------------------------------------------------------------------


def test_grid_majority_baseline_is_0_726():
    b = h.majority_baseline(peaks_grid().labels.ravel())
    assert b.majority_class == 2 and b.classes == 5
    assert b.accuracy == 47_557 / 65_536 and round(b.accuracy, 3) == 0.726
    assert b.balanced == 0.2


def test_heldout_set_of_the_book_data():
    data = make_peaks_dataset()
    train = {tuple(c) for c in data.X_train.T}
    assert len(train) == 4_376                              # distinct grid points among the 5,000 draws
    mask = h.heldout_mask(data.X_train)
    assert mask.sum() == 65_536 - len(train) == 61_160
    X, y = h.heldout_set(data.X_train)
    assert not any(tuple(c) in train for c in X.T)           # held out: no training point
    assert np.bincount(y).tolist() == [1_060, 7_035, 46_563, 5_487, 1_015]
    assert round(h.majority_baseline(y).accuracy, 3) == 0.761


def test_validation_overlap_of_the_book_data():
    """50 of the 200 validation points are training points (19 of 40 in each of the two small classes).

    The count is checked against a direct comparison of coordinates, which does not use grid indices.
    """
    data = make_peaks_dataset()
    o = h.validation_overlap(data.X_train, data.X_val, data.y_val)
    same = np.all(data.X_val[:, :, None] == data.X_train[:, None, :], axis=0).any(axis=1)   # (200,)
    assert o.count == int(same.sum()) == 50
    assert o.per_class.tolist() == [int(same[data.y_val == k].sum()) for k in range(5)] == [19, 3, 0, 9, 19]
    assert o.per_class_n.tolist() == [40] * 5 and o.n == 200 and o.distinct == 199
    assert o.share == 0.25


# ----------------------------------------------------------------------------
# stored held-out confusion counts of runs (what the verdicts read)
# ----------------------------------------------------------------------------


def test_confusion_counts_and_scores_by_hand():
    C = h.confusion_counts([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 2], 4)
    assert C.tolist() == [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    plain, balanced = h.confusion_scores(C)
    assert plain == pytest.approx(4 / 6) and balanced == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)   # class 3 absent
    stack = np.stack([C, np.diag([2, 3, 1, 0])])
    p, b = h.confusion_scores(stack)
    assert p.shape == (2,) and p[1] == 1.0 and b[1] == 1.0


class _FakeRun:
    def __init__(self, config, model):
        self.config, self.model, self.theta, self.W = config, model, None, None


def test_stored_heldout_confusions_of_runs(tmp_path, monkeypatch):
    from resnet_ode.training.trainer import RunConfig

    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RESNET_ODE_PUBLISHED", str(tmp_path / "published"))
    edges = peaks_grid().edges
    models = [_PeaksModel(edges, wrong=0), _PeaksModel(edges, wrong=3, as_=1)]
    runs = [_FakeRun(RunConfig(nY=4, init_seed=7), models[0]), _FakeRun(RunConfig(nY=5, init_seed=7), models[1])]
    cross = h.cross_heldout_confusion(runs, chunk=20_000)
    assert cross.shape == (2, 2, 5, 5) and np.all(cross.sum(axis=(2, 3)) == 61_160)
    for j, model in enumerate(models):                    # the fake networks ignore the weights: column j is model j
        s = h.heldout_scores(model, None, None, runs[0].config.dataset().X_train)
        for i in range(2):
            plain, balanced = h.confusion_scores(cross[i, j])
            assert plain == pytest.approx(s.accuracy) and balanced == pytest.approx(s.balanced)
    calls = [m.calls for m in models]
    assert np.array_equal(h.cross_heldout_confusion(runs, chunk=20_000), cross)       # stored: nothing evaluated
    assert [m.calls for m in models] == calls
    one = h.run_heldout_confusion(runs[1], chunk=20_000)
    assert np.array_equal(one, cross[1, 1])
    other = _FakeRun(RunConfig(nY=4, init_seed=7, data_seed=1), models[0])
    with pytest.raises(ValueError, match="different data sets"):
        h.cross_heldout_confusion([runs[0], other])


def test_cross_heldout_numbers_stack_the_seeds(tmp_path, monkeypatch):
    from resnet_ode.training.trainer import RunConfig

    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RESNET_ODE_PUBLISHED", str(tmp_path / "published"))
    edges = peaks_grid().edges
    good, bad = _PeaksModel(edges, wrong=-1), _PeaksModel(edges, wrong=0)      # bad loses class 0 to class 2
    by_seed = [[_FakeRun(RunConfig(nY=4, init_seed=s), good), _FakeRun(RunConfig(nY=5, init_seed=s), bad)]
               for s in (3, 4)]
    out = h.cross_heldout_numbers(by_seed, n=256)
    json.dumps(out)                                                             # plain JSON types
    bal, plain = np.array(out["balanced_seeds"]), np.array(out["accuracy_seeds"])
    assert bal.shape == plain.shape == (2, 2, 2) and out["n"] == 61_160
    assert np.all(bal[:, :, 0] == 1.0) and np.allclose(bal[:, :, 1], 0.8)      # column j: the network of run j
    assert out["baseline"]["balanced"] == pytest.approx(0.2) and out["baseline"]["accuracy"] == pytest.approx(0.761, abs=5e-4)
    with pytest.raises(ValueError, match="at least one seed"):
        h.cross_heldout_numbers([])
