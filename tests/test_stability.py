"""Stability analysis: eigenvalues, layer Jacobians, regions, perturbation propagation."""

import numpy as np
import pytest

from resnet_ode.studies import stability
from resnet_ode.core.blocks import ODEBlock
from resnet_ode.core.derivcheck import adjoint_error, taylor_test
from resnet_ode.core.integrators import METHODS
from resnet_ode.core.network import ResNetODE

TABLEAUX = [m for m in METHODS.values() if not m.step_dependent]


# -- eigenvalues ---------------------------------------------------------------


def test_eigenvalues_of_known_matrices():
    # Rotation-with-decay [[a, -w], [w, a]] has a +- i w; a triangular matrix has its diagonal.
    R = np.array([[-0.5, -2.0], [2.0, -0.5]])
    T = np.array([[1.0, 5.0, -3.0], [0.0, -2.0, 7.0], [0.0, 0.0, 0.25]])
    lam = stability.eigenvalues(R)
    assert np.allclose(sorted(lam, key=lambda z: z.imag), [-0.5 - 2j, -0.5 + 2j])
    assert np.allclose(np.sort(stability.eigenvalues(T).real), [-2.0, 0.25, 1.0])
    # Batched over a stack: each matrix gets its own eigenvalues.
    stack = np.stack([np.diag([1.0, 2.0]), np.diag([-3.0, 4.0]), R])
    out = stability.eigenvalues(stack)
    assert out.shape == (3, 2)
    assert np.allclose(np.sort_complex(out[1]), [-3.0, 4.0])
    assert np.allclose(np.sort_complex(out[2]), [-0.5 - 2j, -0.5 + 2j])


def test_eigenvalues_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        stability.eigenvalues(np.zeros((3, 2)))


# -- layer Jacobians ---------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "identity"])
@pytest.mark.parametrize("bias", ["outside", "inside"])
def test_layer_jacobian_taylor_and_adjoint(rng, activation, bias):
    w = 6
    K = rng.standard_normal((w, w))
    b = 0.7
    y = rng.standard_normal(w)
    v = rng.standard_normal(w)
    J = stability.layer_jacobians(K, y[:, None], b, activation, bias)[0]
    f = lambda z: stability.residual_function(K, z, b, activation, bias)
    result = taylor_test(f, y, v, J @ v, h0=0.5, n=12)
    if activation == "identity":
        # f is affine: the first-order remainder is rounding only.
        assert np.max(result.r1) < 1e-12 * max(1.0, np.max(result.r0))
    else:
        assert result.passed(expected=2.0, tol=0.15), result.orders
    assert np.median(np.log2(result.r0[:-1] / result.r0[1:])) == pytest.approx(1.0, abs=0.1)
    u = rng.standard_normal(w)
    assert adjoint_error(J @ v, u, v, J.T @ u) < 1e-13


def test_layer_jacobian_catches_a_wrong_formula(rng):
    # The Jacobian with sigma' at the wrong point (here: at 0, i.e. K alone) fails the Taylor test.
    K = rng.standard_normal((5, 5))
    y = rng.standard_normal(5)
    v = rng.standard_normal(5)
    f = lambda z: stability.residual_function(K, z)
    assert not taylor_test(f, y, v, K @ v, h0=0.5, n=12).passed()


def test_layer_jacobians_batched_match_single(rng):
    L, w, n = 3, 4, 5
    K = rng.standard_normal((L, w, w))
    Y = rng.standard_normal((L, w, n))
    b = rng.standard_normal(L)
    J = stability.layer_jacobians(K, Y, b, "tanh", "inside")
    assert J.shape == (L, n, w, w)
    for j in range(L):
        for i in range(n):
            D = 1.0 - np.tanh(K[j] @ Y[j, :, i] + b[j]) ** 2
            assert np.allclose(J[j, i], np.diag(D) @ K[j], rtol=1e-14, atol=1e-14)
    # Bias outside the activation does not enter the Jacobian.
    J_out = stability.layer_jacobians(K, Y, b, "tanh", "outside")
    assert np.allclose(J_out, stability.layer_jacobians(K, Y, None, "tanh", "outside"))


def test_layer_jacobians_shape_errors():
    with pytest.raises(ValueError, match="K must"):
        stability.layer_jacobians(np.zeros((3, 2)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="Y must"):
        stability.layer_jacobians(np.zeros((3, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="activation"):
        stability.layer_jacobians(np.zeros((3, 3)), np.zeros((3, 4)), activation="sigmoid")


# -- regions -------------------------------------------------------------------


def test_points_inside_and_outside_regions():
    inside = {"euler": [-1.0, -2.0, -1 + 0.9j, 0.0], "rk4": [-1.0, -2.5, 2.5j, -1 + 2j, 0.0]}
    outside = {"euler": [0.1, -2.05, 0.5j, -1 + 1.05j], "rk4": [0.1, -2.9, 2.9j, -3 + 1j]}
    for name in inside:
        assert stability.in_region(np.array(inside[name]), name).all(), name
        assert not stability.in_region(np.array(outside[name]), name).any(), name
    # Euler's region is exactly the unit disk centred at -1.
    rng = np.random.default_rng(0)
    z = rng.uniform(-3, 1, 2000) + 1j * rng.uniform(-2, 2, 2000)
    assert np.array_equal(stability.in_region(z, "euler", tol=0.0), np.abs(1 + z) <= 1.0)


def test_real_and_imaginary_intervals_where_theory_puts_them():
    assert stability.real_axis_interval("euler") == pytest.approx(-2.0, abs=1e-10)
    assert stability.real_axis_interval("midpoint") == pytest.approx(-2.0, abs=1e-10)
    # RK4: the real root of |R(x)| = 1 with x < 0, i.e. 1 + x/2 + x^2/6 + x^3/24 = 0 ... R(x) = -1 is not it;
    # R(x) = 1 gives x (1 + x/2 + x^2/6 + x^3/24) = 0, real root about -2.7853.
    root = [r.real for r in np.roots([1 / 24, 1 / 6, 1 / 2, 1]) if abs(r.imag) < 1e-12][0]
    assert stability.real_axis_interval("rk4") == pytest.approx(root, abs=1e-9)
    assert root == pytest.approx(-2.7853, abs=1e-4)
    assert stability.real_axis_interval("rk4_38") == pytest.approx(root, abs=1e-9)
    assert stability.imaginary_axis_interval("euler") == 0.0
    assert stability.imaginary_axis_interval("heun") == 0.0
    # Just inside / outside the RK4 interval on the imaginary axis.
    assert stability.in_region(2.82j, "rk4") and not stability.in_region(2.84j, "rk4")
    assert stability.imaginary_axis_interval("rk4") == pytest.approx(2 * np.sqrt(2), abs=1e-6)


def test_region_grid_matches_stability_function():
    x, y, amp = stability.region_grid("rk4", extent=(-3, 1, -3, 3), n=11)
    assert amp.shape == (11, 11)
    z = x[3] + 1j * y[7]
    assert amp[7, 3] == pytest.approx(abs(1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24))
    with pytest.raises(ValueError, match="integrator"):
        stability.region_grid("rk5")


@pytest.mark.parametrize("method", TABLEAUX, ids=lambda m: m.name)
def test_matrix_stability_function_is_the_frozen_linear_step(method, rng):
    # For y' = J y with constant J, one step of the method is exactly y -> R(hJ) y.
    J = rng.standard_normal((4, 4))
    y0 = rng.standard_normal(4)
    h = 0.3
    from resnet_ode.core.integrators import solve

    step = solve(method, lambda t, y: J @ y, y0, h, 1)
    assert np.allclose(stability.matrix_stability_function(method, h * J) @ y0, step, rtol=1e-13, atol=1e-13)


# -- networks --------------------------------------------------------------------


def _small_model(**kw):
    kw = {"nY": 6, "T": 3.0, "nt": 4, "nc": 4, "workers": 1, **kw}
    return ResNetODE(**kw)


def test_network_spectra_summaries(rng):
    model = _small_model(control="per_step")
    theta = model.init_params(0) + 0.5 * rng.standard_normal(model.n_params)
    X = rng.uniform(-3, 3, (2, 30))
    sp = stability.network_spectra(model, theta, X)
    assert sp.eigvals.shape == (5, 30, 4)
    assert np.allclose(sp.times, model.ode.state_times[:-1])
    # Recompute layer 2 by hand.
    states = model.states(theta, X)
    _, K, b = model.split(theta)
    lam = np.array([np.linalg.eigvals(np.diag(1 - np.tanh(K[2] @ states[2][:, i]) ** 2) @ K[2]) for i in range(30)])
    z = sp.h * lam
    assert sp.max_real[2] == pytest.approx(lam.real.max())
    assert sp.max_amp[2] == pytest.approx(np.abs(1 + z).max())
    assert sp.min_max_real[2] == pytest.approx(lam.real.max(axis=1).min())
    assert sp.share_inside[2] == pytest.approx(np.mean(np.abs(1 + z) <= 1 + 1e-12))
    assert sp.share_left[2] == pytest.approx(np.mean(lam.real <= 0))
    assert sp.share_stable_examples[2] == pytest.approx(np.mean(np.all(np.abs(1 + z) <= 1 + 1e-12, axis=1)))
    # The spectral norm of I + hJ bounds the spectral radius.
    assert np.all(sp.max_step_norm >= sp.max_amp - 1e-12)
    ov = sp.overall()
    assert ov["max_real"] == pytest.approx(sp.max_real.max())
    assert 0.0 <= ov["share_inside"] <= 1.0
    # keep=False gives the same summaries without the eigenvalues.
    sp2 = stability.network_spectra(model, theta, X, keep=False)
    assert sp2.eigvals is None and np.array_equal(sp2.max_amp, sp.max_amp)


def test_network_spectra_interpolated_weights(rng):
    model = _small_model(nY=9, nt=3)
    theta = model.init_params(1) + 0.5 * rng.standard_normal(model.n_params)
    X = rng.uniform(-3, 3, (2, 10))
    sp = stability.network_spectra(model, theta, X)
    Ke, _ = model.ode.weights_at_stages(model.chain.split(theta)[1])
    states = model.states(theta, X)
    J = stability.layer_jacobians(Ke[5], states[5])
    assert np.allclose(np.sort_complex(sp.eigvals[5].ravel()), np.sort_complex(np.linalg.eigvals(J).ravel()))


def test_network_spectra_validates_inputs(rng):
    model = _small_model()
    theta = model.init_params(0)
    with pytest.raises(ValueError, match="X must"):
        stability.network_spectra(model, theta, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="method"):
        stability.network_spectra(model, theta, np.zeros((2, 4)), method="rk5")


@pytest.mark.parametrize("integrator", ["euler", "rk4", "heun"])
@pytest.mark.parametrize("bias", ["outside", "inside"])
def test_tangent_states_match_block_jvp_and_finite_differences(rng, integrator, bias):
    ode = ODEBlock(width=4, T=2.0, n_states=7, n_controls=3, integrator=integrator, bias=bias)
    theta = ode.init_params(rng) + 0.5 * rng.standard_normal(ode.n_params)
    Y0 = rng.standard_normal((4, 5))
    dY = rng.standard_normal((4, 5))
    _, tape = ode.forward(theta, Y0)
    tan = stability.tangent_states(ode, tape, dY)
    assert tan.shape == (7, 4, 5)
    assert np.allclose(tan[-1], ode.jvp(tape, None, dY), rtol=1e-12, atol=1e-12)
    # Every intermediate tangent is the derivative of that state (Taylor test on state 3).
    states = lambda y: ode.forward(theta, y.reshape(4, 5))[1].states()[3].ravel()
    result = taylor_test(states, Y0.ravel(), dY.ravel(), tan[3].ravel(), h0=0.5, n=10)
    assert result.passed(expected=2.0, tol=0.15), result.orders


def test_perturbation_growth(rng):
    model = _small_model(control="per_step", nY=11, T=5.0)
    theta = model.init_params(0) + 0.5 * rng.standard_normal(model.n_params)
    X = rng.uniform(-3, 3, (2, 40))
    g = stability.perturbation_growth(model, theta, X, eps=1e-6, seed=3)
    assert g.linear.shape == g.nonlinear.shape == (11, 40)
    assert np.allclose(g.linear[0], 1.0) and np.allclose(g.nonlinear[0], 1.0)
    # A tiny finite perturbation follows the linearisation; a large one need not.
    assert g.max_relative_difference() < 1e-4
    big = stability.perturbation_growth(model, theta, X, eps=0.5, seed=3)
    assert np.allclose(big.linear, g.linear)
    assert big.max_relative_difference() > 10 * g.max_relative_difference()
    # One Euler step of the tangent grows by at most ||I + h J_j||_2, the whole block by the product.
    sp = stability.network_spectra(model, theta, X)
    assert np.all(g.step_ratios().max(axis=1) <= sp.max_step_norm * (1 + 1e-10))
    assert np.all(np.log(g.linear[-1]) <= sp.log_norm_product + 1e-10)
    assert sp.log_radius_product.shape == (40,)
    assert np.all(sp.log_radius_product <= sp.log_norm_product + 1e-10)
    assert g.quantiles().shape == (3, 11)
    with pytest.raises(ValueError, match="eps"):
        stability.perturbation_growth(model, theta, X, eps=0.0)
    with pytest.raises(TypeError, match="seed"):
        stability.perturbation_growth(model, theta, X, seed=1.5)


# -- chapter runs ------------------------------------------------------------------


def test_stability_runs_and_pages():
    from resnet_ode.book.experiments import SWEEPS, stability_pages, stability_runs

    runs = stability_runs([16, 8], [0, 2], 10.0, {"max_iter": 3})
    assert [(c.nt, c.nY, c.init_seed, c.control, c.T, c.max_iter) for c in runs] == [
        (8, 9, 0, "per_step", 10.0, 3), (16, 17, 0, "per_step", 10.0, 3),
        (8, 9, 2, "per_step", 10.0, 3), (16, 17, 2, "per_step", 10.0, 3)]
    assert stability_pages([8, 16], [2, 0], 5.0) == stability_runs([8, 16], [2], 5.0)
    configs = SWEEPS["3.2"].configs({"layers": [4, 8], "seeds": [1, 2], "T": 4.0, "changes": {}, "n_samples": 10})
    assert [(c.nt, c.init_seed, c.T) for c in configs] == [(4, 1, 4.0), (8, 1, 4.0)]
    assert SWEEPS["3.2"].output_path(configs[0]) == "book/chapter3/runs/stability-L004-seed1.ipynb"
    with pytest.raises(ValueError, match="layers"):
        stability_runs([8])
    with pytest.raises(ValueError, match="seeds"):
        stability_runs([8, 16], [])
    with pytest.raises(ValueError, match="init_seed"):
        stability_runs([8, 16], [0], 10.0, {"init_seed": 3})
    with pytest.raises(ValueError, match="init_seed"):
        stability_runs([8, 16], [-1])
