"""Training runs as tasks of an executor: a worker trains, this process stores.

:func:`train_runs` is the one way many runs are trained: the runs of a list
that neither the local cache nor the published entries hold
(:func:`runs_missing`), longest first (:func:`resnet_ode.core.costs.run_cost`),
are sent to an executor (anything with ``map(calls, desc, on_result, names)``:
the local pool, :class:`resnet_ode.book.executors.LocalPool`, or a Dask
cluster, :class:`resnet_ode.training.cluster.DaskExecutor`). Each task
(:func:`train_task`) trains without touching any cache and returns the run
with its worker's identity; this process checks that identity and writes the
cache entry (:func:`store_run`: the cache's atomic write under the entry's
lock, as for a run trained here). So workers need no shared file system, a
worker that dies leaves nothing half-written, and a run is stored only if it
was computed with this process's training code and numeric code paths
(:func:`resnet_ode.training.cluster.check_identity`).

A run that fails (training produced a non-finite value) stops no other: the
executors' error rule (:func:`resnet_ode.util.calls.run_calls`) lets every
other run finish and be stored, then raises the failed run's error, naming it.
"""

from __future__ import annotations

from resnet_ode.training.cluster import check_identity, worker_identity
from resnet_ode.training.runs import RUNS, _decoder, _encode, cache_key, recipe
from resnet_ode.util.environ import environment


def train_task(config, workers: int = 1) -> dict:
    """Train ``config`` without touching any cache; what a worker runs.

    Parameters
    ----------
    config : RunConfig
    workers : int
        Processes of the run (``RESNET_ODE_WORKERS`` while it trains).

    Returns
    -------
    dict
        ``result``: the :class:`~resnet_ode.training.trainer.RunResult` (its
        network left out, so it pickles small), and the worker's
        :func:`~resnet_ode.training.cluster.worker_identity` (``source``,
        ``host``, ``pid``).
    """
    from resnet_ode.training.runs import train  # looked up when the task runs

    with environment({"RESNET_ODE_WORKERS": int(workers)}):  # processes per run
        result = train(config)
    result._model = None
    return {"result": result, **worker_identity()}


def store_run(config, reply: dict):
    """Put a run a worker trained into this process's cache (atomically, under the entry's lock); return it.

    Raises :class:`~resnet_ode.training.cluster.WorkerMismatch` when the worker
    computes with other training code or numeric code paths than this process
    (nothing is stored). If another process stored the same run meanwhile,
    its entry is kept and returned.

    Parameters
    ----------
    config : RunConfig
    reply : dict
        :func:`train_task`'s.
    """
    check_identity(reply, "; its result was not stored")
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

    missing = [c for c in dict.fromkeys(configs) if RUNS.where(cache_key(c)) is None]
    missing.sort(key=lambda c: -run_cost(c))
    return missing


def train_runs(executor, configs, workers: int = 1) -> int:
    """Train the runs of ``configs`` not in the cache through ``executor``, longest first, storing each as it arrives.

    Parameters
    ----------
    executor : resnet_ode.book.executors.LocalPool or resnet_ode.training.cluster.DaskExecutor
        Where the runs train.
    configs : sequence of RunConfig
        Repeats and cached runs are left out.
    workers : int
        Processes per run on the worker (``RESNET_ODE_WORKERS``).

    Returns
    -------
    int
        Runs trained.

    Raises
    ------
    Exception
        A run's training error (``FloatingPointError`` for a non-finite
        objective or weights), after every other run finished and was
        stored; a note names the run.
    resnet_ode.training.cluster.WorkerMismatch
        At once, when a worker computes with other code (:func:`store_run`).
    """
    missing = runs_missing(configs)
    executor.map([(train_task, (c, workers), {}) for c in missing], "training runs",
                 on_result=lambda i, reply: store_run(missing[i], reply), names=[c.label() for c in missing])
    return len(missing)
