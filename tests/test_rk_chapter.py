"""Chapter 3.4: Runge-Kutta methods, the course script's toy problem, convergence orders, RK networks."""

import numpy as np
import pytest
from scipy.linalg import expm

from resnet_ode.studies import rkstudy
from resnet_ode.core.blocks import ODEBlock
from resnet_ode.core.derivcheck import check_block
from resnet_ode.book.experiments import SWEEPS, runge_kutta_pages, runge_kutta_runs
from resnet_ode.core.integrators import METHODS, RK4, RK4_THESIS_AS_WRITTEN, solve
from resnet_ode.training.runs import RunConfig

TABLEAUX = [m for m in METHODS.values() if not m.step_dependent]


# ----------------------------------------------------------------------------
# Tableaux and the thesis's variant
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", TABLEAUX, ids=lambda m: m.name)
def test_tableau_row_sums_and_weights(method):
    A, b, c = method.coefficients(0.37)
    assert np.allclose(A.sum(axis=1), c, atol=1e-15)
    assert b.sum() == pytest.approx(1.0, abs=1e-15)
    assert rkstudy.weight_sum(method, 0.37) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("h", [0.1, 0.4, 2.0])
def test_thesis_variant_weights_and_stages(h):
    A, b, c = RK4_THESIS_AS_WRITTEN.coefficients(h)
    assert rkstudy.weight_sum(RK4_THESIS_AS_WRITTEN, h) == pytest.approx(1 / 6 + h / 2)
    # Row sums differ from the nodes except at h = 2, where the stage matrix is RK4's
    # and only the last weight differs (1/3 instead of 1/6).
    if h == 2.0:
        assert np.allclose(A, RK4.A) and np.allclose(b - RK4.b, [0, 0, 0, 1 / 6])
    else:
        assert not np.allclose(A.sum(axis=1), c)


def _thesis_code(K, Y, h, N):
    """The thesis's Chapter 5 loop, transcribed statement by statement."""
    act = np.tanh
    for _ in range(N):
        R1 = act(K @ Y)
        R2 = (h / 2) * act(K @ (Y + (h / 2) * R1))
        R3 = (h / 2) * act(K @ (Y + (h / 2) * R2))
        R4 = h * act(K @ (Y + h * R3))
        Y = Y + (h / 6) * (R1 + 2 * R2 + 2 * R3 + R4)
    return Y


@pytest.mark.parametrize("N", [3, 5, 25])
def test_thesis_variant_is_the_thesis_code(N, rng):
    K = rkstudy.toy_kernel([0.7, 1.3])
    Y0 = 0.5 * rng.standard_normal((3, 6))
    expected = _thesis_code(K, Y0, 10.0 / N, N)
    # The codes add the stages in another order, and numpy's tanh has other bits on other code paths
    # (measured: with AVX2 disabled, N = 3 failed at 1e-14 absolute): round-off relative to the
    # state's size is allowed, a wrong stage or weight changes the result at order one.
    tol = dict(rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    assert np.allclose(rkstudy.propagate("rk4_thesis_as_written", K, Y0, 10.0, N), expected, **tol)
    y = solve(RK4_THESIS_AS_WRITTEN, lambda t, Y: np.tanh(K @ Y), Y0, 10.0, N)
    assert np.allclose(y, expected, **tol)


# ----------------------------------------------------------------------------
# Convergence orders
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", TABLEAUX, ids=lambda m: m.name)
def test_ode_block_order_on_linear_ode(method, rng):
    # Identity activation, constant weights, no bias: dY/dt = K Y, Y(T) = expm(T K) Y(0).
    width, T = 3, 2.0
    K = np.array([[-1.0, 2.0, 0.0], [-2.0, -1.0, 0.5], [0.0, -0.5, -0.3]])
    Y0 = rng.standard_normal((width, 4))
    exact = expm(T * K) @ Y0
    steps = np.array([16, 32, 64, 128, 256])
    errors = []
    for n in steps:
        block = ODEBlock(width=width, T=T, n_states=n + 1, n_controls=2, integrator=method.name, activation="identity")
        theta = block.pack(np.stack([K, K]), np.zeros(2))
        errors.append(np.linalg.norm(block.apply(theta, Y0) - exact))
    assert abs(rkstudy.fitted_order(T / steps, errors) - method.order) < 0.2


@pytest.mark.parametrize("name", sorted(METHODS))
def test_ode_block_matches_plain_solver_with_time_dependent_weights(name, rng):
    # Weights interpolated in time: the block must evaluate them at the stage times t_j + c_i h.
    T, nt, width = 3.0, 4, 3
    block = ODEBlock(width=width, T=T, n_states=7, n_controls=nt, integrator=name)
    theta = rng.standard_normal(block.n_params)
    K, b = block.unpack(theta)
    s = np.linspace(0, T, nt)

    def f(t, Y):
        Kt = np.array([[np.interp(t, s, K[:, i, j]) for j in range(width)] for i in range(width)])
        return np.tanh(Kt @ Y) + np.interp(t, s, b)

    Y0 = rng.standard_normal((width, 5))
    assert np.allclose(block.apply(theta, Y0), solve(name, f, Y0, T, 6), rtol=1e-12, atol=1e-12)
    out, tape = block.forward(theta, Y0)
    assert np.allclose(out, block.apply(theta, Y0), rtol=1e-14, atol=1e-14)


@pytest.mark.slow
def test_toy_convergence_orders():
    data = rkstudy.make_toy_data()
    conv = rkstudy.toy_convergence([m.name for m in TABLEAUX] + ["rk4_thesis_as_written"], data)
    for m in TABLEAUX:
        assert abs(conv[m.name].order - m.order) < 0.2, (m.name, conv[m.name].order)
        assert np.all(np.diff(conv[m.name].errors[conv[m.name].fit]) < 0)
    # The thesis variant does not converge to the solution: its error grows as h falls.
    thesis = conv["rk4_thesis_as_written"]
    assert thesis.order < 0 and thesis.errors[-1] > 1e-3
    # It is a first-order method for dY/dt = tanh(K Y) / 6.
    sixth = rkstudy.toy_convergence(["rk4_thesis_as_written"], data, time_scale=1 / 6, fit_min_steps=512)
    assert abs(sixth["rk4_thesis_as_written"].order - 1.0) < 0.2


def test_convergence_validates_its_input():
    with pytest.raises(ValueError, match="steps"):
        rkstudy.convergence(["euler"], lambda m, n: np.zeros(2), [8, 8], np.ones(2), 1.0)
    with pytest.raises(ValueError, match="fit_min_steps"):
        rkstudy.convergence(["euler"], lambda m, n: np.zeros(2), [8, 16], np.ones(2), 1.0, fit_min_steps=16)
    with pytest.raises(ValueError, match="positive"):
        rkstudy.fitted_order([0.1, 0.2], [0.0, 1.0])


# ----------------------------------------------------------------------------
# Derivatives of the Runge-Kutta layers (standard ResNet form; the interpolated
# form is covered for every method in test_derivatives.py)
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(METHODS))
@pytest.mark.parametrize("bias", ["outside", "inside"])
def test_per_step_rk_block_derivatives(name, bias, rng):
    block = ODEBlock(width=4, T=2.0, n_states=5, control="per_step", integrator=name, bias=bias)
    taylor, adjoint = check_block(block, rng)
    assert taylor.passed(expected=2.0, tol=0.15), taylor.orders
    assert adjoint < 1e-12


# ----------------------------------------------------------------------------
# The toy problem
# ----------------------------------------------------------------------------


def test_toy_kernel():
    K = rkstudy.toy_kernel([0.3, 1.1])
    s = 1.4
    assert np.allclose(K, [[-s, 0.3, 1.1], [1.1, -s, 0.3], [0.3, 1.1, -s]])
    assert np.allclose(K.sum(axis=0), 0) and np.allclose(K.sum(axis=1), 0)
    ev = np.sort_complex(np.linalg.eigvals(K))
    assert np.allclose(ev, np.sort_complex(rkstudy.toy_eigenvalues([0.3, 1.1])))
    stack = rkstudy.toy_kernel(np.array([[0.3, 1.1], [1.0, 1.0]]))
    assert stack.shape == (2, 3, 3) and np.allclose(stack[0], K)
    with pytest.raises(ValueError, match="theta"):
        rkstudy.toy_kernel([1.0, 2.0, 3.0])


def test_reference_outputs_are_200_euler_steps():
    data = rkstudy.make_toy_data(seed=3)
    K = rkstudy.toy_kernel([1.0, 1.0])
    for Y0, C in ((data.Y0, data.C), (data.Y0_test, data.C_test)):
        Y = Y0.copy()
        for _ in range(200):
            Y = Y + 0.05 * np.tanh(K @ Y)
        assert np.allclose(C, Y, rtol=1e-13, atol=1e-15)
    rng = np.random.default_rng(3)
    assert np.array_equal(data.Y0, 0.1 * rng.standard_normal((3, 20)))
    assert np.array_equal(data.Y0_test, 0.1 * rng.standard_normal((3, 20)))
    again = rkstudy.make_toy_data(seed=3)
    assert np.array_equal(again.C_test, data.C_test)


@pytest.mark.parametrize("name,n_steps", [("euler", 20), ("rk4", 5), ("rk4_thesis_as_written", 25), ("heun", 7)])
def test_vectorised_objective_equals_a_plain_loop(name, n_steps):
    data = rkstudy.make_toy_data()
    t, train, test = rkstudy.objective_landscape(name, data, n_steps, n=11)
    for i, j in [(0, 0), (3, 7), (10, 10), (10, 0)]:
        K = rkstudy.toy_kernel([t[i], t[j]])
        f = lambda _t, Y: np.tanh(K @ Y)  # noqa: E731
        expected_train = 0.5 * np.sum((solve(name, f, data.Y0, 10.0, n_steps) - data.C) ** 2)
        expected_test = 0.5 * np.sum((solve(name, f, data.Y0_test, 10.0, n_steps) - data.C_test) ** 2)
        assert train[i, j] == pytest.approx(expected_train, rel=1e-10, abs=1e-18)
        assert test[i, j] == pytest.approx(expected_test, rel=1e-10, abs=1e-18)


def test_objective_chunking_and_grid_layout():
    data = rkstudy.make_toy_data()
    t, theta = rkstudy.theta_grid(n=7)
    assert np.allclose(theta[3 * 7 + 5], [t[3], t[5]])
    a = rkstudy.objective("rk4", data, 10, theta, chunk=5)
    b = rkstudy.objective("rk4", data, 10, theta, chunk=4096)
    assert np.allclose(a, b, rtol=1e-14, atol=0)


def test_landscape_summary():
    t = np.linspace(0, 1, 3)
    P = np.array([[3.0, 2.0, 1.0], [1.0, 0.5, 2.0], [4.0, 4.0, 4.0]])
    s = rkstudy.landscape_summary(P, t, reference=P + 1.0)
    assert s["argmin"] == [0.5, 0.5] and s["min"] == 0.5 and s["max"] == 4.0
    assert s["max_abs_diff"] == pytest.approx(1.0)
    assert rkstudy.landscape_summary(P, t, reference=10 * P)["log_corr"] == pytest.approx(1.0)


def test_toy_input_validation():
    data = rkstudy.make_toy_data()
    with pytest.raises(ValueError, match="n_steps"):
        rkstudy.propagate("rk4", rkstudy.toy_kernel([1, 1]), data.Y0, 10.0, 0)
    with pytest.raises(ValueError, match="integrator"):
        rkstudy.propagate("rk5", rkstudy.toy_kernel([1, 1]), data.Y0, 10.0, 4)
    with pytest.raises(ValueError, match="Y0"):
        rkstudy.propagate("rk4", rkstudy.toy_kernel([1, 1]), np.zeros((2, 4)), 10.0, 4)
    with pytest.raises(ValueError, match="n_examples"):
        rkstudy.make_toy_data(n_examples=0)
    with pytest.raises(ValueError, match="hi must be > lo"):
        rkstudy.theta_grid(2.0, 0.2)


# ----------------------------------------------------------------------------
# Runge-Kutta networks on Peaks
# ----------------------------------------------------------------------------


def test_equal_cost_runs():
    runs = runge_kutta_runs([9, 5], seeds=[0, 1], max_iter=3)
    assert [(c.integrator, c.nY, c.init_seed) for c in runs[:4]] == [
        ("rk4", 5, 0), ("euler", 17, 0), ("rk4", 9, 0), ("euler", 33, 0)]
    assert len(runs) == 8 and all(c.max_iter == 3 and c.T == 20.0 and c.nt == 16 for c in runs)
    for rk, eu in zip(runs[::2], runs[1::2]):
        assert rkstudy.evaluations(rk) == rkstudy.evaluations(eu) == 4 * (rk.nY - 1)
        assert eu.nY == rkstudy.equal_cost_states(rk.nY)
    assert runge_kutta_pages([5], seeds=[2, 0]) == runge_kutta_runs([5], seeds=[2])
    assert SWEEPS["3.4"].configs({"rk4_states": [5], "seeds": [1], "max_iter": 2, "toy_seed": 0}) == \
        runge_kutta_runs([5], [1], 2)
    with pytest.raises(ValueError, match="rk4_states"):
        runge_kutta_runs([1])
    with pytest.raises(ValueError, match="seeds"):
        runge_kutta_runs([5], seeds=[])
    with pytest.raises(ValueError, match="integrator"):
        runge_kutta_runs([5], changes={"integrator": "euler"})


class _Trained:
    def __init__(self, theta, W):
        self.theta, self.W = theta, W


def test_evaluation_under_other_networks(rng):
    cfg = RunConfig(nY=3, T=2.0, nt=3, nc=3, integrator="rk4", n_train_per_class=2, n_val_per_class=2)
    model = cfg.model(workers=1)
    theta = model.init_params(0) + 0.3 * rng.standard_normal(model.n_params)
    W = rng.standard_normal(model.n_classifier_params)
    X = rng.uniform(-3, 3, size=(2, 40))
    y = rng.integers(0, 5, size=40)
    evaluators = [cfg, cfg.replace(integrator="euler", nY=9)]
    acc = rkstudy.accuracy_under([_Trained(theta, W)], evaluators, X, y)
    assert acc.shape == (1, 2)
    assert acc[0, 0] == model.accuracy(theta, W, X, y)
    assert acc[0, 1] == evaluators[1].model(workers=1).accuracy(theta, W, X, y)
    err = rkstudy.feature_error_under([_Trained(theta, W)], evaluators, cfg, X)
    assert err[0, 0] == 0.0 and err[0, 1] > 0


def test_network_convergence_orders(rng):
    # Weights interpolated in time have kinks at the control times: RK4 keeps its order 4
    # when those are state times (steps a multiple of nt - 1), and drops to 2 otherwise.
    cfg = RunConfig(nY=4, T=3.0, nt=6, nc=3, integrator="rk4")
    model = cfg.model(workers=1)
    theta = model.init_params(1) + 0.5 * rng.standard_normal(model.n_params)
    X = rng.uniform(-3, 3, size=(2, 30))
    aligned = rkstudy.network_convergence(cfg, theta, X, ["euler", "rk4"], [21, 41, 81, 161], ref_states=2561)
    assert abs(aligned["rk4"].order - 4) < 0.2 and abs(aligned["euler"].order - 1) < 0.2
    other = rkstudy.network_convergence(cfg, theta, X, ["rk4"], [17, 33, 65, 129], ref_states=2561)
    assert abs(other["rk4"].order - 2) < 0.2


def test_linear_growth():
    # theta = (1, 1): eigenvalues 0 and -3 (double). Euler: |1 - 3h|; RK4: |R(-3h)|.
    assert rkstudy.linear_growth("euler", 0.5, [1.0, 1.0]) == pytest.approx(0.5)
    assert rkstudy.linear_growth("euler", 1.0, [1.0, 1.0]) == pytest.approx(2.0)
    z = -3 * 0.4
    assert rkstudy.linear_growth("rk4", 0.4, [1.0, 1.0]) == pytest.approx(abs(1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24))
    g = rkstudy.linear_growth("rk4_thesis_as_written", 0.4, np.array([[1.0, 1.0], [0.5, 2.0]]))
    assert g.shape == (2,)
    with pytest.raises(ValueError, match="h"):
        rkstudy.linear_growth("euler", 0.0, [1.0, 1.0])
