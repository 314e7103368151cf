"""Environment variables set for the length of a block, then restored."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def environment(values: dict):
    """``os.environ`` updated by ``values`` inside the block, each variable restored (or removed) after it.

    Parameters
    ----------
    values : dict of str -> object or None
        Each value is set as ``str(value)``; a ``None`` value leaves its
        variable as it is.
    """
    values = {name: str(value) for name, value in values.items() if value is not None}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
