"""Progress bars for training runs and sweeps.

Bars go to standard error (so notebook outputs that nbval compares are not
touched) and can be switched off with ``RESNET_ODE_PROGRESS=0``.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


def enabled() -> bool:
    return os.environ.get("RESNET_ODE_PROGRESS", "1") not in ("0", "false", "no")


def bar(total: int, desc: str, leave: bool = True, position: int | None = None):
    """A tqdm bar on stderr with ``total`` steps (a no-op bar when disabled)."""
    return tqdm(
        total=total,
        desc=desc,
        file=sys.stderr,
        leave=leave,
        position=position,
        disable=not enabled(),
        mininterval=0.5,
        dynamic_ncols=False,
        ncols=100,
        ascii=True,
    )
