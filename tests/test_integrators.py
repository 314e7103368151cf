import numpy as np
import pytest

from resnet_ode.core.integrators import METHODS, RK4, RK4_THESIS_AS_WRITTEN, ButcherTableau, get_method, solve

TABLEAUX = [m for m in METHODS.values() if not m.step_dependent]


def test_invalid_tableaux_are_rejected():
    # ButcherTableau checks its data when it is made (so every tableau of METHODS passed at import);
    # here the checks are shown to refuse bad data.
    with pytest.raises(ValueError, match="row sums"):
        ButcherTableau("bad", A=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 0.5], order=2)
    with pytest.raises(ValueError, match="order-2"):
        ButcherTableau("bad", A=[[0, 0], [1, 0]], b=[0.9, 0.1], c=[0, 1], order=2)
    with pytest.raises(ValueError, match="explicit"):
        ButcherTableau("bad", A=[[0.5]], b=[1.0], c=[0.5], order=1)
    with pytest.raises(ValueError, match="integrator"):
        get_method("rk5")


def _linear_problem():
    # y' = A y with A = [[-1, 2], [-2, -1]] (decaying rotation); y(t) = expm(tA) y0.
    A = np.array([[-1.0, 2.0], [-2.0, -1.0]])
    y0 = np.array([1.0, 0.5])

    def exact(t):
        return np.exp(-t) * np.array([[np.cos(2 * t), np.sin(2 * t)], [-np.sin(2 * t), np.cos(2 * t)]]) @ y0

    return (lambda t, y: A @ y), y0, exact


@pytest.mark.parametrize("method", TABLEAUX, ids=lambda m: m.name)
def test_convergence_order_matches_declared_order(method):
    f, y0, exact = _linear_problem()
    steps = np.array([16, 32, 64, 128, 256])
    errors = [np.linalg.norm(solve(method, f, y0, 2.0, n) - exact(2.0)) for n in steps]
    slope = np.polyfit(np.log(2.0 / steps), np.log(errors), 1)[0]
    assert abs(slope - method.order) < 0.2, slope


def test_time_dependent_problem_uses_stage_times():
    # y' = cos(t): the stage times c_i matter; RK4 is exact to order 4.
    errs = [abs(solve(RK4, lambda t, y: np.cos(t) + 0 * y, np.zeros(1), 3.0, n)[0] - np.sin(3.0)) for n in (10, 20)]
    assert errs[0] / errs[1] == pytest.approx(16, rel=0.1)


def test_stability_polynomials():
    assert np.allclose(RK4.stability_polynomial(), [1, 1, 1 / 2, 1 / 6, 1 / 24])
    assert np.allclose(get_method("euler").stability_polynomial(), [1, 1])
    # Points known inside / outside: z = -1 is inside both regions, z = -2.5 only inside RK4's
    # (its real-axis interval is about [-2.785, 0]), z = 0.5 in neither.
    assert abs(get_method("euler").stability_function(-1.0)) <= 1
    assert abs(get_method("euler").stability_function(-2.5)) > 1
    assert abs(RK4.stability_function(-2.5)) <= 1
    assert abs(RK4.stability_function(0.5)) > 1


def test_thesis_variant_is_not_consistent():
    A, b, c = RK4_THESIS_AS_WRITTEN.coefficients(0.1)
    assert b.sum() == pytest.approx(1 / 6 + 0.05)
    with pytest.raises(ValueError, match="step size"):
        RK4_THESIS_AS_WRITTEN.coefficients(None)
    # It does not converge to the solution of y' = -y: it solves y' = -y/6 as h -> 0.
    y = solve(RK4_THESIS_AS_WRITTEN, lambda t, y: -y, np.ones(1), 1.0, 1000)[0]
    assert y == pytest.approx(np.exp(-1 / 6), rel=1e-3)
