"""Is a deeper ResNet's loss landscape smoother? The analyses of Chapter 3.3, one function each.

The thesis draws the training objective of an 8-layer and a 20-layer network on
a plane through two random directions and reads the deeper picture as smoother.
These functions recompute its figures, repeat the comparison with
filter-normalised directions on several networks per depth, and turn the
pictures into numbers. Each returns an :class:`~resnet_ode.studies.analysis.Analysis`
(tables, numbers, figure arrays); surfaces and Hessians come from
:mod:`resnet_ode.studies.landscape` (computed once and published), the measures from
:mod:`resnet_ode.studies.landscape.measures` and the per-seed comparisons from
:func:`resnet_ode.studies.aggregate.deeper_smoother`.

``all_runs`` is everywhere a mapping ``(layers, seed) -> RunResult``: one trained
network per depth and initial-weight seed, whose directions are drawn with the
same seed.
"""
from __future__ import annotations

import numpy as np

from resnet_ode.studies import landscape as L
from resnet_ode.studies.aggregate import count_lower, deeper_smoother, deeper_smoother_by_seed
from resnet_ode.studies.analysis import Analysis
from resnet_ode.util.formatting import Table, fmt_small
from resnet_ode.util.validate import check_int

#: A classifier subproblem counts as not converged above this gradient norm.
INNER_TOLERANCE = 1e-6

#: Half-width of the "near" slices around the trained weights (``|a| <= NEAR``).
NEAR = 0.1

#: The (objective, normalisation) pairs compared, with their names on the page.
COMBINATIONS = (("joint", "filter"), ("joint", "thesis"), ("varpro", "filter"))
OBJECTIVE_NAMES = {"joint": "joint", "varpro": "VarPro"}


def check_settings(depths, seeds, thesis_depths, varpro_depths) -> list:
    """Check the chapter's parameters before anything is loaded.

    Parameters
    ----------
    depths : sequence of int
    seeds : sequence of int
        Initial-weight seeds (>= 0).
    thesis_depths, varpro_depths : sequence of int
        Each at least two of ``depths``.

    Returns
    -------
    list of int
        The seeds.

    Raises
    ------
    ValueError
        If a subset is not at least two of ``depths`` or a seed is negative.
    """
    for name, subset in [("thesis_depths", thesis_depths), ("varpro_depths", varpro_depths)]:
        if not set(subset) <= set(depths) or len(set(subset)) < 2:
            raise ValueError(f"{name} must list at least 2 of depths={list(depths)}, got {list(subset)}")
    return [check_int("seeds", s, min_value=0) for s in seeds]


def _first_seed_runs(all_runs: dict, seed: int) -> dict:
    return {d: all_runs[(d, s)] for d, s in sorted(all_runs) if s == seed}


def trained_networks(all_runs: dict, seeds) -> Analysis:
    """The trained networks: the first seed's per depth as a table, the final objective over all seeds.

    Parameters
    ----------
    all_runs : mapping (int, int) -> RunResult
    seeds : sequence of int
        The first is the seed whose networks the figures and Hessians use.

    Returns
    -------
    Analysis
        One table; numbers ``runs`` and ``all_runs`` (the record's entries),
        ``objective_range`` (``str(layers) -> [min, max]`` over the seeds) and
        ``train_objectives`` (the first seed's, ``"0.0111 (4), ..."``),
        ``objective_order`` (how the first seed's final objective changes with
        depth, in words) and ``nc``; arrays
        ``runs`` (``layers -> RunResult`` of the first seed).
    """
    runs = _first_seed_runs(all_runs, seeds[0])
    rows = [[d, f"{r.model.ode.h:.4f}", r.model.n_params, r.final()["objective"], r.final()["train_accuracy"],
             r.final()["val_accuracy"]] for d, r in runs.items()]
    table = Table(["layers", "h", "weights", "objective", "train acc", "val acc"], rows,
                  caption=f"Trained standard ResNets, the network of seed {seeds[0]} per depth: Euler step h, number "
                  "of network weights, final objective, and training and validation accuracy.")
    objective = {d: [all_runs[(d, s)].final()["objective"] for s in seeds] for d in runs}
    numbers = {
        "runs": {str(d): {**r.final(), "train_seconds": r.train_seconds, "weights": r.model.n_params}
                 for d, r in runs.items()},
        "all_runs": {f"{d}/seed{s}": {**r.final(), "train_seconds": r.train_seconds}
                     for (d, s), r in all_runs.items()},
        "objective_range": {str(d): [float(min(v)), float(max(v))] for d, v in objective.items()},
        "train_objectives": ", ".join(f"{r.final()['objective']:.4f} ({d})" for d, r in runs.items()),
        "nc": int(next(iter(runs.values())).config.nc),
        "objective_order": _order([r.final()["objective"] for r in runs.values()]),
    }
    return Analysis([table], numbers, {"runs": runs})


def _order(values) -> str:
    """``"rises with depth"``, ``"falls with depth"`` or ``"in no monotone order"`` for values in depth order."""
    steps = np.diff(np.asarray(values, dtype=float))
    return "rises with depth" if np.all(steps > 0) else ("falls with depth" if np.all(steps < 0)
                                                          else "in no monotone order")


def _pack(m: dict) -> dict:
    return {k: m[k] for k in ("negative_share", "local_minima", "centre", "min", "argmin")}


def _inner_check(surfaces) -> dict:
    """How many classifier subproblems of VarPro surfaces stopped above :data:`INNER_TOLERANCE`."""
    gn = np.concatenate([np.ravel(s.inner_grad_norm) for s in surfaces])
    return {"subproblems": int(gn.size), "not_converged": int(np.sum(gn >= INNER_TOLERANCE)),
            "largest_grad_norm": fmt_small(float(gn.max()), INNER_TOLERANCE)}


def thesis_figures(runs: dict, thesis_depths, seed: int, varpro_grid=None, joint_grid=None) -> Analysis:
    """Thesis Figures 3.7 and 3.8 recomputed: the thesis's normalisation, VarPro and joint objective.

    Parameters
    ----------
    runs : mapping int -> RunResult
        One network per depth.
    thesis_depths : sequence of int
    seed : int
        Direction seed.
    varpro_grid, joint_grid : tuple of float, optional
        Coordinates per axis; default every second point of the thesis grid
        (VarPro) and the whole thesis grid (joint).

    Returns
    -------
    Analysis
        One table (measures of each surface); numbers ``thesis_figures`` (the
        record's entry, ``"VarPro/8" -> measures``), ``minima`` (``layers ->``
        grid local minima of the VarPro surface) and the classifier check
        (``subproblems``, ``not_converged``, ``largest_grad_norm``); arrays
        ``varpro`` and ``joint`` (``layers -> Surface``).
    """
    tg = L.thesis_grid()
    varpro_grid = tg[1::2] if varpro_grid is None else varpro_grid
    joint_grid = tg if joint_grid is None else joint_grid
    varpro = {d: L.get_surface(runs[d], L.SurfaceSpec("varpro", "thesis", seed=seed, a=varpro_grid, b=varpro_grid),
                               desc=f"thesis variant, VarPro, {d} layers") for d in thesis_depths}
    joint = {d: L.get_surface(runs[d], L.SurfaceSpec("joint", "thesis", seed=seed, a=joint_grid, b=joint_grid),
                              desc=f"thesis variant, joint, {d} layers") for d in thesis_depths}
    rows, record = [], {}
    for d in thesis_depths:
        for name, s in [("VarPro", varpro[d]), ("joint", joint[d])]:
            m = L.curvature_measures(s.values, s.a, s.b)
            record[f"{name}/{d}"] = {**_pack(m), "seconds": s.seconds}
            rows.append([d, name, f"{s.values.shape[0]} x {s.values.shape[1]}", m["centre"], float(s.values.max()),
                         m["local_minima"], f"{m['negative_share']:.3f}"])
    table = Table(["layers", "objective", "grid", "f(0, 0)", "max f", "local minima", "non-convex share"], rows,
                  caption=f"Thesis figures recomputed (thesis normalisation, direction seed {seed}): grid, objective "
                  "f(0, 0) at θ*, largest f on the plane, grid local minima and non-convex share.")
    numbers = {"thesis_figures": record, "minima": {d: record[f"VarPro/{d}"]["local_minima"] for d in thesis_depths},
               **_inner_check(varpro.values())}
    return Analysis([table], numbers, {"varpro": varpro, "joint": joint})


def layer_sizes(all_runs: dict, thesis_depths, seeds) -> Analysis:
    """How far the step ``a = 1`` moves each layer under the thesis's normalisation, relative to its weights.

    Parameters
    ----------
    all_runs : mapping (int, int) -> RunResult
    thesis_depths, seeds : sequence of int

    Returns
    -------
    Analysis
        One table (smallest, median and largest relative size per depth over
        both directions and all seeds); numbers ``sizes`` (``str(layers) ->
        {"min", "median", "max", "max_first_seed"}``, the last over the first
        seed's two directions); arrays ``sizes`` (``(layers, seed, j) ->``
        ndarray of shape (n_layers + 1,), ``j`` = 0, 1 for ``d1``, ``d2``).
    """
    sizes = {}
    for d in thesis_depths:
        for s in seeds:
            r = all_runs[(d, s)]
            groups = L.parameter_groups(r.model)
            for j, dvec in enumerate(L.directions(r.model, r.theta, s, "thesis")):
                sizes[(d, s, j)] = L.relative_layer_sizes(dvec, r.theta, groups)
    stats, rows = {}, []
    for d in thesis_depths:
        every = np.concatenate([sizes[(d, s, j)] for s in seeds for j in (0, 1)])
        first = max(float(sizes[(d, seeds[0], j)].max()) for j in (0, 1))
        stats[str(d)] = {"min": float(every.min()), "median": float(np.median(every)), "max": float(every.max()),
                         "max_first_seed": first}
        rows.append([d, float(every.min()), float(np.median(every)), float(every.max())])
    table = Table(["layers", "smallest", "median", "largest"], rows, floatfmt=[None, "{:.3f}", "{:.2f}", "{:.1f}"],
                  caption="How far the step a = 1 moves a layer relative to its trained weights, ‖d_k‖ / ‖θ*_k‖, "
                  f"under the thesis's normalisation: over both directions and seeds {list(seeds)}.")
    return Analysis([table], {"sizes": stats}, {"sizes": sizes})


def li_surfaces(runs: dict, thesis_depths, seed: int, n: int = 51) -> Analysis:
    """The joint objective on Li et al.'s ``n x n`` grid with filter-normalised directions.

    Parameters
    ----------
    runs : mapping int -> RunResult
        One network per depth.
    thesis_depths : sequence of int
    seed : int
        Direction seed.
    n : int
        Grid points per axis on ``[-1, 1]``.

    Returns
    -------
    Analysis
        No table; numbers ``seconds_51x51_joint`` (``str(layers) ->`` seconds,
        the record's entry); arrays ``surfaces`` (``layers -> Surface``).
    """
    grid = L.li_grid(n)
    surfaces = {d: L.get_surface(runs[d], L.SurfaceSpec("joint", "filter", seed=seed, a=grid, b=grid),
                                 desc=f"filter, joint, {n} x {n}, {d} layers") for d in thesis_depths}
    return Analysis([], {"seconds_51x51_joint": {str(d): s.seconds for d, s in surfaces.items()}},
                    {"surfaces": surfaces})


def measure_tables(measures: dict, depths_of: dict, seeds, points: int) -> list:
    """One table per (objective, normalisation) and measure: a row per depth, a column per seed.

    Parameters
    ----------
    measures : mapping (str, str, int, int) -> dict
        ``(objective, normalisation, layers, seed) ->`` :func:`~resnet_ode.studies.landscape.measures.curvature_measures`.
    depths_of : mapping (str, str) -> sequence of int
        The depths of each (objective, normalisation) pair, in table order.
    seeds : sequence of int
    points : int
        Grid points per axis (for the caption).

    Returns
    -------
    list of Table
        Per pair, the non-convex share table then the local-minima table.
    """
    tables = []
    for (obj, norm), ds in depths_of.items():
        what = f"{OBJECTIVE_NAMES[obj]} objective, {norm} normalisation, {points} x {points} grid"
        for name, caption, cell in [("negative_share", "Non-convex share", lambda v: f"{v:.3f}"),
                                    ("local_minima", "Grid local minima", str)]:
            rows = [[d] + [cell(measures[(obj, norm, d, s)][name]) for s in seeds] for d in ds]
            tables.append(Table(["layers"] + [f"seed {s}" for s in seeds], rows,
                                caption=f"{caption} of the {what}, per depth and direction seed."))
    return tables


def filter_surfaces(all_runs: dict, depths, varpro_depths, seeds, points: int) -> Analysis:
    """The ``points x points`` surfaces of every network and their measures.

    Joint objective with filter and thesis normalisation at every depth, VarPro
    with filter normalisation at ``varpro_depths``; each network with directions
    of its own seed.

    Parameters
    ----------
    all_runs : mapping (int, int) -> RunResult
    depths, varpro_depths, seeds : sequence of int
    points : int
        Grid points per axis on ``[-1, 1]``.

    Returns
    -------
    Analysis
        :func:`measure_tables`; numbers ``surfaces`` (the record's entry,
        ``"joint/filter" -> str(layers) -> str(seed) -> measures``), ``n_surfaces``
        and the classifier check of the VarPro surfaces; arrays ``surfaces`` and
        ``measures`` (keyed ``(objective, normalisation, layers, seed)``).
    """
    grid = L.li_grid(points)
    surfaces = {}
    for norm in ("filter", "thesis"):
        for d in depths:
            for s in seeds:
                surfaces[("joint", norm, d, s)] = L.get_surface(
                    all_runs[(d, s)], L.SurfaceSpec("joint", norm, seed=s, a=grid, b=grid),
                    desc=f"joint, {norm}, {d} layers, seed {s}")
    for d in varpro_depths:
        for s in seeds:
            surfaces[("varpro", "filter", d, s)] = L.get_surface(
                all_runs[(d, s)], L.SurfaceSpec("varpro", "filter", seed=s, a=grid, b=grid),
                desc=f"VarPro, filter, {d} layers, seed {s}")
    measures = {key: L.curvature_measures(s.values, grid, grid) for key, s in surfaces.items()}
    record: dict = {}
    for (obj, norm, d, s), m in measures.items():
        record.setdefault(f"{obj}/{norm}", {}).setdefault(str(d), {})[str(s)] = {
            **_pack(m), "seconds": surfaces[(obj, norm, d, s)].seconds}
    depths_of = {(o, n): (list(depths) if o == "joint" else list(varpro_depths)) for o, n in COMBINATIONS}
    numbers = {"surfaces": record, "n_surfaces": len(surfaces),
               **_inner_check(s for k, s in surfaces.items() if k[0] == "varpro")}
    return Analysis(measure_tables(measures, depths_of, seeds, points), numbers,
                    {"surfaces": surfaces, "measures": measures, "grid": grid})


def slices(all_runs: dict, depths, varpro_depths, seeds, n: int = 41, near: float = NEAR) -> Analysis:
    """Slices ``f(a, 0)`` along the first filter-normalised direction, over ``[-1, 1]`` and ``[-near, near]``.

    Parameters
    ----------
    all_runs : mapping (int, int) -> RunResult
    depths, varpro_depths, seeds : sequence of int
        VarPro slices only at ``varpro_depths``.
    n : int
        Points per slice.
    near : float
        Half-width of the slices near the trained weights.

    Returns
    -------
    Analysis
        One table (share of slice points with a negative second difference);
        numbers ``slices`` (the record's entry, ``"joint/near" -> str(layers) ->
        str(seed) -> {"nonconvex_share", "seconds"}``) and ``points_per_slice``;
        arrays ``slices`` (``(objective, region, layers, seed) -> Surface``) and
        ``share`` (same keys -> float).
    """
    coords = {"wide": L.li_grid(n), "near": tuple(float(v) for v in np.linspace(-near, near, n))}
    out = {}
    for region, c in coords.items():
        for d in depths:
            for s in seeds:
                for obj in (["joint", "varpro"] if d in varpro_depths else ["joint"]):
                    out[(obj, region, d, s)] = L.get_surface(
                        all_runs[(d, s)], L.SurfaceSpec(obj, "filter", seed=s, a=c, b=(0.0,)), desc="slices")
    share = {key: L.slice_nonconvex_share(sl.values[:, 0], sl.a) for key, sl in out.items()}
    rows = [[obj, d, region] + [f"{share[(obj, region, d, s)]:.3f}" for s in seeds]
            for obj in ("joint", "varpro") for d in depths for region in ("wide", "near")
            if (obj, region, d, seeds[0]) in share]
    table = Table(["objective", "layers", "range"] + [f"seed {s}" for s in seeds], rows,
                  caption="Slice non-convexity: share of slice points with negative second difference (filter "
                  f"normalisation, along d₁, {n} points per slice; wide: |a| ≤ 1, near: |a| ≤ {near:g}), per "
                  "objective, depth and direction seed.")
    record: dict = {}
    for (obj, region, d, s), v in share.items():
        record.setdefault(f"{obj}/{region}", {}).setdefault(str(d), {})[str(s)] = {
            "nonconvex_share": v, "seconds": out[(obj, region, d, s)].seconds}
    return Analysis([table], {"slices": record, "points_per_slice": n}, {"slices": out, "share": share})


def hessian_tables(hessians: dict) -> list:
    """The Hessian extremes in two tables: the eigenvalues, and the checks of the computation.

    Parameters
    ----------
    hessians : mapping (str, int) -> dict
        ``(objective, layers) ->`` :func:`~resnet_ode.studies.landscape.hessian.get_hessian_extremes`.

    Returns
    -------
    list of Table
    """
    keys = sorted(hessians)
    values = Table(["objective", "layers", "λ_min", "λ_max", "λ_min / λ_max", "‖grad‖"],
                   [[o, d, f"{hessians[(o, d)]['lam_min']:.4g}", f"{hessians[(o, d)]['lam_max']:.4g}",
                     f"{hessians[(o, d)]['ratio']:.2e}", f"{hessians[(o, d)]['grad_norm']:.3f}"] for o, d in keys],
                   caption="Hessian of the objective in all network weights at θ*: smallest and largest eigenvalue, "
                   "their ratio, and the gradient norm there.")
    checks = Table(["objective", "layers", "λ_min", "check λ_min", "asymmetry", "H·v products"],
                   [[o, d, f"{hessians[(o, d)]['lam_min']:.4g}", f"{hessians[(o, d)]['second_difference_min']:.4g}",
                     fmt_small(hessians[(o, d)]["asymmetry"], 1e-6), hessians[(o, d)]["matvecs"]] for o, d in keys],
                   caption="Checks of the Hessian computation: λ_min against a second difference of objective values "
                   "along its eigenvector, asymmetry of the finite-difference Hessian, Hessian-vector products used.")
    return [values, checks]


def hessians(runs: dict, depths, varpro_depths) -> Analysis:
    """Smallest and largest Hessian eigenvalue at the trained weights (joint at every depth, VarPro at ``varpro_depths``).

    Parameters
    ----------
    runs : mapping int -> RunResult
        One network per depth.
    depths, varpro_depths : sequence of int

    Returns
    -------
    Analysis
        :func:`hessian_tables`; numbers ``hessian`` (the record's entry,
        ``objective -> str(layers) -> extremes``); arrays ``hessians``
        (``(objective, layers) -> dict``).
    """
    out = {}
    for d in depths:
        for obj in (["joint", "varpro"] if d in varpro_depths else ["joint"]):
            out[(obj, d)] = L.get_hessian_extremes(runs[d], obj)
    record = {obj: {str(d): h for (o, d), h in out.items() if o == obj} for obj in ("joint", "varpro")}
    return Analysis(hessian_tables(out), {"hessian": record}, {"hessians": out})


def _fewer(a: float, b: float) -> str:
    return "fewer" if a < b else ("as many" if a == b else "more")


def depth_comparison(measures: dict, share: dict, hessian: dict, depths, seeds, shallow: int, deep: int) -> Analysis:
    """The deeper against the shallower network, seed by seed, on every measure.

    Parameters
    ----------
    measures : mapping (str, str, int, int) -> dict
        As in :func:`measure_tables` (every depth for the joint objective,
        ``shallow`` and ``deep`` at least for VarPro).
    share : mapping (str, str, int, int) -> float
        Slice non-convexity, ``(objective, "wide" | "near", layers, seed)``.
    hessian : mapping (str, int) -> dict
        ``(objective, layers) -> {"ratio", "lam_min", "lam_max", ...}`` for
        ``shallow`` and ``deep``.
    depths, seeds : sequence of int
    shallow, deep : int

    Returns
    -------
    Analysis
        One table (means at both depths, seeds on which the deeper is lower,
        ties); numbers ``deep_smoother_on_seeds`` and ``deep_smoother_by_seed``
        (record entries, :func:`~resnet_ode.studies.aggregate.deeper_smoother`),
        ``mean`` (``"objective/normalisation/measure" -> {"shallow", "deep"}``),
        ``mean_by_depth`` (joint, filter: ``measure -> str(layers) -> mean``),
        ``near`` (``objective -> {"shallow", "deep", "lower"}``), ``hessian``
        (``objective -> {"shallow", "deep"} -> extremes``) and direction words
        (``minima_word``: ``"fewer"``, ``"as many"`` or ``"more"`` per pair,
        ``varpro_more_convex``: the deeper Φ has the smaller ``|λ_min / λ_max|``),
        and ``rule``: Chapter 4's rule on these networks
        (:func:`resnet_ode.studies.margins.smoothness_readings`: its ``verdict``, the
        ``share`` of the shallower value a reading must fall by, the number of
        ``readings`` and how many of them ``holds``, ``does_not_hold`` and
        ``inconclusive``).
    """
    from resnet_ode.studies.margins import SMOOTHNESS_SHARE, smoothness_readings

    smoother = deeper_smoother(measures, deep, shallow, seeds)
    by_seed = deeper_smoother_by_seed(measures, deep, shallow, seeds)
    mean = {}
    rows = []
    for obj, norm in COMBINATIONS:
        for m in ("negative_share", "local_minima"):
            key = f"{obj}/{norm}/{m}"
            pair = {side: float(np.mean([measures[(obj, norm, d, s)][m] for s in seeds]))
                    for side, d in (("shallow", shallow), ("deep", deep))}
            mean[key] = pair
            fmt = "{:.3f}" if m == "negative_share" else "{:.1f}"
            c = smoother[key]
            rows.append([OBJECTIVE_NAMES[obj], norm, m.replace("negative_share", "non-convex share").replace(
                "local_minima", "local minima"), fmt.format(pair["shallow"]), fmt.format(pair["deep"]),
                f"{c['lower']} of {c['n']}", c["ties"]])
    table = Table(["objective", "normalisation", "measure", f"mean, {shallow} layers", f"mean, {deep} layers",
                   f"{deep} lower", "tied"], rows,
                  caption=f"The {deep}-layer against the {shallow}-layer network, {len(seeds)} pairs of networks "
                  "(one per seed): mean of each measure at both depths, seeds on which the deeper network scores "
                  "lower (smoother), and ties.")
    by_depth = {m: {str(d): float(np.mean([measures[("joint", "filter", d, s)][m] for s in seeds])) for d in depths}
                for m in ("negative_share", "local_minima")}
    near = {}
    for obj in ("joint", "varpro"):
        a = [share[(obj, "near", deep, s)] for s in seeds]
        b = [share[(obj, "near", shallow, s)] for s in seeds]
        near[obj] = {"shallow": float(np.mean(b)), "deep": float(np.mean(a)), "lower": count_lower(a, b)["lower"]}
    hess = {obj: {"shallow": hessian[(obj, shallow)], "deep": hessian[(obj, deep)]} for obj in ("joint", "varpro")}
    minima_word = {f"{o}/{n}": _fewer(round(mean[f"{o}/{n}/local_minima"]["deep"], 1),
                                      round(mean[f"{o}/{n}/local_minima"]["shallow"], 1)) for o, n in COMBINATIONS}
    numbers = {"deep_smoother_on_seeds": smoother, "deep_smoother_by_seed": by_seed, "mean": mean,
               "mean_by_depth": by_depth, "near": near, "hessian": hess, "minima_word": minima_word,
               "varpro_more_convex": bool(abs(hess["varpro"]["deep"]["ratio"]) < abs(hess["varpro"]["shallow"]["ratio"]))}
    # Chapter 4's rule on these networks: the four filter-normalised readings, paired by seed
    record = {"thesis_depths": [shallow, deep],
              "surfaces": {f"{o}/filter": {str(d): {str(s): measures[(o, "filter", d, s)] for s in seeds}
                                           for d in (shallow, deep)} for o in ("joint", "varpro")}}
    verdict = smoothness_readings(record)
    grades = [r["grade"] for r in verdict.evidence["readings"].values()]
    numbers["rule"] = {"verdict": verdict.verdict, "share": SMOOTHNESS_SHARE, "readings": len(grades),
                       **{g.replace(" ", "_"): grades.count(g) for g in ("holds", "does not hold", "inconclusive")}}
    return Analysis([table], numbers, {})


def objective_evaluations(surfaces, n_hessians: int) -> dict:
    """How many weight vectors a page's surfaces and slices evaluate, per objective.

    Parameters
    ----------
    surfaces : iterable of Surface
    n_hessians : int

    Returns
    -------
    dict
        ``surfaces_and_slices``, ``joint``, ``varpro`` (points) and ``hessians``:
        the record's ``objective_evaluations``.
    """
    surfaces = list(surfaces)
    points = {o: int(sum(s.values.size for s in surfaces if s.spec.objective == o)) for o in ("joint", "varpro")}
    return {"surfaces_and_slices": len(surfaces), **points, "hessians": int(n_hessians)}
