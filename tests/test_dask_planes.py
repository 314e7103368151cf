"""Landscape planes on a real Dask cluster: two worker processes on the loopback interface.

- a plane computed by the workers is the same bits as one computed here
  (values and the classifier subproblem's gradient norms), and a surface
  asked for under ``RESNET_ODE_SCHEDULER`` is stored by this process with
  the values computed here, the workers' cache folder never created;
- a worker killed in the middle of a plane: its batch runs again and the
  plane is unchanged;
- a worker computing with other landscape code is refused, naming it;
- an unreachable scheduler is an error naming the address, before any batch.
"""

import os
import signal
import socket
import time

import numpy as np
import pytest

from resnet_ode.book.experiments import standard_resnet_config
from resnet_ode.studies import landscape as L
from resnet_ode.training import cluster as connections
from resnet_ode.training.cluster import SchedulerUnreachable, WorkerMismatch
from resnet_ode.training.runs import get_run

TINY = dict(nc=4, n_train_per_class=20, n_val_per_class=4, max_iter=3, cg_max_iter=5)


@pytest.fixture(scope="module", autouse=True)
def _close_connections():
    """The connection evaluate_plane keeps (shared_executor) ends with this module's cluster."""
    yield
    connections._close_shared()


@pytest.fixture
def plane(tmp_cache):
    """A varpro plane around a tiny trained run: (run, objective, theta, d1, d2, grid)."""
    run = get_run(standard_resnet_config(3, T=1.0, **TINY))
    d = run.config.dataset()
    obj = L.BatchObjective(run.model, d.X_train, d.y_train, "varpro")
    d1, d2 = L.directions(run.model, run.theta, 0)
    return run, obj, run.theta, d1, d2, L.li_grid(5)


def test_a_plane_on_dask_is_the_plane_computed_here(cluster, plane, monkeypatch):
    monkeypatch.delenv("RESNET_ODE_SCHEDULER", raising=False)
    _, obj, theta, d1, d2, a = plane
    here, inner_here = L.evaluate_plane(obj, theta, d1, d2, a, a, batch_size=3, return_inner=True)
    there, inner_there = L.evaluate_plane(obj, theta, d1, d2, a, a, batch_size=3, return_inner=True,
                                          scheduler=cluster.scheduler_address)
    assert np.array_equal(here, there) and np.array_equal(inner_here, inner_there)
    # The connection is kept for the next plane, and the environment variable chooses the cluster too.
    first = connections.shared_executor(cluster.scheduler_address)
    monkeypatch.setenv("RESNET_ODE_SCHEDULER", cluster.scheduler_address)
    asked = []
    local_pool = L.plane._in_workers
    monkeypatch.setattr(L.plane, "_in_workers", lambda *args: (asked.append(args), local_pool(*args)))
    again = L.evaluate_plane(obj, theta, d1, d2, a, a, batch_size=4, workers=2)
    assert np.array_equal(again, here) and not asked
    assert connections.shared_executor(cluster.scheduler_address) is first
    # "" computes here whatever the environment says.
    local = L.evaluate_plane(obj, theta, d1, d2, a, a, batch_size=4, workers=2, scheduler="")
    assert np.array_equal(local, here) and len(asked) == 1


def test_a_surface_under_the_scheduler_variable_is_stored_here(cluster, plane, tmp_cache, worker_cache,
                                                                monkeypatch):
    run = plane[0]
    spec = L.SurfaceSpec("varpro", "filter", a=L.li_grid(5), b=L.li_grid(5))
    monkeypatch.setenv("RESNET_ODE_SCHEDULER", cluster.scheduler_address)
    there = L.get_surface(run, spec, batch_size=2)
    assert not there.from_cache and len(list(tmp_cache.glob("surface-*.npz"))) == 1
    monkeypatch.delenv("RESNET_ODE_SCHEDULER")
    here = L.get_surface(run, spec, use_cache=False, workers=1)
    assert np.array_equal(there.values, here.values) and np.array_equal(there.inner_grad_norm, here.inner_grad_norm)
    stored = L.get_surface(run, spec)
    assert stored.from_cache and np.array_equal(stored.values, here.values)
    assert not worker_cache.exists() and not any(worker_cache.parent.iterdir())


def _killer(flag, after):
    """A worker plugin that kills its own worker (SIGKILL) when it starts its ``after``-th plane batch.

    Defined in a function so that it travels to the workers by value.
    """
    from distributed import WorkerPlugin

    class KillOnce(WorkerPlugin):
        started = 0

        def transition(self, key, start, finish, **kwargs):
            if finish != "executing" or "_dask_batch" not in str(key):
                return
            self.started += 1
            if self.started < after:
                return
            try:
                fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return  # one kill in all
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)

    return KillOnce()


def test_a_killed_worker_s_batch_runs_again_and_the_plane_is_unchanged(cluster, plane, tmp_path, monkeypatch):
    monkeypatch.delenv("RESNET_ODE_SCHEDULER", raising=False)
    _, obj, theta, d1, d2, a = plane
    here = L.evaluate_plane(obj, theta, d1, d2, a, a, batch_size=2)
    flag = tmp_path / "killed"
    executor = connections.shared_executor(cluster.scheduler_address)
    # Both workers up before the plane is sent: its data is broadcast to the workers present, and with one of them
    # still restarting (an earlier test killed it) the worker killed below would hold the only copy.
    executor.client.wait_for_workers(2, timeout=180)
    pids = set(executor.client.run(os.getpid).values())
    executor.client.register_plugin(_killer(flag, after=3), name="kill-once")
    try:
        there = L.evaluate_plane(obj, theta, d1, d2, a, a, batch_size=2, scheduler=cluster.scheduler_address)
    finally:
        executor.client.unregister_worker_plugin("kill-once")
    assert int(flag.read_text()) in pids  # a worker of the cluster died in the middle of the plane
    assert np.array_equal(here, there)
    executor.client.wait_for_workers(2, timeout=180)  # the nanny restarted it, for the next tests (slow when loaded)


def test_a_worker_with_other_landscape_code_is_refused(cluster, plane, monkeypatch):
    _, obj, theta, d1, d2, a = plane
    monkeypatch.setattr(L.version, "code_identity", lambda: "0" * 64)  # this process's code "changed"
    with pytest.raises(WorkerMismatch, match="computes with landscape code digest .* this process with "
                                             "000000000000.*its surface values were not used"):
        L.evaluate_plane(obj, theta, d1, d2, a, a, scheduler=cluster.scheduler_address)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.processes
def test_an_unreachable_scheduler_is_named_before_any_batch(monkeypatch):
    class Counted:
        objective = "joint"
        calls = 0

        def evaluate(self, thetas):
            Counted.calls += 1
            return np.zeros(len(thetas)), np.zeros(len(thetas))

    address = f"tcp://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("RESNET_ODE_SCHEDULER", address)
    t0 = time.monotonic()
    with pytest.raises(SchedulerUnreachable, match=f"cannot reach the Dask scheduler at {address} within 5 s"):
        L.evaluate_plane(Counted(), np.zeros(3), np.ones(3), np.ones(3), [0.0, 1.0], [0.0, 1.0])
    assert time.monotonic() - t0 < 15 and Counted.calls == 0
