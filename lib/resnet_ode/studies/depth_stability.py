"""Does a smaller step make the forward propagation of a trained ResNet more stable?

The analyses of Chapter 3.2, each returning an :class:`~resnet_ode.studies.analysis.Analysis`:
the eigenvalues of every layer Jacobian of trained networks of several depths and
seeds (:func:`depth_spectra`), the same before training (:func:`initial_spectra`),
the measured growth of perturbations against the eigenvalue and norm predictions
(:func:`perturbation_study`), the state-layer networks of Chapter 3.1
(:func:`state_layer_study`), the comparison of two training settings
(:func:`setting_comparison`) and the numbers record Chapter 4 grades
(:func:`stability_record`). The eigenvalues and perturbations themselves are
computed by :mod:`resnet_ode.studies.stability`.

Networks are passed as dicts keyed by ``(layers N, seed)`` (standard ResNets) or by
the number of state layers ``nY`` (state-layer networks), values
``RunResult`` (:func:`resnet_ode.training.runs.get_runs`). Given a ``sample`` (the
arguments of :func:`~resnet_ode.studies.layer_spectra.training_sample` that drew ``X``),
the spectra whose eigenvalues are not kept for a figure are stored and published like runs
(:func:`resnet_ode.studies.layer_spectra.stored_spectra`).
"""
from __future__ import annotations

import numpy as np

from resnet_ode.studies import stability
from resnet_ode.studies.aggregate import seed_summary
from resnet_ode.studies.analysis import Analysis
from resnet_ode.studies.evaluation import run_grid_accuracy
from resnet_ode.studies.layer_spectra import stored_spectra, training_sample  # the chapter draws its examples here
from resnet_ode.util.formatting import Table

#: Table format of an example's largest real part and of the share of (example, layer) pairs with all
#: eigenvalues inside, both of which can be of order 1e-4 ("{:.3f}" would show 0.000).
MINMAX_FMT = "{:.2g}"


def _spectra(run, X, sample: dict | None, desc: str, initial: bool = False,
             per_example: bool = False) -> stability.LayerSpectra:
    """A network's layer spectra at ``X`` (not kept): stored when ``sample`` says how ``X`` was drawn, else computed."""
    if sample is None:
        theta = run.model.init_params(run.config.init_seed) if initial else run.theta
        return stability.network_spectra(run.model, theta, X, keep=False, desc=desc)
    drawn, _ = training_sample(run.config.dataset().X_train, **sample)
    if not np.array_equal(drawn, np.asarray(X)):
        raise ValueError(f"sample {sample!r} does not describe the examples X of {desc}: draw X with "
                         "training_sample(X_train, **sample)")
    return stored_spectra(run, sample, initial=initial, per_example=per_example)


def _depths_seeds(runs: dict):
    return sorted({n for n, _ in runs}), list(dict.fromkeys(s for _, s in sorted(runs, key=lambda k: (k[1], k[0]))))


def _growth(g) -> float:
    """Median tangent growth ``||delta_N|| / ||delta_0||`` over the examples."""
    return float(np.median(g.linear[-1]))


def _spread(e: dict, fmt: str = "{:.3f}") -> str:
    return f"{fmt.format(e['value'])} ({fmt.format(e['min'])} to {fmt.format(e['max'])})"


def fit_summary(runs: dict) -> Analysis:
    """How well the standard ResNets fit: one table row per network, the ranges the prose cites.

    Parameters
    ----------
    runs : dict
        ``(N, seed) -> RunResult``.

    Returns
    -------
    Analysis
        One table; numbers ``val_lo``, ``val_hi``, ``grid_lo``, ``grid_hi``; arrays
        ``grid`` (``(N, seed) -> AccuracyCounts`` on the labelled grid,
        :func:`~resnet_ode.studies.evaluation.run_grid_accuracy`).
    """
    keys = sorted(runs)
    grid = {key: run_grid_accuracy(runs[key]) for key in keys}
    data = runs[keys[0]].config.dataset()
    rows = []
    for key in keys:
        r, f = runs[key], runs[key].final()
        rows.append([*key, f"{r.model.ode.h:.4f}", f["objective"], f["train_accuracy"], f["val_accuracy"],
                     grid[key].accuracy])
    table = Table(["N", "seed", "h", "objective", "train acc", "val acc", "grid acc"], rows,
                  caption=f"Training runs of the standard ResNets: Euler step h, final objective, accuracy on the "
                          f"{data.X_train.shape[1]} training and {data.X_val.shape[1]} validation points, and grid accuracy on all "
                          f"{grid[keys[0]].n} labelled grid points (every point of the grid, so exact: no interval).")
    val = [runs[k].final()["val_accuracy"] for k in keys]
    acc = [grid[k].accuracy for k in keys]
    return Analysis([table], {"val_lo": min(val), "val_hi": max(val), "grid_lo": min(acc), "grid_hi": max(acc)},
                    {"grid": grid})


def _largest_table(spectra: dict, caption: str) -> Table:
    rows = [[*key, f"{sp.h:.4f}", o["max_real"], o["min_max_real"], o["max_amp"]]
            for key, sp in sorted(spectra.items()) for o in [sp.overall()]]
    return Table(["N", "seed", "h", "max Re λ", "minₓ max Re λ", "max |1+hλ|"], rows, caption=caption,
                 floatfmt=["{:.3f}", None, None, "{:.3f}", MINMAX_FMT, "{:.3f}"])


def _shares_table(spectra: dict, caption: str) -> Table:
    rows = [[*key, o["share_inside"], o["share_left"], o["share_inside_rk4"], o["share_stable_examples"]]
            for key, sp in sorted(spectra.items()) for o in [sp.overall()]]
    return Table(["N", "seed", "inside", "Re λ ≤ 0", "inside RK4", "all 8 inside"], rows, caption=caption,
                 floatfmt=["{:.3f}"] * 5 + [MINMAX_FMT])


def depth_spectra(runs: dict, X, keep_seed: int | None = None, highlight: int | None = None,
                  sample: dict | None = None) -> Analysis:
    """Eigenvalues of every layer Jacobian of every network, summarised per network, depth and layer.

    Parameters
    ----------
    runs : dict
        ``(N, seed) -> RunResult`` of standard ResNets.
    X : ndarray, shape (2, n)
        Examples the Jacobians are evaluated at.
    keep_seed : int, optional
        Seed whose eigenvalues are kept for the figures (default the first).
    highlight : int, optional
        Column of ``X`` of the thesis's example (stored in ``arrays``).
    sample : dict, optional
        The arguments of :func:`~resnet_ode.studies.layer_spectra.training_sample` that drew
        ``X`` from the runs' training set: the other seeds' spectra are then stored (with their
        per-example products); without it everything is computed.

    Returns
    -------
    Analysis
        Tables: largest values and shares per network, means per depth, one per-layer
        table per depth (seed ``keep_seed``). Numbers: ``N_first``/``N_last``,
        ``n_seeds``, ``h_*``, seed means ``max_real_*``, ``max_amp_*``, ``share_inside_*`` and
        ``lin_* = 1 + h max_real_*`` of the shallowest and deepest networks,
        ``n_examples``, ``n_networks``, ranges over the networks (``share_min``,
        ``share_max``, ``stable_pairs_max``, ``minmax_lo``, ``minmax_hi``,
        ``rk4_left_diff``) and the booleans ``all_unstable`` (every example has an
        eigenvalue with positive real part in every layer of every network) and
        ``any_stable_pair``. Arrays: ``spectra`` (``(N, seed) -> LayerSpectra``),
        ``layers``, ``seeds``, ``highlight``.
    """
    layers, seeds = _depths_seeds(runs)
    keep_seed = seeds[0] if keep_seed is None else keep_seed
    n = int(np.asarray(X).shape[1])
    spectra = {}
    for (N, s), r in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        desc = f"spectra: {N} layers, seed {s}"
        spectra[N, s] = (stability.network_spectra(r.model, r.theta, X, keep=True, desc=desc) if s == keep_seed
                         else _spectra(r, X, sample, desc, per_example=True))
    spectra = dict(sorted(spectra.items()))
    tables = [
        _largest_table(spectra, f"Largest eigenvalue measures per network, over all layers and the {n} training "
                                "examples: largest Re λ, smallest per-example largest Re λ (minₓ; positive: every "
                                "example has an eigenvalue with Re λ > 0 in every layer) and largest |1+hλ|."),
        _shares_table(spectra, f"Shares of eigenvalues per network, over all layers and the {n} training examples: "
                               "inside Euler's region, with Re λ ≤ 0, inside RK4's region, and the share of "
                               "(example, layer) pairs with all 8 eigenvalues inside Euler's region."),
    ]
    agg = {N: {k: np.array([spectra[N, s].overall()[k] for s in seeds]) for k in spectra[N, seeds[0]].overall()}
           for N in layers}
    rows = [[N] + [f"{agg[N][k].mean():.3f} ({agg[N][k].min():.3f} to {agg[N][k].max():.3f})"
                   for k in ("max_real", "max_amp", "share_inside", "share_left")] for N in layers]
    tables.append(Table(["N", "max Re λ", "max |1+hλ|", "inside", "Re λ ≤ 0"], rows,
                        caption=f"Eigenvalue measures per depth N, mean over the {len(seeds)} seeds (smallest to "
                                "largest seed)."))
    for N in layers:
        sp = spectra[N, keep_seed]
        rows = [[j, sp.max_real[j], sp.min_max_real[j], sp.max_amp[j], sp.share_inside[j], sp.share_left[j],
                 sp.share_stable_examples[j], sp.median_step_norm[j]] for j in range(sp.n_layers)]
        tables.append(Table(["layer j", "max Re λ", "minₓ max Re λ", "max |1+hλ|", "inside", "Re λ ≤ 0",
                             "all 8 inside", "median ‖I+hJ‖₂"], rows,
                            caption=f"Eigenvalue measures per layer (time t_j = j h), {N} layers (h = {sp.h:g}), "
                                    f"seed {keep_seed}, over the {n} training examples: the measures above and the "
                                    "median spectral norm ‖I + hJ_j‖₂.",
                            floatfmt=["{:.3f}", "{:.3f}", MINMAX_FMT, "{:.3f}", "{:.3f}", "{:.3f}", MINMAX_FMT,
                                      "{:.3f}"]))
    every = [sp.overall() for sp in spectra.values()]
    numbers = {"n_examples": n, "n_networks": len(spectra), "n_seeds": len(seeds)}
    for name, N in (("first", layers[0]), ("last", layers[-1])):
        numbers[f"N_{name}"] = N
        numbers[f"h_{name}"] = float(spectra[N, seeds[0]].h)
        for k in ("max_real", "max_amp", "share_inside"):
            numbers[f"{k}_{name}"] = float(agg[N][k].mean())
        numbers[f"lin_{name}"] = 1.0 + spectra[N, seeds[0]].h * float(agg[N]["max_real"].mean())
    numbers.update(
        share_min=min(o["share_inside"] for o in every), share_max=max(o["share_inside"] for o in every),
        stable_pairs_max=max(o["share_stable_examples"] for o in every),
        minmax_lo=min(o["min_max_real"] for o in every), minmax_hi=max(o["min_max_real"] for o in every),
        rk4_left_diff=max(abs(o["share_inside_rk4"] - o["share_left"]) for o in every),
        all_unstable=all(o["min_max_real"] > 0 for o in every),
        any_stable_pair=any(o["share_stable_examples"] > 0 for o in every))
    return Analysis(tables, numbers, {"spectra": spectra, "layers": layers, "seeds": seeds, "highlight": highlight})


def initial_spectra(runs: dict, spectra: dict, X, sample: dict | None = None) -> Analysis:
    """The eigenvalue measures of every network at its initial weights, beside the trained ones.

    Parameters
    ----------
    runs : dict
        ``(N, seed) -> RunResult``.
    spectra : dict
        ``(N, seed) -> LayerSpectra`` of the trained networks (:func:`depth_spectra`).
    X : ndarray, shape (2, n)
        Examples for the initial networks.
    sample : dict, optional
        How ``X`` was drawn (the arguments of
        :func:`~resnet_ode.studies.layer_spectra.training_sample`): the spectra are then stored.

    Returns
    -------
    Analysis
        Two tables (largest values; share inside and largest ``|1 + hλ|``); numbers
        ``init_max_real_lo``, ``init_max_real_hi``, ``init_minmax_lo``; arrays
        ``spectra`` (initial).
    """
    n = int(np.asarray(X).shape[1])
    init = {key: _spectra(r, X, sample, f"initial spectra: {key[0]} layers, seed {key[1]}", initial=True)
            for key, r in sorted(runs.items())}
    n_trained = next(iter(spectra.values())).n_samples
    pairs = [(key, init[key].overall(), spectra[key].overall()) for key in sorted(runs)]
    where = f"(initial weights at {n} training examples, trained ones at {n_trained})"
    t1 = Table(["N", "seed", "max Re λ: initial", "trained", "minₓ max Re λ: initial", "trained"],
               [[*k, o0["max_real"], o1["max_real"], o0["min_max_real"], o1["min_max_real"]] for k, o0, o1 in pairs],
               caption=f"Largest real parts before and after training, every run {where}: largest Re λ and "
                       "smallest per-example largest Re λ.",
               floatfmt=[None, None, "{:.3f}", "{:.3f}", MINMAX_FMT, MINMAX_FMT])
    t2 = Table(["N", "seed", "inside: initial", "trained", "max |1+hλ|: initial", "trained"],
               [[*k, o0["share_inside"], o1["share_inside"], o0["max_amp"], o1["max_amp"]] for k, o0, o1 in pairs],
               caption=f"Share of eigenvalues inside Euler's region and largest |1+hλ| before and after training, "
                       f"every run {where}.", floatfmt="{:.3f}")
    every = [o0 for _, o0, _ in pairs]
    numbers = {"init_max_real_lo": min(o["max_real"] for o in every),
               "init_max_real_hi": max(o["max_real"] for o in every),
               "init_minmax_lo": min(o["min_max_real"] for o in every)}
    return Analysis([t1, t2], numbers, {"spectra": init})


def perturbation_study(runs: dict, spectra: dict, X, eps: float = 1e-4) -> Analysis:
    """Growth of a random perturbation of the block's input, measured and as the eigenvalues predict.

    Parameters
    ----------
    runs : dict
        ``(N, seed) -> RunResult``.
    spectra : dict
        ``(N, seed) -> LayerSpectra`` at the same examples ``X``.
    X : ndarray, shape (2, n)
    eps : float
        Relative size of the finite perturbation.

    Returns
    -------
    Analysis
        One table per network row (tangent and finite growth, their largest relative
        difference, products of spectral radii and of norms, share within the norm
        bound). Numbers: ``growth_first``/``growth_last`` (seed means of the median
        growth), ``growth_min``/``growth_max``, ``lin_nonlin_diff``,
        ``radius_over_lo``/``_hi`` and ``norm_over_lo``/``_hi`` (prediction over
        measured median growth). Arrays: ``growth`` (``(N, seed) -> PerturbationGrowth``).
    """
    growth = {key: stability.perturbation_growth(runs[key].model, runs[key].theta, X, eps=eps, seed=0)
              for key in sorted(spectra)}
    rows, ratio_radius, ratio_norm = [], [], []
    for key, g in growth.items():
        sp = spectra[key]
        radius, norm = sp.median_products()
        rows.append([*key, _growth(g), float(np.median(g.nonlinear[-1])), g.max_relative_difference(), radius, norm,
                     float(np.mean(np.log(g.linear[-1]) <= sp.log_norm_product + 1e-9))])
        ratio_radius.append(radius / _growth(g))
        ratio_norm.append(norm / _growth(g))
    n = int(np.asarray(X).shape[1])
    table = Table(["N", "seed", "tangent", "finite", "max rel. diff.", "∏ radii", "∏ norms", "bound holds"], rows,
                  caption=f"Perturbation growth over the whole block, ‖δ_N‖ / ‖δ_0‖, medians over the {n} training "
                          f"examples: exact tangent, finite perturbation (ε = {eps:g}), largest relative difference "
                          "of the two, products of the spectral radii max|1+hλ| and of the norms ‖I + hJ_j‖₂ over "
                          "the layers, and the share of examples whose tangent growth is within the norm bound.",
                  floatfmt=["{:.3f}"] * 2 + ["{:.1f}"] * 2 + ["{:.3f}"] + ["{:.1f}"] * 2 + ["{:.3f}"])
    layers, seeds = _depths_seeds(spectra)
    meds = [_growth(g) for g in growth.values()]
    numbers = {f"growth_{name}": float(np.mean([_growth(growth[N, s]) for s in seeds]))
               for name, N in (("first", layers[0]), ("last", layers[-1]))}
    numbers.update(growth_min=min(meds), growth_max=max(meds),
                   lin_nonlin_diff=max(g.max_relative_difference() for g in growth.values()),
                   radius_over_lo=min(ratio_radius), radius_over_hi=max(ratio_radius),
                   norm_over_lo=min(ratio_norm), norm_over_hi=max(ratio_norm))
    return Analysis([table], numbers, {"growth": growth})


def state_layer_study(runs, X, eps: float = 1e-4, sample: dict | None = None) -> Analysis:
    """The eigenvalue measures and perturbation growth of the state-layer networks of Chapter 3.1.

    Parameters
    ----------
    runs : sequence of RunResult
        One network per number of state layers ``nY``.
    X : ndarray, shape (2, n)
    eps : float
    sample : dict, optional
        How ``X`` was drawn (the arguments of
        :func:`~resnet_ode.studies.layer_spectra.training_sample`): the spectra are then stored.

    Returns
    -------
    Analysis
        Two tables (eigenvalue measures; growth and accuracy). Numbers ``sl_first``,
        ``sl_last``, ``sl_amp_first``, ``sl_amp_last``, ``sl_real_lo``/``_hi``,
        ``sl_share_lo``/``_hi``, ``sl_minmax_lo``, ``sl_growth_lo``/``_hi``,
        ``sl_all_unstable``, ``sl_any_stable_pair``. Arrays: ``runs``, ``spectra``,
        ``growth`` and ``grid`` keyed by ``nY``.
    """
    runs = {r.config.nY: r for r in runs}
    spectra = {nY: _spectra(r, X, sample, f"spectra: nY = {nY}") for nY, r in runs.items()}
    growth = {nY: stability.perturbation_growth(r.model, r.theta, X, eps=eps, seed=0) for nY, r in runs.items()}
    grid = {nY: run_grid_accuracy(r) for nY, r in runs.items()}
    first = next(iter(runs.values()))
    n, n_val = int(np.asarray(X).shape[1]), first.config.dataset().X_val.shape[1]
    setting = f"State-layer networks of Chapter 3.1 (T = {first.config.T:g}, nt = {first.config.nt}) at {n} training examples"
    o = {nY: sp.overall() for nY, sp in spectra.items()}
    t1 = Table(["nY", "steps", "h", "max Re λ", "minₓ max Re λ", "max |1+hλ|", "inside", "Re λ ≤ 0"],
               [[nY, sp.n_layers, f"{sp.h:.4f}", o[nY]["max_real"], o[nY]["min_max_real"], o[nY]["max_amp"],
                 o[nY]["share_inside"], o[nY]["share_left"]] for nY, sp in spectra.items()],
               caption=f"{setting}: the eigenvalue measures of the standard ResNets.",
               floatfmt=[None, None, None, "{:.3f}", MINMAX_FMT, "{:.3f}", "{:.3f}", "{:.3f}"])
    t2 = Table(["nY", "all 8 inside", "growth", "max rel. diff.", "val acc", "grid acc"],
               [[nY, o[nY]["share_stable_examples"], _growth(growth[nY]), growth[nY].max_relative_difference(),
                 runs[nY].final()["val_accuracy"], grid[nY].accuracy] for nY in spectra],
               caption=f"{setting}: share of (example, layer) pairs with all 8 eigenvalues inside Euler's region, "
                       "median perturbation growth ‖δ_N‖ / ‖δ_0‖ and largest tangent-finite relative difference, "
                       f"validation accuracy ({n_val} points) and grid accuracy (every labelled grid point: exact).",
               floatfmt=["{:.3f}", MINMAX_FMT, "{:.1f}", "{:.3f}", "{:.3f}", "{:.3f}"])
    lo, hi = min(o), max(o)
    meds = [_growth(g) for g in growth.values()]
    numbers = {"sl_first": lo, "sl_last": hi, "sl_amp_first": o[lo]["max_amp"], "sl_amp_last": o[hi]["max_amp"],
               "sl_real_lo": min(x["max_real"] for x in o.values()), "sl_real_hi": max(x["max_real"] for x in o.values()),
               "sl_share_lo": min(x["share_inside"] for x in o.values()),
               "sl_share_hi": max(x["share_inside"] for x in o.values()),
               "sl_minmax_lo": min(x["min_max_real"] for x in o.values()),
               "sl_growth_lo": min(meds), "sl_growth_hi": max(meds),
               "sl_all_unstable": all(x["min_max_real"] > 0 for x in o.values()),
               "sl_any_stable_pair": any(x["share_stable_examples"] > 0 for x in o.values())}
    return Analysis([t1, t2], numbers, {"runs": runs, "spectra": spectra, "growth": growth, "grid": grid})


def _key_measures(r, g, sp, gr) -> dict:
    o = sp.overall()
    return {"objective": r.final()["objective"], "val_accuracy": r.final()["val_accuracy"], "grid_accuracy": g.accuracy,
            "max_real": o["max_real"], "max_amp": o["max_amp"], "share_inside": o["share_inside"],
            "share_stable_examples": o["share_stable_examples"], "min_max_real": o["min_max_real"],
            "growth": _growth(gr)}


def setting_comparison(book: dict, runs_ref: dict, X, eps: float = 1e-4, sample: dict | None = None) -> Analysis:
    """The standard ResNets trained under a second setting (the reference's CG), analysed as the book's.

    Parameters
    ----------
    book : dict
        The book setting's ``runs``, ``grid``, ``spectra`` and ``growth``, each keyed by ``(N, seed)``.
    runs_ref : dict
        ``(N, seed) -> RunResult`` under the second setting, the same keys.
    X : ndarray, shape (2, n)
    eps : float
    sample : dict, optional
        How ``X`` was drawn (the arguments of
        :func:`~resnet_ode.studies.layer_spectra.training_sample`): the spectra are then stored.

    Returns
    -------
    Analysis
        Two tables (training results; eigenvalue measures and growth), one row per
        setting and depth with the seed mean and range. Numbers ``ref_<m>_<first|last>``
        and ``book_<m>_<first|last>`` for ``m`` in max_real, max_amp, growth,
        grid_accuracy, objective; ``ref_stable_pairs_max``, ``ref_stable_pairs_text`` (the same in
        words: "no (example, layer) pair is inside" or "at most a share ... of (example, layer) pairs
        is inside"), ``ref_all_unstable`` ("every" or "not every"), ``ref_grid_lo``/``_hi``, ``ref_share_lo``/``_hi``,
        ``book_stable_pairs_max``. Arrays: ``runs``, ``grid``, ``spectra``, ``growth``
        of the second setting.
    """
    grid_ref = {key: run_grid_accuracy(r) for key, r in runs_ref.items()}
    spectra_ref = {key: _spectra(r, X, sample, f"spectra, reference CG: {key[0]} layers, seed {key[1]}")
                   for key, r in sorted(runs_ref.items())}
    growth_ref = {key: stability.perturbation_growth(r.model, r.theta, X, eps=eps, seed=0)
                  for key, r in sorted(runs_ref.items())}
    settings = {"book": (book["runs"], book["grid"], book["spectra"], book["growth"]),
                "reference CG": (runs_ref, grid_ref, spectra_ref, growth_ref)}
    layers, seeds = _depths_seeds(runs_ref)
    summary = {(name, N): seed_summary([_key_measures(rs[N, s], gs[N, s], sps[N, s], grs[N, s]) for s in seeds])
               for name, (rs, gs, sps, grs) in settings.items() for N in layers}
    first = next(iter(runs_ref.values())).config.dataset()
    n_grid = next(iter(grid_ref.values())).n
    t1 = Table(["setting", "N", "objective", "val acc", "grid acc"],
               [[name, N, _spread(summary[name, N]["objective"], "{:.4f}"), _spread(summary[name, N]["val_accuracy"]),
                 _spread(summary[name, N]["grid_accuracy"])] for name in settings for N in layers],
               caption=f"Book and reference CG settings, training results of the standard ResNets, mean over the "
                       f"{len(seeds)} seeds (smallest to largest seed): final objective, validation accuracy "
                       f"({first.X_val.shape[1]} points) and grid accuracy ({n_grid} points).")
    t2 = Table(["setting", "N", "max Re λ", "max |1+hλ|", "inside", "median growth"],
               [[name, N, _spread(summary[name, N]["max_real"]), _spread(summary[name, N]["max_amp"]),
                 _spread(summary[name, N]["share_inside"]), _spread(summary[name, N]["growth"], "{:.1f}")]
                for name in settings for N in layers],
               caption=f"Book and reference CG settings, eigenvalue measures at {np.asarray(X).shape[1]} training "
                       f"examples and median perturbation growth ‖δ_N‖ / ‖δ_0‖, mean over the {len(seeds)} seeds "
                       "(smallest to largest seed).")
    numbers = {}
    for N, label in ((layers[0], "first"), (layers[-1], "last")):
        for k in ("max_real", "max_amp", "growth", "grid_accuracy", "objective"):
            numbers[f"ref_{k}_{label}"] = summary["reference CG", N][k]["value"]
            numbers[f"book_{k}_{label}"] = summary["book", N][k]["value"]
    ref_all = [sp.overall() for sp in spectra_ref.values()]
    pairs = max(o["share_stable_examples"] for o in ref_all)
    numbers.update(ref_stable_pairs_max=pairs,
                   ref_stable_pairs_text=("no (example, layer) pair is inside" if pairs == 0 else
                                          f"at most a share {pairs:.2g} of (example, layer) pairs is inside"),
                   book_stable_pairs_max=max(sp.overall()["share_stable_examples"] for sp in book["spectra"].values()),
                   ref_all_unstable="every" if all(o["min_max_real"] > 0 for o in ref_all) else "not every",
                   ref_grid_lo=min(g.accuracy for g in grid_ref.values()),
                   ref_grid_hi=max(g.accuracy for g in grid_ref.values()),
                   ref_share_lo=min(o["share_inside"] for o in ref_all),
                   ref_share_hi=max(o["share_inside"] for o in ref_all))
    return Analysis([t1, t2], numbers, {"runs": runs_ref, "grid": grid_ref, "spectra": spectra_ref,
                                        "growth": growth_ref})


def network_record(sp, g=None, r=None, grid_acc=None) -> dict:
    """The numbers record of one network: its eigenvalue measures, perturbation growth and accuracies.

    Parameters
    ----------
    sp : LayerSpectra
    g : PerturbationGrowth, optional
    r : RunResult, optional
    grid_acc : AccuracyCounts, optional

    Returns
    -------
    dict
        ``h``, ``n_layers``, ``n_samples``, the :meth:`~resnet_ode.studies.stability.LayerSpectra.overall` values,
        ``per_layer``; with ``g`` a ``perturbation`` dict (median tangent and finite
        growth, largest relative difference, median products of spectral radii and
        norms, median growth per state); with ``r`` the training and validation
        accuracies and training seconds; with ``grid_acc`` its ``to_dict()``.
    """
    out = {"h": sp.h, "n_layers": sp.n_layers, "n_samples": sp.n_samples, **sp.overall(), "per_layer": sp.per_layer()}
    if g is not None:
        radius, norm = sp.median_products()
        out["perturbation"] = {"median_growth_tangent": _growth(g),
                               "median_growth_finite": float(np.median(g.nonlinear[-1])),
                               "max_relative_difference": g.max_relative_difference(),
                               "median_prod_radius": radius,
                               "median_prod_norm": norm,
                               "median_growth_per_layer": np.median(g.linear, axis=1)}
    if r is not None:
        out["val_accuracy"] = r.final()["val_accuracy"]
        out["train_accuracy"] = r.final()["train_accuracy"]
        out["train_seconds"] = r.train_seconds
    if grid_acc is not None:
        out["grid_accuracy"] = grid_acc.to_dict()
    return out


def stability_record(settings: dict, book: dict, state_layers: Analysis, reference: Analysis,
                     run_changes_ref: dict) -> Analysis:
    """The chapter's numbers record, which Chapter 4's rules read (:func:`resnet_ode.studies.margins.stability_readings`).

    Parameters
    ----------
    settings : dict
        The chapter's parameters as recorded (``T``, ``layers``, ``seeds``, ``changes``,
        ``n_samples``, ``state_layer_samples``, ``perturbation_eps``, ``method``) and
        ``n_train``.
    book : dict
        ``runs``, ``grid``, ``spectra``, ``growth`` of the book setting, keyed by ``(N, seed)``.
    state_layers : Analysis
        From :func:`state_layer_study`.
    reference : Analysis
        From :func:`setting_comparison`.
    run_changes_ref : dict
        The run settings of the second training setting.

    Returns
    -------
    Analysis
        No tables; ``numbers`` is the record: ``n_train``, ``settings``, ``standard``
        (``"N" -> "seed" ->`` :func:`network_record`), ``state_layers`` (``"nY" -> "seed" -> ...``)
        and ``reference_cg`` (``run_changes`` and ``standard``).
    """
    settings = dict(settings)
    n_train = int(settings.pop("n_train"))

    def family(f):
        layers, seeds = _depths_seeds(f["runs"])
        return {str(N): {str(s): network_record(f["spectra"][N, s], f["growth"][N, s], f["runs"][N, s],
                                                f["grid"][N, s]) for s in seeds} for N in layers}

    sl = state_layers.arrays
    record = {
        "n_train": n_train,
        "settings": settings,
        "standard": family(book),
        "state_layers": {str(nY): {str(r.config.init_seed): network_record(sl["spectra"][nY], sl["growth"][nY], r,
                                                                           sl["grid"][nY])}
                         for nY, r in sl["runs"].items()},
        "reference_cg": {"run_changes": run_changes_ref, "standard": family(reference.arrays)},
    }
    return Analysis([], record)
