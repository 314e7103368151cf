"""Chapter 3.4's analyses of the course script's toy problem: the thesis's Figure 3.9 and why its panels differ.

Each function is one analysis of the page and returns an
:class:`~resnet_ode.studies.analysis.Analysis`: its tables, the numbers the page
glues and writes to its numbers record (``numbers["record"]`` is the part of the
record the analysis owns, in the layout Chapter 4 reads), and the arrays its
figures plot. The computations are those of :mod:`resnet_ode.studies.rkstudy`.

- :func:`method_table`: the Runge-Kutta methods of the package and the sums of
  their weights.
- :func:`toy_orders`: orders of convergence of every method on the toy problem.
- :func:`equal_cost_landscapes`: the landscapes of equal cost (the thesis's
  figure), their distances from the exact landscape, the split of the
  thesis's comparison into a coding error and two discretisation errors, and
  the effective final time of the thesis's code. Their grids
  (:func:`resnet_ode.studies.toy_landscapes.toy_landscape_grids`) are stored and published like runs.
- :func:`coarse_pair`: the pair at the course script's coarse step, where
  stability decides.
"""
from __future__ import annotations

import numpy as np

from resnet_ode.core.integrators import METHODS
from resnet_ode.studies import rkstudy
from resnet_ode.studies.toy_landscapes import LANDSCAPE_METHODS, WRITTEN, toy_landscape_grids
from resnet_ode.studies.analysis import Analysis
from resnet_ode.util.formatting import Table, fmt_small
from resnet_ode.util.validate import check_int

#: Methods of the convergence study, in the order of its table.
ORDER_METHODS = ("euler", "midpoint", "heun", "rk4", "rk4_38", WRITTEN)

#: Errors below this are round-off at the finest step (machine-dependent digits), shown as a bound.
ROUND_OFF = 1e-10


def method_table(step_sizes=(0.4, 2.0)) -> Analysis:
    """The package's Runge-Kutta methods: stages, declared order and the sum of the weights at given steps.

    Parameters
    ----------
    step_sizes : sequence of float
        Steps ``h`` at which the sum of the weights ``b`` is shown (1 for a
        consistent method; ``1/6 + h/2`` for the thesis's code).

    Returns
    -------
    Analysis
        One table; ``numbers["weight_sums"]``: ``{method: [sum at each step]}``.
    """
    steps = [float(h) for h in step_sizes]
    sums = {name: [rkstudy.weight_sum(m, h) for h in steps] for name, m in METHODS.items()}
    rows = [[name, m.n_stages, "–" if m.order is None else m.order, *sums[name]] for name, m in METHODS.items()]
    table = Table(["method", "stages", "declared order"] + [f"Σ b (h = {h:g})" for h in steps], rows,
                  caption="Runge-Kutta methods of the package: stages, declared order (– for the thesis's code, "
                          "which has none) and the sum of the weights b at the two step sizes of the toy "
                          "problem (1 for a consistent method).", floatfmt="{:.4f}")
    return Analysis([table], {"weight_sums": sums})


def toy_orders(data: rkstudy.ToyData, methods=ORDER_METHODS, sixth_fit_min_steps: int = 512) -> Analysis:
    """Orders of convergence on the toy problem at ``theta = (1, 1)``, and the thesis's code against ``f/6``.

    Parameters
    ----------
    data : ToyData
    methods : sequence of str
        Must include :data:`~resnet_ode.studies.toy_landscapes.WRITTEN` and ``"rk4"``.
    sixth_fit_min_steps : int
        Smallest step count of the fit of the thesis's code against the
        solution of ``dY/dt = f(Y)/6``.

    Returns
    -------
    Analysis
        One table; numbers ``order_<method>``, ``order_written_sixth``,
        ``err_written_fine``/``_coarse``, ``err_rk4_coarse``,
        ``steps_coarse``/``_fine`` and ``record`` (``convergence_order``,
        ``convergence_order_written_vs_f_over_6``, ``convergence``); arrays
        ``conv`` (``{method: Convergence}``) and ``sixth``.
    """
    conv = rkstudy.toy_convergence(list(methods), data)
    sixth = rkstudy.toy_convergence([WRITTEN], data, time_scale=1 / 6, fit_min_steps=sixth_fit_min_steps)[WRITTEN]
    finest = int(conv["rk4"].steps[-1])

    def row(name, c, declared):
        return [name, declared, c.order, float(c.errors[c.steps == 128][0]), fmt_small(float(c.errors[-1]), ROUND_OFF, 3)]

    rows = [row(name, c, "–" if METHODS[name].order is None else METHODS[name].order) for name, c in conv.items()]
    rows.append(row(f"{WRITTEN} vs f/6", sixth, 1))
    table = Table(["method", "declared order", "fitted order", "error (128 steps)", f"error ({finest} steps)"], rows,
                  caption="Convergence on the toy problem at θ = (1, 1), training inputs: declared order (– for the "
                          "thesis's code, which has none), fitted order, and the relative error of the final state "
                          f"with 128 and {finest} steps (errors below {ROUND_OFF:.0e} are round-off, shown as a "
                          "bound).", floatfmt=[None, None, "{:.2f}", "{:.3g}", None])
    numbers = {f"order_{name}": c.order for name, c in conv.items()}
    numbers.update({
        "order_written_sixth": sixth.order,
        "err_written_fine": float(conv[WRITTEN].errors[-1]),
        "err_written_coarse": float(conv[WRITTEN].errors[0]),
        "err_rk4_coarse": float(conv["rk4"].errors[0]),
        "steps_coarse": int(conv["rk4"].steps[0]),
        "steps_fine": finest,
        "record": {"convergence_order": {name: c.order for name, c in conv.items()},
                   "convergence_order_written_vs_f_over_6": sixth.order,
                   "convergence": {name: {"steps": c.steps, "errors": c.errors} for name, c in conv.items()}},
    })
    return Analysis([table], numbers, {"conv": conv, "sixth": sixth})


def _argmin_text(summary: dict) -> str:
    return f"({summary['argmin'][0]:.3f}, {summary['argmin'][1]:.3f})"


def equal_cost_landscapes(data: rkstudy.ToyData, rk4_steps: int, ref_steps: int, n_grid: int = 101) -> Analysis:
    """The thesis's Figure 3.9 and its explanation: toy landscapes of equal cost against the exact one.

    Euler takes ``4 rk4_steps`` steps (the same evaluations of the dynamics as
    ``rk4_steps`` steps of a four-stage method); classical RK4 and the
    thesis's code take ``rk4_steps``. The reference ("exact") landscape is
    classical RK4 with ``ref_steps`` steps, checked on every 10th grid point
    against twice as many steps. The thesis's code moves the state about as the
    exact flow over the time ``a T``, ``a = 1/6 + H/2`` its weight sum.

    Parameters
    ----------
    data : ToyData
    rk4_steps, ref_steps : int
    n_grid : int
        Grid points per parameter (the grid is ``n_grid x n_grid``).

    Returns
    -------
    Analysis
        Tables: landscape summary (training data), distances from the exact
        landscape, split of the thesis's comparison. Numbers: ``H``,
        ``h_euler``, ``euler_steps``, ``toy_grid_points``, ``ref_check``, ``ref_max``,
        ``thesis_pair_corr``, ``thesis_pair_ratio``, ``argmin_*``, ``a_H``,
        ``T_eff``, ``rel_*``, ``bug_*`` and ``record`` (the
        ``toy_landscapes/thesis_pair`` entry). Arrays: ``t`` (n,), ``ref_train``,
        ``ref_test``, ``eff_train`` (n, n) and ``land`` (``{method: (train,
        test)}``, each (n, n)).
    """
    rk4_steps = check_int("rk4_steps", rk4_steps, min_value=1)
    ref_steps = check_int("ref_steps", ref_steps, min_value=1)
    n_grid = check_int("n_grid", n_grid, min_value=2)
    T = data.T
    H = T / rk4_steps
    euler_steps = METHODS["rk4"].n_stages * rk4_steps
    grids = toy_landscape_grids(data, rk4_steps, ref_steps, n_grid)
    t, ref_train, ref_test, eff_train = grids["t"], grids["ref_train"], grids["ref_test"], grids["eff_train"]
    land = {name: (grids[f"{name}_train"], grids[f"{name}_test"]) for name in LANDSCAPE_METHODS}
    ref_check = float(grids["ref_check"])

    summ = {name: rkstudy.landscape_summary(P[0], t, ref_train) for name, P in land.items()}
    summ_test = {name: rkstudy.landscape_summary(P[1], t, ref_test) for name, P in land.items()}
    summ["reference"] = rkstudy.landscape_summary(ref_train, t, ref_train)
    vs_euler = rkstudy.landscape_summary(land[WRITTEN][0], t, land["euler"][0])
    ratio = summ[WRITTEN]["max"] / summ["euler"]["max"]

    a = rkstudy.weight_sum(WRITTEN, H)
    T_eff = a * T
    eff = rkstudy.landscape_summary(land[WRITTEN][0], t, eff_train)

    parts = {"coding error (thesis code - RK4)": land[WRITTEN][0] - land["rk4"][0],
             "RK4's discretisation error (RK4 - exact)": land["rk4"][0] - ref_train,
             "Euler's discretisation error (exact - Euler)": ref_train - land["euler"][0]}
    split = {k: {"frobenius": float(np.linalg.norm(v)), "max": float(np.abs(v).max())} for k, v in parts.items()}
    D_total = land[WRITTEN][0] - land["euler"][0]
    bug, e_rk4, e_eu = parts.values()

    summary_table = Table(
        ["landscape", "max Φ", "min Φ", "argmin θ", "corr(log Φ) with ref", "rel. diff to ref"],
        [[name, s["max"], s["min"], f"({s['argmin'][0]:.3f}, {s['argmin'][1]:.3f})", s["log_corr"], s["rel_diff"]]
         for name, s in summ.items()],
        caption=f"Toy landscapes on the training data ({n_grid} x {n_grid} grid of θ), reference = classical RK4 "
                f"with {ref_steps} steps: largest and smallest Φ, where the smallest lies, correlation of log Φ with "
                "the reference and relative difference to it.", floatfmt="{:.3g}")
    rows = [[name, summ[name]["rel_diff"], summ_test[name]["rel_diff"], summ[name]["max_abs_diff"],
             summ[name]["log_corr"]] for name in ["euler", "rk4", WRITTEN]]
    rows.append([f"{WRITTEN} vs exact flow to T = {T_eff:.3f}", eff["rel_diff"], "–", eff["max_abs_diff"],
                 eff["log_corr"]])
    distance_table = Table(
        ["landscape", "rel. diff (train)", "rel. diff (test)", "max |diff| (train)", "corr(log Φ)"], rows,
        caption="Distance of the equal-cost toy landscapes from the exact one: relative difference on the training "
                "and test data, largest absolute difference and correlation of log Φ (training data). Last row: the "
                "thesis's code against the exact flow to the shorter time, computed on the training data only "
                "(– on the test data).", floatfmt="{:.3g}")
    split_table = Table(
        ["part", "Frobenius norm", "max |·|"], [[k, v["frobenius"], v["max"]] for k, v in split.items()],
        caption=f"Split of the thesis's comparison Φ_code − Φ_Euler (Frobenius norm {np.linalg.norm(D_total):.2e}, "
                f"max {np.abs(D_total).max():.2e} over the grid) into its three parts, each with its Frobenius norm "
                "and largest absolute value.", floatfmt="{:.2e}")

    numbers = {
        "H": H, "h_euler": T / euler_steps, "euler_steps": euler_steps, "toy_grid_points": n_grid,
        "ref_check": ref_check, "ref_max": float(ref_train.max()),
        "thesis_pair_corr": vs_euler["log_corr"], "thesis_pair_ratio": ratio,
        "argmin_written": _argmin_text(summ[WRITTEN]), "argmin_euler": _argmin_text(summ["euler"]),
        "argmin_rk4": _argmin_text(summ["rk4"]), "argmin_ref": _argmin_text(summ["reference"]),
        "a_H": a, "T_eff": T_eff,
        "rel_euler": summ["euler"]["rel_diff"], "rel_rk4": summ["rk4"]["rel_diff"],
        "rel_written": summ[WRITTEN]["rel_diff"], "rel_written_eff": eff["rel_diff"],
        "bug_fro_over_rk4": float(np.linalg.norm(bug) / np.linalg.norm(e_rk4)),
        "bug_fro_over_euler": float(np.linalg.norm(bug) / np.linalg.norm(e_eu)),
        "bug_max_over_rk4": float(np.abs(bug).max() / np.abs(e_rk4).max()),
        "bug_max_over_euler": float(np.abs(bug).max() / np.abs(e_eu).max()),
        "rel_rk4_vs_euler": rkstudy.landscape_summary(land["rk4"][0], t, land["euler"][0])["rel_diff"],
        "record": {"rk4_steps": rk4_steps, "H": H, "train": summ, "test": summ_test, "written_vs_euler": vs_euler,
                   "weight_sum_written": a, "effective_time": T_eff, "written_vs_exact_at_effective_time": eff,
                   "difference_split": split, "reference_check": ref_check},
    }
    arrays = {"t": t, "ref_train": ref_train, "ref_test": ref_test, "land": land, "eff_train": eff_train}
    return Analysis([summary_table, distance_table, split_table], numbers, arrays)


def coarse_pair(data: rkstudy.ToyData, coarse_rk4_steps: int, ref_train, t) -> Analysis:
    """The pair at a coarse step: Euler with ``4 coarse_rk4_steps`` steps, RK4 and the thesis's code with
    ``coarse_rk4_steps``, and where each step damps the decaying modes (``|R(h lambda)| <= 1``).

    Parameters
    ----------
    data : ToyData
    coarse_rk4_steps : int
    ref_train : ndarray, shape (n, n)
        The reference landscape on the training data (of :func:`equal_cost_landscapes`).
    t : ndarray, shape (n,)
        Its grid.

    Returns
    -------
    Analysis
        One table; numbers ``coarse_damped_<euler|rk4|written>`` (share of the
        grid damped), ``coarse_h_<...>`` and ``record`` (the
        ``toy_landscapes/coarse_pair`` entry). Arrays ``steps`` (``{method:
        (steps, h)}``), ``land`` and ``growth`` (``{method: (n, n)}``, the
        growth factor ``max |R(h lambda)|``).
    """
    coarse_rk4_steps = check_int("coarse_rk4_steps", coarse_rk4_steps, min_value=1)
    t = np.asarray(t, dtype=float)
    n_grid = t.size
    T = data.T
    Hc = T / coarse_rk4_steps
    _, th_all = rkstudy.theta_grid(t[0], t[-1], n_grid)
    euler_steps = METHODS["rk4"].n_stages * coarse_rk4_steps
    steps = {"euler": (euler_steps, T / euler_steps), "rk4": (coarse_rk4_steps, Hc), WRITTEN: (coarse_rk4_steps, Hc)}
    land, growth, record, rows = {}, {}, {}, []
    for name, (n, h) in steps.items():
        land[name] = rkstudy.objective_landscape(name, data, n, n=n_grid)[1]
        growth[name] = rkstudy.linear_growth(name, h, th_all).reshape(n_grid, n_grid)
        s = rkstudy.landscape_summary(land[name], t, ref_train)
        damped = float(np.mean(growth[name] <= 1))
        record[name] = {"steps": n, "h": h, "damped_share": damped, **s}
        rows.append([name, n, h, damped, s["max"], s["log_corr"]])
    table = Table(["method", "steps", "h", "share of grid damped", "max Φ", "corr(log Φ) with ref"], rows,
                  caption="Coarse pair on the training data: share of the grid where a step damps the decaying modes "
                          "(|R(hλ)| ≤ 1), largest Φ and correlation of log Φ with the reference landscape.",
                  floatfmt=["{:.3g}", None, "{:.3g}", "{:.3f}", "{:.3g}", "{:.3g}"])
    numbers = {"record": record}
    for name, short in (("euler", "euler"), ("rk4", "rk4"), (WRITTEN, "written")):
        numbers[f"coarse_damped_{short}"] = record[name]["damped_share"]
        numbers[f"coarse_h_{short}"] = record[name]["h"]
    return Analysis([table], numbers, {"steps": steps, "land": land, "growth": growth})
