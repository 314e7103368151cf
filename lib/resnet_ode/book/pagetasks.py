"""Run pages on a Dask cluster: each page executes on a worker, this process writes it.

:func:`run_pages_on` first trains the pages' missing runs on the cluster
(:func:`resnet_ode.training.tasks.train_runs`), then sends one task per
page (:func:`page_task`) carrying the template's text, its parameters and
title and its run's cache entry. The worker executes the page by papermill
in a private temporary folder holding that entry (the kernel's cache, which
it may only read: a missing entry is an error, never a training run), cleans
it as the local path does and returns it as text with its
:func:`~resnet_ode.training.cluster.worker_identity`; this process checks it
(:func:`~resnet_ode.training.cluster.check_identity`) and writes the page
atomically (:func:`store_page`). A page whose kernel raises is named with its traceback
after the other pages were written (:class:`PageError`).
"""

from __future__ import annotations

from resnet_ode.training.cluster import WorkerMismatch, check_identity, worker_identity


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

    def only_cached(self, key, compute, encode, decode, expect=None, recipe=None):
        def refuse():
            raise LookupError(f"{self.path(key).name} ({self.name}) is not among the cache entries sent with "
                              f"this page: {why}")
        return get_or_compute(self, key, refuse, encode, decode, expect, recipe)

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
        The submitting process's :func:`~resnet_ode.training.runs.code_identity`:
        under another one the entries' keys would not be found, so the
        page is not executed.
    workers : int
        ``RESNET_ODE_WORKERS`` of the kernel (processes per run).

    Returns
    -------
    dict
        ``notebook``: the executed, cleaned page as nbformat JSON text (``None``
        if not executed); ``error``: ``None``, or the exception and its
        traceback as text when the kernel raised; and the worker's
        :func:`~resnet_ode.training.cluster.worker_identity` (``source``,
        ``host``, ``pid``).
    """
    import shutil
    import tempfile
    import traceback
    from pathlib import Path

    import nbformat

    from resnet_ode.book.notebooks import clean_notebook, execute_notebook, set_title
    from resnet_ode.book.processes import isolated_kernel_manager_class

    reply = {"notebook": None, "error": None, **worker_identity()}
    try:
        check_identity(reply, mine=source)
    except WorkerMismatch:
        return reply  # not executed: the submitting process reports the mismatch (store_page)
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
        nb = clean_notebook(execute_notebook(template, folder / "page.ipynb", parameters, kernel_manager=kernel))
        if title is not None:
            set_title(nb, title)
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

    Raises :class:`~resnet_ode.training.cluster.WorkerMismatch` when the worker computes with other
    training code or numeric code paths than this process (nothing is written).

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

    check_identity(reply, f"; the page {output} was not written")
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
    executor : resnet_ode.training.cluster.DaskExecutor
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
    from resnet_ode.book.notebooks import shown_path
    from resnet_ode.training.runs import RUNS, cache_key, code_identity
    from resnet_ode.training.tasks import train_runs

    pages = list(pages)
    train_runs(executor, [p[4] for p in pages], workers)
    mine, texts, calls = code_identity(), {}, []
    for template, output, parameters, title, config in pages:
        if template not in texts:
            texts[template] = template.read_text()
        entry = RUNS.where(cache_key(config)) or RUNS.path(cache_key(config))
        try:
            data = entry.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"the run of {shown_path(output)} ({config.label()}) has no cache "
                                    f"entry {entry} after its training: is the cache folder writable?") from None
        calls.append((page_task, (texts[template], parameters, title, {entry.name: data},
                                  shown_path(output), mine, workers), {}))
    errors = {}

    def keep(i, reply):
        done = store_page(pages[i][1], reply)
        if isinstance(done, str):
            errors[i] = (reply, done)

    executor.map(calls, desc, on_result=keep, names=[shown_path(p[1]) for p in pages])
    if errors:
        failed = sorted(errors, key=lambda i: str(pages[i][1]))
        raise PageError(f"{len(errors)} of {len(pages)} run pages raised an exception (the others were written):\n"
                        + "\n".join(f"\n{shown_path(pages[i][1])} ({pages[i][3]}), on {errors[i][0]['host']} "
                                    f"(pid {errors[i][0]['pid']}):\n{errors[i][1].rstrip()}" for i in failed))
    return [p[1] for p in pages]
