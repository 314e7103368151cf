"""Paired and population intervals with one-sided bounds (resnet_ode.studies.uncertainty.paired_interval,
population_estimate, BoundedEstimate)."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from resnet_ode.studies import uncertainty as u
from resnet_ode.studies import verdicts


def test_paired_interval_known_values_and_scipy():
    a = np.array([1.0, 2.0, 3.5, 2.2])
    b = np.array([0.0, 0.5, 1.0, 1.6])
    d = a - b
    e = u.paired_interval(a, b)
    m, se = d.mean(), d.std(ddof=1) / 2.0
    assert e.value == pytest.approx(m) and e.n == 4 and e.method == "paired t over 4 seeds"
    assert (e.low, e.high) == pytest.approx((m - stats.t.ppf(0.975, 3) * se, m + stats.t.ppf(0.975, 3) * se))
    assert (e.lower, e.upper) == pytest.approx((m - stats.t.ppf(0.95, 3) * se, m + stats.t.ppf(0.95, 3) * se))
    assert (e.minimum, e.maximum) == pytest.approx((0.6, 2.5))
    # scipy's paired t test: the two-sided interval, and each one-sided bound is where the one-sided test sits at 5 %
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (e.low, e.high) == pytest.approx((ci.low, ci.high))
    assert stats.ttest_1samp(d, e.lower, alternative="greater").pvalue == pytest.approx(0.05)
    assert stats.ttest_1samp(d, e.upper, alternative="less").pvalue == pytest.approx(0.05)
    # one-sided bounds lie inside the two-sided interval of the same level
    assert e.low < e.lower < e.value < e.upper < e.high
    # the old two-sided paired difference agrees
    old = u.paired_difference(a, b)
    assert (old.low, old.high) == pytest.approx((e.low, e.high))


def test_pairing_removes_the_shared_spread():
    """Seeds differ a lot, the two settings little within a seed: the paired interval is narrow, Welch's is not."""
    base = np.array([0.90, 0.95, 0.80, 0.99, 0.85])
    a, b = base + np.array([0.011, 0.009, 0.010, 0.012, 0.010]), base
    paired, unpaired = u.paired_interval(a, b), u.welch_difference(a, b)
    assert paired.lower > 0.008 and unpaired.low < 0 < unpaired.high
    assert paired.width < unpaired.width / 20


def test_one_seed_has_no_interval_and_says_so():
    e = u.paired_interval([0.5], [0.4])
    assert e.value == pytest.approx(0.1) and e.n == 1
    assert (e.low, e.high, e.lower, e.upper) == (-math.inf, math.inf, -math.inf, math.inf)
    assert e.method == "paired t: 1 seed, no interval"
    p = u.population_estimate([0.739])
    assert p.method == "population t: 1 seed, no interval" and not p.finite
    assert p.fmt() == "0.739 [no interval: 1 seed]" and p.fmt_bounds() == "0.739 (no bounds: 1 seed)"
    d = p.to_dict()
    assert d["low"] is None and d["lower"] is None and d["upper"] is None and d["value"] == 0.739
    # graded, it can only be inconclusive
    assert verdicts.grade_margin(p.lower, p.upper, 0.01) == verdicts.INCONCLUSIVE


def test_population_estimate_has_no_sampling_term():
    acc = [0.976, 0.985, 0.984]
    p = u.population_estimate(acc)
    t = u.seed_interval(acc)
    assert p.method == "population t over 3 seeds"
    assert (p.low, p.high) == pytest.approx((t.low, t.high))        # the seed part only
    with_wilson = u.seed_interval(acc, n_points=200)                 # adds the sampling term of 200 points
    assert with_wilson.width > p.width
    same = u.population_estimate([0.5, 0.5, 0.5])                   # no seed spread: a point
    assert same.low == same.high == same.lower == same.upper == 0.5
    # its bounds equal those of the paired interval against zero
    z = u.paired_interval(acc, [0.0, 0.0, 0.0])
    assert (p.lower, p.upper) == pytest.approx((z.lower, z.upper))


def test_population_estimate_clips_to_the_range():
    p = u.population_estimate([0.999, 0.990, 0.9999], clip=(0.0, 1.0))
    assert p.high == 1.0 and p.upper == 1.0 and p.low < p.lower < p.value
    assert u.population_estimate([0.999, 0.990, 0.9999]).high > 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same length"):
        u.paired_interval([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        u.paired_interval([1, math.nan], [1, 2])
    with pytest.raises(ValueError, match="at least one"):
        u.population_estimate([])
    with pytest.raises(ValueError, match="level"):
        u.population_estimate([1, 2], level=1.0)


def test_to_dict_round_trip_and_other_level():
    e = u.paired_interval([1.0, 2.0, 3.5], [0.0, 0.5, 1.0], level=0.9)
    d = json.loads(json.dumps(e.to_dict()))
    assert d["method"] == "paired t over 3 seeds" and d["level"] == 0.9
    assert u.BoundedEstimate.from_dict(d) == e
    e95 = u.paired_interval([1.0, 2.0, 3.5], [0.0, 0.5, 1.0])
    assert e95.lower < e.lower and e95.upper > e.upper
    assert e.fmt_bounds(sign=True).startswith("+1.667 (90 % one-sided: >= +")
    assert verdicts.grade_margin(e95.lower, e95.upper, 0.5) in verdicts.GRADES


def test_coverage_by_simulation():
    """Over 4000 simulated 5-seed experiments (fixed seed), each one-sided 95 % bound is on the right side of the
    true mean about 95 % of the time, and the two-sided interval covers it about 95 % of the time."""
    rng = np.random.default_rng(20260)
    true, reps, s = 0.02, 4000, 5
    below = above = covered = 0
    for _ in range(reps):
        e = u.paired_interval(rng.normal(true, 0.01, s) + 0.9, np.full(s, 0.9))
        below += e.lower <= true
        above += e.upper >= true
        covered += e.low <= true <= e.high
    tol = 4 * math.sqrt(0.05 * 0.95 / reps)   # four Monte-Carlo standard errors
    for hits in (below, above, covered):
        assert abs(hits / reps - 0.95) < tol
