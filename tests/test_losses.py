import numpy as np
import pytest

from resnet_ode.core.derivcheck import adjoint_error, taylor_test
from resnet_ode.core.losses import (
    BlockRegulariser,
    Tikhonov,
    TimeSmoothness,
    cross_entropy,
    cross_entropy_hessvec,
    softmax,
)


def test_cross_entropy_value_and_stability(rng):
    S = rng.standard_normal((5, 30))
    y = rng.integers(0, 5, 30)
    value, grad, P = cross_entropy(S, y)
    direct = np.mean(-np.log(np.exp(S[y, np.arange(30)]) / np.exp(S).sum(axis=0)))
    assert value == pytest.approx(direct, rel=1e-13)
    assert np.allclose(P, softmax(S))
    # Huge scores do not overflow.
    big, _, Pbig = cross_entropy(S + 1e4, y)
    assert big == pytest.approx(value, rel=1e-9) and np.all(np.isfinite(Pbig))


def test_weighted_cross_entropy_equals_the_mean_over_duplicated_samples(rng):
    S = rng.standard_normal((5, 12))
    y = rng.integers(0, 5, 12)
    counts = rng.integers(1, 4, 12)
    rep = np.repeat(np.arange(12), counts)  # every sample repeated count times
    value, grad, P = cross_entropy(S[:, rep], y[rep])
    w = counts / counts.sum()
    wvalue, wgrad, wP = cross_entropy(S, y, w)
    assert wvalue == pytest.approx(value, rel=1e-14)
    # The gradient of a distinct sample is the sum over its copies.
    summed = np.zeros_like(S)
    np.add.at(summed.T, rep, grad.T)
    assert np.allclose(wgrad, summed, rtol=1e-13, atol=1e-16) and np.array_equal(wP, P[:, np.cumsum(counts) - 1])
    # The weighted Hessian product likewise.
    V = rng.standard_normal(S.shape)
    summed_hv = np.zeros_like(S)
    np.add.at(summed_hv.T, rep, cross_entropy_hessvec(P, V[:, rep], 1e-3).T)
    assert np.allclose(cross_entropy_hessvec(wP, V, 1e-3, weights=w), summed_hv, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("weighted", [False, True])
def test_batched_cross_entropy_equals_one_score_set_at_a_time(rng, weighted):
    S = rng.standard_normal((4, 5, 33))
    y = rng.integers(0, 5, 33)
    w = rng.uniform(0.5, 1.5, 33) / 33 if weighted else None
    values, grads, Ps = cross_entropy(S, y, w)
    assert values.shape == (4,) and grads.shape == Ps.shape == S.shape
    for k in range(4):
        v, g, P = cross_entropy(S[k], y, w)
        # Every batch entry is reduced on its own: the same bits as alone.
        assert values[k] == v and np.array_equal(grads[k], g) and np.array_equal(Ps[k], P)


def test_cross_entropy_gradient_and_hessian(rng):
    S = rng.standard_normal((5, 30))
    y = rng.integers(0, 5, 30)
    V = rng.standard_normal(S.shape)
    _, grad, P = cross_entropy(S, y)
    t = taylor_test(lambda s: np.array([cross_entropy(s, y)[0]]), S, V, np.array([np.vdot(grad, V)]))
    assert t.passed()
    HV = cross_entropy_hessvec(P, V)
    t2 = taylor_test(lambda s: cross_entropy(s, y)[1], S, V, HV)
    assert t2.passed()
    W = rng.standard_normal(S.shape)
    assert adjoint_error(HV, W, V, cross_entropy_hessvec(P, W)) < 1e-13
    assert np.vdot(V, cross_entropy_hessvec(P, V)) >= 0
    # With sample weights.
    w = rng.uniform(0.5, 1.5, 30)
    _, wgrad, _ = cross_entropy(S, y, w)
    t3 = taylor_test(lambda s: cross_entropy(s, y, w)[1], S, V, cross_entropy_hessvec(P, V, weights=w))
    assert t3.passed()


@pytest.mark.parametrize(
    "reg",
    [Tikhonov(0.3), TimeSmoothness(0.7, n_controls=6, h=0.5),
     BlockRegulariser([(Tikhonov(0.2), 4), (None, 3), (TimeSmoothness(0.1, 3, 2.0), 6)])],
    ids=["tikhonov", "smoothness", "blocks"],
)
def test_regulariser_derivatives(reg, rng):
    n = 13 if isinstance(reg, BlockRegulariser) else 12
    x, v = rng.standard_normal(n), rng.standard_normal(n)
    value, grad = reg.value_grad(x)
    assert taylor_test(lambda z: np.array([reg.value_grad(z)[0]]), x, v, np.array([grad @ v])).passed()
    assert taylor_test(lambda z: reg.value_grad(z)[1], x, v, reg.hessvec(v)).r1.max() < 1e-10  # quadratic: exact


def test_time_smoothness_value():
    reg = TimeSmoothness(2.0, n_controls=3, h=0.5)
    theta = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 3.0]]).ravel()
    # differences / h: (2, 0), (0, 4); 0.5 * alpha * (4 + 16) = 20
    assert reg.value_grad(theta)[0] == pytest.approx(20.0)
