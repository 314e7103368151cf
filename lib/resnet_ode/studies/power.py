"""How many training seeds a claim needs: power of the one-sided paired t test.

A claim graded by :func:`resnet_ode.studies.verdicts.grade_margin` is decided
when its one-sided bounds exclude one of the two values it is set against: no
effect (0) or the smallest effect that matters (the margin ``m``). With ``n``
seeds, per-seed differences of standard deviation ``sd`` and the one-sided
bounds at confidence ``level`` of :func:`resnet_ode.studies.uncertainty.paired_interval`,

* if the true effect is ``m``, the lower bound lies above 0 with probability
  ``P``, and
* if the true effect is 0, the upper bound lies below ``m`` with the same
  probability ``P`` (the same test, shifted by ``m``),

where ``P`` is the power of the one-sided paired t test at level ``1 - level``
against a true mean difference ``m``. It is computed exactly from the
noncentral t distribution (``scipy.stats.nct``), not from a normal or t
approximation: the test statistic ``t = mean / (s / sqrt(n))`` of ``n``
normal differences with mean ``m`` follows the noncentral t with ``n - 1``
degrees of freedom and noncentrality ``m sqrt(n) / sd``, and the test rejects
when ``t > t_{level, n - 1}``, so::

    P(n) = 1 - F_nct(t_{level, n - 1}; n - 1, m sqrt(n) / sd)

:func:`seeds_needed` is the smallest ``n >= 2`` with ``P(n) >= power``; the
spread ``sd`` is the standard deviation (``ddof = 1``) of the measured per-seed
differences (:func:`seeds_needed_from`). The calculation assumes normal
per-seed differences and treats the measured ``sd`` as the true one; with
2 or 3 seeds behind it, ``sd`` is itself uncertain, so the answer is a guide,
not a guarantee.
"""

from __future__ import annotations

import math

import numpy as np

from resnet_ode.studies.uncertainty import LEVEL, _stats

#: Name of the calculation, for a numbers file next to the seeds it asks for.
METHOD = "one-sided paired t, power from the noncentral t"
#: Power asked for unless told otherwise.
POWER = 0.8
#: Largest number of seeds :func:`seeds_needed` tries.
MAX_SEEDS = 10_000


def _check(sd, margin, level, power=None):
    sd, margin, level = float(sd), float(margin), float(level)
    if not (sd >= 0 and math.isfinite(sd)):
        raise ValueError(f"sd must be finite and >= 0, got {sd}")
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be finite and > 0, got {margin}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    if power is not None and not 0.0 < float(power) < 1.0:
        raise ValueError(f"power must lie strictly between 0 and 1, got {power}")
    return sd, margin, level


def paired_power(n, sd: float, margin: float, level: float = LEVEL):
    """Power of the one-sided paired t test with ``n`` seeds against a true difference ``margin``.

    Parameters
    ----------
    n : int or array_like of int
        Seeds (pairs), each at least 2.
    sd : float
        Standard deviation of the per-seed differences (``>= 0``).
    margin : float
        True mean difference the test should detect (``> 0``).
    level : float
        Confidence of the one-sided bound (the test's level is ``1 - level``).

    Returns
    -------
    float or ndarray
        ``P(n)`` of the module description, of the shape of ``n``; 1 for
        ``sd = 0``.
    """
    sd, margin, level = _check(sd, margin, level)
    n_arr = np.asarray(n)
    if not np.issubdtype(n_arr.dtype, np.integer) or np.any(n_arr < 2):
        raise ValueError(f"n must be integers >= 2, got {n}")
    ns = np.atleast_1d(n_arr).ravel()
    power = np.ones(ns.shape)
    if sd > 0.0:
        df = ns - 1
        crit = _stats().t.ppf(level, df)
        nc = margin * np.sqrt(ns) / sd
        # Where nc > 40 crit > 0 the power is 1 in double precision (a miss needs Z < -nc/2, below -32, or a
        # chi-square above 400 times its degrees of freedom), and scipy's series for the noncentral t stops
        # converging there: those entries stay 1.
        near = ~((crit > 0) & (nc > 40.0 * crit))
        power[near] = _stats().nct.sf(crit[near], df[near], nc[near])
    out = power.reshape(n_arr.shape)
    return float(out) if out.ndim == 0 else out


def seeds_needed(sd: float, margin: float, level: float = LEVEL, power: float = POWER,
                 max_seeds: int = MAX_SEEDS) -> int:
    """The smallest number of seeds whose one-sided paired t test reaches ``power``.

    Parameters
    ----------
    sd : float
        Standard deviation of the per-seed differences (the measured seed spread).
    margin : float
        The smallest effect that matters (``> 0``).
    level : float
        Confidence of the one-sided bounds.
    power : float
        Probability, in (0, 1), of deciding the claim (module description).
    max_seeds : int
        Largest ``n`` tried.

    Returns
    -------
    int
        The smallest ``n >= 2`` with :func:`paired_power` ``(n) >= power``
        (found by evaluating ``n = 2, 3, ...`` in blocks). At least 2: a t
        bound needs two seeds.

    Raises
    ------
    ValueError
        For bad arguments, or if no ``n <= max_seeds`` reaches ``power``.
    """
    sd, margin, level = _check(sd, margin, level, power)
    start, block = 2, 256
    while start <= max_seeds:
        n = np.arange(start, min(start + block, max_seeds + 1))
        ok = np.flatnonzero(np.atleast_1d(paired_power(n, sd, margin, level)) >= power)
        if ok.size:
            return int(n[ok[0]])
        start += block
    raise ValueError(f"more than {max_seeds} seeds needed for power {power} at sd {sd} and margin {margin}")


def seeds_needed_from(differences, margin: float, level: float = LEVEL, power: float = POWER,
                      max_seeds: int = MAX_SEEDS) -> int:
    """:func:`seeds_needed` with ``sd`` measured from per-seed differences.

    Parameters
    ----------
    differences : array_like, shape (s,)
        Measured per-seed differences (``s >= 2``); their standard deviation
        with ``ddof = 1`` is the spread.
    margin, level, power, max_seeds
        As in :func:`seeds_needed`.
    """
    d = np.asarray(differences, dtype=float).ravel()
    if d.size < 2 or not np.all(np.isfinite(d)):
        raise ValueError(f"need at least 2 finite differences to measure a spread, got {d.tolist()}")
    return seeds_needed(float(d.std(ddof=1)), margin, level, power, max_seeds)
