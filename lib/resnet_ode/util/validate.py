"""Parameter checks that fail early with a message naming the parameter.

Every public entry point that starts expensive work validates its inputs with
these helpers first, so that a bad value stops the run before any compute and
the message says which parameter is wrong and what is allowed.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np


def check_int(name: str, value, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer within the range.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools and floats are rejected).
    ValueError
        If ``value`` lies outside ``[min_value, max_value]``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    _check_range(name, value, min_value, max_value, "an integer")
    return value


def check_float(
    name: str,
    value,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    strict_min: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within the range.

    ``strict_min=True`` excludes ``min_value`` itself (for example ``T > 0``).
    Every error names the parameter, the allowed range and the value given,
    e.g. ``T must be a finite real number in (0, 10000], got nan``.
    """
    def fail(exc_type, shown):
        allowed = _float_range(min_value, max_value, strict_min)
        return exc_type(f"{name} must be a finite real number{' ' + allowed if allowed else ''}, got {shown}")

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(TypeError, f"{value!r} ({type(value).__name__})")
    given = value
    try:
        value = float(value)
    except OverflowError:  # an int too large for a float
        raise fail(ValueError, f"{given!r}") from None
    if not np.isfinite(value):
        raise fail(ValueError, f"{given!r}")
    if min_value is not None and (value < min_value or (strict_min and value <= min_value)):
        raise fail(ValueError, f"{given!r}")
    if max_value is not None and value > max_value:
        raise fail(ValueError, f"{given!r}")
    return value


def _float_range(min_value, max_value, strict_min) -> str:
    if min_value is not None and max_value is not None:
        return f"in {'(' if strict_min else '['}{min_value:g}, {max_value:g}]"
    if min_value is not None:
        return f"{'>' if strict_min else '>='} {min_value:g}"
    if max_value is not None:
        return f"<= {max_value:g}"
    return ""


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices`` (strings)."""
    choices = list(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}, got {value!r} ({type(value).__name__})")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: allowed values are {choices}")
    return value


def _check_range(name, value, min_value, max_value, kind):
    if min_value is not None and value < min_value:
        if max_value is None:
            raise ValueError(f"{name} must be {kind} >= {min_value}, got {value!r}")
        raise ValueError(f"{name} must be {kind} in [{min_value}, {max_value}], got {value!r}")
    if max_value is not None and value > max_value:
        if min_value is None:
            raise ValueError(f"{name} must be {kind} <= {max_value}, got {value!r}")
        raise ValueError(f"{name} must be {kind} in [{min_value}, {max_value}], got {value!r}")
