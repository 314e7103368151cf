"""Studies and training on a real Dask cluster: two worker processes on the loopback interface.

- the same study gives the same table (every number bit for bit; only the
  training times differ) and the same cached runs as the local pool, and the
  workers never touch a cache (theirs points at a folder that must stay absent);
- a worker killed while it trains leaves no corrupt cache entry, its task runs
  again and the study completes with the same table;
- an unreachable scheduler (``--scheduler`` or ``RESNET_ODE_SCHEDULER``) stops
  the command with ``error: ...`` naming the address, within seconds, before any work.
"""

import os
import signal
import socket
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from distributed import LocalCluster

from resnet_ode.book import cli
from resnet_ode.book.executors import LocalPool, connect, store_run, train_runs_on
from resnet_ode.studies import study
from resnet_ode.studies.study import StudySpec, run_study
from resnet_ode.training.runs import RunConfig, cached_result, train

TINY = {"max_iter": 4, "n_train_per_class": 40, "n_val_per_class": 20, "nt": 2}
SPEC = StudySpec({"nY": [4, 8], "init_seed": [0, 1, 2]}, TINY)


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory):
    """The workers' RESNET_ODE_CACHE: a folder that must never be created (workers write no cache)."""
    return tmp_path_factory.mktemp("workers") / "cache"


@pytest.fixture(scope="module")
def cluster(worker_cache):
    old = os.environ.get("RESNET_ODE_CACHE")
    os.environ["RESNET_ODE_CACHE"] = str(worker_cache)  # inherited by the worker processes the nannies start
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as c:
            yield c
    finally:
        if old is None:
            os.environ.pop("RESNET_ODE_CACHE", None)
        else:
            os.environ["RESNET_ODE_CACHE"] = old


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The study through the local pool (two processes): its table and its cache folder."""
    folder = tmp_path_factory.mktemp("local")
    old = os.environ.get("RESNET_ODE_CACHE")
    os.environ["RESNET_ODE_CACHE"] = str(folder / "cache")
    try:
        done = run_study(SPEC, folder / "out", LocalPool(2), store_run)
    finally:
        if old is None:
            os.environ.pop("RESNET_ODE_CACHE", None)
        else:
            os.environ["RESNET_ODE_CACHE"] = old
    assert done["trained"] == 6
    return pq.read_table(done["parquet"]), folder / "cache"


def _numbers(table):
    """Every column but the training time (wall clock)."""
    return table.drop_columns(["train_seconds"])


def _entries_sound(folder, configs):
    """Every run of ``configs`` is cached and readable; nothing temporary, set aside or extra is left."""
    names = sorted(p.name for p in folder.iterdir() if p.name != ".resnet-ode-cache")
    assert not [n for n in names if n.endswith((".tmp", ".bad"))], names
    assert len([n for n in names if n.endswith(".npz")]) == len(configs)
    return [cached_result(c) for c in configs]


def test_study_on_dask_equals_the_local_pool(cluster, reference, worker_cache, tmp_path, monkeypatch):
    table, local_cache = reference
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    with connect(cluster.scheduler_address) as executor:
        done = run_study(SPEC, tmp_path / "out", executor, store_run)
        assert done["trained"] == 6
        got = pq.read_table(done["parquet"])
        assert _numbers(got).equals(_numbers(table))
        assert got.column("train_seconds").to_pylist() != table.column("train_seconds").to_pylist()  # measured anew
        runs = _entries_sound(tmp_path / "cache", SPEC.configs())
        monkeypatch.setenv("RESNET_ODE_CACHE", str(local_cache))
        for run, local in zip(runs, _entries_sound(local_cache, SPEC.configs())):
            assert run.key == local.key
            assert np.array_equal(run.theta, local.theta) and np.array_equal(run.W, local.W)
            assert set(run.history) == set(local.history)
            assert all(np.array_equal(run.history[k], local.history[k]) for k in local.history if k != "seconds")
        # Resumed: everything comes from the cache, nothing trains.
        monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
        again = run_study(SPEC, tmp_path / "out", executor, store_run)
        assert again["trained"] == 0 and pq.read_table(again["parquet"]).equals(got)
    assert not worker_cache.exists()


def test_train_runs_on_dask_stores_what_training_here_gives(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    configs = [RunConfig(nY=6, init_seed=s, **TINY) for s in (3, 4)]
    with connect(cluster.scheduler_address) as executor:
        assert train_runs_on(executor, configs + configs[:1]) == 2
        assert train_runs_on(executor, configs) == 0
    for config, run in zip(configs, _entries_sound(tmp_path / "cache", configs)):
        here = train(config)
        assert np.array_equal(run.theta, here.theta) and np.array_equal(run.W, here.W)


def test_the_train_command_sends_runs_to_the_scheduler(cluster, tmp_path, monkeypatch, capsys):
    from resnet_ode.book import notebooks

    configs = (RunConfig(nY=4, init_seed=5, **TINY), RunConfig(nY=8, init_seed=5, **TINY))

    class Chapter:
        def all_runs(self, params):
            return configs

    def local_pool_used(*args, **kwargs):
        raise AssertionError("the local pool trained")

    monkeypatch.setattr(cli, "_validated_chapters", lambda chapters: [(Chapter(), {}, configs)])
    monkeypatch.setattr(notebooks, "train_runs", local_pool_used)
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RESNET_ODE_SCHEDULER", cluster.scheduler_address)
    assert cli.main(["train", "all"]) == 0
    assert "2 runs: 2 trained, 0 already in the cache" in capsys.readouterr().out
    assert all(run.from_cache for run in _entries_sound(tmp_path / "cache", configs))


def _killer(flag, starts, after):
    """A worker plugin that kills its own worker process (SIGKILL) when the ``after``-th study task starts.

    Defined in a function so that it travels to the workers by value.
    """
    from distributed import WorkerPlugin

    class KillOnce(WorkerPlugin):
        def transition(self, key, start, finish, **kwargs):
            name = key if isinstance(key, str) else str(key)
            if finish != "executing" or "study_task" not in name:
                return
            (starts / f"{os.getpid()}-{time.monotonic_ns()}").touch()
            if len(list(starts.iterdir())) < after:
                return
            try:
                fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return  # one kill in all
            os.write(fd, f"{os.getpid()} {name}".encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)

    return KillOnce()


def test_a_killed_worker_leaves_no_corrupt_entry_and_the_study_completes(cluster, reference, tmp_path,
                                                                          monkeypatch):
    table, _ = reference
    flag, starts = tmp_path / "killed", tmp_path / "starts"
    starts.mkdir()
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    with connect(cluster.scheduler_address) as executor:
        pids = set(executor.client.run(os.getpid).values())
        executor.client.register_plugin(_killer(flag, starts, after=3), name="kill-once")
        try:
            done = run_study(SPEC, tmp_path / "out", executor, store_run)
        finally:
            executor.client.unregister_worker_plugin("kill-once")
    killed_pid, killed_task = flag.read_text().split(" ", 1)
    assert int(killed_pid) in pids and "study_task" in killed_task
    # The killed task started again on a live worker (a result held only by the dead worker may rerun too).
    assert len(list(starts.iterdir())) >= len(SPEC.configs()) + 1
    assert done["trained"] == 6 and _numbers(pq.read_table(done["parquet"])).equals(_numbers(table))
    _entries_sound(tmp_path / "cache", SPEC.configs())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_an_unreachable_scheduler_is_a_clear_error_before_any_work(how, tmp_path, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise AssertionError("work started")

    monkeypatch.setattr(study, "run_study", fail)
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    argv = ["study", "--grid", "nY=4,8", "--output", str(tmp_path / "out")]
    if how == "option":
        argv += ["--scheduler", address]
    else:
        monkeypatch.setenv("RESNET_ODE_SCHEDULER", address)
    t0 = time.monotonic()
    assert cli.main(argv) == 2
    assert time.monotonic() - t0 < 15
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach the Dask scheduler at {address} within 5 s"), err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_a_malformed_scheduler_address_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    assert cli.main(["study", "--grid", "nY=4,8", "--scheduler", "nosuchproto://x:1",
                     "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the Dask scheduler at nosuchproto://x:1"), err
