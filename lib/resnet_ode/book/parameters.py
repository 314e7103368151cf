"""Checks of chapter parameters: each turns a bad value into one message naming the parameter and what it allows.

A chapter notebook's ``parameters`` cell lists values a reader may change
(``resnet-ode rerun 3.1 --param 'depths=[8, 16]'``). Each has a check here,
``check(name, value) -> value`` with an ``allowed`` attribute (what it accepts,
in words, shown in the book's rerun boxes), and :func:`checked_changes` checks
the run settings a chapter applies to all its runs before any run is made.
"""

from __future__ import annotations

from typing import Callable

from resnet_ode.training.runs import RunConfig
from resnet_ode.util.validate import check_float, check_int


def _allowing(check: Callable, allowed: str) -> Callable:
    """``check`` with an ``allowed`` attribute: what it accepts, in words (shown in the book's rerun boxes)."""
    check.allowed = allowed
    return check


def int_param(lo: int, hi: int | None = None) -> Callable:
    """Check of an integer chapter parameter in ``[lo, hi]``: ``check(name, value) -> value``."""
    return _allowing(lambda name, value: check_int(name, value, min_value=lo, max_value=hi),
                     f"integer in [{lo}, {hi}]" if hi is not None else f"integer >= {lo}")


def float_param(lo: float, hi: float, strict_min: bool = False) -> Callable:
    """Check of a real chapter parameter in ``[lo, hi]`` (``(lo, hi]`` with ``strict_min``)."""
    return _allowing(lambda name, value: check_float(name, value, min_value=lo, max_value=hi, strict_min=strict_min),
                     f"number in {'(' if strict_min else '['}{lo:g}, {hi:g}]")


def float_list_param(lo: float, hi: float, min_distinct: int = 1) -> Callable:
    """Check of a list of reals in ``(lo, hi]`` with at least ``min_distinct`` distinct values."""
    what = f"a list of {'at least ' + str(min_distinct) + ' distinct ' if min_distinct > 1 else ''}numbers in ({lo:g}, {hi:g}]"

    def check(name, value):
        if not isinstance(value, (list, tuple)) or not value:
            raise TypeError(f"{name} must be {what}, got {value!r}")
        for v in value:
            check_float(name, v, min_value=lo, max_value=hi, strict_min=True)
        if len(set(value)) < min_distinct:
            raise ValueError(f"{name} must be {what}, got {value!r}")
        return value

    return _allowing(check, what)


def int_list_param(lo: int, hi: int | None = None, min_distinct: int = 1) -> Callable:
    """Check of a list of integers in ``[lo, hi]`` with at least ``min_distinct`` distinct values."""
    allowed = f"integers in [{lo}, {hi}]" if hi is not None else f"integers >= {lo}"
    what = f"a list of {'at least ' + str(min_distinct) + ' distinct ' if min_distinct > 1 else ''}{allowed}"

    def check(name, value):
        if not isinstance(value, (list, tuple)) or not value:
            raise TypeError(f"{name} must be {what}, got {value!r}")
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
                raise ValueError(f"{name} must be {what}; {v!r} is not allowed (got {name}={value!r})")
        if len(set(value)) < min_distinct:
            raise ValueError(f"{name} must be {what}, got {value!r}")
        return value

    return _allowing(check, what)


def run_changes_param(name, value):
    """Check of a ``changes`` parameter: a dict of :class:`~resnet_ode.training.trainer.RunConfig` settings.

    The values are checked when the runs are made (by ``RunConfig``), with
    the same messages as ``--set``.
    """
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict of run settings, e.g. {{'T': 10.0}}, got {value!r}")
    unknown = sorted(set(value) - set(RunConfig.fields()), key=str)
    if unknown:
        raise ValueError(f"{name}: unknown run setting(s) {unknown}; allowed: {', '.join(RunConfig.fields())}")
    return value


run_changes_param.allowed = "dict of run settings applied to every run (as --set NAME=VALUE)"


def checked_changes(parameters: dict, decided: dict, changes, **values) -> dict:
    """Check the chapter parameters ``values`` and the run settings ``changes`` a chapter's runs are made from.

    Parameters
    ----------
    parameters : dict of str -> callable
        The chapter's parameter checks (e.g. :data:`~resnet_ode.book.experiments.STATE_LAYER_PARAMETERS`);
        every entry of ``values`` goes through the check of its name, except
        ``seeds``, which must be a non-empty list (each seed is then checked
        as the run setting ``init_seed``).
    decided : dict of str -> str or None
        The run settings the chapter decides, each with the chapter parameter
        that sets it (``None``: fixed by the chapter); ``changes`` may not set them.
    changes : dict or None
        Run settings applied to every run (see :func:`run_changes_param`).

    Returns
    -------
    dict
        ``changes``, or an empty dict for ``None``.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter or setting, e.g. ``"changes: init_seed is set by
        the chapter parameter seeds (--param 'seeds=[...]')"``.
    """
    seeds = values.pop("seeds", [0])
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise ValueError(f"seeds must list at least one initial-weight seed (integers >= 0), got {seeds!r}")
    for name, value in values.items():
        parameters[name](name, value)
    if changes is None:
        return {}
    run_changes_param("changes", changes)
    taken = [k for k in decided if k in changes]
    if taken:
        raise ValueError("changes: " + "; ".join(
            f"{k} is fixed by the chapter" if decided[k] is None
            else f"{k} is set by the chapter parameter {decided[k]} (--param '{decided[k]}=...')" for k in taken))
    return dict(changes)
