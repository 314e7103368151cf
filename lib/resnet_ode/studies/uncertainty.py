"""Intervals for the numbers the verdicts rest on.

Two sources of uncertainty enter the book's numbers:

* **finite evaluation sets**: an accuracy measured on ``n`` points is a
  binomial share; :func:`wilson_interval` gives its interval (Wilson's score
  interval, which stays inside [0, 1] and behaves at 0 and 1 of ``n``);
  :func:`bootstrap_difference` gives the interval of a difference of two
  accuracies measured on the *same* points from their per-point correctness.
* **training seeds**: a result repeated over initial-weight seeds has a seed
  mean with a Student-t interval (:func:`seed_interval`); two results paired
  by seed give :func:`paired_difference`, unpaired ones
  :func:`welch_difference`.

When an accuracy is averaged over seeds that were all evaluated on the same
points, both sources apply: :func:`seed_interval` and
:func:`accuracy_difference` add the two half-widths in quadrature (as for
independent errors). With one seed only the evaluation-set part is known, and
the interval says so in its ``method``.

Intervals matched to the design, with the one-sided bounds that
:func:`resnet_ode.studies.verdicts.grade_margin` grades: :func:`paired_interval`
when two results share initial weights, :func:`population_estimate` for a
quantity computed on every grid point (no sampling term: the grid is the
population); both return a :class:`BoundedEstimate`.

Every function is deterministic; the bootstrap takes an explicit seed. Every interval is an
:class:`Estimate`. Non-finite bounds (an interval that cannot be formed, e.g. a t-interval
from one value) are written as ``None`` by :meth:`Estimate.to_dict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Confidence level of every interval unless a function is told otherwise.
LEVEL = 0.95


def _stats():  # scipy.stats on first use: its import takes about a second, paid by every run page's kernel
    from scipy import stats
    return stats


def _check_level(level) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    return level


def _z(level) -> float:
    return float(_stats().norm.ppf(0.5 + _check_level(level) / 2.0))


def _t(level, df) -> float:
    return float(_stats().t.ppf(0.5 + _check_level(level) / 2.0, df))


def _num(x):
    return None if x is None or not math.isfinite(x) else float(x)


def _fmt_num(x, digits, sign):
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


@dataclass(frozen=True)
class Estimate:
    """A number with its interval.

    Attributes
    ----------
    value : float
        The point estimate (an accuracy, a seed mean, a difference, ...).
    low, high : float
        Bounds of the interval; ``-inf`` / ``inf`` when none can be formed.
    n : int
        What the interval rests on: evaluation points for a binomial interval,
        seeds for a seed interval, resampled points for a bootstrap.
    method : str
        How the interval was formed, e.g. ``"wilson"``, ``"t over 3 seeds"``.
    minimum, maximum : float or None
        Smallest and largest value over seeds, where there are seeds.
    """

    value: float
    low: float
    high: float
    n: int
    method: str
    minimum: float | None = None
    maximum: float | None = None

    @property
    def width(self) -> float:
        """``high - low`` (``inf`` for an interval that could not be formed)."""
        return self.high - self.low

    @property
    def finite(self) -> bool:
        """Whether both bounds are finite."""
        return math.isfinite(self.low) and math.isfinite(self.high)

    def contains(self, x: float) -> bool:
        """Whether ``low <= x <= high``."""
        return self.low <= x <= self.high

    def fmt(self, digits: int = 3, sign: bool = False) -> str:
        """E.g. ``"0.985 [0.957, 0.995]"``; ``sign=True`` gives ``"+0.020 [-0.002, +0.050]"``.

        An interval that could not be formed reads ``"0.985 [no interval: 1 seed]"``; an
        exact number (:meth:`exact`) reads ``"0.985 (exact)"``.
        """
        v = _fmt_num(self.value, digits, sign)
        if self.method.startswith("exact"):
            return f"{v} (exact)"
        if not math.isfinite(self.low) and not math.isfinite(self.high):
            return f"{v} [no interval: {self.n} {'seed' if self.n == 1 else 'values'}]"
        return f"{v} [{_fmt_num(self.low, digits, sign)}, {_fmt_num(self.high, digits, sign)}]"

    def to_dict(self) -> dict:
        """Plain JSON types; non-finite bounds become ``None``, unset extremes are left out."""
        out = {"value": _num(self.value), "low": _num(self.low), "high": _num(self.high), "n": int(self.n),
               "method": self.method}
        if self.minimum is not None:
            out["min"] = _num(self.minimum)
        if self.maximum is not None:
            out["max"] = _num(self.maximum)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Estimate":
        """Inverse of :meth:`to_dict` (``None`` bounds become ``-inf`` / ``inf``)."""
        low = -math.inf if d.get("low") is None else float(d["low"])
        high = math.inf if d.get("high") is None else float(d["high"])
        return cls(float(d["value"]), low, high, int(d["n"]), str(d["method"]), d.get("min"), d.get("max"))

    @classmethod
    def exact(cls, value: float, note: str = "") -> "Estimate":
        """A number without uncertainty (a deterministic computation): ``low = high = value``.

        Its ``method`` is ``"exact"``, followed by ``": note"`` if a note is given.
        """
        value = float(value)
        return cls(value, value, value, 1, f"exact: {note}" if note else "exact")


# ----------------------------------------------------------------------------
# Binomial shares
# ----------------------------------------------------------------------------


def wilson_bounds(successes, n, level: float = LEVEL):
    """Wilson score bounds, vectorised.

    Parameters
    ----------
    successes : array_like
        Counts (non-integer counts, e.g. ``accuracy * n`` of a seed mean, are
        accepted), any shape.
    n : array_like of int
        Trials, broadcast against ``successes``; at least 1.
    level : float

    Returns
    -------
    low, high : ndarray
        The broadcast shape of ``successes`` and ``n``, clipped to [0, 1].
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n < 1):
        raise ValueError("n must be at least 1")
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("successes must lie between 0 and n")
    z = _z(level)
    p = x / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def wilson_interval(successes, n: int, level: float = LEVEL) -> Estimate:
    """Wilson score interval of a share ``successes / n``, e.g. an accuracy on ``n`` points.

    Examples
    --------
    196 of 200 validation points: ``wilson_interval(196, 200).fmt()`` gives
    ``"0.980 [0.950, 0.992]"``.
    """
    low, high = wilson_bounds(successes, n, level)
    return Estimate(float(successes) / float(n), float(low), float(high), int(n), "wilson")


def accuracy_interval(accuracy: float, n_points: int, level: float = LEVEL) -> Estimate:
    """:func:`wilson_interval` of an accuracy given as a share of ``n_points`` points."""
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"an accuracy lies in [0, 1], got {accuracy}")
    return wilson_interval(float(accuracy) * n_points, n_points, level)


# ----------------------------------------------------------------------------
# Seeds
# ----------------------------------------------------------------------------


def _quadrature(value, *halves):
    """Bounds ``value -/+ sqrt(sum of squared lower/upper half-widths)``."""
    lo = math.sqrt(sum(h[0] ** 2 for h in halves))
    hi = math.sqrt(sum(h[1] ** 2 for h in halves))
    return value - lo, value + hi


def seed_interval(values, level: float = LEVEL, n_points: int | None = None) -> Estimate:
    """Mean over seeds with its interval, and the smallest and largest value.

    Parameters
    ----------
    values : array_like, shape (s,)
        One result per seed.
    level : float
    n_points : int, optional
        If the values are accuracies on ``n_points`` points (the same points
        for every seed), the interval also covers the evaluation set.

    Returns
    -------
    Estimate
        ``value`` the mean, ``minimum``/``maximum`` the extremes, ``n = s``, and

        * ``s >= 2``: the Student-t interval ``mean +- t_{s-1} sd / sqrt(s)``;
          with ``n_points`` its half-width is combined in quadrature with the
          Wilson half-widths of the mean on ``n_points`` points (the points
          are shared by the seeds, so averaging does not shrink that part);
          the result is clipped to [0, 1];
        * ``s == 1`` with ``n_points``: the Wilson interval of the one value
          (only the evaluation set is accounted for: ``method`` says so);
        * ``s == 1`` without ``n_points``: no interval, ``low = -inf``,
          ``high = inf`` (a spread cannot be estimated from one value; a
          verdict graded on it is inconclusive).
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ValueError("seed_interval needs at least one value")
    s, mean = v.size, float(v.mean())
    lo_v, hi_v = float(v.min()), float(v.max())
    if s == 1:
        if n_points is None:
            return Estimate(mean, -math.inf, math.inf, 1, "1 seed: no interval", lo_v, hi_v)
        w = accuracy_interval(mean, n_points, level)
        return Estimate(mean, w.low, w.high, 1, f"wilson on {n_points} points (1 seed)", lo_v, hi_v)
    half = _t(level, s - 1) * float(v.std(ddof=1)) / math.sqrt(s)
    if n_points is None:
        return Estimate(mean, mean - half, mean + half, s, f"t over {s} seeds", lo_v, hi_v)
    w = accuracy_interval(min(max(mean, 0.0), 1.0), n_points, level)
    low, high = _quadrature(mean, (half, half), (mean - w.low, w.high - mean))
    return Estimate(mean, max(low, 0.0), min(high, 1.0), s, f"t over {s} seeds + wilson on {n_points} points",
                    lo_v, hi_v)


def paired_difference(a, b, level: float = LEVEL) -> Estimate:
    """Mean of the per-seed differences ``a - b`` with a Student-t interval.

    Parameters
    ----------
    a, b : array_like, shape (s,)
        Two results per seed, in the same seed order (e.g. RK4 and Euler
        networks started from the same initial weights).

    Returns
    -------
    Estimate
        ``n = s``; ``minimum``/``maximum`` of the differences; no interval
        (``-inf``, ``inf``) for ``s = 1``.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    est = seed_interval(a - b, level)
    method = "1 pair: no interval" if a.size == 1 else f"paired t over {a.size} seeds"
    return Estimate(est.value, est.low, est.high, est.n, method, est.minimum, est.maximum)


def welch_difference(a, b, level: float = LEVEL) -> Estimate:
    """Difference of two seed means ``mean(a) - mean(b)`` of unpaired results, Welch's t-interval.

    Parameters
    ----------
    a, b : array_like, shapes (s_a,) and (s_b,)

    Returns
    -------
    Estimate
        ``n = s_a + s_b``; no interval if either has one value only. With
        zero spread in both the interval is the point itself.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    d = float(a.mean() - b.mean())
    n = a.size + b.size
    if a.size < 2 or b.size < 2:
        return Estimate(d, -math.inf, math.inf, n, "welch: fewer than 2 seeds, no interval")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Estimate(d, d, d, n, "welch (no spread)")
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = _t(level, df) * se
    return Estimate(d, d - half, d + half, n, f"welch t over {a.size} and {b.size} seeds")


def mover_difference(a: Estimate, b: Estimate) -> Estimate:
    """Interval of ``a - b`` from the intervals of two independent estimates (Newcombe's MOVER).

    ``low = d - sqrt((a - a.low)^2 + (b.high - b)^2)``, ``high = d +
    sqrt((a.high - a)^2 + (b - b.low)^2)``. For two Wilson intervals this is
    Newcombe's hybrid score interval for a difference of proportions. For two
    accuracies measured on the same points it is conservative (their errors
    are positively correlated); with per-point correctness use
    :func:`bootstrap_difference`.
    """
    d = a.value - b.value
    low, high = _quadrature(d, (a.value - a.low, a.high - a.value), (b.high - b.value, b.value - b.low))
    return Estimate(d, low, high, min(a.n, b.n), f"mover ({a.method} - {b.method})")


def accuracy_difference(a, b, n_points: int, level: float = LEVEL, paired: bool = True) -> Estimate:
    """Difference of two accuracies over seeds, covering both seeds and the evaluation set.

    Parameters
    ----------
    a, b : array_like, shape (s,)
        Accuracies per seed on the same ``n_points`` points.
    n_points : int
    level : float
    paired : bool
        Whether ``a[i]`` and ``b[i]`` share a seed (same initial weights).

    Returns
    -------
    Estimate
        ``value = mean(a) - mean(b)``. The evaluation-set part is
        :func:`mover_difference` of the Wilson intervals of the two means; for
        ``s >= 2`` the seed part (:func:`paired_difference`, or
        :func:`welch_difference` if not paired) is added in quadrature. With
        one seed only the evaluation-set part is known.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if paired and a.size != b.size:
        raise ValueError(f"paired results need the same number of seeds, got {a.size} and {b.size}")
    ea = accuracy_interval(float(a.mean()), n_points, level)
    eb = accuracy_interval(float(b.mean()), n_points, level)
    test = mover_difference(ea, eb)
    d = test.value
    if a.size < 2 or b.size < 2:
        return Estimate(d, test.low, test.high, 1, f"mover of wilson on {n_points} points (1 seed)")
    seeds = paired_difference(a, b, level) if paired else welch_difference(a, b, level)
    low, high = _quadrature(d, (d - test.low, test.high - d), (d - seeds.low, seeds.high - d))
    return Estimate(d, low, high, seeds.n, f"{seeds.method} + mover of wilson on {n_points} points",
                    seeds.minimum, seeds.maximum)


def bootstrap_difference(correct_a, correct_b, n_boot: int = 2000, seed: int = 0, level: float = LEVEL) -> Estimate:
    """Paired bootstrap interval of ``accuracy(a) - accuracy(b)`` on the same points.

    Parameters
    ----------
    correct_a, correct_b : array_like of bool, shape (n,)
        Whether each point is classified correctly by network ``a`` / ``b``.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of ``numpy.random.default_rng``.
    level : float

    Returns
    -------
    Estimate
        The observed difference with the percentile interval of the resampled
        differences, ``n`` the number of points.

    Notes
    -----
    Resampling points with replacement (the same points for both networks)
    only changes how many points fall in each of the three classes of
    per-point difference (-1, 0, +1), so the resampled differences are drawn
    as multinomial counts: the same distribution as resampling indices,
    at a cost independent of ``n`` (65,536 grid points cost the same as 200).
    """
    a = np.asarray(correct_a, dtype=bool).ravel()
    b = np.asarray(correct_b, dtype=bool).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError("correct_a and correct_b must be non-empty and of the same length")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    n = a.size
    d = a.astype(int) - b.astype(int)
    counts = np.array([np.sum(d == -1), np.sum(d == 0), np.sum(d == 1)])
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=int(n_boot))
    diffs = (draws[:, 2] - draws[:, 0]) / n
    alpha = 1.0 - _check_level(level)
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    method = f"paired bootstrap ({int(n_boot)} resamples, seed {seed})"
    return Estimate(float(d.mean()), float(low), float(high), n, method)


# ----------------------------------------------------------------------------
# Counts of comparisons, fitted slopes
# ----------------------------------------------------------------------------


def sign_test(wins: int, n: int, ties: int = 0) -> float:
    """Two-sided sign-test p-value for "``wins`` of ``n`` comparisons went one way".

    Ties are left out: the test asks whether ``wins`` of the ``n - ties``
    untied comparisons is compatible with a fair coin. No untied comparison
    gives ``p = 1``. The comparisons are assumed independent.
    """
    wins, n, ties = int(wins), int(n), int(ties)
    if min(wins, n, ties) < 0 or wins + ties > n:
        raise ValueError(f"need 0 <= wins, ties and wins + ties <= n, got wins={wins}, ties={ties}, n={n}")
    untied = n - ties
    if untied == 0:
        return 1.0
    return float(_stats().binomtest(wins, untied, 0.5).pvalue)


def slope_interval(x, y, level: float = LEVEL) -> "BoundedEstimate":
    """Least-squares slope of ``y`` against ``x`` with its t-interval and one-sided bounds (``n - 2`` degrees of freedom).

    Parameters
    ----------
    x, y : array_like, shape (n,)
    level : float

    Returns
    -------
    BoundedEstimate
        ``[low, high]`` the two-sided interval ``slope -/+ t_{(1 + level) / 2,
        n - 2} se``, ``lower``/``upper`` the one-sided bounds ``slope -/+
        t_{level, n - 2} se``. No interval or bound for ``n = 2`` (two
        points fit exactly).
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError("x and y must be of the same length >= 2")
    level = _check_level(level)
    fit = _stats().linregress(x, y)
    slope = float(fit.slope)
    if x.size == 2:
        return BoundedEstimate(slope, -math.inf, math.inf, 2, "least squares through 2 points: no interval",
                               level=level)
    se = float(fit.stderr)
    two, one = _t(level, x.size - 2) * se, float(_stats().t.ppf(level, x.size - 2)) * se
    return BoundedEstimate(slope, slope - two, slope + two, x.size, f"least-squares slope, t over {x.size} points",
                           lower=slope - one, upper=slope + one, level=level)


# ----------------------------------------------------------------------------
# Intervals that match the design: one-sided bounds, paired seeds, populations
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundedEstimate(Estimate):
    """An :class:`Estimate` with one-sided bounds next to its two-sided interval.

    Attributes
    ----------
    value, low, high, n, method, minimum, maximum
        As in :class:`Estimate`; ``[low, high]`` is the two-sided interval at ``level``.
    lower, upper : float
        One-sided bounds, each at confidence ``level``: the quantity is at
        least ``lower`` (and, separately, at most ``upper``) with confidence
        ``level`` (together: the two-sided interval at ``2 level - 1``, 0.90 for
        0.95). ``-inf`` / ``inf`` when none can be formed.
    level : float
    """

    lower: float = -math.inf
    upper: float = math.inf
    level: float = LEVEL

    def fmt_bounds(self, digits: int = 3, sign: bool = False) -> str:
        """E.g. ``"-0.003 (95 % one-sided: >= -0.015, <= +0.009)"``; no bounds: ``"... (no bounds: 1 seed)"``."""
        v, f = _fmt_num(self.value, digits, sign), lambda x: _fmt_num(x, digits, sign)
        if not math.isfinite(self.lower) and not math.isfinite(self.upper):
            return f"{v} (no bounds: {self.n} {'seed' if self.n == 1 else 'values'})"
        return f"{v} ({100 * self.level:g} % one-sided: >= {f(self.lower)}, <= {f(self.upper)})"

    def to_dict(self) -> dict:
        """As :meth:`Estimate.to_dict`, with ``lower``, ``upper`` (``None`` if not finite) and ``level``."""
        return {**super().to_dict(), "lower": _num(self.lower), "upper": _num(self.upper), "level": self.level}

    @classmethod
    def from_dict(cls, d: dict) -> "BoundedEstimate":
        """Inverse of :meth:`to_dict`."""
        e = Estimate.from_dict(d)
        lower = -math.inf if d.get("lower") is None else float(d["lower"])
        upper = math.inf if d.get("upper") is None else float(d["upper"])
        return cls(e.value, e.low, e.high, e.n, e.method, e.minimum, e.maximum, lower, upper, float(d["level"]))


def _t_bounds(values, level: float, what: str, clip=None) -> BoundedEstimate:
    """Seed mean of ``values`` with its Student-t interval and one-sided bounds; none from one value."""
    _check_level(level)
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"{what} needs at least one value, all finite, got {v.tolist()}")
    s, mean = v.size, float(v.mean())
    if s == 1:
        return BoundedEstimate(mean, -math.inf, math.inf, 1, f"{what}: 1 seed, no interval", mean, mean, level=level)
    se = float(v.std(ddof=1)) / math.sqrt(s)
    two, one = _t(level, s - 1) * se, float(_stats().t.ppf(level, s - 1)) * se
    low, high, lower, upper = mean - two, mean + two, mean - one, mean + one
    if clip is not None:
        (low, lower), (high, upper) = np.maximum((low, lower), clip[0]), np.minimum((high, upper), clip[1])
    return BoundedEstimate(mean, float(low), float(high), s, f"{what} over {s} seeds", float(v.min()),
                           float(v.max()), float(lower), float(upper), level)


def paired_interval(a, b, level: float = LEVEL) -> BoundedEstimate:
    """Mean of the per-seed differences ``a - b``: Student-t interval and one-sided bounds.

    The interval to use when the two compared results **share initial
    weights** (the same ``init_seed`` for two depths, or for two integrators):
    pairing by seed removes the spread that the shared start causes in both,
    which an unpaired (Welch) interval would count twice. It covers the
    spread over seeds only, with no sampling term: right for quantities
    computed on the whole labelled grid or on the held-out grid points, the
    population rather than a sample of it (for accuracies on a 200-point
    sample see :func:`accuracy_difference`).

    Parameters
    ----------
    a, b : array_like, shape (s,)
        One result per seed for each of the two settings, in the same seed order.
    level : float

    Returns
    -------
    BoundedEstimate
        ``value`` the mean difference ``d``, ``n = s``, ``minimum``/``maximum``
        the extreme differences, and for ``s >= 2``, with ``se = sd(a - b) /
        sqrt(s)`` (``ddof = 1``)::

            low, high    = d -/+ t_{(1 + level) / 2, s - 1} se
            lower, upper = d -/+ t_{level, s - 1} se

        ``method`` ``"paired t over s seeds"``. For ``s = 1`` every bound is
        infinite and ``method`` is ``"paired t: 1 seed, no interval"``.
    """
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length (one value per seed), got {a.size} and {b.size}")
    return _t_bounds(a - b, level, "paired t")


def population_estimate(values, level: float = LEVEL, clip=None) -> BoundedEstimate:
    """Seed mean of a quantity computed over a whole population, e.g. an accuracy on every grid point.

    A quantity computed on every point of the labelled grid (or on every
    held-out grid point) has no sampling error: there is no larger set of
    points it estimates. Its only uncertainty is the spread over training
    seeds, so the interval is the Student-t interval of the seed mean, with no
    Wilson (binomial) term. With one seed that spread is unmeasured: the
    estimate is a point with no interval (every bound infinite), and its
    ``method`` says so. A difference of two such quantities whose runs share
    initial weights is :func:`paired_interval`.

    Parameters
    ----------
    values : array_like, shape (s,)
        The quantity for each of ``s`` seeds.
    level : float
    clip : (float, float), optional
        Range the quantity cannot leave (``(0, 1)`` for an accuracy); bounds
        outside it are moved to it.

    Returns
    -------
    BoundedEstimate
        ``value`` the seed mean; bounds as in :func:`paired_interval`;
        ``method`` ``"population t over s seeds"``, or ``"population t: 1
        seed, no interval"``.
    """
    return _t_bounds(values, level, "population t", clip)
