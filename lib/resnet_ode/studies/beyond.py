"""Chapter 6's reading of a study: own accuracy and transfer per setting, how they change with a setting, figures.

:func:`analyse` turns the rows of a study's tidy table (:mod:`resnet_ode.studies.study`)
into the chapter's :class:`~resnet_ode.studies.analysis.Analysis`: the summary table per
final time and regularisation weight, the paired change from the smallest to the largest
weight at each final time (worded by the rule of :func:`resnet_ode.studies.tidy.paired_change`),
and the numbers the page glues and records. :func:`plot_transfer` and
:func:`plot_transfer_matrices` draw its two figures.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from resnet_ode.studies import plotting, tidy
from resnet_ode.studies.analysis import Analysis
from resnet_ode.util.formatting import Table, in_words

#: How a direction of :func:`resnet_ode.studies.tidy.paired_change` reads in a sentence about ``n`` pairs.
DIRECTION_WORDS = {"rises": "rises for every one of the", "falls": "falls for every one of the",
                   "mixed": "does not move in one direction over the", "none": "cannot be compared: there are no"}

#: The same, short, for the findings at the top of the page.
DIRECTION_SHORT = {"rises": "rises for every pair of networks", "falls": "falls for every pair of networks",
                   "mixed": "moves in no single direction", "none": "cannot be compared"}

#: Colours of up to four final times (Okabe-Ito).
T_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")


def _spread(summary: dict, fmt: str = "{:.3f}") -> str:
    return f"{fmt.format(summary['mean'])} ({fmt.format(summary['min'])}-{fmt.format(summary['max'])})"


def analyse(rows, baseline: float) -> Analysis:
    """Own accuracy, transfer and their change with the regularisation weight, from a study's rows.

    Parameters
    ----------
    rows : sequence of dict
        The study's tidy rows (one per network and evaluation depth), with the
        settings ``nY``, ``T``, ``alpha`` and ``init_seed``.
    baseline : float
        Plain grid accuracy of always answering the most frequent class
        (:func:`resnet_ode.studies.heldout.majority_baseline` of the grid's labels):
        what every accuracy of the chapter has to beat.

    Returns
    -------
    Analysis
        ``tables``: the summary per final time and weight. ``numbers``: ``depths``,
        ``T``, ``alpha``, ``seeds`` (lists), ``n_networks``, ``n_rows``, ``baseline``,
        ``own_lo``/``own_hi`` (smallest and largest own grid accuracy), ``own_by_alpha`` (the
        range of the own grid accuracy per weight α, as text), ``own_below`` (how many
        networks do not beat the baseline at their own depth) and ``own_below_text`` (the
        same as a clause: "every network beats it" or "k of the n networks do not beat it (...)"), ``best``
        (the setting with the best mean transfer, as text) and ``best_transfer``,
        ``transfer_mean_lo``/``transfer_mean_hi`` (smallest and largest mean transfer
        of a setting) and ``transfer_versus_baseline`` ("below", "above" or "on both
        sides of" the baseline), ``networks`` (one record per network),
        ``transfer_change`` (per final time: the paired change of transfer and own
        accuracy from the smallest to the largest weight), ``change_lines`` (one
        Markdown bullet per final time saying it in words) and ``change_short`` (the
        same in one clause per final time). ``arrays``: ``own`` (one row per network) and
        ``groups`` (the summary per setting) for the figures.

    Raises
    ------
    ValueError
        If ``rows`` is empty or ``baseline`` is not in [0, 1].
    """
    if not rows:
        raise ValueError("rows: the study's table is empty")
    if not (0.0 <= baseline <= 1.0):
        raise ValueError(f"baseline must be an accuracy in [0, 1], got {baseline!r}")
    own = tidy.networks(rows)
    depths = sorted({r["nY"] for r in own})
    times = sorted({r["T"] for r in own})
    alphas = sorted({r["alpha"] for r in own})
    seeds = sorted({r["init_seed"] for r in own})
    groups = tidy.summarise(own, ("T", "alpha"), ("final_objective", "eval_grid_accuracy", "transfer"))
    table = Table(
        ["T", "α", "networks", "final objective", "own grid acc", "transfer grid acc"],
        [[f"{g['T']:g}", f"{g['alpha']:g}", g["networks"], _spread(g["final_objective"], "{:.4f}"),
          _spread(g["eval_grid_accuracy"]), _spread(g["transfer"])] for g in groups],
        caption=(f"Own grid accuracy and transfer (mean grid accuracy at the other depths) on all grid points, per "
                 f"final time T and regularisation weight α: mean over nY = {', '.join(map(str, depths))} and seeds "
                 f"{', '.join(map(str, seeds))} (smallest-largest network); always answering the most frequent "
                 f"class scores {baseline:.3f}."))
    changes, lines, short = {}, [], []
    for T in times:
        at_T = tidy.select(own, T=T)
        change = tidy.paired_change(at_T, "alpha", alphas[0], alphas[-1])
        own_change = tidy.paired_change(at_T, "alpha", alphas[0], alphas[-1], field="eval_grid_accuracy")
        changes[f"{T:g}"] = {"mean": change["mean"], "min": change["min"], "max": change["max"], "n": change["n"],
                             "direction": change["direction"], "own_mean": own_change["mean"],
                             "own_min": own_change["min"], "own_max": own_change["max"]}
        lines.append(f"* **T = {T:g}:** from α = {alphas[0]:g} to α = {alphas[-1]:g}, the transfer "
                     f"{DIRECTION_WORDS[change['direction']]} {change['n']} pairs of networks with the same depth "
                     f"and seed (change {change['mean']:+.3f} on average, from {change['min']:+.3f} to "
                     f"{change['max']:+.3f}); the networks' own grid accuracy changes by {own_change['mean']:+.3f} "
                     f"on average (from {own_change['min']:+.3f} to {own_change['max']:+.3f}).")
        short.append(f"at T = {T:g} it {DIRECTION_SHORT[change['direction']]} ({change['mean']:+.3f} on average)")
    best = max(groups, key=lambda g: g["transfer"]["mean"])
    own_acc = [r["eval_grid_accuracy"] for r in own]
    means = [g["transfer"]["mean"] for g in groups]
    versus = ("below" if max(means) < baseline else "above" if min(means) > baseline else "on both sides of")
    own_at = {a: [r["eval_grid_accuracy"] for r in tidy.select(own, alpha=a)] for a in alphas}
    own_by_alpha = in_words(f"{min(acc):.3f} to {max(acc):.3f} at α = {a:g}" for a, acc in own_at.items())
    below = [r for r in own if r["eval_grid_accuracy"] <= baseline]
    below_text = ("every network beats it" if not below else
                  f"{len(below)} of the {len(own)} networks {'does' if len(below) == 1 else 'do'} not beat it ("
                  + "; ".join(f"nY = {r['nY']}, T = {r['T']:g}, α = {r['alpha']:g}, seed {r['init_seed']}: "
                              f"{r['eval_grid_accuracy']:.3f}" for r in below) + ")")
    numbers = {
        "depths": depths, "T": times, "alpha": alphas, "seeds": seeds, "n_networks": len(own), "n_rows": len(rows),
        "baseline": float(baseline), "own_lo": float(min(own_acc)), "own_hi": float(max(own_acc)),
        "own_by_alpha": own_by_alpha, "own_below": len(below), "own_below_text": below_text,
        "best": f"T = {best['T']:g}, α = {best['alpha']:g}", "best_transfer": float(best["transfer"]["mean"]),
        "transfer_mean_lo": float(min(means)), "transfer_mean_hi": float(max(means)),
        "transfer_versus_baseline": versus,
        "networks": [{k: r[k] for k in ("nY", "T", "alpha", "init_seed", "final_objective", "eval_grid_accuracy",
                                        "transfer", "train_seconds")} for r in own],
        "transfer_change": changes, "change_lines": "\n".join(lines), "change_short": "; ".join(short),
    }
    return Analysis(tables=[table], numbers=numbers, arrays={"own": own, "groups": groups})


def plot_transfer(analysis: Analysis):
    """Own grid accuracy (left) and transfer (right) of every network against the weight α, one colour per T.

    Returns the figure: markers for single networks (one marker shape per depth), lines
    for the means per setting.
    """
    own, groups = analysis.arrays["own"], analysis.arrays["groups"]
    times, alphas, depths = analysis["T"], analysis["alpha"], analysis["depths"]
    colours = dict(zip(times, T_COLOURS))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharex=True)
    x_of = {a: k for k, a in enumerate(alphas)}
    for T in times:
        for ax, col in zip(axes, ["eval_grid_accuracy", "transfer"]):
            for n, marker in zip(depths, "os^Dv"):
                group = tidy.select(own, T=T, nY=n)
                ax.plot([x_of[r["alpha"]] + (0.06 if T == times[-1] else -0.06) for r in group],
                        [r[col] for r in group], marker, color=colours[T], alpha=0.45, ms=5, linestyle="none")
            means = [g[col]["mean"] for g in groups if g["T"] == T]
            ax.plot(range(len(alphas)), means, "-", color=colours[T], lw=2, label=f"T = {T:g}: mean")
    for ax, title in zip(axes, ["own grid accuracy", "transfer to the other depths"]):
        ax.axhline(analysis["baseline"], color="0.4", ls=":", lw=1)
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        ax.set_xlabel("time-smoothness weight α")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("grid accuracy")
    fig.tight_layout()
    fig.legend(*axes[1].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(times))
    return fig


def plot_transfer_matrices(rows, analysis: Analysis):
    """Transfer matrices (mean over the seeds) for the smallest and largest weight at each final time, two per row.

    Returns the figure: one panel per (T, α), rows the depth the weights were trained
    with, columns the depth of the evaluating network, all on one colour scale [0, 1].
    """
    times, alphas, depths = analysis["T"], analysis["alpha"], analysis["depths"]
    pairs = [(T, a) for T in times for a in (alphas[0], alphas[-1])]
    n_rows = (len(pairs) + 1) // 2
    fig, axes = plt.subplots(n_rows, 2, figsize=(7.2, 3.3 * n_rows), squeeze=False)
    for ax, (T, a) in zip(axes.flat, pairs):
        _, M, _ = tidy.transfer_matrix(tidy.select(rows, T=T, alpha=a))
        plotting.plot_matrix(ax, M, depths, depths, vmin=0, vmax=1, fmt="{:.2f}")
        ax.set_title(f"T = {T:g}, α = {a:g}")
        ax.set_xlabel("evaluated with nY")
        ax.set_ylabel("trained with nY")
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
