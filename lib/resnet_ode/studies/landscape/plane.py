"""An objective on a plane of weights, ``L(theta + a_i d1 + b_j d2)``, in batches and worker processes.

:func:`evaluate_plane` cuts the grid into batches of points (each pushed
through the network together by :class:`resnet_ode.studies.landscape.batch.BatchObjective`)
and evaluates them here, on a ``concurrent.futures.ProcessPoolExecutor``
of spawned worker processes, or on the workers of a Dask cluster. The local
executor of each size is started on first use and kept, so later planes pay
no start-up; every batch carries the plane it belongs to (pickled once per
plane), and a worker unpickles it once.

On a Dask cluster (``scheduler``, or the environment variable
``RESNET_ODE_SCHEDULER`` that ``resnet-ode rerun --scheduler`` sets for a
chapter's kernel) the plane is sent to the workers once
(``Client.scatter``) and each batch is a task that returns its values; the
workers write nothing, the surface is stored by the calling process (its
cache entry is written as for a surface computed here). Every batch also
returns the worker's landscape-code digest
(:func:`resnet_ode.studies.landscape.version.code_identity`), and a value
computed by other code is refused
(:class:`resnet_ode.training.cluster.WorkerMismatch`).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import platform
import signal
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

from resnet_ode.util import progress
from resnet_ode.util.environ import environment
from resnet_ode.util.validate import check_int

#: Variables that fix the BLAS threads of a worker; it gets one (the workers share the cores).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class PlaneTask:
    """Objective values at plane coordinates, picklable for the worker processes.

    Parameters
    ----------
    objective : resnet_ode.studies.landscape.batch.BatchObjective
        Or anything with ``evaluate(thetas) -> (values, inner)`` for
        ``thetas`` of shape (B, n) and results of shape (B,).
    theta, d1, d2 : ndarray, shape (n,)
        Centre and directions of the plane.
    """

    def __init__(self, objective, theta, d1, d2):
        self.objective, self.theta, self.d1, self.d2 = objective, theta, d1, d2

    def __call__(self, coef) -> np.ndarray:
        """Values and subproblem gradient norms at the coordinates ``coef`` (k, 2), shape (2, k)."""
        thetas = self.theta[None, :] + coef[:, :1] * self.d1[None, :] + coef[:, 1:] * self.d2[None, :]
        return np.stack(self.objective.evaluate(thetas))


def evaluate_plane(objective, theta, d1, d2, a, b, batch_size: int = 4, desc: str | None = None,
                   workers: int | None = 1, return_inner: bool = False, scheduler: str | None = None):
    """``L(theta + a_i d1 + b_j d2)`` on the grid, in batches of ``batch_size`` points, with a progress bar.

    Parameters
    ----------
    objective : resnet_ode.studies.landscape.batch.BatchObjective
    theta, d1, d2 : ndarray, shape (n_params,)
    a, b : sequence of float, lengths na and nb
    batch_size : int
        Points pushed through the network together. Every point is computed
        on its own within a batch, so the values do not depend on it (nor on
        ``workers``).
    desc : str, optional
        Label of the progress bar (one bar per plane, counting points).
    workers : int or None
        Worker processes sharing the batches; ``None`` takes
        :func:`resnet_ode.core.parallel.default_workers`, 1 computes here. The
        workers are spawned (``multiprocessing``), so a script that asks
        for more than one must guard its top level with
        ``if __name__ == "__main__":``.
    return_inner : bool
        Also return the classifier subproblem's gradient norm at every point
        (see :meth:`resnet_ode.studies.landscape.batch.BatchObjective.evaluate`).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``) whose workers
        compute the batches (``workers`` is then not used). ``None`` takes
        ``RESNET_ODE_SCHEDULER`` if it is set and not empty; ``""`` computes
        here whatever the environment says. The values are the same bits as
        computed here (each point is computed on its own, with one BLAS
        thread on a Dask worker).

    Returns
    -------
    ndarray, shape (na, nb)
        And, with ``return_inner``, a second array of that shape.

    Notes
    -----
    On Ctrl-C (or an error in a batch) the batches not started are
    cancelled, the workers are stopped at once and the exception
    propagates; the next call starts new workers. On a Dask cluster the
    batches not finished are cancelled there.

    Raises
    ------
    resnet_ode.training.cluster.SchedulerUnreachable
        Within about 5 s, before any batch, when nothing answers at the
        scheduler's address.
    resnet_ode.training.cluster.WorkerMismatch
        When a Dask worker computes with other landscape or training code.
    """
    from resnet_ode.core.parallel import default_workers

    batch_size = check_int("batch_size", batch_size, min_value=1, max_value=4096)
    workers = default_workers() if workers is None else check_int("workers", workers, min_value=1, max_value=64)
    theta, d1, d2 = (np.asarray(v, dtype=float) for v in (theta, d1, d2))
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    A, Bc = np.meshgrid(a, b, indexing="ij")
    coef = np.stack([A.ravel(), Bc.ravel()], axis=1)
    batches = [coef[s:s + batch_size] for s in range(0, coef.shape[0], batch_size)]
    task = PlaneTask(objective, theta, d1, d2)
    out = [None] * len(batches)
    if scheduler is None:
        from resnet_ode.training.cluster import scheduler_address

        scheduler = scheduler_address(None)
    if scheduler:
        _on_dask(task, batches, scheduler, out, desc or f"{objective.objective} surface")
        both = np.concatenate(out, axis=1).reshape(2, a.size, b.size)
        return (both[0], both[1]) if return_inner else both[0]
    with progress.bar(coef.shape[0], desc or f"{objective.objective} surface") as bar:
        if min(workers, len(batches)) <= 1:
            for k, c in enumerate(batches):
                out[k] = task(c)
                bar.update(len(c))
        else:
            _in_workers(task, batches, workers, out, bar)
    both = np.concatenate(out, axis=1).reshape(2, a.size, b.size)
    return (both[0], both[1]) if return_inner else both[0]


def _in_workers(task: PlaneTask, batches: list, workers: int, out: list, bar):
    """``out[k] = task(batches[k])`` on the shared executor of ``workers`` processes, updating ``bar``."""
    executor = _executor(workers)
    token, payload = uuid.uuid4().hex, pickle.dumps(task)
    try:
        futures = {executor.submit(_evaluate_batch, token, payload, c): k for k, c in enumerate(batches)}
        for future in as_completed(futures):
            k = futures[future]
            out[k] = future.result()
            bar.update(len(batches[k]))
    except BaseException:
        _discard(workers, executor)
        raise


def _on_dask(task: PlaneTask, batches: list, address: str, out: list, desc: str):
    """``out[k] = task(batches[k])`` computed by the workers of the Dask scheduler at ``address``."""
    from resnet_ode.training.cluster import WorkerMismatch, _mismatch_text, shared_executor
    from resnet_ode.studies.landscape.version import code_identity as source_hash

    executor = shared_executor(address)
    mine = source_hash()
    plane = executor.client.scatter(task, broadcast=True, hash=False)  # once per worker, not once per batch

    def keep(k, reply):
        values, digest, host, pid = reply
        if digest != mine:
            raise WorkerMismatch(_mismatch_text(f"the worker on {host} (pid {pid})", digest, mine,
                                                what="landscape code digest") + "; its surface values were not used")
        out[k] = values

    try:
        executor.map([(_dask_batch, (plane, c), {}) for c in batches], f"{desc} ({len(batches)} batches)",
                     on_result=keep)
    finally:
        executor.client.cancel([plane])


@functools.lru_cache(maxsize=1)
def _worker_digest() -> tuple:
    from resnet_ode.studies.landscape.version import code_identity as source_hash

    return source_hash(), platform.node(), os.getpid()


def _dask_batch(task: PlaneTask, coef) -> tuple:
    """On a Dask worker: ``task(coef)`` and who computed it with what code (digest, host, pid)."""
    return (task(coef), *_worker_digest())


# ----------------------------------------------------------------------------
# The executors and their workers
# ----------------------------------------------------------------------------

_EXECUTORS: dict[int, ProcessPoolExecutor] = {}


def _executor(workers: int) -> ProcessPoolExecutor:
    """The shared executor of ``workers`` spawned processes, started (all workers at once) on first use."""
    executor = _EXECUTORS.get(workers)
    if executor is None:
        executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_worker_init)
        # A worker reads the thread variables when it loads numpy, before any initializer
        # could set them; so they are set here while the executor spawns the workers (on submit).
        try:
            with environment({name: "1" for name in THREAD_VARS}):
                for started in [executor.submit(os.getpid) for _ in range(workers)]:
                    started.result()
            # The worker processes, kept here: the executor forgets them while it shuts down.
            executor.plane_workers = list(executor._processes.values())
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        _EXECUTORS[workers] = executor
    return executor


def _discard(workers: int, executor: ProcessPoolExecutor):
    """Cancel what has not started and stop the workers at once; do not wait.

    The workers only compute and return values (they write nothing), so
    stopping one in the middle of a batch loses nothing but that batch. They
    are terminated rather than left to finish: a worker left to the
    executor's shutdown was seen still alive 30 s after an interrupt on a
    loaded machine.
    """
    if _EXECUTORS.get(workers) is executor:
        del _EXECUTORS[workers]
    procs = getattr(executor, "plane_workers", [])
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + 5.0  # SIGTERM ends a worker within milliseconds
    for proc in procs:
        while proc.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)


def _worker_init():
    # Ctrl-C reaches the whole process group: the caller decides (and cancels the batches).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # If the caller dies without shutting the executor down (a killed kernel), end with it.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent):
    parent.join()
    os._exit(0)


#: In a worker: the plane it evaluates, under its token (one at a time).
_TASKS: dict[str, PlaneTask] = {}


def _evaluate_batch(token: str, payload: bytes, coef) -> np.ndarray:
    """In a worker: ``task(coef)`` for the plane ``token``, unpickled from ``payload`` the first time."""
    if token not in _TASKS:
        _TASKS.clear()
        _TASKS[token] = pickle.loads(payload)
    return _TASKS[token](coef)
