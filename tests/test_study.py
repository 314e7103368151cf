"""``resnet-ode study``: grid parsing and validation before any compute, the table, resuming after an interruption.

The Dask side (the same study on a real cluster, a killed worker, an
unreachable scheduler) is in ``test_dask.py``.
"""

import csv
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from resnet_ode.book import cli
from resnet_ode.book.executors import LocalPool
from resnet_ode.studies import study, tidy
from resnet_ode.studies.study import StudySpec, build_spec, load_spec, parse_assignment, run_study
from resnet_ode.training import runs
from resnet_ode.training.cluster import WorkerMismatch
from resnet_ode.training.runs import RunConfig, cached_result
from resnet_ode.training.tasks import store_run, train_task

#: Runs of well under a second: few points, few iterations, small depths.
TINY = {"max_iter": 3, "n_train_per_class": 30, "n_val_per_class": 15, "nt": 2}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("RESNET_ODE_CACHE", str(folder))
    return folder


# ----------------------------------------------------------------------------
# parsing and validation
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("item, expected", [
    ("nY=8,16", ("nY", [8, 16])),
    ("nY = [8, 16]", ("nY", [8, 16])),
    ("integrator=euler,rk4", ("integrator", ["euler", "rk4"])),
    ("T=10,2.5", ("T", [10, 2.5])),
    ("warm_start=True,False", ("warm_start", [True, False])),
])
def test_grid_items_parse(item, expected):
    assert parse_assignment(item, "--grid", many=True) == expected


def test_spec_combines_file_grid_and_set(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text('[grid]\nnY = [4, 8]\nT = [5.0, 10.0]\n\n[set]\nmax_iter = 3\nintegrator = "rk4"\n')
    spec = build_spec(["T=20.0", "init_seed=0,1"], ["integrator=euler"], path)
    assert spec.grid == {"nY": [4, 8], "T": [20.0], "init_seed": [0, 1]}
    assert spec.fixed == {"max_iter": 3, "integrator": "euler"}
    configs = spec.configs()
    assert [(c.nY, c.init_seed) for c in configs] == [(4, 0), (4, 1), (8, 0), (8, 1)]  # last setting fastest
    assert {c.max_iter for c in configs} == {3} and {c.T for c in configs} == {20.0}
    yaml_path = tmp_path / "study.yaml"
    yaml_path.write_text("grid:\n  nY: [4, 8]\nset:\n  max_iter: 3\n")
    assert load_spec(yaml_path) == StudySpec({"nY": [4, 8]}, {"max_iter": 3})


@pytest.mark.parametrize("grid, fixed, needle", [
    (["nY=1,8"], [], "grid nY=1: nY must be an integer in [2, 100000], got 1"),
    (["T=10,nan"], [], "grid T=nan: T must be a finite real number in (0, 10000]"),
    (["integrator=euler,rk5"], [], "unknown integrator 'rk5'"),
    (["depth=8,16"], [], "unknown setting 'depth'; allowed settings"),
    (["nY=8,8"], [], "grid nY: a value is repeated"),
    (["nY=8,"], [], "--grid nY: an empty value"),
    (["nY"], [], "--grid expects NAME=V1,V2,..."),
    (["nY=8,16"], ["max_iter=-1"], "fixed settings: max_iter must be an integer in [0, 100000], got -1"),
    (["nY=8"], ["T="], "--set T: no value given"),
    (["init_seed=0,1"], ["init_seed=2"], None),  # --set replaces the grid entry: valid
    (["nY=[8, 16]"], ["cg_tol=0"], "cg_tol must be a finite real number in (0, 1]"),
])
def test_bad_settings_are_named(grid, fixed, needle):
    if needle is None:
        assert build_spec(grid, fixed).fixed == {"init_seed": 2}
        return
    with pytest.raises((TypeError, ValueError)) as info:
        build_spec(grid, fixed).configs()
    assert needle in str(info.value)


def test_a_setting_in_both_grid_and_set_of_a_file_is_refused(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"grid": {"nY": [4, 8]}, "set": {"nY": 4}}))
    with pytest.raises(ValueError, match="nY given both as a fixed setting and as a grid"):
        load_spec(path)
    path.write_text(json.dumps({"grid": {"nY": [4]}, "runs": 3}))
    with pytest.raises(ValueError, match="expected only the tables 'grid' and 'set'"):
        load_spec(path)


@pytest.mark.parametrize("argv, needle", [
    (["--grid", "nY=1,8"], "error: grid nY=1: nY must be an integer in [2, 100000], got 1"),
    (["--grid", "nY=8", "--set", "alpha=-1"], "alpha must be a finite real number in [0, 1000]"),
    (["--file", "/nonexistent/study.toml"], "error: --file /nonexistent/study.toml: no such file"),
])
def test_cli_refuses_bad_settings_before_any_compute(argv, needle, cache, tmp_path, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise AssertionError("compute started")

    monkeypatch.setattr(study, "run_study", fail)
    assert cli.main(["study", *argv, "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(needle) or needle in err, err
    assert not (tmp_path / "out").exists() and not cache.exists()


# ----------------------------------------------------------------------------
# the table, and resuming
# ----------------------------------------------------------------------------


@pytest.mark.slow
def test_study_table_is_tidy_and_consistent(cache, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["study", "--grid", "nY=4,8", "--grid", "init_seed=0,1", "--output", str(out), "--jobs", "1"]
    argv += [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    assert cli.main(argv) == 0
    assert "4 runs (4 trained, 0 from the cache), 8 rows" in capsys.readouterr().out
    table = pq.read_table(out / "results.parquet")
    rows = table.to_pylist()
    assert table.column_names == study.columns() and len(rows) == 8  # 4 networks x 2 evaluation depths
    configs = build_spec(["nY=4,8", "init_seed=0,1"], [f"{k}={v}" for k, v in TINY.items()]).configs()
    for c, pair in zip(configs, (rows[i:i + 2] for i in range(0, 8, 2))):
        run = cached_result(c)
        assert run is not None
        assert [r["eval_nY"] for r in pair] == [4, 8] and [r["eval_own"] for r in pair] == [c.nY == 4, c.nY == 8]
        own = next(r for r in pair if r["eval_own"])
        # The evaluation at the trained depth repeats what training recorded, and the cached run is the row's.
        assert own["eval_val_accuracy"] == own["val_accuracy"] == run.final()["val_accuracy"]
        assert own["final_objective"] == run.final()["objective"] and own["key"] == run.key
        assert all(r["nY"] == c.nY and r["init_seed"] == c.init_seed and r["max_iter"] == 3 for r in pair)
        for r in pair:
            assert r["eval_grid_n"] == 256 ** 2 and r["eval_grid_accuracy"] == r["eval_grid_correct"] / 256 ** 2
            other = c.replace(nY=r["eval_nY"]).model(workers=1)
            data = c.dataset()
            assert r["eval_val_accuracy"] == other.accuracy(run.theta, run.W, data.X_val, data.y_val)
    with open(out / "results.csv", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [float(r["final_objective"]) for r in csv_rows] == [r["final_objective"] for r in rows]
    assert [r["integrator"] for r in csv_rows] == [r["integrator"] for r in rows]
    assert json.loads((out / "study.json").read_text())["eval_depths"] == [4, 8]
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    depths, mean, count = tidy.transfer_matrix(rows)
    assert depths == [4, 8] and count.tolist() == [[2, 2], [2, 2]]
    for i, trained_nY in enumerate(depths):
        for j, eval_nY in enumerate(depths):
            cell = [r["eval_grid_accuracy"] for r in rows if r["nY"] == trained_nY and r["eval_nY"] == eval_nY]
            assert mean[i, j] == pytest.approx(sum(cell) / len(cell), rel=1e-15)
    nets = tidy.networks(rows)
    assert len(nets) == 4
    for net in nets:  # two depths: a network's transfer is its one evaluation at the other depth
        other = [r["eval_grid_accuracy"] for r in rows if r["key"] == net["key"] and not r["eval_own"]]
        assert len(other) == 1 and net["transfer"] == other[0]
    assert (out / "transfer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _InterruptedAfter(LocalPool):
    """The local pool, interrupted (Ctrl-C) after ``n`` results arrived."""

    def __init__(self, n):
        super().__init__(1)
        self.n = n

    def map(self, calls, desc, on_result=None, names=None):
        count = [0]

        def keep(i, value):
            on_result(i, value)
            count[0] += 1
            if count[0] == self.n:
                raise KeyboardInterrupt

        super().map(calls, desc, keep, names)


def test_an_interrupted_study_resumes_without_retraining(cache, tmp_path, monkeypatch):
    spec = StudySpec({"nY": [4, 8], "init_seed": [0, 1, 2]}, TINY)
    with pytest.raises(KeyboardInterrupt):
        run_study(spec, tmp_path / "out", _InterruptedAfter(2))
    assert sorted(p.suffix for p in cache.glob("run-*")) == [".lock"] * 2 + [".npz"] * 2
    assert not (tmp_path / "out" / "results.parquet").exists()
    trained = []
    original = runs.train  # study_task imports train when it runs: count the calls there
    monkeypatch.setattr(runs, "train", lambda config, desc=None: trained.append(config) or original(config, desc))
    done = run_study(spec, tmp_path / "out", LocalPool(1))
    assert done["trained"] == 4 and len(trained) == 4 and done["runs"] == 6
    assert len(pq.read_table(tmp_path / "out" / "results.parquet")) == 12


def test_a_result_from_another_training_code_is_not_stored(cache):
    config = RunConfig(nY=4, **TINY)
    reply = train_task(config)
    reply["source"] = "0" * 64
    with pytest.raises(WorkerMismatch, match="computes with training code hash 000000000000"):
        store_run(config, reply)
    assert cached_result(config) is None and not cache.exists()
    reply = train_task(config)
    stored = store_run(config, reply)
    again = cached_result(config)
    assert np.array_equal(again.theta, stored.theta) and np.array_equal(again.W, stored.W)


def test_a_study_uses_no_result_from_another_training_code(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(study, "code_identity", lambda: "f" * 64)  # this process's identity, as run_study sees it
    with pytest.raises(WorkerMismatch, match="computes with training code hash .*, this process with ffffffffffff: "
                                             ".*; its results were not used"):
        run_study(StudySpec({"nY": [4]}, TINY), tmp_path / "out", LocalPool(1))
    assert not cache.exists() and not (tmp_path / "out").exists()


def test_an_unreadable_study_file_is_named(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text("[grid]\nnY = [4, 8\n")
    with pytest.raises(ValueError, match=r"--file .*study.toml is not readable: TOMLDecodeError"):
        load_spec(path)
    with pytest.raises(ValueError, match=r"expected a .toml, .yaml, .yml or .json file"):
        (tmp_path / "study.ini").write_text("x")
        load_spec(tmp_path / "study.ini")


def test_a_grid_that_gives_one_run_twice_is_refused():
    spec = build_spec(["nY=4", "nt=2,3"], ["control=per_step"])  # nt follows nY there
    with pytest.raises(ValueError, match="the grid gives the same run twice .*nt=2.*nt=3"):
        spec.configs()


def test_the_figure_takes_the_values_the_runs_hold(tmp_path):
    """``T=5,20`` on the command line are the floats 5.0 and 20.0 in the runs (and in the table)."""
    spec = build_spec(["T=5,20", "init_seed=0,1"])
    rows = [{**c.to_dict(), "eval_own": True, "eval_val_accuracy": 0.5 + 0.1 * k, "eval_grid_accuracy": 0.4}
            for k, c in enumerate(spec.configs())]
    assert study.summary_figure(rows, spec, tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_the_figures_leave_the_caller_s_backend_and_figures_alone(tmp_path):
    """A notebook's inline backend and open figures survive a study's figures (Chapter 6 shows its own after)."""
    import matplotlib
    import matplotlib.pyplot as plt

    previous = matplotlib.get_backend()
    plt.switch_backend("svg")   # any backend other than Agg: a switch to Agg would show (and close the figures)
    before = matplotlib.get_backend()
    mine = plt.figure()
    open_before = plt.get_fignums()   # mine, and any an earlier test in this process left open
    spec = build_spec(["nY=4,8"])
    rows = [{**c.to_dict(), "eval_own": True, "eval_val_accuracy": 0.5, "eval_grid_accuracy": 0.4}
            for c in spec.configs()]
    study.summary_figure(rows, spec, tmp_path / "s.png")
    assert matplotlib.get_backend() == before
    assert plt.get_fignums() == open_before and mine.number in open_before
    plt.close(mine)
    plt.switch_backend(previous)


# ----------------------------------------------------------------------------
# reading a table: networks and their transfer, groups, paired changes
# ----------------------------------------------------------------------------


def _table(accuracy):
    """Rows of a made-up study over nY 8, 16 x alpha 1, 2 x seeds 0, 1, evaluated at both depths.

    ``accuracy(nY, alpha, seed, eval_nY)`` gives each row's grid accuracy.
    """
    rows = []
    for n in (8, 16):
        for a in (1.0, 2.0):
            for s in (0, 1):
                for m in (8, 16):
                    rows.append({"key": f"{n}-{a}-{s}", "nY": n, "T": 5.0, "alpha": a, "init_seed": s, "eval_nY": m,
                                 "eval_own": m == n, "eval_grid_accuracy": accuracy(n, a, s, m)})
    return rows


def test_networks_carry_their_mean_accuracy_at_the_other_depths():
    rows = _table(lambda n, a, s, m: 0.5 + 0.01 * n + 0.1 * a + 0.001 * s - 0.002 * m)
    before = [dict(r) for r in rows]
    nets = tidy.networks(rows)
    assert rows == before  # copies: the table is left alone
    assert [r["key"] for r in nets] == list(dict.fromkeys(r["key"] for r in rows)) and all(r["eval_own"] for r in nets)
    for r in nets:
        other = 24 - r["nY"]  # the one other depth
        assert r["transfer"] == pytest.approx(0.5 + 0.01 * r["nY"] + 0.1 * r["alpha"] + 0.001 * r["init_seed"]
                                              - 0.002 * other, rel=1e-14)
    lone = tidy.networks([r for r in rows if r["eval_own"]])  # evaluated at no other depth
    assert all(np.isnan(r["transfer"]) for r in lone)


def test_select_and_summarise_group_the_networks():
    rows = _table(lambda n, a, s, m: 0.1 * a + 0.01 * s + (0.3 if m == n else 0.0))
    nets = tidy.networks(rows)
    assert [r["key"] for r in tidy.select(nets, alpha=2.0, init_seed=1)] == ["8-2.0-1", "16-2.0-1"]
    with pytest.raises(ValueError, match="unknown column\\(s\\) \\['alhpa'\\]"):
        tidy.select(nets, alhpa=2.0)
    groups = tidy.summarise(nets, ("T", "alpha"), ("eval_grid_accuracy", "transfer"))
    assert [(g["T"], g["alpha"], g["networks"]) for g in groups] == [(5.0, 1.0, 4), (5.0, 2.0, 4)]
    own = groups[1]["eval_grid_accuracy"]
    assert (own["min"], own["max"]) == pytest.approx((0.5, 0.51)) and own["mean"] == pytest.approx(0.505)
    assert groups[0]["transfer"]["mean"] == pytest.approx(0.105)
    with pytest.raises(ValueError, match="summarise: unknown column"):
        tidy.summarise(nets, ("T",), ("accuracy",))


@pytest.mark.parametrize("step, direction", [
    (lambda n, s: 0.05, "rises"),
    (lambda n, s: -0.03 - 0.01 * s, "falls"),
    (lambda n, s: 0.05 if n == 8 else -0.05, "mixed"),
    (lambda n, s: 0.05 if s == 0 else 0.015, "mixed"),  # a change under the threshold does not count
])
def test_paired_change_takes_a_direction_only_when_every_pair_moves(step, direction):
    rows = _table(lambda n, a, s, m: 0.4 + (step(n, s) if a == 2.0 else 0.0) if m != n else 0.9)
    found = tidy.paired_change(tidy.networks(rows), "alpha", 1.0, 2.0)
    expected = [step(n, s) for n in (8, 16) for s in (0, 1)]  # pairs ordered by (nY, init_seed)
    assert found["n"] == 4 and found["direction"] == direction
    np.testing.assert_allclose(found["changes"], expected, rtol=1e-12, atol=1e-15)
    assert found["mean"] == pytest.approx(np.mean(expected)) and found["min"] == pytest.approx(min(expected))
    own = tidy.paired_change(tidy.networks(rows), "alpha", 1.0, 2.0, field="eval_grid_accuracy")
    assert own["direction"] == "mixed" and own["max"] == 0.0  # the own accuracy does not move at all


def test_paired_change_refuses_ambiguous_pairs_and_says_when_there_are_none():
    nets = tidy.networks(_table(lambda n, a, s, m: 0.5))
    with pytest.raises(ValueError, match="share \\{'nY': 8\\}: another setting varies"):
        tidy.paired_change(nets, "alpha", 1.0, 2.0, match=("nY",))  # two seeds per depth
    none = tidy.paired_change(nets, "alpha", 1.0, 3.0)
    assert none["n"] == 0 and none["direction"] == "none" and np.isnan(none["mean"])
    for bad in (0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="threshold must be a positive number"):
            tidy.paired_change(nets, "alpha", 1.0, 2.0, threshold=bad)
