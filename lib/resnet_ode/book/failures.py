"""How a command's failures reach the user: one line each, on the terminal of the command.

- :class:`CommandFailed`: something the command needs failed (a folder it
  cannot write, a disk that is full, a kernel that died): ``error: ...`` and
  exit status 1. :func:`check_writable` finds an output that cannot be
  written before any work; :func:`os_error_text` says what an ``OSError``
  that ended a command means and what to do.
- :func:`report_cache_warnings`: the cache warnings a page's kernel raised
  (an entry set aside, a result not stored), which would otherwise only be
  inside the notebook; :func:`cache_warnings_as_lines`: those of the
  command's own process, in the same one line.
- :func:`outside_failure_text`: a worker process or a kernel that died, a
  cell that ran longer than its time limit, in one line.
- :func:`quiet_kernel_death`: nbclient's own log lines about a dead kernel or
  a timed-out cell are dropped, the command's error says it.
"""

from __future__ import annotations

import contextlib
import re
import sys
import warnings
from pathlib import Path


class CommandFailed(Exception):
    """Something the command needs failed (a folder it cannot write, a disk that is full, a kernel that died):
    reported as one ``error: ...`` line with exit status 1."""


def check_writable(path, what: str) -> Path:
    """Raise :class:`CommandFailed` unless a file can be created at ``path`` (a folder: in it), before any work.

    Nothing is created: a test file goes into the nearest folder that exists and is removed at once.
    """
    import tempfile

    path = Path(path).absolute()
    is_file = what.endswith("file")
    existing = path.parent if is_file else path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if is_file and path.is_dir():
        problem = "it is a folder"
    elif not is_file and path.exists() and not path.is_dir():
        problem = "it is a file, not a folder"
    elif not existing.is_dir():
        problem = f"{existing} is a file, not a folder"
    else:
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            problem = f"cannot create files in {existing}: {exc.strerror or exc}"
    if problem:
        raise CommandFailed(f"{what} {path}: {problem}; nothing was run. Give a path in a folder you can write to")
    return path


def os_error_text(exc: OSError) -> str:
    """One line for an ``OSError`` that ended a command: what failed and what to do."""
    import errno

    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"no space left to write{where} ({exc.strerror}): free space on that disk (or point RESNET_ODE_CACHE "
                "or --output elsewhere) and run the same command again; finished runs are cached")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write{where} ({exc.strerror}): make it writable, or give another path"
    return f"{exc.strerror or type(exc).__name__}:{where or ' ' + str(exc)}; check the path and run the same command again"


def outside_failure_text(exc: BaseException) -> str | None:
    """One line for work that ended without a cell or a run raising (a worker process or a notebook's kernel
    died, a cell ran longer than its time limit), saying what to do; ``None`` for any other exception."""
    name = type(exc).__name__
    if _lost_run_worker(exc):
        return ("a worker process of a run died while it computed (killed from outside, or out of memory); finished "
                "runs are cached, pages not finished keep their previous content. Run the same command again (with "
                "fewer --jobs or RESNET_ODE_WORKERS if memory ran out)")
    if name == "BrokenProcessPool":  # a worker process of the local pool killed (the out-of-memory killer, kill -9)
        return ("a worker process of this command died (killed from outside, or out of memory); finished runs are "
                "cached and finished pages written, pages not finished keep their previous content. Run the same "
                "command again (with fewer --jobs if memory ran out)")
    if name == "DeadKernelError":  # killed from outside, e.g. by the out-of-memory killer
        return ("a notebook's kernel died while it executed (killed from outside, or out of memory: "
                f"{str(exc).strip() or 'Kernel died'}); pages not finished keep their previous content. "
                "Run the same command again (with fewer --jobs if memory ran out)")
    if name == "CellTimeoutError":  # nbclient's: a TimeoutError, so an OSError
        text = str(exc)
        seconds = re.search(r"after (\d+) seconds", text)
        cell = re.search(r"^-+\n(.*?)$", text, re.MULTILINE)
        where = "".join(f"; {' '.join(note.split())}" for note in getattr(exc, "__notes__", ()))
        return (f"a notebook cell ran longer than the time limit of {seconds.group(1) if seconds else 'its'} s per "
                f"cell (the cell {cell.group(1).strip()[:80]!r}){where}; pages not finished keep their previous "
                "content. Give a larger --timeout (seconds per cell)") if cell else (
                f"a notebook cell ran longer than its time limit{where}; pages not finished keep their previous "
                "content. Give a larger --timeout (seconds per cell)")
    return None


#: The module of a run's worker processes; a broken connection raised there means a worker died.
_RUN_WORKERS = str(Path("resnet_ode") / "core" / "parallel.py")


def _lost_run_worker(exc: BaseException) -> bool:
    """True for an ``EOFError`` or broken connection that :mod:`resnet_ode.core.parallel` raised (a run's worker
    process died): in this process, in a pool process (the traceback is the cause's text) or in a notebook's cell
    (nbclient's and papermill's errors carry the name and the traceback's text)."""
    lost = (EOFError, BrokenPipeError, ConnectionResetError)
    if not (isinstance(exc, lost) or getattr(exc, "ename", None) in {e.__name__ for e in lost}):
        return False
    where = getattr(exc, "traceback", "") or ""
    texts = ["".join(where) if isinstance(where, list) else str(where), str(exc.__cause__ or "")]
    tb = exc.__traceback__
    while tb is not None:
        texts.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    return any(_RUN_WORKERS in text for text in texts)


#: How a :class:`resnet_ode.training.cache.CacheWarning` a kernel raised reads in its notebook (``warnings``' format).
CACHE_WARNING_RE = re.compile(r"^.*?:\d+: CacheWarning: (.*)$", re.MULTILINE)


@contextlib.contextmanager
def cache_warnings_as_lines():
    """The cache warnings this process raises (a result not stored, an entry set aside) as one ``warning: ...``
    line each, once, like those of its kernels (:func:`report_cache_warnings`), instead of Python's two lines
    (this package's file and line, then its source)."""
    from resnet_ode.training.cache import CacheWarning

    seen = set()
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, CacheWarning):
                return shown(message, category, filename, lineno, file, line)
            if str(message) not in seen:
                seen.add(str(message))
                print(f"warning: {message}", file=sys.stderr)

        warnings.showwarning = show
        yield


def report_cache_warnings(*pages):
    """Print on this terminal, once each, the cache warnings the kernels of ``pages`` raised (an entry set aside, a
    result not stored): otherwise they would only be inside the notebooks (``run``, ``sweep``, ``rerun``)."""
    import nbformat

    texts = []
    for page in pages:
        try:
            nb = nbformat.read(page, as_version=4)
        except Exception:  # noqa: BLE001 - the page was just written; nothing to add if it cannot be read
            continue
        texts += [out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                  for out in cell.get("outputs", [])
                  if out.get("output_type") == "stream" and out.get("name") == "stderr"]
    for message in dict.fromkeys(m.strip() for text in texts for m in CACHE_WARNING_RE.findall(text)):
        print(f"warning: {message}", file=sys.stderr)


class _KernelDeathFilter:
    """Drops nbclient's "Kernel died while waiting for execute reply." and "Timeout waiting for execute reply" log
    lines, and asyncio's "Task was destroyed but it is pending!" after a cell timed out: the command's error says it."""

    @staticmethod
    def filter(record) -> bool:
        return not str(record.msg).startswith(("Kernel died", "Timeout waiting for execute reply",
                                               "Task was destroyed but it is pending"))


class _ShutdownTaskFilter:
    """Drops asyncio's "Task was destroyed but it is pending!" about ipykernel's ``Kernel.dispatch_control`` task."""

    @staticmethod
    def filter(record) -> bool:
        text = str(record.msg)
        return not (text.startswith("Task was destroyed but it is pending") and "dispatch_control" in text)


def quiet_kernel_shutdown():
    """In a kernel: drop the line asyncio prints when ipykernel shuts down with its control-dispatch task pending.

    Run by every kernel the package starts (:data:`resnet_ode.book.processes.KERNEL_START`): ipykernel
    (``Kernel.dispatch_control``) can leave that task pending at shutdown, at random, and asyncio then
    writes "Task was destroyed but it is pending!" and the task on the kernel's stderr, which is the
    command's terminal, after a run that went well. Other asyncio messages are kept.
    """
    import logging

    logger = logging.getLogger("asyncio")
    if not any(isinstance(f, _ShutdownTaskFilter) for f in logger.filters):
        logger.addFilter(_ShutdownTaskFilter())


def quiet_kernel_death():
    """Drop nbclient's "Kernel died" and "Timeout waiting" log lines (papermill's and nbclient's loggers) and
    asyncio's line about the task a timed-out cell left: the command's error says what happened."""
    import logging

    for name in ("papermill", "traitlets", "asyncio"):  # papermill's client, nbclient, a timed-out cell's task
        logger = logging.getLogger(name)
        if not any(isinstance(f, _KernelDeathFilter) for f in logger.filters):
            logger.addFilter(_KernelDeathFilter())
