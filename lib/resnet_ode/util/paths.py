"""Where the project's files are: repository root, cache root, build numbers."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository root.

    ``RESNET_ODE_ROOT`` if set; otherwise the first folder at or above the
    working directory holding ``_config.yml`` and ``lib/``; otherwise the
    folder two levels above this package (an editable install).
    """
    env = os.environ.get("RESNET_ODE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "lib").is_dir():
            return folder
    return Path(__file__).resolve().parents[3]


def cache_dir() -> Path:
    """Root of the cache of every store (``RESNET_ODE_CACHE`` or ``_build/cache``).

    Not created here: only a write to the cache creates it (see :mod:`resnet_ode.training.cache`).
    A relative ``RESNET_ODE_CACHE`` is taken from the working folder (``resnet-ode``
    makes it absolute once, from the folder it was started in, before any kernel starts
    in another folder: :func:`absolute_environment`).
    """
    env = os.environ.get("RESNET_ODE_CACHE")
    return Path(env).absolute() if env else repo_root() / "_build" / "cache"


#: Variables naming folders; :func:`absolute_environment` makes them absolute.
PATH_VARS = ("RESNET_ODE_CACHE", "RESNET_ODE_ROOT", "RESNET_ODE_TMPDIR", "RESNET_ODE_PUBLISHED", "RESNET_ODE_READ_LOG",
             "RESNET_ODE_READ_LOGS")


def absolute_environment() -> dict:
    """The variables of :data:`PATH_VARS` that are set to a relative path, each made absolute from the working folder.

    For :func:`resnet_ode.util.environ.environment` at the start of a command: every
    process it starts (kernels, which run in a page's folder, and workers) then gets
    the same absolute folders.
    """
    return {name: os.path.abspath(os.path.expanduser(os.environ[name])) for name in PATH_VARS
            if os.environ.get(name) and not os.path.isabs(os.environ[name])}


def published_dir() -> Path:
    """Folder of the entries published with the book and their manifest (``RESNET_ODE_PUBLISHED`` or ``data/published``).

    Read-only for every command but ``resnet-ode publish`` (see :mod:`resnet_ode.training.cache`).
    """
    env = os.environ.get("RESNET_ODE_PUBLISHED")
    return Path(env).absolute() if env else repo_root() / "data" / "published"


def numbers_dir() -> Path:
    """Folder the chapters write their key numbers to (``_build/numbers``)."""
    path = repo_root() / "_build" / "numbers"
    path.mkdir(parents=True, exist_ok=True)
    return path
