"""How durations are printed (kept apart so that the training code does not depend on the report code)."""


def fmt_seconds(seconds: float) -> str:
    """Format a duration as ``"12.3 s"``.

    Durations vary between machines and runs; the notebooks' output checks
    replace every number followed by `` s`` with a placeholder, so print
    durations only through this function, and not inside aligned tables
    (a duration that gains a digit would widen its column).
    """
    return f"{seconds:.1f} s"
