"""Chapter 3.1's figures (resnet_ode.studies.transfer_plots) on made-up inputs."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from resnet_ode.studies import transfer_plots  # noqa: E402


def test_cross_block_shows_the_chosen_rows_and_columns():
    depths = [8, 16, 32, 64]
    maps = np.zeros((4, 4, 6, 6), dtype=int)
    for i in range(4):
        for j in range(4):
            maps[i, j] = (i + j) % 5
    accuracy = np.arange(16.0).reshape(4, 4) / 16
    fig = transfer_plots.plot_cross_block(maps, depths, [2, 3], (-3, 3, -3, 3), accuracy=accuracy)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 4
    assert [ax.get_title() for ax in panels] == [f"accuracy {accuracy[i, j]:.3f}" for i in (2, 3) for j in (2, 3)]
    assert panels[0].get_ylabel() == "weights nY = 32" and panels[2].get_ylabel() == "weights nY = 64"
    assert np.array_equal(panels[1].images[0].get_array(), maps[2, 3])   # row 32, network 64
    assert fig.legends                                                     # the class legend
    plt.close(fig)
    with pytest.raises(ValueError, match="index"):
        transfer_plots.plot_cross_block(maps, depths, [1, 4], (-3, 3, -3, 3))


def test_cross_accuracy_has_one_or_two_panels():
    M = np.eye(4)
    one = transfer_plots.plot_cross_accuracy(M, [8, 16, 32, 64], "mean")
    two = transfer_plots.plot_cross_accuracy(M, [8, 16, 32, 64], "mean", spread=M / 2, spread_title="spread")
    titles = lambda fig: [ax.get_title() for ax in fig.axes if ax.get_title()]  # noqa: E731
    assert titles(one) == ["mean"] and titles(two) == ["mean", "spread"]
    plt.close("all")


def test_depth_time_draws_one_mean_line_per_final_time():
    values = np.array([[[0.9, 0.8], [1.0, 1.0]], [[0.5, 0.7], [0.9, 0.9]]])    # (T, nY, seed)
    steps = np.array([[1.0, 0.5], [2.0, 1.0]])
    fig = transfer_plots.plot_depth_time([5.0, 10.0], steps, values)
    ax = fig.axes[0]
    means = [line for line in ax.get_lines() if line.get_label() in ("T = 5", "T = 10")]
    assert len(means) == 2
    assert np.allclose(means[1].get_ydata(), [0.6, 0.9]) and np.allclose(means[1].get_xdata(), [2.0, 1.0])
    assert ax.get_xscale() == "log"
    plt.close(fig)


class _Run:
    def __init__(self, nY, scale):
        n = np.arange(1, 5)
        self.config = type("Config", (), {"nY": nY})()
        self.history = {"iteration": n, "seconds": 0.5 * n, "objective": scale / n,
                        "val_accuracy": 1 - 0.1 / n, "train_accuracy": 1 - 0.05 / n}


def test_histories_one_line_pair_per_run_and_one_legend_entry_each():
    fig = transfer_plots.plot_histories([_Run(8, 1.0), _Run(16, 2.0)], seed=3)
    objective, accuracy = fig.axes
    assert len(objective.get_lines()) == 2 and len(accuracy.get_lines()) == 4      # validation and training
    assert [t.get_text() for t in accuracy.get_legend().get_texts()] == ["nY=8: validation", "nY=16: validation"]
    assert objective.get_title() == "objective $\\Phi$ (seed 3)"
    plt.close(fig)


def test_optimizers_keep_only_validation_accuracy_and_share_one_legend():
    fig = transfer_plots.plot_optimizers({"a": _Run(32, 1.0), "b": _Run(32, 2.0)})
    axes = np.array(fig.axes).reshape(2, 2)
    assert all(len(ax.get_lines()) == 2 for ax in axes[:, 1])                      # training curves removed
    assert axes[1, 0].get_xlabel() == "seconds"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]
    plt.close(fig)
