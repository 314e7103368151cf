"""Studies and training on a real Dask cluster: two worker processes on the loopback interface.

- the same study gives the same table (every number bit for bit; only the
  training times differ) and the same cached runs as the local pool, and the
  workers never touch a cache (theirs points at a folder that must stay absent);
- a worker killed while it trains leaves no corrupt cache entry, its task runs
  again and the study completes with the same table;
- run pages executed on the workers are the local path's pages byte for byte;
  the workers read only the cache entry sent with each page (a kernel that
  needs another run gets an error, nothing trains), and a page whose kernel
  raises is named with its traceback after the other pages were written;
- an unreachable scheduler (``--scheduler`` or ``RESNET_ODE_SCHEDULER``) stops
  the command with ``error: ...`` naming the address, within seconds, before any work.
"""

import os
import signal
import socket
import textwrap
import time
from pathlib import Path

import nbformat

import numpy as np
import pyarrow.parquet as pq
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from resnet_ode.book import cli, notebooks, pagetasks, sweeps
from resnet_ode.book.executors import LocalPool, connect
from resnet_ode.book.experiments import RUN_TEMPLATE, ChapterSweep
from resnet_ode.book.sweeps import run_sweeps
from resnet_ode.studies import study
from resnet_ode.studies.study import StudySpec, run_study
from resnet_ode.training import tasks
from resnet_ode.training.runs import RUNS, RunConfig, cache_key, cached_result, train
from resnet_ode.training.tasks import train_runs

REPO = Path(__file__).resolve().parents[1]

TINY = {"max_iter": 4, "n_train_per_class": 40, "n_val_per_class": 20, "nt": 2}
SPEC = StudySpec({"nY": [4, 8], "init_seed": [0, 1, 2]}, TINY)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The study through the local pool (two processes): its table and its cache folder."""
    folder = tmp_path_factory.mktemp("local")
    old = os.environ.get("RESNET_ODE_CACHE")
    os.environ["RESNET_ODE_CACHE"] = str(folder / "cache")
    try:
        done = run_study(SPEC, folder / "out", LocalPool(2))
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
        done = run_study(SPEC, tmp_path / "out", executor)
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
        again = run_study(SPEC, tmp_path / "out", executor)
        assert again["trained"] == 0 and pq.read_table(again["parquet"]).equals(got)
    assert not worker_cache.exists()


def test_train_runs_on_dask_stores_what_training_here_gives(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    configs = [RunConfig(nY=6, init_seed=s, **TINY) for s in (3, 4)]
    with connect(cluster.scheduler_address) as executor:
        assert train_runs(executor, configs + configs[:1]) == 2
        assert train_runs(executor, configs) == 0
    for config, run in zip(configs, _entries_sound(tmp_path / "cache", configs)):
        here = train(config)
        assert np.array_equal(run.theta, here.theta) and np.array_equal(run.W, here.W)


def test_the_train_command_sends_runs_to_the_scheduler(cluster, tmp_path, monkeypatch, capsys):
    configs = (RunConfig(nY=4, init_seed=5, **TINY), RunConfig(nY=8, init_seed=5, **TINY))

    class Chapter:
        def all_runs(self, params):
            return configs

    def local_pool_used(*args, **kwargs):
        raise AssertionError("the local pool trained")

    monkeypatch.setattr(cli, "_validated_chapters", lambda chapters: [(Chapter(), {}, configs)])
    monkeypatch.setattr(LocalPool, "map", local_pool_used)
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
            done = run_study(SPEC, tmp_path / "out", executor)
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
    assert err.startswith("error: 'nosuchproto://x:1' is not a Dask scheduler address (unknown scheme 'nosuchproto'"), err


def _keywords(**kwargs) -> dict:
    return kwargs


def test_a_calls_keywords_go_to_the_task_not_to_the_scheduler(cluster):
    """``workers``, ``key``, ``retries``: keywords that ``Client.submit`` would otherwise take as its own."""
    got = {}
    calls = [(_keywords, (), {"workers": 5, "key": "k"}), (_keywords, (), {"retries": None})]
    with connect(cluster.scheduler_address) as executor:
        executor.map(calls, "keywords", on_result=got.__setitem__)
    assert got == {0: {"workers": 5, "key": "k"}, 1: {"retries": None}}

# ----------------------------------------------------------------------------
# run pages on the cluster
# ----------------------------------------------------------------------------

PAGE_RUNS = (RunConfig(nY=4, init_seed=7, **TINY), RunConfig(nY=6, init_seed=7, **TINY))


def _page_sweep(template) -> ChapterSweep:
    """A chapter of tiny run pages (``pages/tiny-nY004-seed7.ipynb``, ...) of ``template``."""
    return ChapterSweep(name="tiny", notebook="unused.ipynb", runs=lambda: PAGE_RUNS,
                        output="pages/tiny-nY{nY:03d}-seed{init_seed}.ipynb",
                        title="tiny run: {nY} state layers, seed {init_seed}", template=str(template))


def _files(folder) -> list:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_run_pages_on_dask_are_the_local_pages_byte_for_byte(cluster, worker_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RESNET_ODE_WORKERS", "1")  # the local path sets it in this process; restored afterwards
    sweep = _page_sweep(REPO / RUN_TEMPLATE)
    monkeypatch.setenv("RESNET_ODE_ROOT", str(tmp_path / "dask"))
    with connect(cluster.scheduler_address) as executor:
        remote = run_sweeps([(sweep, PAGE_RUNS)], executor=executor)
    # The runs trained on the cluster and were stored here, before the pages executed.
    _entries_sound(tmp_path / "cache", PAGE_RUNS)
    assert _files(tmp_path / "dask") == ["pages/tiny-nY004-seed7.ipynb", "pages/tiny-nY006-seed7.ipynb"]
    monkeypatch.setenv("RESNET_ODE_ROOT", str(tmp_path / "local"))
    local = run_sweeps([(sweep, PAGE_RUNS)], jobs=1)
    for config, here, there in zip(PAGE_RUNS, local, remote):
        assert here != there and here.read_bytes() == there.read_bytes(), there.name
        nb = nbformat.read(there, as_version=4)
        assert nb.cells[0].source.startswith(f"# {sweep.page_title(config)}\n")
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # history and classification map
        assert any("validation accuracy" in str(o) for o in outputs) and not any(o.output_type == "error"
                                                                               for o in outputs)
    assert not worker_cache.exists() and not any(worker_cache.parent.iterdir())


FAILING_CODE = textwrap.dedent("""\
    from resnet_ode.training.runs import RunConfig, get_run

    if nY == 6:
        raise ValueError(f"no page for nY = {nY}")
    wanted = nY + 4 if nY == 8 else nY  # the page of nY = 8 needs a run that was not sent with it
    run = get_run(RunConfig(nY=wanted, init_seed=init_seed, **options))
    print("final objective", run.history["objective"][-1])
""")


def _failing_template(path):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    params = new_code_cell("nY = 32\ninit_seed = 0\noptions = {}")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# page"), params, new_code_cell(FAILING_CODE)]
    nbformat.write(nb, path)
    return path


def test_pages_that_raise_on_dask_are_named_after_the_others_are_written(cluster, worker_cache, tmp_path,
                                                                          monkeypatch, capsys):
    configs = (*PAGE_RUNS, RunConfig(nY=8, init_seed=7, **TINY))
    sweep = _page_sweep(_failing_template(tmp_path / "template.ipynb"))

    def local_pages(*args, **kwargs):
        raise AssertionError("a page executed locally")

    monkeypatch.setattr(cli, "_validated_chapters", lambda chapters: [(sweep, {}, configs)])
    monkeypatch.setattr(notebooks, "execute_template", local_pages)
    monkeypatch.setenv("RESNET_ODE_ROOT", str(tmp_path))
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RESNET_ODE_SCHEDULER", cluster.scheduler_address)
    assert cli.main(["sweep", "tiny"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 2 of 3 run pages raised an exception (the others were written):"), err
    six, eight = err.index("pages/tiny-nY006-seed7.ipynb (tiny run: 6 state layers, seed 7)"), \
        err.index("pages/tiny-nY008-seed7.ipynb (tiny run: 8 state layers, seed 7)")
    assert "ValueError" in err[six:eight] and "no page for nY = 6" in err[six:eight]
    assert "LookupError" in err[eight:] and "is not among the cache entries sent with this page" in err[eight:]
    assert _files(tmp_path / "pages") == ["tiny-nY004-seed7.ipynb"]
    assert "final objective" in (tmp_path / "pages" / "tiny-nY004-seed7.ipynb").read_text()
    # The run the page of nY = 8 asked for was trained nowhere: neither here nor on a worker.
    assert not RUNS.path(cache_key(RunConfig(nY=12, init_seed=7, **TINY))).exists()
    _entries_sound(tmp_path / "cache", configs)
    assert not worker_cache.exists() and not any(worker_cache.parent.iterdir())


@pytest.mark.parametrize("command, how", [("sweep", "option"), ("rerun", "environment")])
def test_an_unreachable_scheduler_stops_sweep_and_rerun_before_any_work(command, how, tmp_path, monkeypatch,
                                                                        capsys):
    def fail(*args, **kwargs):
        raise AssertionError("work started")

    for name in ("run_sweeps", "run_sweep", "execute_template", "execute_chapter", "update_toc"):
        monkeypatch.setattr(sweeps if hasattr(sweeps, name) else notebooks, name, fail)
    monkeypatch.setattr(tasks, "train_runs", fail)
    monkeypatch.setattr(pagetasks, "run_pages_on", fail)
    monkeypatch.setenv("RESNET_ODE_ROOT", str(REPO))
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    argv = [command, "3.1"]
    if how == "option":
        argv += ["--scheduler", address]
    else:
        monkeypatch.setenv("RESNET_ODE_SCHEDULER", address)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach the Dask scheduler at {address} within 5 s"), err
    assert not (tmp_path / "cache").exists()


def test_rerun_sends_runs_and_pages_to_the_scheduler_and_executes_the_chapter_here(cluster, worker_cache,
                                                                                    tmp_path, monkeypatch, capsys):
    def tiny_pages(depths):
        return tuple(RunConfig(nY=d, init_seed=7, **TINY) for d in depths)

    sweep = ChapterSweep(name="tiny", notebook="chapter.ipynb", runs=tiny_pages,
                         output="pages/tiny-nY{nY:03d}-seed{init_seed}.ipynb",
                         title="tiny run: {nY} state layers, seed {init_seed}", template=str(REPO / RUN_TEMPLATE))
    chapter = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                    "language": "python"}})
    params = new_code_cell("depths = [4, 6]")
    params.metadata["tags"] = ["parameters"]
    chapter.cells = [new_markdown_cell("# chapter"), params]
    nbformat.write(chapter, tmp_path / "chapter.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: chapter\n")
    executed = []

    def local_work(*args, **kwargs):
        raise AssertionError("a run trained or a page executed locally")

    monkeypatch.setattr(cli, "_sweep_or_exit", lambda name: sweep)
    monkeypatch.setattr(LocalPool, "map", local_work)
    monkeypatch.setattr(notebooks, "execute_template", local_work)
    monkeypatch.setattr(notebooks, "execute_chapter", lambda path, params: executed.append(
        (path, params, os.environ.get("RESNET_ODE_SCHEDULER"))))  # its kernel's landscape planes go there too
    monkeypatch.delenv("RESNET_ODE_SCHEDULER", raising=False)
    monkeypatch.setenv("RESNET_ODE_ROOT", str(tmp_path))
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    assert cli.main(["rerun", "tiny", "--param", "depths=[4, 8]", "--scheduler", cluster.scheduler_address]) == 0
    configs = tiny_pages([4, 8])
    _entries_sound(tmp_path / "cache", configs)
    assert _files(tmp_path / "pages") == ["tiny-nY004-seed7.ipynb", "tiny-nY008-seed7.ipynb"]
    toc = (tmp_path / "_toc.yml").read_text()
    assert "file: pages/tiny-nY008-seed7" in toc and "title: 'tiny run: 8 state layers, seed 7'" in toc
    assert executed == [(tmp_path / "chapter.ipynb", {"depths": [4, 8]}, cluster.scheduler_address)]
    assert "RESNET_ODE_SCHEDULER" not in os.environ  # set for the chapter's kernel only
    assert "2 run pages re-executed" in capsys.readouterr().out
    assert not worker_cache.exists() and not any(worker_cache.parent.iterdir())
