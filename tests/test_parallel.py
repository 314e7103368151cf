import gc

import numpy as np
import pytest

from resnet_ode.core.network import ResNetODE


def test_workers_give_identical_results(rng):
    X = rng.uniform(-3, 3, size=(2, 301))
    local = ResNetODE(nY=9, T=5.0, nt=4, workers=1)
    remote = ResNetODE(nY=9, T=5.0, nt=4, workers=2)
    theta = local.init_params(0) + 0.2 * rng.standard_normal(local.n_params)
    v = rng.standard_normal(local.n_params)
    Ya, ta = local.features.forward(theta, X)
    Yb, tb = remote.features.forward(theta, X)
    W = rng.standard_normal(Ya.shape)
    assert np.array_equal(Ya, Yb)
    assert np.array_equal(local.features.apply(theta, X), remote.features.apply(theta, X))
    assert np.array_equal(local.features.jvp(ta, v), remote.features.jvp(tb, v))
    ga, gb = local.features.vjp(ta, W), remote.features.vjp(tb, W)
    assert np.array_equal(ga[0], gb[0]) and np.array_equal(ga[1], gb[1])


@pytest.mark.processes
def test_worker_tapes_are_released(rng):
    X = rng.uniform(-3, 3, size=(2, 50))
    model = ResNetODE(nY=5, T=2.0, nt=3, workers=2)
    theta = model.init_params(1)
    for _ in range(20):
        Y, tape = model.features.forward(theta, X)
        model.features.vjp(tape, np.ones_like(Y))
        del tape
        gc.collect()
    # The pending releases go out with the next request; a stale handle is an error.
    Y, tape = model.features.forward(theta, X)
    pool = model.features._pool
    assert all(len(p) <= 2 for p in pool._pending)
