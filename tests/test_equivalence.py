"""Grading by one-sided bounds against the smallest effect that matters (resnet_ode.studies.verdicts.grade_margin),
and margins relative to the error rate."""

import math

import numpy as np
import pytest

from resnet_ode.studies import verdicts as v
from resnet_ode.studies.uncertainty import paired_interval

M = 0.01
up = lambda x: float(np.nextafter(x, math.inf))     # noqa: E731 - the next float above x
down = lambda x: float(np.nextafter(x, -math.inf))  # noqa: E731 - the next float below x


@pytest.mark.parametrize("lower, upper, grade", [
    # holds: lower >= m
    (0.02, 0.05, v.HOLDS),
    (M, 0.05, v.HOLDS),                        # boundary: lower == m holds
    (M, M, v.HOLDS),
    (down(M), 0.05, v.CAVEATS),                # just below m: no longer shown
    # holds with caveats: 0 < lower < m <= upper
    (0.005, 0.02, v.CAVEATS),
    (0.005, M, v.CAVEATS),                     # boundary: upper == m does not fail
    (up(0.0), M, v.CAVEATS),
    # inconclusive: lower <= 0 and upper >= m
    (0.0, 0.02, v.INCONCLUSIVE),               # boundary: lower == 0 is no shown effect
    (-0.013, 0.012, v.INCONCLUSIVE),
    (-0.013, M, v.INCONCLUSIVE),
    (-math.inf, math.inf, v.INCONCLUSIVE),     # one seed: no bounds
    # does not hold: upper < m
    (-0.013, down(M), v.FAILS),
    (-0.013, 0.007, v.FAILS),                  # Chapter 3.1's deepest minus shallowest, one-sided bounds
    (-0.005, 0.005, v.FAILS),                  # equivalence: within m of 0
    (0.002, 0.008, v.FAILS),                   # a real effect, too small to matter
    (-0.05, -0.02, v.FAILS),                   # reversed
    (-math.inf, 0.005, v.FAILS),
])
def test_every_grade_and_its_boundaries(lower, upper, grade):
    assert v.grade_margin(lower, upper, M) == grade


def test_all_four_grades_are_reachable():
    cases = [(0.02, 0.03), (0.005, 0.02), (-0.01, 0.02), (-0.005, 0.005)]
    assert [v.grade_margin(lo, hi, M) for lo, hi in cases] == list(v.GRADES)


def test_bad_input_is_refused():
    for m in (0.0, -0.01, math.inf, math.nan):
        with pytest.raises(ValueError, match="margin"):
            v.grade_margin(0.0, 1.0, m)
    with pytest.raises(ValueError, match="lower <= upper"):
        v.grade_margin(0.02, 0.01, M)
    with pytest.raises(ValueError, match="lower <= upper"):
        v.grade_margin(math.nan, 0.01, M)


def test_explanations_name_the_kind_of_failure():
    assert "equivalence" in v.explain_margin(-0.005, 0.005, M)
    assert "within +/-0.010 of 0" in v.explain_margin(0.002, 0.008, M)
    assert "reversed" in v.explain_margin(-0.05, -0.02, M)
    text = v.explain_margin(-0.013, 0.007, M, what="gain")
    assert text == "gain is shown to stay below the required +0.010 (one-sided bounds -0.013, +0.007)"
    assert "at least the required" in v.explain_margin(0.02, 0.05, M)
    assert "above 0 but not shown" in v.explain_margin(0.005, 0.02, M)
    assert "may be 0 or" in v.explain_margin(-math.inf, math.inf, M)


def test_one_sided_bounds_decide_what_the_two_sided_interval_left_open():
    """Chapter 3.1's own grid accuracy per seed (deepest nY = 256 minus shallowest nY = 8, 3 seeds, same initial
    weights): the two-sided 95 % interval contains 0 and +0.010 (it could not decide), the one-sided upper bound
    lies below +0.010: no gain as large as the margin."""
    deep = [0.97981262, 0.97834778, 0.97819519]
    shallow = [0.97592163, 0.98504639, 0.98377991]
    e = paired_interval(deep, shallow)
    assert e.fmt(sign=True) == "-0.003 [-0.017, +0.012]"
    assert e.low < 0 < M < e.high
    assert e.upper == pytest.approx(0.00701, abs=1e-5)
    assert v.grade_margin(e.lower, e.upper, M) == v.FAILS


@pytest.mark.parametrize("lower, upper, grade", [
    (-0.005, 0.005, v.HOLDS),                  # within m of 0 on both sides
    (0.0, down(M), v.HOLDS),                   # a share that cannot be negative, just inside
    (up(-M), down(M), v.HOLDS),
    (-M, 0.005, v.INCONCLUSIVE),               # boundary: a bound at -m does not exclude an effect of -m ...
    (-0.005, M, v.INCONCLUSIVE),               # ... nor one at +m
    (-0.02, 0.005, v.INCONCLUSIVE),
    (-math.inf, math.inf, v.INCONCLUSIVE),     # no bounds (one seed)
    (M, 0.05, v.FAILS),                        # boundary: lower == m shows an effect of m
    (0.9999, 1.0, v.FAILS),                    # every example unstable
    (-4.54, -4.12, v.FAILS),                   # an order far below 4: upper <= -m
    (-0.05, -M, v.FAILS),
])
def test_equivalence_grades_and_boundaries(lower, upper, grade):
    assert v.grade_equivalence(lower, upper, M) == grade
    text = v.explain_equivalence(lower, upper, M, what="the order minus 4")
    assert text.startswith("the order minus 4") and "one-sided bounds" in text
    assert ("within +/-0.010 of 0 (" in text) == (grade == v.HOLDS)
    assert ("at least 0.010 away from 0" in text) == (grade == v.FAILS)


def test_equivalence_refuses_bad_input():
    for lower, upper, m in [(0.0, 0.1, 0.0), (0.0, 0.1, -1.0), (0.2, 0.1, 0.5), (math.nan, 0.1, 0.5),
                            (0.0, 0.1, math.inf)]:
        with pytest.raises(ValueError):
            v.grade_equivalence(lower, upper, m)


def test_error_rate_margin():
    assert v.error_rate_margin(0.98) == pytest.approx(0.002)
    assert v.error_rate_margin(0.726, 0.1) == pytest.approx(0.0274)
    assert v.error_rate_margin(0.9, 0.5) == pytest.approx(0.05)
    assert v.error_rate_margin(0.0, 1.0) == 1.0
    # a smaller baseline error leaves a smaller margin
    assert v.error_rate_margin(0.99) < v.error_rate_margin(0.98)
    for a in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="baseline_accuracy"):
            v.error_rate_margin(a)
    for share in (0.0, -0.1, 1.01):
        with pytest.raises(ValueError, match="share"):
            v.error_rate_margin(0.9, share)
    # usable as the margin of a grade
    assert v.grade_margin(0.001, 0.0019, v.error_rate_margin(0.98)) == v.FAILS
