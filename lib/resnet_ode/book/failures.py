"""How a command's failures reach the user: one line each, on the terminal of the command.

- :class:`CommandFailed`: something the command needs failed (a folder it
  cannot write, a disk that is full, a kernel that died): ``error: ...`` and
  exit status 1. :func:`check_writable` finds an output that cannot be
  written before any work; :func:`os_error_text` says what an ``OSError``
  that ended a command means and what to do.
- :func:`report_cache_warnings`: the cache warnings a page's kernel raised
  (an entry set aside, a result not stored), which would otherwise only be
  inside the notebook.
- :func:`quiet_kernel_death`: nbclient's own log line about a dead kernel is
  dropped, the command's error says it.
"""

from __future__ import annotations

import re
import sys
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


#: How a :class:`resnet_ode.training.cache.CacheWarning` a kernel raised reads in its notebook (``warnings``' format).
CACHE_WARNING_RE = re.compile(r"^.*?:\d+: CacheWarning: (.*)$", re.MULTILINE)


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
    """Drops nbclient's "Kernel died while waiting for execute reply." log line: the command says it in its error."""

    @staticmethod
    def filter(record) -> bool:
        return not str(record.msg).startswith("Kernel died")


def quiet_kernel_death():
    """Drop nbclient's "Kernel died" log line (papermill's and nbclient's loggers): the command's error says it."""
    import logging

    for name in ("papermill", "traitlets"):  # papermill's client logs to the first, nbclient's own to the second
        logger = logging.getLogger(name)
        if not any(isinstance(f, _KernelDeathFilter) for f in logger.filters):
            logger.addFilter(_KernelDeathFilter())
