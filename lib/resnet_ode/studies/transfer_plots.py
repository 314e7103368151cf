"""Figures of Chapter 3.1 (weights carried over between depths).

They draw what the analyses of :mod:`resnet_ode.studies.transfer` return and
compute nothing themselves; the shared drawing pieces (prediction maps, matrices,
histories) come from :mod:`resnet_ode.studies.plotting`. Each function returns
its figure; the page shows it with :func:`resnet_ode.studies.plotting.show`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from resnet_ode.studies.plotting import add_class_legend, plot_history, plot_matrix, plot_prediction_map

EVALUATED = "state layers of the evaluating network"
TRAINED = "state layers the weights were trained with"


def plot_cross_accuracy(mean, depths, title: str, spread=None, spread_title: str | None = None):
    """Heat map of a cross-evaluation matrix (0 to 1), optionally next to the spread of its entries over the seeds.

    Parameters
    ----------
    mean : ndarray, shape (k, k)
        Accuracy of the weights of row ``i`` in the network of column ``j``.
    depths : sequence of int, length k
    title : str
    spread : ndarray, shape (k, k), optional
        Largest minus smallest entry over the seeds (a second panel).
    spread_title : str, optional
    """
    panels = 1 if spread is None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.6 * panels, 4.8), squeeze=False)
    axes = axes[0]
    plot_matrix(axes[0], mean, depths, depths, vmin=0, vmax=1, colorbar_label="accuracy")
    axes[0].set_title(title)
    if spread is not None:
        plot_matrix(axes[1], spread, depths, depths, vmin=0, cmap="magma", colorbar_label="max - min over seeds")
        axes[1].set_title(spread_title or "spread over the seeds")
    for ax in axes:
        ax.set_xlabel(EVALUATED)
        ax.set_ylabel(TRAINED)
    fig.tight_layout()
    return fig


def plot_cross_block(maps, depths, index, extent, X=None, y=None, accuracy=None, panel: float = 2.9):
    """Prediction maps of a block of the cross-evaluation: the weights of ``depths[i]`` in the network of ``depths[j]``.

    Parameters
    ----------
    maps : ndarray, shape (k, k, n, n)
        Predicted class of every grid point for every pair of depths.
    depths : sequence of int, length k
    index : sequence of int
        The depths (indices into ``depths``) whose rows and columns are shown.
    extent : tuple (x1 min, x1 max, x2 min, x2 max)
    X : ndarray, shape (2, m), optional
        Points drawn on top, coloured by their class ``y`` (shape (m,)).
    accuracy : ndarray, shape (k, k), optional
        Shown in each panel's title.
    panel : float
        Width of one panel, inches.
    """
    index = list(index)
    b = len(index)
    if b == 0 or max(index) >= len(depths) or min(index) < 0:
        raise ValueError(f"index must hold indices into the {len(depths)} depths, got {index}")
    fig, axes = plt.subplots(b, b, figsize=(panel * b + 0.8, panel * b + 1.0), squeeze=False)
    for a, i in enumerate(index):
        for c, j in enumerate(index):
            ax = axes[a, c]
            title = f"accuracy {accuracy[i, j]:.3f}" if accuracy is not None else None
            plot_prediction_map(ax, maps[i, j], extent, X, y, point_size=4.0, title=title, fontsize=10)
            if i == j:
                for side in ax.spines.values():
                    side.set_edgecolor("crimson")
                    side.set_linewidth(2.5)
            if a == 0:
                ax.annotate(f"network nY = {depths[j]}", xy=(0.5, 1.2), xycoords="axes fraction", ha="center",
                            fontsize=10, fontweight="bold")
            if c == 0:
                ax.set_ylabel(f"weights nY = {depths[i]}", fontsize=10, fontweight="bold")
    fig.tight_layout()
    add_class_legend(fig)
    return fig


def plot_histories(runs, seed):
    """Objective and accuracy after every iteration of one seed's runs, one line per depth."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
    for r in runs:
        plot_history(r.history, axes, label=f"nY={r.config.nY}")
    for line in axes[1].get_lines()[1::2]:
        line.set_label(None)
    axes[1].set_ylim(0.6, 1.0)
    axes[1].legend(fontsize=8, loc="lower right", ncol=2)
    axes[0].set_title(f"objective $\\Phi$ (seed {seed})")
    axes[1].set_title("accuracy (solid: validation, dashed: training)")
    fig.tight_layout()
    return fig


def plot_optimizers(opt_runs: dict):
    """Objective and validation accuracy of several optimisers against iterations (top) and seconds (bottom)."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.6))
    for name, r in opt_runs.items():
        plot_history(r.history, axes[0], label=name)
        plot_history(r.history, axes[1], label=name, x="seconds")
    for ax in axes[:, 1]:
        for line in ax.get_lines()[1::2]:
            line.remove()
        ax.set_ylim(0.5, 1.0)
        ax.set_ylabel("validation accuracy")
    fig.tight_layout()
    # one legend for the four panels, below them: inside a panel it hid a curve
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2)
    return fig


def plot_depth_time(times, steps, values):
    """Held-out balanced accuracy against the step h = T / (nY - 1), one colour per final time.

    Parameters
    ----------
    times : sequence of float, length a
    steps : ndarray, shape (a, b)
        Step of every (T, nY).
    values : ndarray, shape (a, b, s)
        Accuracy of every (T, nY) and seed.
    """
    values = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for k, t in enumerate(times):
        ax.plot(steps[k], values[k].mean(axis=1), "o-", color=f"C{k}", label=f"T = {t:g}")
        for h, v in zip(steps[k], values[k]):
            ax.plot([h] * len(v), v, ".", color=f"C{k}", alpha=0.4)
    ax.set_xscale("log")
    ax.set_xlabel("step h = T / (nY - 1) (dots: single seeds, lines: seed means)")
    ax.set_ylabel("held-out balanced accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
