"""Where parallel work runs: the local process pool (the default) or a Dask distributed cluster.

Both executors take the same list of calls ``(fn, args, kwargs)`` and hand
each value back to the submitting process as it arrives (``on_result``), with
one progress bar:

- :class:`LocalPool`: ``jobs`` worker processes on this machine
  (``resnet_ode.book.notebooks._in_pool``; Ctrl-C stops them at once).
- :class:`DaskExecutor`: the tasks of a ``dask.distributed`` scheduler at
  ``ADDRESS`` (``--scheduler ADDRESS`` or the environment variable
  :data:`SCHEDULER_ENV`). Workers compute and return results; they need no
  shared file system, since the submitting process writes every cache entry
  (:func:`store_run`: the cache's atomic write under its lock, as for a run
  trained here). A worker that dies is replaced by the scheduler, which runs
  its tasks again elsewhere (``distributed.scheduler.allowed-failures``,
  3 by default); nothing half-written can result, because workers write
  nothing.

A worker's result is only stored under the submitting process's cache key if
the worker computed it with the same training code and numeric code paths
(:func:`resnet_ode.training.runs.source_hash`, returned with every result and
checked by :func:`connect` on every worker present at the start); otherwise
the command stops with an error naming the worker.

Run pages (``resnet-ode sweep``, and ``resnet-ode rerun`` but for its chapter
page) go to the cluster the same way (:func:`run_pages_on`): their missing
runs train there first, then each page's task carries the template, its
parameters and title and its run's cache entry; the worker executes it by
papermill in a private temporary folder holding that entry (the kernel's
cache, which it may only read: a missing entry is an error, never a training
run), cleans it as the local path does and returns it as text with its
source hash; this process writes the page atomically. A page whose kernel
raises is named with its traceback after the other pages were written
(:class:`PageError`).

Not yet on Dask: the landscape planes; they use the local pool whatever the
scheduler.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import platform

from resnet_ode.util import progress

#: Environment variable naming a Dask scheduler (``tcp://host:port``) for ``train``, ``study``, ``sweep`` and ``rerun``.
SCHEDULER_ENV = "RESNET_ODE_SCHEDULER"

#: Seconds to wait for the scheduler to answer before giving up with :class:`SchedulerUnreachable`.
CONNECT_TIMEOUT = 5.0


class SchedulerUnreachable(RuntimeError):
    """The Dask scheduler could not be reached (or ``dask.distributed`` is not installed); the message says which."""


class WorkerMismatch(RuntimeError):
    """A worker computes with other training code or numeric code paths than this process."""


def scheduler_address(option: str | None) -> str | None:
    """The scheduler to use: ``option`` if given, else ``RESNET_ODE_SCHEDULER`` if set and not empty, else ``None``."""
    if option:
        return option.strip()
    env = os.environ.get(SCHEDULER_ENV, "").strip()
    return env or None


class LocalPool:
    """``jobs`` worker processes of this machine (the default executor).

    Parameters
    ----------
    jobs : int
        Calls run at a time (one call runs in this process when ``jobs`` is 1).
    """

    name = "local"

    def __init__(self, jobs: int = 2):
        self.jobs = int(jobs)

    def map(self, calls, desc: str, on_result=None):
        """Run ``calls`` (``(fn, args, kwargs)``), giving ``on_result(i, value)`` each value as it completes."""
        from resnet_ode.book.notebooks import _in_pool

        _in_pool(list(calls), self.jobs, desc, on_result=on_result)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class DaskExecutor:
    """Calls sent to a ``dask.distributed`` cluster through a ``distributed.Client``.

    Use :func:`connect` to make one (it checks the scheduler and the workers
    before any work).

    Parameters
    ----------
    client : distributed.Client
    address : str
        The scheduler's address (for messages and the progress bar).
    """

    name = "dask"

    def __init__(self, client, address: str):
        self.client = client
        self.address = address

    def map(self, calls, desc: str, on_result=None):
        """Run ``calls`` (``(fn, args, kwargs)``) as tasks, giving ``on_result(i, value)`` each value as it arrives.

        If a task raises, the other tasks still finish and are handed over
        (their runs get cached), then the first error is raised. On Ctrl-C
        the tasks not finished are cancelled on the cluster.
        """
        from distributed import as_completed

        calls = list(calls)
        keep = on_result or (lambda i, value: None)
        with progress.bar(len(calls), desc + f" on {self.address}") as bar:
            futures = {}
            for i, (fn, args, kwargs) in enumerate(calls):
                # The call's keywords are bound first: Client.submit would take some (workers, key, ...) as its own.
                task = functools.partial(fn, **kwargs) if kwargs else fn
                futures[self.client.submit(task, *args, pure=False)] = i
            error = None
            try:
                for fut in as_completed(list(futures), loop=self.client.loop):
                    try:
                        value = fut.result()
                    except Exception as exc:  # noqa: BLE001 - raised after the others finished
                        error = error or exc
                    else:
                        keep(futures[fut], value)
                    bar.update(1)
            except BaseException:
                self.client.cancel(list(futures))
                raise
            if error is not None:
                raise error

    def close(self):
        with contextlib.suppress(Exception):
            self.client.close(timeout=CONNECT_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> DaskExecutor:
    """A :class:`DaskExecutor` on the scheduler at ``address``, checked before any work.

    Raises
    ------
    SchedulerUnreachable
        Within about ``timeout`` seconds when nothing answers at ``address``
        (or the address is malformed, or ``dask.distributed`` is missing);
        the message names the address.
    WorkerMismatch
        When a worker present now computes with other training code or
        numeric code paths than this process (its results would not be
        those the cache keys promise).
    """
    try:
        import dask
        from distributed import Client
    except ImportError as exc:
        raise SchedulerUnreachable(f"the Dask scheduler {address} needs dask.distributed, which is not installed "
                                   f"({exc}); pip install 'dask[distributed]' (pinned in requirements.txt)") from None
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": f"{timeout}s"}):
            client = Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({type(exc).__name__}: {exc}). "
            f"Start one (README: 'Studies, and running them on a Dask cluster'), or leave out --scheduler and unset "
            f"{SCHEDULER_ENV} to use the local processes") from None
    executor = DaskExecutor(client, address)
    try:
        check_workers(client)
        client.register_plugin(_worker_settings(), name=WORKER_SETTINGS)
    except BaseException:
        executor.close()
        raise
    return executor


#: Name of the worker plugin :func:`connect` registers (``_worker_settings``).
WORKER_SETTINGS = "resnet-ode-worker-settings"

#: glibc ``mallopt`` parameters and the values ``_worker_settings`` gives them (bytes).
_MALLOC = {"M_TRIM_THRESHOLD": (-1, 64 << 20), "M_MMAP_THRESHOLD": (-3, 32 << 20)}


def tune_malloc() -> bool:
    """Give glibc's ``malloc`` thresholds that keep numpy's temporary arrays on the heap; ``False`` without glibc.

    A Dask nanny starts its worker with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``). Setting it also freezes
    glibc's mmap threshold at 128 KiB, so every array of 128 KiB or more
    (a state of 5000 samples is 320 KB) is mapped and unmapped afresh, and
    its pages zeroed again: training ran 3 times as long, in the kernel
    (nY = 8, 20 Gauss-Newton iterations: 3.1 to 3.5 s in a plain process,
    9.5 s with that variable, 5.5 s of it system time). Mapping only above
    32 MiB and trimming above 64 MiB is what glibc's own adaptive thresholds
    reach for such a program.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(param, value) == 1 for param, value in _MALLOC.values())


def _worker_settings():
    """A worker plugin running :func:`tune_malloc` on every worker present or to come.

    Defined in a function so that it travels to the workers by value.
    """
    from distributed import WorkerPlugin

    class WorkerSettings(WorkerPlugin):
        def setup(self, worker):
            tune_malloc()

    return WorkerSettings()


def check_workers(client):
    """Raise :class:`WorkerMismatch` if a worker of ``client`` has another training-code hash than this process."""
    from resnet_ode.training.runs import source_hash

    mine = source_hash()
    theirs = client.run(_worker_identity)
    bad = {addr: ident for addr, ident in theirs.items() if ident["source"] != mine}
    if bad:
        addr, ident = next(iter(sorted(bad.items())))
        raise WorkerMismatch(_mismatch_text(f"worker {addr} ({ident['host']})", ident["source"], mine)
                             + f" ({len(bad)} of {len(theirs)} workers differ)")


def _mismatch_text(who: str, theirs: str, mine: str, what: str = "training code hash") -> str:
    return (f"{who} computes with {what} {theirs[:12]}, this process with {mine[:12]}: install the "
            "same version of resnet-ode and its pinned packages there and start the worker with the Makefile's "
            "NPY_DISABLE_CPU_FEATURES and OPENBLAS_CORETYPE (resnet_ode.training.runs.numerics)")


def _worker_identity() -> dict:
    from resnet_ode.training.runs import source_hash

    return {"source": source_hash(), "host": platform.node(), "pid": os.getpid()}


def make_executor(scheduler: str | None, jobs: int):
    """:func:`connect` to ``scheduler`` (or ``RESNET_ODE_SCHEDULER``) if one is named, else a :class:`LocalPool`."""
    address = scheduler_address(scheduler)
    return connect(address) if address else LocalPool(jobs)


#: Connections :func:`shared_executor` keeps, by scheduler address (closed when the process exits).
_SHARED: dict[str, DaskExecutor] = {}


def shared_executor(address: str) -> DaskExecutor:
    """A :class:`DaskExecutor` on ``address`` kept for the life of this process (connected and checked once).

    For work that asks for the cluster many times over (a chapter's
    landscape planes, one call per plane): the connection and the workers'
    check (:func:`connect`) are paid once. A connection that has been
    closed is made again.
    """
    executor = _SHARED.get(address)
    if executor is None or executor.client.status not in ("running", "connecting"):
        if not _SHARED:
            atexit.register(_close_shared)
        executor = _SHARED[address] = connect(address)
    return executor


def _close_shared():
    while _SHARED:
        _SHARED.popitem()[1].close()


# ----------------------------------------------------------------------------
# training runs through an executor: workers train, this process stores
# ----------------------------------------------------------------------------


@contextlib.contextmanager
def _run_workers(workers: int):
    """``RESNET_ODE_WORKERS`` set to ``workers`` for the duration (processes per run)."""
    old = os.environ.get("RESNET_ODE_WORKERS")
    os.environ["RESNET_ODE_WORKERS"] = str(int(workers))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("RESNET_ODE_WORKERS", None)
        else:
            os.environ["RESNET_ODE_WORKERS"] = old


def train_task(config, workers: int = 1) -> dict:
    """Train ``config`` without touching any cache; runs on a worker.

    Returns
    -------
    dict
        ``result``: the :class:`~resnet_ode.training.runs.RunResult` (its
        network left out, so it pickles small); ``source``: the worker's
        :func:`~resnet_ode.training.runs.source_hash`; ``host``, ``pid``.
    """
    from resnet_ode.training.runs import train

    with _run_workers(workers):
        result = train(config)
    result._model = None
    return {"result": result, **_worker_identity()}


def store_run(config, reply: dict):
    """Put a run a worker trained into this process's cache (atomically, under the entry's lock); return it.

    Raises :class:`WorkerMismatch` when the worker's training-code hash is not
    this process's (nothing is stored). If another process stored the same
    run meanwhile, its entry is kept and returned.
    """
    from resnet_ode.training.runs import RUNS, _decoder, _encode, cache_key, source_hash

    mine = source_hash()
    if reply["source"] != mine:
        raise WorkerMismatch(_mismatch_text(f"the worker on {reply['host']} (pid {reply['pid']})",
                                            reply["source"], mine) + "; its result was not stored")
    key = cache_key(config)
    result = reply["result"]
    result.key = key

    def computed():
        return result

    return RUNS.get_or_compute(key, computed, _encode, _decoder(config, key), expect={"config": config.to_dict()})


def runs_missing(configs) -> list:
    """The distinct runs of ``configs`` that have no cache entry, longest first."""
    from resnet_ode.book.notebooks import run_cost
    from resnet_ode.training.runs import RUNS, cache_key

    missing = [c for c in dict.fromkeys(configs) if not RUNS.path(cache_key(c)).is_file()]
    missing.sort(key=lambda c: -run_cost(c))
    return missing


def train_runs_on(executor, configs, workers: int = 1) -> int:
    """Train the runs of ``configs`` not in the cache through ``executor``, storing each as it arrives.

    Parameters
    ----------
    executor : LocalPool or DaskExecutor
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


# ----------------------------------------------------------------------------
# run pages through a Dask cluster: workers execute, this process writes
# ----------------------------------------------------------------------------


class PageError(RuntimeError):
    """Run pages whose kernel raised on a worker; the message names each page and shows its traceback.

    Raised after every other page was written.
    """


#: IPython startup file of a page's kernel on a worker: the cache entries sent with the page are all it may read,
#: so a missing one is an error instead of a training run (or any other computed entry).
_ONLY_CACHED = '''\
def _resnet_ode_only_cached():
    from resnet_ode.training import cache, runs

    get_or_compute = cache.Store.get_or_compute
    why = "a run page executed on a Dask worker reads the cache entries sent with it and computes nothing"

    def only_cached(self, key, compute, encode, decode, expect=None):
        def refuse():
            raise LookupError(f"{self.path(key).name} ({self.name}) is not among the cache entries sent with "
                              f"this page: {why}")
        return get_or_compute(self, key, refuse, encode, decode, expect)

    def no_training(config, desc=None):
        raise LookupError(f"the run {config.label()} is not among the cache entries sent with this page: {why}")

    cache.Store.get_or_compute = only_cached
    runs.train = no_training


_resnet_ode_only_cached()
del _resnet_ode_only_cached
'''


def page_task(notebook: str, parameters: dict, title: str | None, entries: dict, name: str, source: str,
              workers: int = 1) -> dict:
    """Execute a run page on a worker, in a private temporary folder, reading only the cache ``entries`` given.

    The folder holds the template, a cache root with ``entries``
    (``RESNET_ODE_CACHE`` of the kernel) and the kernel's working folder
    (also its ``RESNET_ODE_ROOT``, ``RESNET_ODE_TMPDIR`` and ``IPYTHONDIR``),
    and is removed at the end: the worker reads and writes neither the
    submitting process's cache nor a repository. The kernel computes
    nothing: a cache entry it lacks raises ``LookupError`` (an IPython
    startup file makes every store's miss, and training, an error).

    Parameters
    ----------
    notebook : str
        The template (the ``.ipynb`` file's text).
    parameters : dict
        Injected by papermill.
    title : str or None
        The page's heading (:func:`resnet_ode.book.notebooks.set_title`).
    entries : dict of str -> bytes
        Cache files by name (``run-<key>.npz``, as in the submitting cache).
    name : str
        The page, for messages.
    source : str
        The submitting process's :func:`~resnet_ode.training.runs.source_hash`:
        under another one the entries' keys would not be found, so the
        page is not executed.
    workers : int
        ``RESNET_ODE_WORKERS`` of the kernel (processes per run).

    Returns
    -------
    dict
        ``notebook``: the executed, cleaned page as nbformat JSON text (``None``
        if not executed); ``error``: ``None``, or the exception and its
        traceback as text when the kernel raised; ``source``: the worker's
        training-code hash; ``host``, ``pid``.
    """
    import shutil
    import tempfile
    import traceback
    from pathlib import Path

    import nbformat

    from resnet_ode.book.notebooks import execute_page
    from resnet_ode.book.processes import isolated_kernel_manager_class

    identity = _worker_identity()
    reply = {"notebook": None, "error": None, **identity}
    if identity["source"] != source:
        return reply  # the caller reports the mismatch
    folder = Path(tempfile.mkdtemp(prefix="resnet-ode-page-"))
    try:
        cache, work, ipython = folder / "cache", folder / "work", folder / "ipython"
        startup = ipython / "profile_default" / "startup"
        for path in (cache, work, startup):
            path.mkdir(parents=True)
        for file, data in entries.items():
            if Path(file).name != file or file.startswith("."):
                raise ValueError(f"entries: {file!r} is not the name of a cache file")
            (cache / file).write_bytes(data)
        (startup / "00-resnet-ode-only-cached.py").write_text(_ONLY_CACHED)
        template = folder / "template.ipynb"
        template.write_text(notebook)
        env = {"RESNET_ODE_CACHE": cache, "RESNET_ODE_WORKERS": int(workers), "RESNET_ODE_ROOT": work,
               "RESNET_ODE_TMPDIR": work, "IPYTHONDIR": ipython}
        kernel = isolated_kernel_manager_class(env, cwd=work, folder=folder)
        nb = execute_page(template, folder / "page.ipynb", parameters, title=title, kernel_manager=kernel)
        reply["notebook"] = nbformat.writes(nb)
    except Exception as exc:  # noqa: BLE001 - handed to the submitting process, which names the page
        if type(exc).__name__ == "PapermillExecutionError":
            reply["error"] = str(exc).strip()  # the cell, its exception and traceback
        else:
            reply["error"] = traceback.format_exc()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return reply


def store_page(output, reply: dict):
    """Write the page a worker executed to ``output`` (atomically); return ``output``, or the error text.

    Raises :class:`WorkerMismatch` when the worker's training-code hash is
    not this process's (nothing is written).

    Parameters
    ----------
    output : Path
    reply : dict
        :func:`page_task`'s.

    Returns
    -------
    Path or str
        ``output`` when written; the kernel's error (text) when the page raised.
    """
    import nbformat

    from resnet_ode.book.notebooks import write_notebook
    from resnet_ode.training.runs import source_hash

    mine = source_hash()
    if reply["source"] != mine:
        raise WorkerMismatch(_mismatch_text(f"the worker on {reply['host']} (pid {reply['pid']})",
                                            reply["source"], mine) + f"; the page {output} was not written")
    if reply["error"] is not None:
        return reply["error"]
    return write_notebook(nbformat.reads(reply["notebook"], as_version=4), output)


def run_pages_on(executor, pages, desc: str = "run pages", workers: int = 1) -> list:
    """Execute run pages through ``executor``: missing runs train first, then each page executes on a worker.

    Each page's task carries the template's text, its parameters, its title
    and its run's cache entry (read here); this process writes every page as
    it arrives (:func:`store_page`).

    Parameters
    ----------
    executor : DaskExecutor
    pages : sequence of (Path, Path, dict, str, RunConfig)
        ``(template, output, parameters, title, config)`` of each page.
    desc : str
        Label of the progress bar.
    workers : int
        Processes per run on the worker (``RESNET_ODE_WORKERS``).

    Returns
    -------
    list of Path
        The pages written, in the order of ``pages``.

    Raises
    ------
    PageError
        When pages raised, after the others were written; it names each page
        (with its title and worker) and shows the kernel's traceback.
    WorkerMismatch
        When a worker computes with other training code (see :func:`store_page`).
    """
    from resnet_ode.training.runs import RUNS, cache_key, source_hash
    from resnet_ode.util.paths import repo_root

    pages = list(pages)
    train_runs_on(executor, [p[4] for p in pages], workers)
    mine, texts, calls = source_hash(), {}, []
    for template, output, parameters, title, config in pages:
        if template not in texts:
            texts[template] = template.read_text()
        entry = RUNS.path(cache_key(config))
        try:
            data = entry.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"the run of {_shown(output, repo_root())} ({config.label()}) has no cache "
                                    f"entry {entry} after its training: is the cache folder writable?") from None
        calls.append((page_task, (texts[template], parameters, title, {entry.name: data},
                                  _shown(output, repo_root()), mine, workers), {}))
    errors = {}

    def keep(i, reply):
        done = store_page(pages[i][1], reply)
        if isinstance(done, str):
            errors[i] = (reply, done)

    executor.map(calls, desc, on_result=keep)
    if errors:
        failed = sorted(errors, key=lambda i: str(pages[i][1]))
        raise PageError(f"{len(errors)} of {len(pages)} run pages raised an exception (the others were written):\n"
                        + "\n".join(f"\n{_shown(pages[i][1], repo_root())} ({pages[i][3]}), on {errors[i][0]['host']} "
                                    f"(pid {errors[i][0]['pid']}):\n{errors[i][1].rstrip()}" for i in failed))
    return [p[1] for p in pages]


def _shown(path, root) -> str:
    """``path`` relative to ``root`` when inside it, else as given."""
    from pathlib import Path

    path = Path(path)
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
