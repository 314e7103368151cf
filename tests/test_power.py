"""Seeds a claim needs (resnet_ode.studies.power): against simulated experiments, known values and monotonicity."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from resnet_ode.studies import power as pw

N_SIM = 20_000


def _simulated_power(n, sd, margin, level, rng):
    """Share of N_SIM simulated n-seed experiments (normal differences, mean ``margin``) whose one-sided paired
    t test at ``1 - level`` rejects "no effect": written out here, without the noncentral t."""
    d = rng.normal(margin, sd, size=(N_SIM, n))
    t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / math.sqrt(n))
    return float(np.mean(t > stats.t.ppf(level, n - 1)))


@pytest.mark.parametrize("sd, margin, level, target", [
    (1.0, 1.0, 0.95, 0.8),
    (0.0125, 0.01, 0.95, 0.8),      # a seed spread of the size Chapter 3.1 measures, margin one point
    (0.006, 0.01, 0.95, 0.9),
    (0.02, 0.01, 0.975, 0.8),
])
def test_returned_seeds_reach_the_power_and_one_fewer_does_not(sd, margin, level, target):
    n = pw.seeds_needed(sd, margin, level=level, power=target)
    rng = np.random.default_rng(7_2026)
    tol = 4 * math.sqrt(target * (1 - target) / N_SIM)            # four Monte-Carlo standard errors
    at_n = _simulated_power(n, sd, margin, level, rng)
    assert at_n >= target - tol
    assert at_n == pytest.approx(pw.paired_power(n, sd, margin, level), abs=tol)
    if n > 2:
        below = _simulated_power(n - 1, sd, margin, level, rng)
        assert below < target + tol
        assert below == pytest.approx(pw.paired_power(n - 1, sd, margin, level), abs=tol)
    # the exact crossing, by the formula
    assert pw.paired_power(n, sd, margin, level) >= target
    assert n == 2 or pw.paired_power(n - 1, sd, margin, level) < target


def test_known_value():
    """Effect size 1 (margin = sd), one-sided 5 %, power 0.8: 8 pairs (power 0.815; 7 give 0.754), as in the
    tables of one-sample t-test power (e.g. G*Power)."""
    assert pw.seeds_needed(1.0, 1.0) == 8
    assert pw.paired_power(8, 1.0, 1.0) == pytest.approx(0.815, abs=1e-3)
    assert pw.paired_power(7, 1.0, 1.0) == pytest.approx(0.754, abs=1e-3)
    assert pw.METHOD == "one-sided paired t, power from the noncentral t"


def test_monotone_in_spread_margin_power_and_level():
    sds = [0.002, 0.005, 0.01, 0.02, 0.04]
    by_sd = [pw.seeds_needed(sd, 0.01) for sd in sds]
    assert by_sd == sorted(by_sd) and by_sd[-1] > by_sd[0]
    margins = [0.005, 0.01, 0.02, 0.05]
    by_margin = [pw.seeds_needed(0.01, m) for m in margins]
    assert by_margin == sorted(by_margin, reverse=True) and by_margin[0] > by_margin[-1]
    assert pw.seeds_needed(0.01, 0.01, power=0.9) > pw.seeds_needed(0.01, 0.01, power=0.8)
    assert pw.seeds_needed(0.01, 0.01, level=0.99) > pw.seeds_needed(0.01, 0.01, level=0.95)
    # only the ratio sd / margin matters
    assert pw.seeds_needed(0.02, 0.01) == pw.seeds_needed(2.0, 1.0)
    # power grows with the seeds
    p = pw.paired_power(np.arange(2, 30), 0.01, 0.01)
    assert p.shape == (28,) and np.all(np.diff(p) > 0)


def test_edges_and_bad_input():
    assert pw.seeds_needed(0.0, 0.01) == 2                        # no spread: two seeds decide
    assert pw.paired_power(2, 0.0, 0.01) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")                            # scipy's series would not converge out there
        assert pw.seeds_needed(1e-6, 0.01) == 2
        assert np.all(pw.paired_power(np.arange(2, 300), 1e-6, 0.01) == 1.0)
    # where the formula is skipped (noncentrality above 40 times the critical value), scipy agrees it is 1
    n = np.arange(2, 300)
    crit, nc = stats.t.ppf(0.95, n - 1), 0.01 * np.sqrt(n) / 0.002
    assert np.any(nc > 40 * crit) and np.all(stats.nct.sf(crit, n - 1, nc)[nc > 40 * crit] == 1.0)
    assert np.array_equal(pw.paired_power(n, 0.002, 0.01), np.minimum(stats.nct.sf(crit, n - 1, nc), 1.0))
    with pytest.raises(ValueError, match="more than 100 seeds"):
        pw.seeds_needed(1.0, 0.01, max_seeds=100)
    with pytest.raises(ValueError, match="margin"):
        pw.seeds_needed(0.01, 0.0)
    with pytest.raises(ValueError, match="sd"):
        pw.seeds_needed(-0.01, 0.01)
    with pytest.raises(ValueError, match="power"):
        pw.seeds_needed(0.01, 0.01, power=1.0)
    with pytest.raises(ValueError, match="level"):
        pw.seeds_needed(0.01, 0.01, level=0.0)
    with pytest.raises(ValueError, match="n must be"):
        pw.paired_power(1, 0.01, 0.01)


def test_seeds_from_measured_differences():
    """Chapter 3.1's deepest minus shallowest own grid accuracy over its 3 seeds, margin one point: 4 seeds."""
    d = np.array([0.00389099, -0.00669861, -0.00558472])
    assert pw.seeds_needed_from(d, 0.01) == pw.seeds_needed(float(d.std(ddof=1)), 0.01) == 4
    with pytest.raises(ValueError, match="at least 2"):
        pw.seeds_needed_from([0.01], 0.01)
