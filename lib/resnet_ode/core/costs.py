"""What a network's forward pass costs, counted from its method's number of stages.

One place for the count, so that every comparison of cost (the equal-cost
pairs of Chapter 3.4, the order in which the book trains its runs) follows the
Butcher tableau of the integrator instead of a number written down for RK4.
"""

from __future__ import annotations

from resnet_ode.core.integrators import get_method
from resnet_ode.util.validate import check_int


def step_evaluations(integrator: str) -> int:
    """Right-hand-side evaluations of one step of ``integrator`` (its tableau's number of stages)."""
    return get_method(integrator).n_stages


def evaluations(config) -> int:
    """Right-hand-side evaluations of one forward pass of the run ``config`` (per sample): steps x stages."""
    return (config.nY - 1) * step_evaluations(config.integrator)


def equal_cost_states(nY: int, stages: int = 4) -> int:
    """State times of a forward-Euler network with the evaluations of ``nY - 1`` steps of a ``stages``-stage method.

    ``stages * (nY - 1)`` Euler steps, so ``stages * (nY - 1) + 1`` state times.
    """
    nY = check_int("nY", nY, min_value=2)
    stages = check_int("stages", stages, min_value=1)
    return stages * (nY - 1) + 1


def run_cost(config) -> float:
    """Rough relative cost of training the run ``config`` (to start the longest runs first).

    Forward passes of the network (:func:`evaluations`) times the sweeps of
    one iteration: the inner CG steps of Gauss-Newton, or one, plus two.
    """
    inner = config.cg_max_iter if config.optimizer == "gauss_newton" else 1
    return evaluations(config) * config.max_iter * (inner + 2)
