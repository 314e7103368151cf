"""One Taylor test and one adjoint test, run over every block and composition."""

import numpy as np
import pytest

from resnet_ode.core.blocks import AffineClassifier, Block, Chain, ODEBlock, OpeningLayer
from resnet_ode.core.parallel import ColumnParallel
from resnet_ode.core.derivcheck import check_block, taylor_test
from resnet_ode.core.integrators import METHODS


def _ode(**kw):
    kw = {"width": 4, "T": 2.0, "n_states": 6, "n_controls": 4, **kw}
    return ODEBlock(**kw)


BLOCKS = {
    "opening-tanh": OpeningLayer(n_in=2, width=4),
    "opening-identity": OpeningLayer(n_in=3, width=5, activation="identity"),
    "classifier": AffineClassifier(n_in=4, n_classes=5),
    "ode-per-step": _ode(control="per_step", integrator="rk4"),
    "ode-relu": _ode(activation="relu"),
    "ode-many-controls": _ode(n_states=5, n_controls=9),
    "chain": Chain([OpeningLayer(width=4), _ode(), AffineClassifier(n_in=4)]),
    "parallel-in-process": ColumnParallel(Chain([OpeningLayer(width=4), _ode()]), n_chunks=3, workers=1),
    "parallel-workers": ColumnParallel(Chain([OpeningLayer(width=4), _ode()]), n_chunks=3, workers=2),
}
for name in METHODS:
    for bias in ("outside", "inside"):
        BLOCKS[f"ode-{name}-{bias}"] = _ode(integrator=name, bias=bias)


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_block_derivatives(name, rng):
    block = BLOCKS[name]
    # ReLU has kinks: keep the steps small enough not to cross them.
    h0 = 1e-4 if "relu" in name else 0.5
    taylor, adjoint = check_block(block, rng, h0=h0)
    assert taylor.passed(expected=2.0, tol=0.15), (taylor.orders, taylor.r1)
    # The zeroth-order remainder falls like h: the test is not vacuous.
    assert np.median(np.log2(taylor.r0[:-1] / taylor.r0[1:])) == pytest.approx(1.0, abs=0.1)
    assert adjoint < 1e-12


def test_taylor_test_catches_a_wrong_derivative(rng):
    block = _ode()
    theta = block.init_params(rng) + 0.3 * rng.standard_normal(block.n_params)
    Y = rng.standard_normal((4, 5))
    v = rng.standard_normal(block.n_params)
    _, tape = block.forward(theta, Y)
    wrong = 1.01 * block.jvp(tape, v, None)
    result = taylor_test(lambda th: block.apply(th, Y), theta, v, wrong, h0=0.5, n=16)
    assert not result.passed()
    # Once h is small the error term h * 0.01 J v dominates: the remainder falls like h.
    assert np.allclose(result.orders[-3:], 1.0, atol=0.1), result.orders


def test_ode_block_states_and_fast_path_agree_with_general_rk(rng):
    euler = _ode()
    theta = euler.init_params(rng) + 0.3 * rng.standard_normal(euler.n_params)
    Y = rng.standard_normal((4, 7))
    out, tape = euler.forward(theta, Y)
    assert np.allclose(euler.apply(theta, Y), out, rtol=1e-14, atol=1e-14)
    assert tape.states().shape == (6, 4, 7)
    # Manual forward Euler with the interpolated weights.
    K, b = euler.weights_at_stages(theta)
    Z = Y.copy()
    for j in range(euler.n_steps):
        Z = Z + euler.h * (np.tanh(K[j] @ Z) + b[j])
    assert np.allclose(out, Z, rtol=1e-13, atol=1e-13)


def _concrete_block_classes(base=Block):
    """Every concrete subclass of ``base`` defined in the package (all its modules imported first)."""
    import importlib
    import inspect
    import pkgutil

    import resnet_ode

    for module in pkgutil.walk_packages(resnet_ode.__path__, prefix="resnet_ode."):
        importlib.import_module(module.name)
    found, todo = set(), [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if not inspect.isabstract(sub) and sub.__module__.startswith("resnet_ode."):
                found.add(sub)
    return found


def _untested(classes, blocks=BLOCKS):
    tested = {type(b) for b in blocks.values()}
    return sorted(c.__qualname__ for c in classes if c not in tested)


def test_every_block_class_of_the_package_has_a_derivative_test():
    classes = _concrete_block_classes()
    assert {OpeningLayer, AffineClassifier, ODEBlock, Chain, ColumnParallel} <= classes
    assert _untested(classes) == [], "add an instance of each to BLOCKS"

    class NewBlock(ODEBlock):   # a block added without a derivative test is reported
        pass

    assert _untested(classes | {NewBlock}) == ["test_every_block_class_of_the_package_has_a_derivative_test.<locals>.NewBlock"]
