import numpy as np
import pytest

from resnet_ode.core.timegrid import (
    interpolate,
    interpolate_adjoint,
    interpolation_matrix,
    per_step_times,
    uniform_times,
)


def test_uniform_and_per_step_times():
    assert np.allclose(uniform_times(20.0, 16), np.arange(16) * 20 / 15)
    assert np.allclose(per_step_times(10.0, 8), np.arange(8) * 1.25)
    with pytest.raises(ValueError, match="T"):
        uniform_times(0.0, 4)
    with pytest.raises(ValueError, match="n"):
        uniform_times(1.0, 1)


def test_interpolation_reproduces_linear_functions_and_nodes():
    s = uniform_times(20.0, 16)
    t = np.linspace(-1.0, 21.0, 97)
    P = interpolation_matrix(s, t)
    assert np.allclose(P.sum(axis=1), 1.0) and np.all(P >= 0)
    assert np.all((P > 0).sum(axis=1) <= 2)
    inside = (t >= 0) & (t <= 20)
    assert np.allclose((P @ (3 * s + 1))[inside], 3 * t[inside] + 1)
    # Constant outside the grid.
    assert np.allclose((P @ s)[t < 0], 0.0) and np.allclose((P @ s)[t > 20], 20.0)
    # Nodes hit exactly, even when computed from another grid (rounding).
    Pn = interpolation_matrix(s, uniform_times(20.0, 31))  # every other state time is a control time
    assert np.array_equal(Pn[::2], np.eye(16))


def test_interpolation_adjoint(rng):
    P = interpolation_matrix(uniform_times(5.0, 7), rng.uniform(0, 5, size=40))
    a = rng.standard_normal((7, 3, 3))
    g = rng.standard_normal((40, 3, 3))
    assert np.vdot(interpolate(P, a), g) == pytest.approx(np.vdot(a, interpolate_adjoint(P, g)), rel=1e-13)


def test_interpolation_rejects_unsorted_controls():
    with pytest.raises(ValueError, match="increasing"):
        interpolation_matrix([0.0, 2.0, 1.0], [0.5])


def test_plot_time_grids_draws_the_weights_each_depth_uses():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from resnet_ode.studies.plotting import plot_time_grids
    from resnet_ode.training.runs import RunConfig, RunResult

    config = RunConfig(nY=9, T=4.0, nt=5, nc=3)
    model = config.model()
    theta = np.random.default_rng(0).normal(size=model.n_params)
    run = RunResult(config, theta, np.zeros(model.n_classifier_params), {}, 0.0, "", _model=model)
    fig, axes = plt.subplots(1, 2)
    plot_time_grids(axes, run, [3, 9], entry=(1, 2))
    _, K, _ = model.split(theta)
    lines = axes[1].get_lines()  # interpolant, control values, then one line per depth
    np.testing.assert_allclose(lines[1].get_ydata(), K[:, 1, 2])
    np.testing.assert_allclose(lines[2].get_xdata(), [0.0, 2.0])  # nY = 3: steps start at 0 and 2
    np.testing.assert_allclose(lines[2].get_ydata(), np.interp([0.0, 2.0], np.linspace(0, 4, 5), K[:, 1, 2]))
    assert len(axes[0].get_yticklabels()) == 3
    plt.close(fig)
