"""Intervals of resnet_ode.studies.uncertainty against known values."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from resnet_ode.studies import uncertainty as u


def test_wilson_known_values():
    e = u.wilson_interval(196, 200)
    assert (e.value, e.n, e.method) == (0.98, 200, "wilson")
    assert e.low == pytest.approx(0.94971, abs=1e-5)
    assert e.high == pytest.approx(0.99220, abs=1e-5)
    assert e.fmt() == "0.980 [0.950, 0.992]"
    # x = n: the lower bound is n / (n + z^2); x = 0: the upper bound is z^2 / (n + z^2).
    z2 = stats.norm.ppf(0.975) ** 2
    assert u.wilson_interval(200, 200).low == pytest.approx(200 / (200 + z2))
    assert u.wilson_interval(200, 200).high == 1.0
    assert u.wilson_interval(0, 10).high == pytest.approx(z2 / (10 + z2))
    assert u.wilson_interval(0, 10).low == 0.0
    # a wider level gives a wider interval; accuracy_interval is the same thing from a share
    assert u.wilson_interval(196, 200, level=0.99).width > e.width
    assert u.accuracy_interval(0.98, 200) == e


def test_wilson_vectorised_and_checked():
    low, high = u.wilson_bounds(np.array([[196, 200], [0, 100]]), 200)
    assert low.shape == (2, 2) and high[0, 0] == pytest.approx(0.99220, abs=1e-5)
    with pytest.raises(ValueError, match="between 0 and n"):
        u.wilson_interval(201, 200)
    with pytest.raises(ValueError, match="at least 1"):
        u.wilson_interval(0, 0)
    with pytest.raises(ValueError, match="level"):
        u.wilson_interval(1, 2, level=1.0)
    with pytest.raises(ValueError, match="accuracy"):
        u.accuracy_interval(1.2, 200)


def test_seed_interval_student_t():
    e = u.seed_interval([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) / math.sqrt(3)   # sd = 1
    assert e.value == 2.0 and e.n == 3 and e.method == "t over 3 seeds"
    assert (e.low, e.high) == pytest.approx((2 - half, 2 + half))
    assert (e.low, e.high) == pytest.approx((-0.48414, 4.48414), abs=1e-5)
    assert (e.minimum, e.maximum) == (1.0, 3.0)


def test_seed_interval_one_seed():
    none = u.seed_interval([0.98])
    assert none.low == -math.inf and none.high == math.inf and not none.finite
    assert none.fmt() == "0.980 [no interval: 1 seed]"
    assert none.to_dict()["low"] is None and none.to_dict()["high"] is None
    binom = u.seed_interval([0.98], n_points=200)
    assert (binom.low, binom.high) == (u.wilson_interval(196, 200).low, u.wilson_interval(196, 200).high)
    assert "1 seed" in binom.method


def test_seed_interval_with_points_covers_both_parts():
    vals = [0.975, 0.995, 0.985]
    t = u.seed_interval(vals)
    both = u.seed_interval(vals, n_points=200)
    w = u.accuracy_interval(np.mean(vals), 200)
    assert both.low < min(t.low, w.low) and both.high == 1.0   # clipped to [0, 1]
    # identical seeds: the evaluation points still leave an interval
    same = u.seed_interval([0.98, 0.98, 0.98], n_points=200)
    assert (same.low, same.high) == pytest.approx((w.low, w.high), abs=0.01)
    assert same.low < 0.98 < same.high


def test_paired_and_welch_differences():
    p = u.paired_difference([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert p.fmt() == "2.000 [-0.484, 4.484]" and p.method == "paired t over 3 seeds"
    assert u.paired_difference([0.5], [0.2]).low == -math.inf
    with pytest.raises(ValueError, match="same length"):
        u.paired_difference([1, 2], [1])
    a, b = [11.5, 19.6, 21.2], [7.3, 13.9, 20.0]
    w = u.welch_difference(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (w.low, w.high) == pytest.approx((ref.low, ref.high))
    assert w.value == pytest.approx(np.mean(a) - np.mean(b))
    assert u.welch_difference([1.0], [0.0, 1.0]).high == math.inf
    assert u.welch_difference([2.0, 2.0], [1.0, 1.0]).fmt() == "1.000 [1.000, 1.000]"


def test_mover_is_newcombes_interval():
    # Newcombe (1998), method 10: 56/70 - 48/80 = 0.200, interval 0.0524 to 0.3339.
    d = u.mover_difference(u.wilson_interval(56, 70), u.wilson_interval(48, 80))
    assert d.value == pytest.approx(0.2)
    assert (d.low, d.high) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_accuracy_difference():
    one = u.accuracy_difference([1.0], [0.98], 200)
    assert one.fmt(sign=True) == "+0.020 [-0.002, +0.050]"
    assert one == u.Estimate(one.value, one.low, one.high, 1, one.method)
    assert "1 seed" in one.method
    a, b = [0.975, 0.995, 0.985], [0.99, 0.99, 0.985]
    both = u.accuracy_difference(a, b, 200)
    seeds = u.paired_difference(a, b)
    test = u.mover_difference(u.accuracy_interval(np.mean(a), 200), u.accuracy_interval(np.mean(b), 200))
    assert both.value == pytest.approx(-0.01 / 3)
    assert both.low < min(seeds.low, test.low) and both.high > max(seeds.high, test.high)
    assert both.n == 3 and (both.minimum, both.maximum) == pytest.approx((-0.015, 0.005))
    unpaired = u.accuracy_difference(a, b, 200, paired=False)
    assert "welch" in unpaired.method
    with pytest.raises(ValueError, match="same number of seeds"):
        u.accuracy_difference([0.9, 0.8], [0.9], 200)


def test_bootstrap_difference_reproducible_and_right():
    rng = np.random.default_rng(3)
    a = rng.random(500) < 0.9
    b = rng.random(500) < 0.8
    e1 = u.bootstrap_difference(a, b, seed=7)
    e2 = u.bootstrap_difference(a, b, seed=7)
    assert e1 == e2
    assert u.bootstrap_difference(a, b, seed=8) != e1
    assert e1.value == pytest.approx(a.mean() - b.mean()) and e1.n == 500
    assert e1.low < e1.value < e1.high
    # the same distribution as resampling point indices
    idx = np.random.default_rng(0).integers(0, 500, size=(4000, 500))
    diffs = a[idx].mean(axis=1) - b[idx].mean(axis=1)
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    assert (e1.low, e1.high) == pytest.approx((lo, hi), abs=0.012)
    # identical correctness: no difference, no spread
    same = u.bootstrap_difference(a, a)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same length"):
        u.bootstrap_difference(a, b[:10])


def test_sign_test():
    assert u.sign_test(12, 12) == pytest.approx(2 / 4096)
    assert u.sign_test(0, 12) == pytest.approx(2 / 4096)
    assert u.sign_test(10, 12) == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert u.sign_test(5, 12, ties=1) == pytest.approx(1.0)
    assert u.sign_test(0, 3, ties=3) == 1.0
    assert u.sign_test(3, 3) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        u.sign_test(5, 4)


def test_slope_interval():
    x = np.log([1 / 128, 1 / 256, 1 / 512, 1 / 1024])
    exact = u.slope_interval(x, 4.0 * x + 1.0)
    assert exact.value == pytest.approx(4.0) and exact.width == pytest.approx(0.0, abs=1e-9)
    y = 3.5 * x + np.array([0.3, -0.2, 0.1, -0.4])
    e = u.slope_interval(x, y)
    fit = stats.linregress(x, y)
    half = stats.t.ppf(0.975, 2) * fit.stderr
    assert (e.value, e.low, e.high) == pytest.approx((fit.slope, fit.slope - half, fit.slope + half))
    one = stats.t.ppf(0.95, 2) * fit.stderr                    # the one-sided bounds, inside the two-sided interval
    assert (e.lower, e.upper) == pytest.approx((fit.slope - one, fit.slope + one)) and e.low < e.lower < e.upper < e.high
    two = u.slope_interval([0.0, 1.0], [0.0, 2.0])
    assert two.high == math.inf and (two.lower, two.upper) == (-math.inf, math.inf)


def test_estimate_round_trip_and_format():
    e = u.Estimate(0.985, 0.957, 0.995, 3, "t over 3 seeds", 0.975, 0.995)
    d = e.to_dict()
    assert d == {"value": 0.985, "low": 0.957, "high": 0.995, "n": 3, "method": "t over 3 seeds", "min": 0.975,
                 "max": 0.995}
    assert u.Estimate.from_dict(json.loads(json.dumps(d))) == e
    assert e.fmt() == "0.985 [0.957, 0.995]" and e.fmt(2) == "0.98 [0.96, 0.99]"
    assert u.Estimate(0.02, -0.002, 0.05, 1, "m").fmt(sign=True) == "+0.020 [-0.002, +0.050]"
    assert e.contains(0.96) and not e.contains(0.95)
    inf = u.seed_interval([1.0])
    assert u.Estimate.from_dict(json.loads(json.dumps(inf.to_dict(), allow_nan=False))) == inf
    assert u.Estimate.exact(-0.33).fmt(2) == "-0.33 (exact)"
