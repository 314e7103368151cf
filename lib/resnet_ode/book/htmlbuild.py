"""The HTML book rendered again only when something it is rendered from changed.

``jupyter-book build --all`` renders every page from the executed notebooks, about a
minute on two cores, also when nothing changed since the last build (the second
``make book``, the one ``make test`` starts with). :func:`build` skips it when the
digest of everything the build reads (:func:`inputs_digest`) equals the digest
recorded after the last build that succeeded, and says so on one line; otherwise it
removes the record, builds with warnings as errors, and records the digest of the
inputs it started from. ``resnet-ode html --force`` (``make html HTML_FLAGS=--force``)
builds in any case.

What the build reads: every file of the repository that git tracks or would track
(the pages, ``_config.yml``, ``_toc.yml``, the package whose docstrings make the API
pages, the published data's manifest), the executed notebooks and the numbers the
notebooks wrote (:data:`BUILD_INPUTS` under ``_build``), the shipped MathJax, and the
environment (:func:`resnet_ode.book.bookcache.environment_digest`: Python, the
installed distributions and their versions). The contents are hashed, not the times:
a run page executed again into the same bytes changes nothing.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from resnet_ode.util.paths import repo_root

#: Folders under ``_build`` the HTML build reads: the executed notebooks (Jupyter Book's execution cache, without
#: its database, which records when entries were read), the numbers the chapters wrote, MathJax, and the study
#: tables the site publishes.
BUILD_INPUTS = (".jupyter_cache", "numbers", "static", "study")

#: Files under :data:`BUILD_INPUTS` that are not inputs.
IGNORED_SUFFIXES = (".db", ".db-journal", ".lock")

#: Where the digest of the last successful build's inputs is kept.
RECORD = Path("_build") / "html-inputs.sha256"


def source_files(root: Path) -> list[Path]:
    """The files of the repository git tracks or would track (not ignored), sorted; every file outside ``.git``,
    ``_build``, ``.venv`` and ``node_modules`` when ``root`` is not a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True).stdout
        names = {p for p in out.decode().split("\0") if p}
        files = [root / p for p in names]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", "_build", ".venv", "node_modules"}
        files = [p for p in root.rglob("*") if not skip & set(p.relative_to(root).parts)]
    return sorted(p for p in files if p.is_file())


def _build_inputs(root: Path) -> list[Path]:
    files = []
    for name in BUILD_INPUTS:
        folder = root / "_build" / name
        if folder.is_dir():
            files += [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(IGNORED_SUFFIXES)]
    return sorted(files)


def inputs_digest(root=None) -> str:
    """SHA-256 over the names and contents of everything the HTML build reads (see the module docstring)."""
    from resnet_ode.book.bookcache import environment_digest

    root = Path(root) if root is not None else repo_root()
    h = hashlib.sha256(environment_digest().encode())
    for path in source_files(root) + _build_inputs(root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def is_current(root=None, digest: str | None = None) -> bool:
    """True when the built book exists and its recorded inputs digest is ``digest`` (default: the current one)."""
    root = Path(root) if root is not None else repo_root()
    record = root / RECORD
    if not (root / "_build" / "html" / "index.html").is_file() or not record.is_file():
        return False
    return record.read_text().strip() == (digest or inputs_digest(root))


def jupyter_book_command() -> list[str]:
    """``jupyter-book build --all -W -n --keep-going .``: every page, warnings (and broken references) as errors."""
    return [str(Path(sys.executable).with_name("jupyter-book")), "build", "--all", "-W", "-n", "--keep-going", "."]


def build(force: bool = False, root=None, command=None) -> bool:
    """Build the HTML book unless its inputs are unchanged since the last successful build.

    Parameters
    ----------
    force : bool
        Build even when the inputs are unchanged.
    root : path, optional
        The repository (default :func:`~resnet_ode.util.paths.repo_root`).
    command : list of str, optional
        The build command (default :func:`jupyter_book_command`), run in ``root``.

    Returns
    -------
    bool
        True when the book was built, False when it was current. A failed build raises
        ``subprocess.CalledProcessError`` and records no digest, so the next call builds again.
    """
    root = Path(root) if root is not None else repo_root()
    digest = inputs_digest(root)
    if not force and is_current(root, digest):
        print(f"HTML book current: nothing it is built from changed since its last build ({RECORD}; "
              "`resnet-ode html --force` builds it again)")
        return False
    record = root / RECORD
    record.unlink(missing_ok=True)
    subprocess.run(command or jupyter_book_command(), cwd=root, check=True)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(digest + "\n")
    return True
