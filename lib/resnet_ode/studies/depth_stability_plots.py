"""The figures of Chapter 3.2: eigenvalue measures and perturbation growth against layer time and depth.

Each function draws from the arrays of an analysis of
:mod:`resnet_ode.studies.depth_stability` and returns the figure; the page shows
it with :func:`resnet_ode.studies.plotting.show`.
"""
from __future__ import annotations

import numpy as np

from resnet_ode.studies import stability

#: Line colours of the depths (colour-blind safe, Okabe-Ito).
DEPTH_COLOURS = ("#D55E00", "#009E73", "#0072B2", "#CC79A7", "#E69F00", "#56B4E9")

#: Layer measures drawn against the layer's time, as (LayerSpectra attribute, panel title) pairs.
#: The titles are matplotlib mathtext (Re λ, ``|1 + hλ|``), so the page does not show the value itself.
#:
#: :meta hide-value:
LAYER_MEASURES = (("max_real", r"max Re $\lambda$ (continuous: $\leq 0$)"),
                  ("max_amp", r"max $|1 + h\lambda|$ (Euler: $\leq 1$)"),
                  ("share_inside", "share of eigenvalues inside the region"))


def shown_layers(n_layers: int, n_panels: int = 8) -> list:
    """``n_panels`` layers spread evenly over ``0 .. n_layers - 1`` (all when there are no more).

    Examples
    --------
    >>> shown_layers(32)
    [0, 4, 9, 13, 18, 22, 27, 31]
    >>> shown_layers(4)
    [0, 1, 2, 3]
    """
    if n_layers <= n_panels:
        return list(range(n_layers))
    return [int(j) for j in np.round(np.linspace(0, n_layers - 1, n_panels))]


def layer_clouds(spectra, highlight=None, n_panels: int = 8, title: str | None = None):
    """:func:`~resnet_ode.studies.stability.plot_layer_clouds` for :func:`shown_layers`, four panels a row."""
    return stability.plot_layer_clouds(spectra, ncols=4, highlight=highlight, compare="rk4", title=title,
                                       layers=shown_layers(spectra.n_layers, n_panels))


def _layer_axes(axes, titles):
    axes[0].axhline(0, color="k", lw=0.8)
    axes[1].axhline(1, color="k", lw=0.8)
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("time $t_j$ of the layer")
        ax.grid(alpha=0.3)
    axes[2].set_ylim(0, 1)


def per_layer_figure(spectra: dict, first_seed: int):
    """Three panels of :data:`LAYER_MEASURES` against the layer time, one colour per depth.

    Parameters
    ----------
    spectra : dict
        ``(N, seed) -> LayerSpectra``.
    first_seed : int
        Seed drawn thick with markers; the others thin.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.4))
    colours = dict(zip(sorted({n for n, _ in spectra}), DEPTH_COLOURS))
    for (n, s), sp in sorted(spectra.items()):
        first = s == first_seed
        style = dict(color=colours[n], lw=1.6 if first else 0.8, alpha=1.0 if first else 0.45,
                     marker="o" if first else None, ms=3, label=f"N = {n}" if first else None)
        for ax, (key, _) in zip(axes, LAYER_MEASURES):
            ax.plot(sp.times, getattr(sp, key), **style)
    _layer_axes(axes, [t for _, t in LAYER_MEASURES])
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def state_layer_figure(spectra: dict):
    """:func:`per_layer_figure` for the state-layer networks, ``nY -> LayerSpectra``, one line per ``nY``."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.4))
    cmap = plt.get_cmap("viridis")
    for i, (nY, sp) in enumerate(spectra.items()):
        style = dict(color=cmap(i / max(1, len(spectra) - 1)), lw=1.3, label=f"$n_Y$ = {nY}")
        for ax, (key, _) in zip(axes, LAYER_MEASURES):
            ax.plot(sp.times, getattr(sp, key), **style)
    _layer_axes(axes, [r"max Re $\lambda$", r"max $|1 + h\lambda|$", "share inside the region"])
    axes[0].legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def perturbation_figure(growth: dict, spectra: dict, seed: int):
    """Growth of a perturbation through the layers, one panel per depth, for one seed.

    Tangent median and 10-90 % band, finite perturbation median, and the
    products of the per-layer medians of spectral radius and spectral norm.
    """
    import matplotlib.pyplot as plt

    layers = sorted({n for n, _ in growth})
    fig, axes = plt.subplots(1, len(layers), figsize=(3.5 * len(layers), 3.4), sharey=True, squeeze=False)
    for ax, n in zip(axes[0], layers):
        g, sp = growth[n, seed], spectra[n, seed]
        q_lin, q_non = g.quantiles("linear"), g.quantiles("nonlinear")
        ax.fill_between(g.times, q_lin[0], q_lin[2], color="#0072B2", alpha=0.2, label="tangent, 10-90%")
        ax.plot(g.times, q_lin[1], color="#0072B2", lw=1.8, label="tangent, median")
        ax.plot(g.times, q_non[1], color="k", lw=0, marker="x", ms=4,
                label=f"finite ($\\varepsilon$ = {g.eps:g}), median")
        ax.plot(g.times, np.concatenate([[1.0], np.cumprod(sp.median_amp)]), color="#D55E00", ls="--",
                label=r"$\prod$ median $\max|1+h\lambda|$")
        ax.plot(g.times, np.concatenate([[1.0], np.cumprod(sp.median_step_norm)]), color="#009E73", ls=":",
                label=r"$\prod$ median $\|I+hJ_j\|_2$")
        ax.set_yscale("log")
        ax.set_title(f"{n} layers (h = {sp.h:g})", fontsize=10)
        ax.set_xlabel("time $t_j$")
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].set_ylabel(r"$\|\delta_j\| / \|\delta_0\|$")
    fig.tight_layout()
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    return fig


def depth_figure(spectra: dict, growth: dict, sl_spectra: dict, sl_growth: dict, first_seed: int,
                 standard_label: str, state_label: str):
    """Summaries over all layers against the number of Euler steps: standard ResNets (a line per seed and their
    mean), state layers.

    Parameters
    ----------
    spectra, growth : dict
        ``(N, seed) ->`` LayerSpectra and PerturbationGrowth of the standard ResNets.
    sl_spectra, sl_growth : dict
        ``nY ->`` the same of the state-layer networks.
    first_seed : int
    standard_label, state_label : str
        Legend entries.
    """
    import matplotlib.pyplot as plt

    layers = sorted({n for n, _ in spectra})
    seeds = sorted({s for _, s in spectra}, key=lambda s: (s != first_seed, s))
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    axes = axes.ravel()
    metrics = [("max_real", r"max Re $\lambda$"), ("max_amp", r"max $|1 + h\lambda|$"),
               ("share_inside", "share inside"), (None, r"median growth $\|\delta_N\|/\|\delta_0\|$")]
    for ax, (key, title) in zip(axes, metrics):
        per_seed = []
        for s in seeds:
            ys = [spectra[n, s].overall()[key] if key else np.median(growth[n, s].linear[-1]) for n in layers]
            per_seed.append(ys)
            ax.plot(layers, ys, color="#0072B2", marker="o", ms=4, lw=0.8, alpha=0.45,
                    label=standard_label if s == first_seed else None)
        ax.plot(layers, np.mean(per_seed, axis=0), color="#002b4d", marker="D", ms=6, lw=2.4, zorder=3,
                label=f"standard ResNet, mean over the {len(seeds)} seeds")
        steps = [sp.n_layers for sp in sl_spectra.values()]
        ys = [sp.overall()[key] if key else np.median(sl_growth[nY].linear[-1]) for nY, sp in sl_spectra.items()]
        ax.plot(steps, ys, color="#D55E00", marker="s", lw=1.0, label=state_label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("number of Euler steps N")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[0].axhline(0, color="k", lw=0.8)
    axes[1].axhline(1, color="k", lw=0.8)
    axes[2].set_ylim(0, 1)
    axes[3].set_yscale("log")
    fig.tight_layout()
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    return fig
