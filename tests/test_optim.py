import numpy as np
import pytest

from resnet_ode.core import optim
from resnet_ode.core.objectives import Evaluation


class Quadratic:
    """f(x) = 0.5 x^T A x - b^T x with an exact Hessian."""

    def __init__(self, rng, n=12):
        M = rng.standard_normal((n, n))
        self.A = M @ M.T + np.eye(n)
        self.b = rng.standard_normal(n)
        self.x_star = np.linalg.solve(self.A, self.b)

    def value(self, x):
        return 0.5 * x @ self.A @ x - self.b @ x

    def evaluate(self, x, hessian=False):
        g = self.A @ x - self.b
        return Evaluation(self.value(x), g, x, np.zeros(1), self.value(x), 0.0, (lambda v: self.A @ v) if hessian else None)


@pytest.mark.parametrize("method", ["gauss_newton", "lbfgs", "gd", "adam"])
def test_optimisers_decrease_and_record_history(method, rng):
    q = Quadratic(rng)
    x0 = np.zeros(12)
    kwargs = {"max_iter": 60} if method != "adam" else {"max_iter": 300, "lr": 0.05}
    fn = {"gauss_newton": optim.gauss_newton, "lbfgs": optim.lbfgs, "gd": optim.gradient_descent, "adam": optim.adam}[method]
    res = fn(q, x0, monitor=lambda th, W: 0.5, **kwargs)
    h = res.history
    assert set(h) == set(optim.HISTORY_KEYS)
    assert h["objective"][-1] < h["objective"][0]
    assert np.all(np.diff(h["iteration"]) == 1) and h["iteration"][0] == 0
    if method in ("gauss_newton", "lbfgs"):
        assert np.allclose(res.x, q.x_star, atol=1e-6)


def test_gauss_newton_step_is_capped(rng):
    q = Quadratic(rng)
    q.b *= 1e3  # far-away minimiser: steps must be scaled to max |s| <= max_step
    res = optim.gauss_newton(q, np.zeros(12), max_iter=3, max_step=0.5)
    assert np.max(np.abs(np.diff(np.vstack([np.zeros(12), res.x]), axis=0))) <= 3 * 0.5 + 1e-12
