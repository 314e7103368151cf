"""The key numbers of each chapter, written by the build to ``_build/numbers``.

Two builds can be compared by diffing these files. Values are plain JSON
(lists, floats, ints, strings).
"""

from __future__ import annotations

import numpy as np

from .paths import numbers_dir
from .storage import write_json


def to_jsonable(value):
    """Convert numpy scalars and arrays (also nested in dicts and lists) to plain JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_numbers(chapter: str, data: dict):
    """Write ``_build/numbers/chapter-<chapter>.json`` atomically and return its path."""
    return write_json(numbers_dir() / f"chapter-{chapter}.json", to_jsonable(data))


def fmt_seconds(seconds: float) -> str:
    """Format a duration as ``"12.3 s"``.

    Durations vary between machines and runs; the notebooks' output checks
    replace every number followed by `` s`` with a placeholder, so print
    durations only through this function.
    """
    return f"{seconds:.1f} s"


def format_table(headers, rows, floatfmt: str = "{:.4f}") -> str:
    """Rows of values as an aligned text table (floats with ``floatfmt``, strings as they are)."""
    cells = [[str(h) for h in headers]] + [
        [floatfmt.format(v) if isinstance(v, (float, np.floating)) else str(v) for v in row] for row in rows
    ]
    widths = [max(len(r[c]) for r in cells) for c in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
