"""The stored objective grids of Chapter 3.4's toy problem (the landscapes of the thesis's Figure 3.9).

The 200-step reference landscape alone takes most of the toy problem's compute,
so the grids are a memo analysis (:func:`resnet_ode.studies.memo.stored`),
stored and published like a training run and keyed by the arguments that draw
the toy data, the steps and the grid. The key digests this module and the code
that computes the objective (:mod:`resnet_ode.studies.rkstudy` and the
Runge-Kutta code of the core layer), not the tables and figures built from the
grids (:mod:`resnet_ode.studies.rktoy`, :mod:`resnet_ode.studies.rkfigures`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from resnet_ode.core.integrators import METHODS, RK4_THESIS_AS_WRITTEN
from resnet_ode.studies import memo, rkstudy

#: Name of the thesis's RK4 code in :data:`resnet_ode.core.integrators.METHODS`.
WRITTEN = RK4_THESIS_AS_WRITTEN.name

#: The methods of the equal-cost landscapes, in the order of their tables.
LANDSCAPE_METHODS = ("euler", "rk4", WRITTEN)


@memo.register("toy_landscapes", ("studies/toy_landscapes.py", "studies/rkstudy.py", "core/integrators.py",
                                  "core/rungekutta.py", "core/activations.py"))
def _toy_landscapes(runs, data: dict, rk4_steps: int, ref_steps: int, n_grid: int) -> dict:
    """The grids of :func:`toy_landscape_grids` for the toy data :func:`~resnet_ode.studies.rkstudy.make_toy_data`
    draws with the arguments ``data`` (no trained runs: ``runs`` is empty)."""
    if runs:
        raise ValueError("the toy landscapes take no trained runs")
    return _landscape_grids(rkstudy.make_toy_data(**data), rk4_steps, ref_steps, n_grid)


def _landscape_grids(data: rkstudy.ToyData, rk4_steps: int, ref_steps: int, n_grid: int) -> dict:
    euler_steps = METHODS["rk4"].n_stages * rk4_steps
    t, ref_train, ref_test = rkstudy.objective_landscape("rk4", data, ref_steps, n=n_grid)
    out = {"t": t, "ref_train": ref_train, "ref_test": ref_test}
    for name, steps in (("euler", euler_steps), ("rk4", rk4_steps), (WRITTEN, rk4_steps)):
        out[f"{name}_train"], out[f"{name}_test"] = rkstudy.objective_landscape(name, data, steps, n=n_grid)[1:]
    # Accuracy of the reference: twice the steps on every 10th grid point.
    sub = slice(None, None, 10)
    t_sub, th_sub = rkstudy.theta_grid(t[0], t[-1], len(t[sub]))
    fine_train, _ = rkstudy.objective("rk4", data, 2 * ref_steps, th_sub)
    out["ref_check"] = np.abs(fine_train.reshape(len(t_sub), -1) - ref_train[sub, sub]).max()
    # The exact flow to the thesis code's effective time a T (its weights sum to a at the step T / rk4_steps).
    a = rkstudy.weight_sum(WRITTEN, data.T / rk4_steps)
    data_eff = dataclasses.replace(data, T=a * data.T)
    out["eff_train"] = rkstudy.objective_landscape("rk4", data_eff, max(1, round(ref_steps * a)), n=n_grid)[1]
    return out


def toy_landscape_grids(data: rkstudy.ToyData, rk4_steps: int, ref_steps: int, n_grid: int = 101) -> dict:
    """The objective on the ``n_grid x n_grid`` grid of θ for every landscape of
    :func:`resnet_ode.studies.rktoy.equal_cost_landscapes`.

    Stored and published like a training run, keyed by the arguments that draw the data, the steps and
    the grid. Data that :func:`~resnet_ode.studies.rkstudy.make_toy_data` does not draw from their recipe
    (built by hand, or changed after drawing) are computed and not stored.

    Parameters
    ----------
    data : ToyData
    rk4_steps, ref_steps, n_grid : int

    Returns
    -------
    dict of str -> ndarray
        ``t`` (n,); ``ref_train``, ``ref_test`` (n, n): classical RK4 with ``ref_steps`` steps;
        ``<method>_train``, ``<method>_test`` (n, n) for each of :data:`LANDSCAPE_METHODS` (Euler with
        ``4 rk4_steps`` steps, the others with ``rk4_steps``); ``ref_check`` (scalar): the largest
        difference of the reference from twice its steps on every 10th grid point; ``eff_train`` (n, n):
        the exact flow to the thesis code's effective time on the training data.
    """
    params = {"rk4_steps": int(rk4_steps), "ref_steps": int(ref_steps), "n_grid": int(n_grid)}
    if not data.drawn_by_recipe():
        return _landscape_grids(data, **params)
    return memo.stored("toy_landscapes", [], data=data.recipe(), **params)
