"""Chapter 3.4's figures, drawn from the arrays of its analyses (:mod:`resnet_ode.studies.rktoy`,
:mod:`resnet_ode.studies.rknetworks`).

Every function returns a matplotlib figure; the page shows it with
:func:`resnet_ode.studies.plotting.show`. Panels meant to be compared share one
colour scale where the caption says so.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from resnet_ode.studies import plotting, rkstudy
from resnet_ode.studies.analysis import Analysis
from resnet_ode.studies.toy_landscapes import WRITTEN
from resnet_ode.studies.uncertainty import Estimate

#: How the figures name the methods.
LABELS = {"euler": "forward Euler", "rk4": "classical RK4", WRITTEN: "thesis's RK4 code", "midpoint": "midpoint",
          "heun": "Heun", "rk4_38": "3/8 rule"}


def _log_range(arrays, floor: float = 1e-14):
    """``(lo, hi)`` of ``log10`` over all ``arrays``, ``lo`` not below ``log10(floor)``: one colour scale."""
    lo = np.log10(max(min(float(np.min(a)) for a in arrays), floor))
    hi = np.log10(max(float(np.max(a)) for a in arrays))
    return lo, hi


def _shared_colorbar(fig, cs, axes, label: str = r"$\log_{10}$"):
    """One colour bar for all ``axes`` (their panels share one colour scale)."""
    cb = fig.colorbar(cs, ax=list(np.ravel(axes)), shrink=0.85)
    cb.set_label(label)
    return cb


def thesis_figure(landscapes: Analysis, rk4_steps: int):
    """The thesis's Figure 3.9 recomputed: 2 x 2 panels, rows the thesis's code (top) and Euler (bottom), columns
    training (left) and test data (right); each panel with its own colour scale, as in the thesis."""
    t, land = landscapes.arrays["t"], landscapes.arrays["land"]
    H, h_euler, euler_steps = landscapes["H"], landscapes["h_euler"], landscapes["euler_steps"]
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 8))
    for row, (name, label) in enumerate([(WRITTEN, f"top: thesis's RK4 code, {rk4_steps} steps, h = {H:g}"),
                                         ("euler", f"bottom: forward Euler, {euler_steps} steps, h = {h_euler:g}")]):
        for col, which in enumerate(["training", "test"]):
            rkstudy.plot_landscape(axes[row, col], t, land[name][col], title=f"{label}\n{which} data")
    fig.tight_layout()
    return fig


def landscapes_figure(landscapes: Analysis, rk4_steps: int):
    """The exact landscape and the three of equal cost on the training data, 2 x 2 with one colour scale."""
    a = landscapes.arrays
    panels = [("exact dynamics (reference)", a["ref_train"]),
              (f"forward Euler, {landscapes['euler_steps']} steps", a["land"]["euler"][0]),
              (f"classical RK4, {rk4_steps} steps", a["land"]["rk4"][0]),
              (f"thesis's RK4 code, {rk4_steps} steps", a["land"][WRITTEN][0])]
    lo, hi = _log_range([P for _, P in panels])
    fig, axes = plt.subplots(2, 2, figsize=(9, 8), layout="constrained")
    for ax, (title, P) in zip(axes.ravel(), panels):
        cs = rkstudy.plot_landscape(ax, a["t"], P, title=title, vmin=lo, vmax=hi, colorbar=False)
    _shared_colorbar(fig, cs, axes, r"$\log_{10}\Phi$")
    return fig


def landscape_errors_figure(landscapes: Analysis):
    """Distances from the exact landscape, 2 x 2 with one colour scale: Euler, RK4 and the thesis's code against the
    exact dynamics at ``T``, and the thesis's code against the exact dynamics at its effective time ``a T``."""
    a = landscapes.arrays
    ref, land = a["ref_train"], a["land"]
    panels = [("|Euler − exact|", np.abs(land["euler"][0] - ref)),
              ("|classical RK4 − exact|", np.abs(land["rk4"][0] - ref)),
              ("|thesis's code − exact|", np.abs(land[WRITTEN][0] - ref)),
              (f"|thesis's code − exact to T = {landscapes['T_eff']:.2f}|", np.abs(land[WRITTEN][0] - a["eff_train"]))]
    lo, hi = _log_range([D for _, D in panels])
    fig, axes = plt.subplots(2, 2, figsize=(9, 8), layout="constrained")
    for ax, (title, D) in zip(axes.ravel(), panels):
        cs = rkstudy.plot_landscape(ax, a["t"], D, title=title, cmap="magma", vmin=lo, vmax=hi, colorbar=False)
    _shared_colorbar(fig, cs, axes, r"$\log_{10}$ distance")
    return fig


def convergence_figure(orders: Analysis):
    """Error of ``Y(T)`` against the step (with fitted orders and the thesis's code against ``f/6``) and against
    the evaluations of the dynamics."""
    conv, sixth = orders.arrays["conv"], orders.arrays["sixth"]
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.4))
    rkstudy.plot_convergence(axes[0], conv)
    rkstudy.plot_convergence(axes[1], conv, x="evaluations", fitted=False)
    axes[0].loglog(sixth.h, sixth.errors, color="0.5", marker="+", linestyle=":",
                   label=f"thesis's code vs dY/dt = f/6 (order {sixth.order:.2f})")
    axes[0].legend(fontsize=7, loc="lower right")
    axes[0].set_title("error against step size")
    axes[1].set_title("error against cost")
    fig.tight_layout()
    return fig


def coarse_figure(coarse: Analysis, t):
    """The coarse pair's landscapes (one colour scale) with the line ``|R(h lambda)| = 1`` of each method."""
    steps, land, growth = coarse.arrays["steps"], coarse.arrays["land"], coarse.arrays["growth"]
    lo, hi = _log_range(list(land.values()))
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.9), layout="constrained")
    for ax, (name, (n, h)) in zip(axes, steps.items()):
        cs = rkstudy.plot_landscape(ax, t, land[name], title=f"{LABELS[name]}\n{n} steps, h = {h:g}", vmin=lo,
                                    vmax=hi, colorbar=False)
        ax.contour(t, t, growth[name].T, levels=[1.0], colors="white", linewidths=1.5)
    _shared_colorbar(fig, cs, axes, r"$\log_{10}\Phi$")
    return fig


def peaks_figure(networks: Analysis):
    """Validation accuracy of every run against the evaluations per forward pass (seed means with 95 % intervals),
    and the objective per Gauss-Newton iteration."""
    labels, groups, intervals = (networks.arrays[k] for k in ("labels", "groups", "intervals"))
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
    for k in labels:
        style = rkstudy.METHOD_STYLES[k[0]]
        ev = rkstudy.evaluations(groups[k][0].config)
        for r in groups[k]:
            axes[0].plot(ev, r.final()["val_accuracy"], color=style["color"], marker=style["marker"], alpha=0.5,
                         linestyle="none")
            axes[1].semilogy(r.history["iteration"], r.history["objective"], color=style["color"], alpha=0.6,
                             linestyle="-" if k[1] == min(n for m, n in labels if m == k[0]) else "--")
    for integrator in ("rk4", "euler"):
        style = rkstudy.METHOD_STYLES[integrator]
        for i, k in enumerate([k for k in labels if k[0] == integrator]):
            # the mean over seeds with its 95 % interval, no line: two costs are not a trend
            e = Estimate.from_dict(intervals[k]["val_accuracy"])
            axes[0].errorbar(rkstudy.evaluations(groups[k][0].config) * (1.04 if integrator == "euler" else 0.96),
                             e.value, yerr=[[e.value - e.low], [e.high - e.value]], color=style["color"],
                             marker=style["marker"], markersize=8, capsize=4, linestyle="none",
                             label=f"{integrator}: mean over seeds, 95 % interval" if i == 0 else None)
        axes[1].plot([], [], color=style["color"], label=integrator)
    axes[0].set_xscale("log", base=2)
    axes[0].set_xticks(sorted({rkstudy.evaluations(groups[k][0].config) for k in labels}))
    axes[0].xaxis.set_major_formatter(plt.ScalarFormatter())
    axes[0].minorticks_off()
    axes[0].set_xlabel("evaluations per forward pass\n(faint markers: single seeds)")
    axes[0].set_ylabel("validation accuracy")
    axes[0].legend(fontsize=8)
    axes[0].grid(True, alpha=0.3)
    axes[1].set_xlabel("Gauss-Newton iteration")
    axes[1].set_ylabel("objective")
    axes[1].legend(fontsize=8, title="solid: fewer, dashed: more steps", title_fontsize=7)
    axes[1].grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def cross_figure(cross: Analysis):
    """Validation accuracy of the trained weights (rows) under other networks (columns), each network's own
    discretisation outlined."""
    a = cross.arrays
    fig, ax = plt.subplots(figsize=(10, 4.4))
    plotting.plot_matrix(ax, a["accuracy"], a["trained"], a["evaluators"], fmt="{:.2f}", vmin=0, vmax=1,
                         mark_diagonal=False, colorbar_label="validation accuracy")
    for i, j in enumerate(a["own"]):
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="crimson", linewidth=2.5))
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("evaluating network (method, nY)")
    ax.set_ylabel("trained network")
    fig.tight_layout()
    return fig


def network_convergence_figure(convergence: Analysis):
    """Error of a trained network's final features against the step, aligned step counts (filled markers) and
    powers of two (open markers, dotted)."""
    aligned, other, cfg = (convergence.arrays[k] for k in ("aligned", "other", "config"))
    fig, ax = plt.subplots(figsize=(7, 4.6))
    rkstudy.plot_convergence(ax, aligned)
    for name, c in other.items():
        style = dict(rkstudy.METHOD_STYLES[name], linestyle=":")
        ax.loglog(c.h, c.errors, label=f"{name}, steps not on control times (order {c.order:.2f})", markersize=4,
                  markerfacecolor="none", **style)
    ax.legend(fontsize=7)
    ax.set_title(f"trained network: {cfg.integrator}, nY = {cfg.nY}, seed {cfg.init_seed}", fontsize=9)
    fig.tight_layout()
    return fig
