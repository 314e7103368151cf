"""The thesis's conclusions set against the numbers the chapters measured.

Each claim of the thesis's Chapter 4 is judged by an explicit rule on the
key numbers the chapters write to ``_build/numbers`` (see
:func:`resnet_ode.numbers.read_numbers`). The rules are stated in each
function's docstring and applied in code, so a verdict changes when the
numbers do, and the rules are tested on made-up numbers in
``tests/test_conclusions.py``.

Verdicts are one of :data:`HOLDS`, :data:`CAVEATS` and :data:`FAILS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Verdict: the measurements support the claim.
HOLDS = "holds"
#: Verdict: the measurements support part of the claim.
CAVEATS = "holds with caveats"
#: Verdict: the measurements contradict the claim.
FAILS = "does not hold"

#: Accuracy differences below this count as no difference (5 of the 200
#: validation points, about the spread between training seeds in Chapters 3.2 and 3.4).
ACCURACY_RESOLUTION = 0.025


@dataclass(frozen=True)
class Verdict:
    """One judged claim.

    Attributes
    ----------
    key : str
        Short identifier, e.g. ``"3.1-accuracy"``.
    measured : str
        The numbers the verdict rests on, as a short sentence.
    verdict : str
        :data:`HOLDS`, :data:`CAVEATS` or :data:`FAILS`.
    """

    key: str
    measured: str
    verdict: str


def _offdiag(M, rows, cols):
    M = np.asarray(M, dtype=float)
    return float(np.mean([M[i, j] for i in rows for j in cols if i != j]))


def state_layers_accuracy(n31: dict) -> Verdict:
    """Thesis: more state layers give better classification.

    Rule: with ``d`` the diagonal (each network's own validation accuracy),
    the claim holds if ``d`` never decreases with depth and the deepest beats
    the shallowest by more than :data:`ACCURACY_RESOLUTION`; it fails if all
    of ``d`` lies within :data:`ACCURACY_RESOLUTION` of its maximum (no
    measurable effect of depth); otherwise it holds with caveats.
    """
    d = np.diag(np.asarray(n31["val_accuracy"], dtype=float))
    depths = n31["depths"]
    measured = (f"own validation accuracy {d.min():.3f} to {d.max():.3f} over nY = {depths[0]} to {depths[-1]} "
                f"({d[0]:.3f} at nY = {depths[0]}, {d[-1]:.3f} at nY = {depths[-1]})")
    if np.all(np.diff(d) >= 0) and d[-1] - d[0] > ACCURACY_RESOLUTION:
        verdict = HOLDS
    elif d.max() - d.min() <= ACCURACY_RESOLUTION:
        verdict = FAILS
    else:
        verdict = CAVEATS
    return Verdict("3.1-accuracy", measured, verdict)


def state_layers_transfer(n31: dict) -> Verdict:
    """Thesis: weights of the deeper networks combine well with each other's networks, unlike the shallow ones.

    Rule: ``deep`` is the mean off-diagonal validation accuracy among the three
    deepest networks, ``shallow`` the mean over the rows of the two shallowest.
    The claim holds if ``deep`` exceeds ``shallow`` by more than 0.1 and lies
    within 0.05 of the mean diagonal of those networks (transfer as good as
    their own accuracy); it holds with caveats if only the first is true; it
    fails otherwise. The reference-CG matrix, if present, is reported too.
    """
    M = np.asarray(n31["val_accuracy"], dtype=float)
    k = M.shape[0]
    deep_idx, shallow_idx = [k - 3, k - 2, k - 1], [0, 1]
    deep = _offdiag(M, deep_idx, deep_idx)
    shallow = _offdiag(M, shallow_idx, range(k))
    own = float(np.mean(np.diag(M)[deep_idx]))
    measured = (f"off-diagonal accuracy among the three deepest networks {deep:.3f} (their own: {own:.3f}); "
                f"rows of the two shallowest {shallow:.3f}")
    ref = n31.get("reference_cg", {}).get("val_accuracy")
    if ref is not None:
        measured += f"; with the reference's looser CG solve {_offdiag(ref, deep_idx, deep_idx):.3f}"
    if deep - shallow > 0.1 and own - deep <= 0.05:
        verdict = HOLDS
    elif deep - shallow > 0.1:
        verdict = CAVEATS
    else:
        verdict = FAILS
    return Verdict("3.1-transfer", measured, verdict)


def _by_depth(n32: dict, key: str, family: str = "standard"):
    """Mean over seeds of a per-network summary, by number of layers (sorted)."""
    fam = n32[family]
    depths = sorted(fam, key=int)
    return [int(d) for d in depths], [float(np.mean([fam[d][s][key] for s in fam[d]])) for d in depths]


def stability_with_depth(n32: dict) -> Verdict:
    """Thesis: with more layers (a smaller step) the forward propagation becomes more stable.

    Rule: the claim holds if, averaged over seeds, both the largest real part
    of the eigenvalues and the median growth of a small input perturbation
    decrease with depth; it holds with caveats if only one of them does; it
    fails if neither does (a smaller largest ``|1 + h lambda|`` alone is
    reported but does not count: it follows from the smaller ``h``).
    """
    depths, max_real = _by_depth(n32, "max_real")
    _, amp = _by_depth(n32, "max_amp")
    fam = n32["standard"]
    growth = [float(np.mean([fam[str(d)][s]["perturbation"]["median_growth_tangent"] for s in fam[str(d)]]))
              for d in depths]
    measured = (f"largest Re(lambda) {', '.join(f'{v:.2f}' for v in max_real)}; "
                f"largest |1 + h lambda| {', '.join(f'{v:.2f}' for v in amp)}; "
                f"median perturbation growth {', '.join(f'{v:.1f}' for v in growth)} "
                f"for {', '.join(map(str, depths))} layers (means over seeds)")
    falls = [bool(np.all(np.diff(v) < 0)) for v in (max_real, growth)]
    verdict = HOLDS if all(falls) else CAVEATS if any(falls) else FAILS
    return Verdict("3.2-depth", measured, verdict)


def stability_condition(n32: dict) -> Verdict:
    """Thesis: the eigenvalues of the deepest network meet the stability condition.

    Rule: the claim holds if, in the deepest standard ResNet and for every
    seed, at least 95 % of the training examples have all eigenvalues of every
    layer Jacobian inside forward Euler's region; it fails otherwise.
    """
    fam = n32["standard"]
    deepest = max(fam, key=int)
    stable = [float(fam[deepest][s]["share_stable_examples"]) for s in fam[deepest]]
    inside = [float(fam[deepest][s]["share_inside"]) for s in fam[deepest]]
    positive = [float(fam[deepest][s]["min_max_real"]) for s in fam[deepest]]
    measured = (f"{deepest} layers: share of examples stable in every layer {min(stable):.2f} to {max(stable):.2f}; "
                f"share of eigenvalues inside the region {min(inside):.2f} to {max(inside):.2f}; smallest largest "
                f"Re(lambda) over examples and layers {min(positive):.1e}"
                f"{' (every example has an unstable eigenvalue in every layer)' if min(positive) > 0 else ''}")
    verdict = HOLDS if min(stable) >= 0.95 else FAILS
    return Verdict("3.2-condition", measured, verdict)


def landscape_smoothness(n33: dict) -> Verdict:
    """Thesis: the deeper network's loss landscape is smoother and more convex.

    Rule: compare the two depths of the thesis (8 and 20 layers) on every
    direction seed with filter-normalised directions, for both objectives and
    both measures (share of grid points with a negative Hessian eigenvalue,
    number of local minima). The claim holds if the deeper network is smoother
    in all of these comparisons; it holds with caveats if in more than half;
    it fails otherwise. The thesis's own normalisation is reported alongside.
    """
    counts = n33["deep_smoother_on_seeds"]
    n_seeds = len(n33["seeds"])
    filt = {k: v for k, v in counts.items() if "/filter/" in k}
    lower = sum(v["lower"] for v in filt.values())
    total = n_seeds * len(filt)
    parts = [f"{k.replace('/filter/', ' ').replace('_', ' ')}: {v['lower']} of {n_seeds}" for k, v in filt.items()]
    measured = f"20 layers smoother than 8 on filter-normalised planes in {lower} of {total} comparisons ({'; '.join(parts)})"
    thesis = n33.get("thesis_figures", {})
    if "VarPro/8" in thesis and "VarPro/20" in thesis:
        measured += (f"; with the thesis's normalisation {thesis['VarPro/8']['local_minima']} local minima at 8 layers "
                     f"against {thesis['VarPro/20']['local_minima']} at 20")
    verdict = HOLDS if lower == total else CAVEATS if lower > total / 2 else FAILS
    return Verdict("3.3-smoothness", measured, verdict)


def rk4_as_written(n34: dict) -> Verdict:
    """Thesis: RK4 with a four times larger step reproduces the standard ResNet's objective, so the RK4 code is correct.

    Rule: the claim holds if the fitted convergence order of the thesis's
    code is within 0.5 of 4 (the classical method's order); it fails otherwise.
    """
    orders = n34["convergence_order"]
    written, rk4 = orders["rk4_thesis_as_written"], orders["rk4"]
    pair = n34["toy_landscapes"]["thesis_pair"]["train"]
    ratio = pair["rk4_thesis_as_written"]["max"] / pair["euler"]["max"]
    measured = (f"fitted order of the thesis's code {written:.2f} (classical RK4 {rk4:.2f}, Euler "
                f"{orders['euler']:.2f}); its largest objective {ratio:.1f} times Euler's on the thesis's grid")
    verdict = HOLDS if abs(written - 4.0) <= 0.5 else FAILS
    return Verdict("3.4-correct", measured, verdict)


def rk4_accuracy(n34: dict) -> Verdict:
    """Thesis (expectation): an RK4 network should classify more accurately than a standard ResNet.

    Rule: pair every RK4 network with the Euler network of equal cost
    (function evaluations per forward pass); the claim holds if RK4's mean
    validation accuracy is higher by more than :data:`ACCURACY_RESOLUTION` in
    every pair, fails if it is not higher by that much in any pair, and holds
    with caveats in between.
    """
    mean = n34["peaks"]["mean"]
    pairs = []
    for key, val in mean.items():
        if key.startswith("rk4-nY"):
            n = int(key.split("nY")[1])
            euler = mean.get(f"euler-nY{4 * (n - 1) + 1}")
            if euler is not None:
                pairs.append((n, val["val_accuracy"], euler["val_accuracy"]))
    better = [r - e > ACCURACY_RESOLUTION for _, r, e in pairs]
    measured = "; ".join(f"{4 * (n - 1)} evaluations: RK4 {r:.3f}, Euler {e:.3f}" for n, r, e in pairs)
    measured += " (mean validation accuracy over seeds)"
    verdict = HOLDS if pairs and all(better) else CAVEATS if any(better) else FAILS
    return Verdict("3.4-accuracy", measured, verdict)


def judge_all(numbers: dict) -> list[Verdict]:
    """Every verdict, from ``{"3.1": ..., "3.2": ..., "3.3": ..., "3.4": ...}``."""
    return [
        state_layers_accuracy(numbers["3.1"]),
        state_layers_transfer(numbers["3.1"]),
        stability_with_depth(numbers["3.2"]),
        stability_condition(numbers["3.2"]),
        landscape_smoothness(numbers["3.3"]),
        rk4_as_written(numbers["3.4"]),
        rk4_accuracy(numbers["3.4"]),
    ]
