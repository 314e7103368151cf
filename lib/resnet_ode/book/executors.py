"""Where parallel work runs: the local process pool (the default) or a Dask distributed cluster.

Both executors take the same list of calls ``(fn, args, kwargs)`` and hand
each value back to the submitting process as it arrives (``on_result``), with
one progress bar and one error rule (:func:`resnet_ode.util.calls.run_calls`):
a call that raises stops no other call; every other one runs to its end and
its value is handed over (a run is stored, a page written), then the first
failed call's error is raised with a note naming it. Ctrl-C, or an error in
``on_result`` (a worker computing with other code), stops at once.

- :class:`LocalPool`: ``jobs`` worker processes on this machine (Ctrl-C
  stops them at once).
- :class:`resnet_ode.training.cluster.DaskExecutor`: the tasks of a
  ``dask.distributed`` scheduler at ``ADDRESS`` (``--scheduler ADDRESS`` or
  the environment variable ``RESNET_ODE_SCHEDULER``), connected and checked
  by :func:`resnet_ode.training.cluster.connect`. Workers compute and return
  results; they need no shared file system, since the submitting process
  writes every cache entry. A worker that dies is replaced by the
  scheduler, which runs its tasks again elsewhere
  (``distributed.scheduler.allowed-failures``, 3 by default); nothing
  half-written can result, because workers write nothing.

Training goes through either the same way
(:func:`resnet_ode.training.tasks.train_runs`: workers train, this process
stores, after :func:`resnet_ode.training.cluster.check_identity`). Run pages
(``resnet-ode sweep``, and ``resnet-ode rerun`` but for its chapter page) go
to the cluster through :mod:`resnet_ode.book.pagetasks`, and the landscape
planes of a chapter whose kernel sees ``RESNET_ODE_SCHEDULER`` (``resnet-ode
rerun --scheduler`` sets it) through
:func:`resnet_ode.studies.landscape.plane.evaluate_plane`, which keeps one
connection per address (:func:`resnet_ode.training.cluster.shared_executor`).
In both, workers compute and return, and this process writes.
"""

from __future__ import annotations

from resnet_ode.training.cluster import (  # noqa: F401 - the cluster's names, used with the executors
    CONNECT_TIMEOUT,
    SCHEDULER_ENV,
    DaskExecutor,
    SchedulerUnreachable,
    WorkerMismatch,
    check_workers,
    connect,
    scheduler_address,
    shared_executor,
    tune_malloc,
)
from resnet_ode.util.calls import run_calls


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


def task_workers(executor) -> int:
    """Worker processes per run of a task sent to ``executor``: :func:`workers_per_job` of a :class:`LocalPool`'s
    ``jobs``, 1 on a Dask worker (a cluster's worker is one single-threaded process)."""
    return workers_per_job(executor.jobs) if isinstance(executor, LocalPool) else 1


class LocalPool:
    """``jobs`` worker processes of this machine (the default executor).

    Every local parallel sweep goes through it: training runs, run pages,
    the chapters' execution for the book, and studies. (The landscape planes
    keep a pool of their own that outlives one call, so that a chapter's many
    planes pay the start of their workers once:
    :func:`resnet_ode.studies.landscape.plane.evaluate_plane`.) Each worker
    starts with :func:`resnet_ode.book.processes.pool_worker_init` (Ctrl-C is
    left to this process).

    Parameters
    ----------
    jobs : int
        Calls run at a time (the calls run in this process, one after the
        other, when ``jobs`` is 1 or there is one call).
    """

    name = "local"

    def __init__(self, jobs: int = 2):
        self.jobs = int(jobs)

    def map(self, calls, desc: str, on_result=None, names=None):
        """Run ``calls`` (``(fn, args, kwargs)``), ``jobs`` at a time, with one progress bar.

        ``on_result(i, value)``, if given, receives the value of call ``i`` as
        it completes (in this process). The error rule of
        :func:`resnet_ode.util.calls.run_calls`, the Dask executor's too: a
        call that raises stops no other (their values are handed over, their
        runs get cached, their pages written), then the first failed call's
        error is raised with a note naming it (``names[i]`` if given). If
        ``on_result`` raises, the calls in progress finish, no new one starts
        and the error is raised; on Ctrl-C the workers are stopped at once
        (:func:`resnet_ode.book.processes.stop_pool`).
        """
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from resnet_ode.book.processes import pool_worker_init, stop_pool

        calls = list(calls)
        if self.jobs <= 1 or len(calls) <= 1:
            run_calls(calls, desc, on_result, names)
            return
        pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(calls)), initializer=pool_worker_init)
        stopped = []

        def stop(futures, exc):
            stopped.append(exc)
            if isinstance(exc, KeyboardInterrupt):
                stop_pool(pool)  # at once: the pages not finished keep their previous content
                return
            try:  # on_result raised: the calls in progress finish, no new one starts
                pool.shutdown(wait=True, cancel_futures=True)
            except KeyboardInterrupt:
                stop_pool(pool)
                raise

        try:
            run_calls(calls, desc, on_result, names, submit=lambda fn, args, kwargs: pool.submit(fn, *args, **kwargs),
                      completed=as_completed, stop=stop)
        finally:
            if not stopped:
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
