import numpy as np
import pytest

from resnet_ode.core.data import make_peaks_dataset
from resnet_ode.core.derivcheck import adjoint_error, taylor_test
from resnet_ode.core.network import ResNetODE
from resnet_ode.core.objectives import (
    EXACT_CLASSIFIER_SOLVER,
    PRUNE,
    ClassifierSolverSettings,
    ClassifierSubproblem,
    JointObjective,
    VarProObjective,
    classifier_hessian,
    solve_classifier,
)
from resnet_ode.core.krylov import conjugate_gradient


@pytest.fixture(scope="module")
def problem():
    data = make_peaks_dataset(n_train_per_class=30, n_val_per_class=5, seed=3)
    model = ResNetODE(nY=6, T=3.0, nt=4, nc=4, alpha=1e-3, alpha_W=1e-3, workers=1)
    rng = np.random.default_rng(0)
    theta = model.init_params(0) + 0.3 * rng.standard_normal(model.n_params)
    return data, model, theta


def test_joint_gradient_taylor(problem, rng):
    data, model, theta = problem
    obj = JointObjective(model, data.X_train, data.y_train)
    x = np.concatenate([theta, 0.5 * rng.standard_normal(model.n_classifier_params)])
    v = rng.standard_normal(x.size)
    ev = obj.evaluate(x)
    assert ev.value == pytest.approx(obj.value(x), rel=1e-14)
    t = taylor_test(lambda z: np.array([obj.value(z)]), x, v, np.array([ev.grad @ v]))
    assert t.passed(), t.orders


def test_varpro_gradient_taylor_with_exact_inner_solve(problem, rng):
    data, model, theta = problem
    obj = VarProObjective(model, data.X_train, data.y_train, warm_start=False, solver=EXACT_CLASSIFIER_SOLVER)
    v = rng.standard_normal(theta.size)
    ev = obj.evaluate(theta)
    t = taylor_test(lambda z: np.array([obj.value(z)]), theta, v, np.array([ev.grad @ v]), h0=0.1)
    # The envelope-theorem gradient is exact at the exact minimiser: order 2 until
    # the inner tolerance (1e-9) is reached.
    assert t.passed(tol=0.25), t.orders


@pytest.mark.parametrize("kind", ["varpro", "joint"])
def test_gauss_newton_product_symmetric_positive_semidefinite(problem, rng, kind):
    data, model, theta = problem
    if kind == "varpro":
        obj, x = VarProObjective(model, data.X_train, data.y_train), theta
    else:
        obj = JointObjective(model, data.X_train, data.y_train)
        x = np.concatenate([theta, rng.standard_normal(model.n_classifier_params)])
    H = obj.evaluate(x, hessian=True).hessvec
    u, w = rng.standard_normal(x.size), rng.standard_normal(x.size)
    assert adjoint_error(H(u), w, u, H(w)) < 1e-12
    for _ in range(5):
        z = rng.standard_normal(x.size)
        assert z @ H(z) >= 0
    # Explicit matrix: symmetric, eigenvalues >= 0 up to rounding.
    M = np.column_stack([H(e) for e in np.eye(x.size)])
    assert np.allclose(M, M.T, atol=1e-12 * np.abs(M).max())
    assert np.linalg.eigvalsh(0.5 * (M + M.T)).min() > -1e-10 * np.abs(M).max()


def test_gauss_newton_product_matches_jacobian_of_scores(problem, rng):
    """With no shift and no regulariser the joint product is J_S^T H_S J_S, built here from J v."""
    data, model, theta = problem
    obj = JointObjective(model, data.X_train, data.y_train, hessian_shift=0.0)
    x = np.concatenate([theta, rng.standard_normal(model.n_classifier_params)])
    ev = obj.evaluate(x, hessian=True)
    v = rng.standard_normal(x.size)
    # Directional derivative of the gradient of 0.5 ||S||^2-like quadratic model: compare
    # with finite differences of the scores through the exact loss Hessian.
    th, W = x[: model.n_params], x[model.n_params :]
    eps = 1e-6
    S0 = model.scores(th, W, data.X_train)
    S1 = model.scores(th + eps * v[: model.n_params], W + eps * v[model.n_params :], data.X_train)
    JS = (S1 - S0) / eps
    from resnet_ode.core.losses import cross_entropy, cross_entropy_hessvec

    P = cross_entropy(S0, data.y_train)[2]
    quad = np.vdot(JS, cross_entropy_hessvec(P, JS))
    reg = v[: model.n_params] @ model.regulariser.hessvec(v[: model.n_params]) + v[model.n_params :] @ model.regulariser_W.hessvec(v[model.n_params :])
    assert v @ ev.hessvec(v) == pytest.approx(quad + reg, rel=1e-4)


def test_classifier_solvers_agree_and_hessian_is_exact(problem, rng):
    data, model, theta = problem
    Y = model.features.apply(theta, data.X_train)
    W_exact, info = solve_classifier(model.classifier, Y, data.y_train, model.regulariser_W, settings=EXACT_CLASSIFIER_SOLVER)
    assert info["grad_norm"] < 1e-9
    Yb = np.vstack([Y, np.ones((1, Y.shape[1]))])
    from resnet_ode.core.losses import cross_entropy

    S = model.classifier.apply(W_exact, Y)
    P = cross_entropy(S, data.y_train)[2]
    H = classifier_hessian(P, Yb, model.regulariser_W.alpha)
    v = rng.standard_normal(W_exact.size)

    def grad(Wv):
        S = model.classifier.apply(Wv, Y)
        return model.classifier.vjp((model.classifier.matrix(Wv), Y), cross_entropy(S, data.y_train)[1])[0] + model.regulariser_W.value_grad(Wv)[1]

    assert taylor_test(grad, W_exact, v, H @ v).passed()


def _subproblem(problem, rng, weights=None, scale=1.0):
    data, model, theta = problem
    Y = scale * model.features.apply(theta, data.X_train)
    n = Y.shape[1]
    w = None if weights is None else (rng.uniform(0.5, 1.5, n) if weights == "random" else np.full(n, 1.0 / n))
    return ClassifierSubproblem(model.classifier, Y, data.y_train, model.regulariser_W, w)


def test_weighted_classifier_subproblem_derivatives(problem, rng):
    """Taylor tests of gradient and Hessian with sample weights; Hessian symmetric, its product the matrix's."""
    sp = _subproblem(problem, rng, "random")
    W, V, U = (rng.standard_normal(sp.n) for _ in range(3))
    f, g, P = sp.value_grad(W)
    H = sp.hessian(P)
    assert taylor_test(lambda Wv: np.array([sp.value_grad(Wv)[0]]), W, V, np.array([g @ V])).passed()
    assert taylor_test(lambda Wv: sp.value_grad(Wv)[1], W, V, H @ V).passed()
    assert adjoint_error(H @ V, U, V, H @ U) < 1e-13
    assert np.allclose(sp.hessvec(P, V), H @ V, rtol=1e-12, atol=1e-14 * np.abs(H).max())


def test_uniform_weights_are_the_mean(problem, rng):
    plain, uniform = _subproblem(problem, rng), _subproblem(problem, rng, "uniform")
    W = rng.standard_normal(plain.n)
    (f, g, P), (fu, gu, Pu) = plain.value_grad(W), uniform.value_grad(W)
    assert fu == pytest.approx(f, rel=1e-14) and np.allclose(gu, g, rtol=1e-12, atol=1e-15)
    assert np.allclose(uniform.hessian(Pu), plain.hessian(P), rtol=1e-12, atol=1e-15)


def test_pruned_hessian_differs_by_rounding_only(problem, rng):
    """Where most samples are classified with certainty, leaving them out changes the Hessian by rounding only."""
    sp, plain = _subproblem(problem, rng, "random"), _subproblem(problem, rng)
    W = 300.0 * rng.standard_normal(sp.n)
    P = sp.value_grad(W)[2]
    certain = (1.0 - P.max(axis=0)) <= PRUNE
    assert 0.5 < certain.mean() < 1.0  # the pruned branch is taken, and something is left
    # A left-out sample's block entries are below 2 PRUNE w_i max|yb_i|^2.
    for s, w in [(sp, sp.weights), (plain, np.full(P.shape[1], 1.0 / P.shape[1]))]:
        H, Hp = s.hessian(P), s.hessian(P, prune=True)
        bound = 2 * PRUNE * np.sum(w[certain] * np.abs(s.Yb[:, certain]).max(axis=0) ** 2)
        assert not np.array_equal(Hp, H) and np.abs(Hp - H).max() <= bound


@pytest.mark.parametrize("method", ["newton", "newton_cg"])
def test_solver_on_distinct_weighted_samples_equals_the_solver_on_all(problem, rng, method):
    data, model, theta = problem
    Y = model.features.apply(theta, data.X_train)
    n = Y.shape[1]
    counts = rng.integers(1, 4, n)
    rep = np.repeat(np.arange(n), counts)
    settings = EXACT_CLASSIFIER_SOLVER if method == "newton" else ClassifierSolverSettings(max_iter=50, cg_max_iter=50,
                                                                                          cg_tol=1e-10, gtol=1e-9)
    W_all, info_all = solve_classifier(model.classifier, Y[:, rep], data.y_train[rep], model.regulariser_W,
                                       settings=settings)
    W_w, info_w = solve_classifier(model.classifier, Y, data.y_train, model.regulariser_W, settings=settings,
                                   weights=counts / counts.sum())
    assert info_all["grad_norm"] < 1e-9 and info_w["grad_norm"] < 1e-9
    assert np.allclose(W_w, W_all, rtol=1e-6, atol=1e-8 * np.abs(W_all).max())


def test_conjugate_gradient_solves_spd_system(rng):
    M = rng.standard_normal((20, 20))
    A = M @ M.T + 20 * np.eye(20)
    b = rng.standard_normal(20)
    x, steps, relres = conjugate_gradient(lambda v: A @ v, b, tol=1e-10, max_iter=100)
    assert np.allclose(A @ x, b, atol=1e-8) and relres <= 1e-10 and steps <= 20
    # Negative curvature on the first step: the right-hand side is returned.
    x2, steps2, _ = conjugate_gradient(lambda v: -v, b)
    assert steps2 == 0 and np.array_equal(x2, b)
