"""The figures of Chapter 3.3: loss surfaces side by side on one colour scale, layer sizes, slices, measures.

Panels that a reader compares (the same objective at two depths) share one
colour scale and one colour bar (:func:`shared_levels`), and their 3-D views
share the vertical range. The surfaces are
:class:`resnet_ode.studies.landscape.surfaces.Surface` objects; the single panels are
drawn by :func:`resnet_ode.studies.plotting.plot_contour` and
:func:`resnet_ode.studies.plotting.plot_surface_3d`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from resnet_ode.studies.plotting import plot_contour, plot_surface_3d

#: Filled colour levels of a contour map.
LEVELS = 25


def shared_levels(surfaces, n: int = LEVELS) -> np.ndarray:
    """``n`` equally spaced levels of ``log10 f`` spanning every surface given.

    Parameters
    ----------
    surfaces : iterable of Surface
        Each with positive ``values`` of any shape.
    n : int
        Number of levels (>= 2).

    Returns
    -------
    ndarray, shape (n,)
        From the smallest to the largest ``log10 f`` over all surfaces.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2 levels, got {n}")
    logs = np.concatenate([np.log10(np.asarray(s.values, dtype=float)).ravel() for s in surfaces])
    return np.linspace(logs.min(), logs.max(), n)


def contour_rows(rows, width: float = 10.5, row_height: float = 3.4, label: str = "$\\log_{10} f$"):
    """Rows of contour maps, one colour scale and one colour bar per row.

    Parameters
    ----------
    rows : sequence of (str, sequence of (str, Surface))
        Per row a name (for the colour bar) and its panels ``(title, surface)``.
    width, row_height : float
        Figure size in inches.
    label : str
        Colour-bar label, followed by the row's name.

    Returns
    -------
    matplotlib Figure
    """
    rows = list(rows)
    fig = plt.figure(figsize=(width, row_height * len(rows)), layout="constrained")
    subs = np.atleast_1d(fig.subfigures(len(rows), 1))
    n_cols = max(len(panels) for _, panels in rows)
    for sub, (name, panels) in zip(subs, rows):
        levels = shared_levels([s for _, s in panels])
        axes = sub.subplots(1, n_cols, squeeze=False)[0]
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax, (title, surface) in zip(axes, panels):
            cs = plot_contour(ax, surface, levels=levels, title=title, colorbar=False)
        bar = sub.colorbar(cs, ax=list(axes[:len(panels)]), shrink=0.9, label=f"{label}, {name}" if name else label)
        bar.locator = MaxNLocator(6)   # round ticks, not the level boundaries
        bar.update_ticks()
    return fig


def surfaces_3d_row(panels, width: float = 10.5, height: float = 4.2):
    """Static 3-D views side by side, on one vertical range and one colour scale.

    Parameters
    ----------
    panels : sequence of (str, Surface)

    Returns
    -------
    matplotlib Figure
    """
    panels = list(panels)
    levels = shared_levels([s for _, s in panels])
    fig = plt.figure(figsize=(width, height), layout="constrained")
    for k, (title, surface) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, len(panels), k, projection="3d")
        plot_surface_3d(ax, surface, title=title, vmin=levels[0], vmax=levels[-1])
        ax.set_zlim(levels[0], levels[-1])
    return fig


def layer_sizes(sizes: dict, depths, seeds, width: float = 10.0, height: float = 3.8):
    """``||d_k|| / ||theta*_k||`` per layer under the thesis's normalisation, one panel per depth.

    Parameters
    ----------
    sizes : mapping (int, int, int) -> ndarray
        ``(layers, seed, j) ->`` relative size per layer (opening layer first),
        ``j`` = 0, 1 for ``d1``, ``d2`` (:func:`resnet_ode.studies.smoothness.layer_sizes`).
    depths, seeds : sequence of int

    Returns
    -------
    matplotlib Figure
    """
    fig, axes = plt.subplots(1, len(depths), figsize=(width, height), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, d in zip(axes, depths):
        for k, s in enumerate(seeds):
            for j in (0, 1):
                v = sizes[(d, s, j)]
                ax.semilogy(np.arange(v.size), v, "o-" if j == 0 else "s--", ms=3, lw=0.8, color=f"C{k}",
                            label=f"seed {s}, $d_{j + 1}$")
        ax.axhline(1.0, color="k", lw=1.5, label="filter normalisation")
        ax.set_xlabel("layer (0 = opening layer)")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_title(f"{d} layers")
    axes[0].set_ylabel("$\\|d_k\\| / \\|\\theta^*_k\\|$")
    fig.tight_layout()
    fig.legend(*axes[-1].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4)
    return fig


def slices(slices: dict, depths, seeds, width: float = 10.5, height: float = 7.0):
    """Slices ``f(a, 0)``: joint (left) and VarPro (right), wide (top) and near ``theta*`` (bottom).

    Parameters
    ----------
    slices : mapping (str, str, int, int) -> Surface
        ``(objective, "wide" | "near", layers, seed) ->`` a surface with ``b = (0,)``.
    depths, seeds : sequence of int
        One colour per depth, one line per seed.

    Returns
    -------
    matplotlib Figure
    """
    fig, axes = plt.subplots(2, 2, figsize=(width, height))
    for i, region in enumerate(["wide", "near"]):
        for j, obj in enumerate(["joint", "varpro"]):
            ax = axes[i, j]
            for k, d in enumerate(depths):
                for s in seeds:
                    if (obj, region, d, s) in slices:
                        sl = slices[(obj, region, d, s)]
                        ax.semilogy(sl.a, sl.values[:, 0], color=f"C{k}", lw=1,
                                    label=f"{d} layers" if s == seeds[0] else None)
            ax.set_xlabel("$a$ (along $d_1$, $b = 0$)")
            ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.set_title(("joint objective" if obj == "joint" else "VarPro $\\Phi$") + f", {region}")
            ax.legend()
    fig.tight_layout()
    return fig


def measures_against_depth(measures: dict, hessians: dict, depths, varpro_depths, seeds,
                           width: float = 10.5, height: float = 3.8):
    """Non-convex share and local minima of every surface (a marker per seed), and ``|lambda_min / lambda_max|``.

    Parameters
    ----------
    measures : mapping (str, str, int, int) -> dict
        ``(objective, normalisation, layers, seed) -> curvature measures``.
    hessians : mapping (str, int) -> dict
        ``(objective, layers) -> {"ratio", ...}``.
    depths, varpro_depths, seeds : sequence of int

    Returns
    -------
    matplotlib Figure
    """
    fig, axes = plt.subplots(1, 3, figsize=(width, height))
    styles = {("joint", "filter"): ("o", "C0", "joint, filter"),
              ("joint", "thesis"): ("^", "C1", "joint, thesis variant"),
              ("varpro", "filter"): ("s", "C2", "VarPro, filter")}
    for (obj, norm), (marker, colour, label) in styles.items():
        ds = depths if obj == "joint" else varpro_depths
        for k, s in enumerate(seeds):
            x = np.array(ds) * (1 + 0.04 * (k - 1))
            for ax, m in zip(axes, ("negative_share", "local_minima")):
                ax.plot(x, [measures[(obj, norm, d, s)][m] for d in ds], marker, color=colour,
                        label=label if k == 0 else None)
    for obj, (marker, colour) in [("joint", ("o", "C0")), ("varpro", ("s", "C2"))]:
        ds = [d for d in depths if (obj, d) in hessians]
        axes[2].plot(ds, [abs(hessians[(obj, d)]["ratio"]) for d in ds], marker + "-", color=colour,
                     label="joint" if obj == "joint" else "VarPro")
    axes[0].set_ylabel("non-convex share of the grid")
    axes[1].set_ylabel("grid local minima")
    axes[2].set_ylabel("$|\\lambda_{\\min} / \\lambda_{\\max}|$ at $\\theta^*$")
    axes[2].set_yscale("log")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(depths)
        ax.set_xticklabels([str(d) for d in depths])
        ax.minorticks_off()
        ax.set_xlabel("layers")
        ax.legend()
    fig.tight_layout()
    return fig
