"""Where parallel work runs: the local process pool (the default) or a Dask distributed cluster.

Both executors take the same list of calls ``(fn, args, kwargs)`` and hand
each value back to the submitting process as it arrives (``on_result``), with
one progress bar:

- :class:`LocalPool`: ``jobs`` worker processes on this machine (Ctrl-C
  stops them at once).
- :class:`resnet_ode.training.cluster.DaskExecutor`: the tasks of a
  ``dask.distributed`` scheduler at ``ADDRESS`` (``--scheduler ADDRESS`` or
  the environment variable ``RESNET_ODE_SCHEDULER``), connected and checked
  by :func:`resnet_ode.training.cluster.connect`. Workers compute and return results; they need no
  shared file system, since the submitting process writes every cache entry
  (:func:`store_run`: the cache's atomic write under its lock, as for a run
  trained here). A worker that dies is replaced by the scheduler, which runs
  its tasks again elsewhere (``distributed.scheduler.allowed-failures``,
  3 by default); nothing half-written can result, because workers write
  nothing.

A worker's result is only stored under the submitting process's cache key if
the worker computed it with the same training code and numeric code paths
(:func:`resnet_ode.training.runs.code_identity`, returned with every result and
checked by :func:`~resnet_ode.training.cluster.connect` on every worker present at the start); otherwise
the command stops with an error naming the worker.

Run pages (``resnet-ode sweep``, and ``resnet-ode rerun`` but for its chapter
page) go to the cluster through :mod:`resnet_ode.book.pagetasks`, and the
landscape planes of a chapter whose kernel sees ``RESNET_ODE_SCHEDULER``
(``resnet-ode rerun --scheduler`` sets it) through
:func:`resnet_ode.studies.landscape.plane.evaluate_plane`, which keeps one
connection per address (:func:`resnet_ode.training.cluster.shared_executor`). In both, workers compute
and return, and this process writes.
"""

from __future__ import annotations

from resnet_ode.training.cluster import (  # noqa: F401 - the cluster's names, used with the executors
    CONNECT_TIMEOUT,
    SCHEDULER_ENV,
    DaskExecutor,
    SchedulerUnreachable,
    WorkerMismatch,
    _mismatch_text,
    _worker_identity,
    check_workers,
    connect,
    scheduler_address,
    shared_executor,
    tune_malloc,
)
from resnet_ode.util import progress
from resnet_ode.util.environ import environment


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else ``os.cpu_count()``).

    The default of every command's ``--jobs``.
    """
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this system (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def workers_per_job(jobs: int, cores: int | None = None) -> int:
    """Worker processes per run (``RESNET_ODE_WORKERS``) when ``jobs`` run at once: ``jobs x workers <= cores``, at least 1."""
    return max(1, (available_cores() if cores is None else int(cores)) // max(1, int(jobs)))


class LocalPool:
    """``jobs`` worker processes of this machine (the default executor).

    Every local parallel sweep goes through it: training runs, run pages,
    the chapters' execution for the book, and studies. (The landscape planes
    keep a pool of their own that outlives one call, so that a chapter's many
    planes pay the start of their workers once:
    :func:`resnet_ode.studies.landscape.plane.evaluate_plane`.)

    Parameters
    ----------
    jobs : int
        Calls run at a time (one call runs in this process when ``jobs`` is 1).
    initializer : callable, optional
        Run in each worker process as it starts (default
        :func:`resnet_ode.book.processes.pool_worker_init`: Ctrl-C is left to
        this process); not run when the calls run in this process.
    initargs : tuple
        Its arguments.
    """

    name = "local"

    def __init__(self, jobs: int = 2, initializer=None, initargs=()):
        self.jobs = int(jobs)
        self.initializer, self.initargs = initializer, tuple(initargs)

    def map(self, calls, desc: str, on_result=None):
        """Run ``calls`` (``(fn, args, kwargs)``), ``jobs`` at a time, with one progress bar.

        ``on_result(i, value)``, if given, receives the value of call ``i`` as
        it completes (in this process; it may raise to stop). On Ctrl-C the
        workers are stopped at once (:func:`resnet_ode.book.processes.stop_pool`);
        if a call fails, the calls in progress finish (their runs get cached),
        no new one starts, and the error is raised.
        """
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from resnet_ode.book.processes import pool_worker_init, stop_pool

        calls = list(calls)
        keep = on_result or (lambda i, value: None)
        with progress.bar(len(calls), desc) as bar:
            if self.jobs <= 1 or len(calls) <= 1:
                for i, (fn, args, kwargs) in enumerate(calls):
                    keep(i, fn(*args, **kwargs))
                    bar.update(1)
                return
            pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(calls)),
                                       initializer=self.initializer or pool_worker_init, initargs=self.initargs)
            try:
                futures = {pool.submit(fn, *args, **kwargs): i for i, (fn, args, kwargs) in enumerate(calls)}
                for fut in as_completed(futures):
                    keep(futures[fut], fut.result())
                    bar.update(1)
            except KeyboardInterrupt:
                stop_pool(pool)  # at once: the pages not finished keep their previous content
                raise
            except BaseException:
                try:  # a call failed: the calls in progress finish (their runs get cached), no new one starts
                    pool.shutdown(wait=True, cancel_futures=True)
                except KeyboardInterrupt:
                    stop_pool(pool)
                raise
            pool.shutdown(wait=True)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def make_executor(scheduler: str | None, jobs: int):
    """:func:`~resnet_ode.training.cluster.connect` to ``scheduler`` (or ``RESNET_ODE_SCHEDULER``) if one is named,
    else a :class:`LocalPool`."""
    address = scheduler_address(scheduler)
    return connect(address) if address else LocalPool(jobs)


# ----------------------------------------------------------------------------
# training runs through an executor: workers train, this process stores
# ----------------------------------------------------------------------------


def train_task(config, workers: int = 1) -> dict:
    """Train ``config`` without touching any cache; runs on a worker.

    Returns
    -------
    dict
        ``result``: the :class:`~resnet_ode.training.trainer.RunResult` (its
        network left out, so it pickles small); ``source``: the worker's
        :func:`~resnet_ode.training.runs.code_identity`; ``host``, ``pid``.
    """
    from resnet_ode.training.runs import train

    with environment({"RESNET_ODE_WORKERS": int(workers)}):  # processes per run
        result = train(config)
    result._model = None
    return {"result": result, **_worker_identity()}


def store_run(config, reply: dict):
    """Put a run a worker trained into this process's cache (atomically, under the entry's lock); return it.

    Raises :class:`~resnet_ode.training.cluster.WorkerMismatch` when the worker's training-code hash is not
    this process's (nothing is stored). If another process stored the same
    run meanwhile, its entry is kept and returned.
    """
    from resnet_ode.training.runs import RUNS, _decoder, _encode, cache_key, code_identity, recipe

    mine = code_identity()
    if reply["source"] != mine:
        raise WorkerMismatch(_mismatch_text(f"the worker on {reply['host']} (pid {reply['pid']})",
                                            reply["source"], mine) + "; its result was not stored")
    key = cache_key(config)
    result = reply["result"]
    result.key = key

    def computed():
        return result

    return RUNS.get_or_compute(key, computed, _encode, _decoder(config, key), expect={"config": config.to_dict()},
                               recipe=recipe(config))


def runs_missing(configs) -> list:
    """The distinct runs of ``configs`` with neither a local nor a published entry, longest first."""
    from resnet_ode.core.costs import run_cost
    from resnet_ode.training.runs import RUNS, cache_key

    missing = [c for c in dict.fromkeys(configs) if RUNS.where(cache_key(c)) is None]
    missing.sort(key=lambda c: -run_cost(c))
    return missing


def train_runs_on(executor, configs, workers: int = 1) -> int:
    """Train the runs of ``configs`` not in the cache through ``executor``, storing each as it arrives.

    Parameters
    ----------
    executor : LocalPool or resnet_ode.training.cluster.DaskExecutor
    configs : sequence of RunConfig
    workers : int
        Processes per run on the worker (``RESNET_ODE_WORKERS``).

    Returns
    -------
    int
        Runs trained.
    """
    missing = runs_missing(configs)
    executor.map([(train_task, (c, workers), {}) for c in missing], "training runs",
                 on_result=lambda i, reply: store_run(missing[i], reply))
    return len(missing)
