"""Fixtures of the unit tests (notebook settings: the root conftest.py)."""

import os

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def count_computations(monkeypatch):
    """``count_computations(name)``: a list that gets the parameters of every computation of the stored analysis
    ``name`` (:data:`resnet_ode.studies.memo.ANALYSES`) from then on, so a test can tell computed from read."""
    from resnet_ode.studies import memo

    def count(name: str) -> list:
        seen = []
        original = memo.ANALYSES[name]
        monkeypatch.setitem(memo.ANALYSES, name, memo.Analysis(
            original.name, lambda runs, **p: seen.append(p) or original.compute(runs, **p), original.modules,
            original.module))
        return seen

    return count


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A run cache of its own for one test, and no published entries (an empty folder of its own)."""
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RESNET_ODE_PUBLISHED", str(tmp_path / "published"))
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def _local_unless_told(monkeypatch):
    """Every test computes locally unless it names a Dask scheduler itself (the caller's shell may name one)."""
    monkeypatch.delenv("RESNET_ODE_SCHEDULER", raising=False)


# ----------------------------------------------------------------------------
# a real Dask cluster: two worker processes on the loopback interface, one per test module that asks
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory):
    """The workers' RESNET_ODE_CACHE: a folder that must never be created (workers write no cache).

    Its parent, which must stay empty, also holds the workers' repository
    (``RESNET_ODE_ROOT``) and scratch folder (``RESNET_ODE_TMPDIR``): nothing
    a worker does may write there either.
    """
    return tmp_path_factory.mktemp("workers") / "cache"


@pytest.fixture(scope="module")
def cluster(worker_cache):
    """A ``distributed.LocalCluster`` whose workers' cache, repository and scratch folder lie under ``worker_cache``."""
    from distributed import LocalCluster

    old = os.environ.get("RESNET_ODE_CACHE")
    os.environ["RESNET_ODE_CACHE"] = str(worker_cache)  # inherited by the worker processes the nannies start
    elsewhere = {"RESNET_ODE_ROOT": str(worker_cache.parent / "repo"),
                 "RESNET_ODE_TMPDIR": str(worker_cache.parent / "tmp")}
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, env=elsewhere) as c:
            yield c
    finally:
        if old is None:
            os.environ.pop("RESNET_ODE_CACHE", None)
        else:
            os.environ["RESNET_ODE_CACHE"] = old


def pytest_configure(config):
    # Registered here rather than in pyproject.toml, whose change would make `make` reinstall .venv.
    config.addinivalue_line("markers", "slow: seconds of computing (end to end over a whole chapter page with the book's "
                                       "runs, a whole study or convergence study); `make test` runs it, `make unit` "
                                       "skips it")
    config.addinivalue_line("markers", "processes: starts real processes (a resnet-ode command, notebook kernels, a "
                                       "Dask cluster, worker pools), seconds each; `make faults` runs these, `make test` "
                                       "and `make unit` skip them (.ci/run runs `make test`, then `make faults`)")


#: Fixtures that start real processes: commands in a scratch repository (``repo``) and a Dask cluster (``cluster``).
#: A test that asks for one is marked ``processes`` here; other such tests carry the mark themselves.
PROCESS_FIXTURES = frozenset({"repo", "cluster"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.processes)
