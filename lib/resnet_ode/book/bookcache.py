"""Executing the book's notebooks once, in parallel, into Jupyter Book's execution cache.

``resnet-ode execute-book`` (``make html``) executes the notebooks with
:func:`resnet_ode.book.notebooks.execute_notebook`, ``jobs`` at a time, and
stores each in the Jupyter Book cache (``execute_notebooks: cache`` in
``_config.yml``), which the build then renders. Jupyter Book's cache is keyed
on the text of the code cells only; this module adds, per notebook, a
**stamp** (:func:`notebook_stamp`): a hash of its code cells, of the package's
code (:func:`code_digest`, every file of ``resnet_ode``), of the environment
(:func:`environment_digest`: Python, the installed distributions, the
variables that decide the numeric code paths, the published-entries manifest
if there is one) and, for the notebooks that read other chapters' key numbers,
of those numbers. A notebook is executed again only when its stamp changed or
its executed copy is missing, so a second build with nothing changed executes
nothing, and a change of the package re-executes every notebook (the book never
renders outputs of other code).

The executed copies (the notebook with the outputs of its execution) are kept
next to the stamps, in the folder :func:`store_dir` inside the Jupyter cache
(removed with it); ``make test`` compares them with the committed notebooks by
nbval's rules instead of executing every notebook a second time
(:func:`executed_copy`, used by the repository's ``conftest.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat

from resnet_ode.book.executors import LocalPool, workers_per_job
from resnet_ode.book.notebooks import execute_notebook, shown_path
from resnet_ode.book.processes import scratch_path
from resnet_ode.util.environ import environment
from resnet_ode.util.paths import repo_root
from resnet_ode.util.storage import atomic_path

#: Environment variables that decide what a kernel computes (numeric code paths, threads, the cache and durations).
STAMPED_VARIABLES = ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                     "MKL_NUM_THREADS", "RESNET_ODE_CACHE", "RESNET_ODE_ROOT", "RESNET_ODE_DURATION_SCALE",
                     "RESNET_ODE_PUBLISHED")

#: The published cache entries' manifest (a file hash of the stamp when present).
MANIFEST = Path("data") / "published" / "manifest.json"


def toc_entries(toc_path=None) -> list[dict]:
    """The pages the table of contents lists (its ``root`` and every ``file``), in its order.

    Returns
    -------
    list of dict
        ``{"file": path as written in _toc.yml (no suffix), "title": its title or None}`` per page.
    """
    import yaml

    toc = yaml.safe_load(Path(toc_path or repo_root() / "_toc.yml").read_text())
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    found.append({"file": value, "title": node.get("title")})
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def toc_notebooks(toc_path=None) -> list[Path]:
    """The notebooks (``.ipynb``) listed in the table of contents, in its order."""
    root = repo_root()
    found = []
    for entry in toc_entries(toc_path):
        path = root / entry["file"]
        path = path if path.suffix else path.with_suffix(".ipynb")
        if path.suffix == ".ipynb" and path.is_file():
            found.append(path)
    return list(dict.fromkeys(found))


def book_notebooks(toc_path=None) -> list[Path]:
    """The notebooks of the table of contents, then every other notebook under ``book/`` (the run template).

    All of them are executed by ``execute-book``, so that ``make test``
    compares every committed notebook with an execution of the current code.
    """
    listed = toc_notebooks(toc_path)
    others = sorted(p for p in (repo_root() / "book").rglob("*.ipynb")
                    if ".ipynb_checkpoints" not in p.parts and p not in set(listed))
    return listed + others


def reads_numbers(nb) -> bool:
    """Whether a notebook reads other chapters' key numbers (``read_numbers``): it runs after the others."""
    return any("read_numbers(" in c.source for c in nb.cells if c.cell_type == "code")


_WRITES = re.compile(r"""write_numbers\(\s*(['"])([^'"]+)\1""")


def written_numbers(nb) -> set[str]:
    """The chapters whose key numbers a notebook writes (``write_numbers("4", ...)`` gives ``{"4"}``)."""
    return {m.group(2) for c in nb.cells if c.cell_type == "code" for m in _WRITES.finditer(c.source)}


def execution_stages(paths) -> list[list[Path]]:
    """``paths`` in two stages: notebooks that read other chapters' numbers (``read_numbers``) run last.

    Within a stage the larger notebooks (more code cells) come first, so
    that parallel jobs finish together.
    """
    first, last = [], []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        (last if reads_numbers(nb) else first).append((len(code), path))
    order = lambda items: [p for _, p in sorted(items, key=lambda item: -item[0])]  # noqa: E731
    return [stage for stage in (order(first), order(last)) if stage]


def check_book_cache(cache_path) -> Path:
    """``cache_path`` if it can be used safely: absent, empty, or a Jupyter cache (it has ``global.db``).

    Raises
    ------
    ValueError
        Naming the folder, if it holds anything else: a mistyped path must
        never get entries written into (or removed from) a folder the build
        did not write.
    """
    path = Path(cache_path)
    if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not (path / "global.db").is_file())):
        raise ValueError(f"{path} is not a Jupyter Book execution cache (no global.db in it); "
                         "refusing to empty it. Give the folder of execute.cache in _config.yml")
    return path


# ----------------------------------------------------------------------------
# stamps
# ----------------------------------------------------------------------------


def _sha(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def code_digest(package=None) -> str:
    """A hash of every file of the ``resnet_ode`` package (``package``: its folder), compiled files left out."""
    folder = Path(package) if package else Path(__file__).resolve().parents[1]
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and p.suffix not in (".pyc", ".pyo"))
    return _sha(*(x for p in files for x in (p.relative_to(folder).as_posix(), p.read_bytes())))


def environment_digest() -> str:
    """A hash of what else decides a notebook's outputs: Python, the installed distributions and their versions,
    :data:`STAMPED_VARIABLES`, and the published-entries manifest when the repository has one."""
    from importlib import metadata

    dists = sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]})
    manifest = repo_root() / MANIFEST
    return _sha(sys.version, *dists, *(f"{k}={os.environ.get(k)}" for k in STAMPED_VARIABLES),
                manifest.read_bytes() if manifest.is_file() else "no manifest")


def numbers_digest(exclude=()) -> str:
    """A hash of the chapters' key numbers in ``_build/numbers`` (what ``read_numbers`` reads).

    ``exclude``: chapters left out (a notebook's stamp leaves out the numbers
    it writes itself, which its own execution changes).
    """
    folder = repo_root() / "_build" / "numbers"
    skip = {f"chapter-{c}.json" for c in exclude}
    files = sorted(p for p in folder.glob("chapter-*.json") if p.name not in skip) if folder.is_dir() else []
    return _sha(*(x for p in files for x in (p.name, p.read_bytes())))


def notebook_stamp(nb, base: str) -> str:
    """The stamp of the notebook ``nb`` under ``base`` (:func:`code_digest` and :func:`environment_digest`).

    Its code cells (source and metadata) and kernel; the key numbers too
    when it reads them, less those it writes itself (else its own execution,
    which writes them, would leave its stamp out of date). Markdown cells are
    left out: the book takes them from the notebook itself, and they execute
    nothing.
    """
    cells = [{"source": c.source, "metadata": {k: v for k, v in c.metadata.items() if k not in ("execution", "papermill")}}
             for c in nb.cells if c.cell_type == "code"]
    payload = json.dumps({"cells": cells, "kernel": nb.metadata.get("kernelspec", {})}, sort_keys=True)
    return _sha(payload, base, numbers_digest(exclude=written_numbers(nb)) if reads_numbers(nb) else "")


def current_base() -> str:
    """The part of every stamp that is the same for all notebooks: :func:`code_digest` and :func:`environment_digest`."""
    return _sha(code_digest(), environment_digest())


# ----------------------------------------------------------------------------
# the executed copies
# ----------------------------------------------------------------------------


def store_dir(cache_path) -> Path:
    """Folder of the stamps and executed copies: ``resnet-ode/`` in the Jupyter cache (removed with it)."""
    return Path(cache_path) / "resnet-ode"


def _key(path: Path) -> str:
    root = repo_root()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _copy_path(store: Path, key: str) -> Path:
    return store / "executed" / f"{_sha(key)[:20]}.ipynb"


def load_state(cache_path) -> dict:
    """The stamps of the last execution: ``{"notebooks": {key: {stamp, pk, seconds}}, "numbers": digest}``."""
    path = store_dir(cache_path) / "stamps.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"notebooks": {}, "numbers": None}
    return state if isinstance(state.get("notebooks"), dict) else {"notebooks": {}, "numbers": None}


def _save_state(cache_path, state: dict):
    path = store_dir(cache_path) / "stamps.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))


def with_outputs(source, executed):
    """``source`` with the outputs and execution counts of its code cells taken from ``executed``.

    The notebook Jupyter Book renders and ``make test`` compares: the cells,
    their metadata and the notebook's metadata as committed (so that Jupyter
    Book's cache matches it), the outputs as executed.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(source)))
    code = [c for c in nb.cells if c.cell_type == "code"]
    done = [c for c in executed.cells if c.cell_type == "code"]
    if len(code) != len(done):
        raise RuntimeError(f"the executed notebook has {len(done)} code cells, its source {len(code)}")
    for cell, ran in zip(code, done):
        cell.outputs = ran.get("outputs", [])
        cell.execution_count = ran.get("execution_count")
    return nb


def executed_copy_path(path, cache_path) -> Path:
    """Where the executed copy of the notebook ``path`` is kept (it may not exist)."""
    return _copy_path(store_dir(cache_path), _key(Path(path).resolve()))


def executed_copy(path, cache_path):
    """The executed copy of the notebook ``path`` if it was executed under its current stamp; else why not.

    Returns
    -------
    (nbformat.NotebookNode or None, str)
        The copy and ``""``; or ``None`` and the reason (never executed,
        changed since, or the package code, the environment or the numbers
        it reads changed).
    """
    path = Path(path).resolve()
    key = _key(path)
    record = load_state(cache_path)["notebooks"].get(key)
    copy = _copy_path(store_dir(cache_path), key)
    if record is None or not copy.is_file():
        return None, f"{shown_path(path)} has no executed copy in {cache_path}: run `resnet-ode execute-book` (make book)"
    if record.get("stamp") != notebook_stamp(nbformat.read(path, as_version=4), current_base()):
        return None, (f"{shown_path(path)} was executed before its code cells, the package code, the environment or "
                      "the numbers it reads changed: run `resnet-ode execute-book` (make book) again")
    return nbformat.read(copy, as_version=4), ""


# ----------------------------------------------------------------------------
# execution
# ----------------------------------------------------------------------------


#: A folder for one read log per notebook (``resnet_ode.training.cache.note_read``): each execution of a
#: notebook rewrites its own log, and a notebook not executed again keeps the log of its last execution, so the
#: logs together say what the book as it stands reads (``resnet-ode publish``).
READ_LOGS_ENV = "RESNET_ODE_READ_LOGS"


def read_log_path(path, folder) -> Path:
    """The read log of the notebook ``path`` in the folder ``folder``."""
    return Path(folder) / f"{_key(Path(path).resolve()).replace('/', '__')}.log"


def _execute_for_book(path: Path, timeout: int, workers: int, read_log: Path | None = None):
    """Execute a notebook in its folder; returns ``(executed notebook or None, seconds, error text or None)``."""
    t0 = time.perf_counter()
    log = {}
    if read_log is not None:
        read_log.parent.mkdir(parents=True, exist_ok=True)
        read_log.write_text("")  # this execution's reads replace the last one's
        log = {"RESNET_ODE_READ_LOG": str(read_log)}
    with scratch_path(path.stem) as folder, environment({"RESNET_ODE_WORKERS": workers, **log}):
        try:
            nb = execute_notebook(path, folder / path.name, cwd=path.parent, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - reported by the parent, naming the notebook
            if type(exc).__name__ != "PapermillExecutionError":
                raise
            return None, time.perf_counter() - t0, str(exc).strip()
    return nb, time.perf_counter() - t0, None


def execute_into_book_cache(paths, cache_path, jobs: int = 2, timeout: int = 3600, force: bool = False) -> list[Path]:
    """Execute the notebooks among ``paths`` whose stamp changed, ``jobs`` at a time, into the Jupyter Book cache.

    A notebook is skipped when its stamp (:func:`notebook_stamp`) is the one
    of its last execution, its executed copy is kept and Jupyter Book's cache
    holds it (matched as the build looks it up). Every other notebook is
    executed (:func:`resnet_ode.book.notebooks.execute_notebook`), with
    ``RESNET_ODE_WORKERS`` chosen so that the kernels' worker processes fit the
    machine's cores (:func:`resnet_ode.book.executors.workers_per_job`), and
    stored in the cache and as executed copy. Notebooks that read other
    chapters' numbers run after all others (:func:`execution_stages`), and
    again whenever those numbers changed. ``force`` executes every notebook.

    Returns
    -------
    list of Path
        The notebooks executed, in the order they were stored.

    Raises
    ------
    ValueError
        If ``cache_path`` holds something other than a Jupyter cache
        (:func:`check_book_cache`); nothing is executed or written.
    RuntimeError
        If a notebook raises; the error names it and shows its traceback
        (the notebooks executed before it are stored).
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    paths = [Path(p).resolve() for p in paths]
    cache = get_cache(str(check_book_cache(cache_path)))
    cache.list_cache_records()  # creates global.db now: a folder this wrote is always recognised as a cache
    store = store_dir(cache_path)
    state = load_state(cache_path)
    if force or state.get("numbers") != numbers_digest():  # numbers removed or edited: every notebook again
        state = {"notebooks": {}, "numbers": None}
    base = current_base()
    workers = workers_per_job(jobs)
    done = []

    for k, stage in enumerate(execution_stages(paths), 1):
        sources = {p: nbformat.read(p, as_version=4) for p in stage}
        stamps = {p: notebook_stamp(sources[p], base) for p in stage}
        todo = [p for p in stage if not _current(cache, store, state, p, sources[p], stamps[p])]
        results = {}

        def keep(i, value, todo=todo, results=results):
            nb, seconds, error = value
            if error is not None:
                raise RuntimeError(f"{shown_path(todo[i])} raised an exception:\n{error}")
            results[todo[i]] = (nb, seconds)

        try:
            logs = os.environ.get(READ_LOGS_ENV)
            LocalPool(jobs).map([(_execute_for_book, (path, timeout, workers,
                                                      read_log_path(path, logs) if logs else None), {})
                                 for path in todo],
                                f"executing notebooks ({k}: {len(todo)} of {len(stage)} changed)", on_result=keep)
        finally:  # what finished is stored, also when another notebook raised
            for path in [p for p in todo if p in results]:  # one writer for the cache's database
                nb, seconds = results[path]
                key = _key(path)
                executed = with_outputs(sources[path], nb)
                old = state["notebooks"].pop(key, None)
                if old and old.get("pk") is not None:
                    try:
                        cache.remove_cache(old["pk"])
                    except KeyError:
                        pass
                record = cache.cache_notebook_bundle(CacheBundleIn(executed, str(path),
                                                                   data={"execution_seconds": seconds}),
                                                     check_validity=False, overwrite=True)
                copy = _copy_path(store, key)
                copy.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(copy) as tmp:
                    nbformat.write(executed, tmp)
                state["notebooks"][key] = {"stamp": stamps[path], "pk": record.pk, "seconds": round(seconds, 1)}
                done.append(path)
            state["numbers"] = numbers_digest()
            _save_state(cache_path, state)
    from resnet_ode.book.sitedata import record_execution

    seconds = {p: state["notebooks"][_key(p)]["seconds"] for p in paths if _key(p) in state["notebooks"]}
    record_execution(seconds)
    return done


def _current(cache, store: Path, state: dict, path: Path, source, stamp: str) -> bool:
    """Whether ``path`` was executed under ``stamp``, its copy is kept and the cache serves it to the build."""
    key = _key(path)
    record = state["notebooks"].get(key)
    if record is None or record.get("stamp") != stamp or not _copy_path(store, key).is_file():
        return False
    try:
        return cache.match_cache_notebook(source).pk == record.get("pk")
    except KeyError:
        return False
