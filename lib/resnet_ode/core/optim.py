"""Optimisers that record a history per iteration.

``gauss_newton``
    Gauss-Newton-Krylov as in Meganet's ``newton``: an inexact Steihaug CG
    solve of ``H s = -g`` (relative tolerance 0.1, at most 20 steps), the step
    scaled so that ``max |s| <= max_step``, Armijo backtracking (``c = 1e-3``,
    halving, at most 20 tries) starting from the last accepted step length
    (grown by 1.5 after an immediate acceptance, capped at 1).
``lbfgs``
    scipy's L-BFGS-B on the exact gradient (no bounds).
``adam``
    Full-batch Adam.
``gd``
    Steepest descent with the same Armijo line search.

Every optimiser calls ``objective.evaluate`` (see :mod:`resnet_ode.core.objectives`)
and records, per iteration, the objective, data loss, gradient norm,
training and validation accuracy, linear-solver steps and elapsed seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize

from resnet_ode.core.krylov import conjugate_gradient
from resnet_ode.util import progress

METHODS = ("gauss_newton", "lbfgs", "adam", "gd")

HISTORY_KEYS = (
    "iteration",
    "objective",
    "loss",
    "grad_norm",
    "train_accuracy",
    "val_accuracy",
    "cg_steps",
    "step",
    "evaluations",
    "seconds",
)


@dataclass
class OptimResult:
    """Final point and per-iteration history.

    Attributes
    ----------
    x : ndarray
        Final optimisation variables.
    theta, W : ndarray
        Network and classifier weights at ``x``.
    history : dict of str -> ndarray
        One entry per key of :data:`HISTORY_KEYS`, each of length
        ``iterations + 1`` (iteration 0 is the initial point).
    message : str
        Why the optimiser stopped.
    """

    x: np.ndarray
    theta: np.ndarray
    W: np.ndarray
    history: dict
    message: str = ""


@dataclass
class _Recorder:
    monitor: object
    bar: object
    t0: float = field(default_factory=time.perf_counter)
    rows: list = field(default_factory=list)
    evaluations: int = 0

    def record(self, it, ev, cg_steps=0, step=0.0):
        val = self.monitor(ev.theta, ev.W) if self.monitor is not None else float("nan")
        self.rows.append(
            (it, ev.value, ev.loss, float(np.linalg.norm(ev.grad)), ev.train_accuracy, val, cg_steps, step,
             self.evaluations, time.perf_counter() - self.t0)
        )
        if it > 0:
            self.bar.update(1)
            self.bar.set_postfix_str(f"obj={ev.value:.4f} train={ev.train_accuracy:.3f} val={val:.3f}", refresh=False)

    def history(self):
        cols = list(zip(*self.rows))
        return {k: np.array(c) for k, c in zip(HISTORY_KEYS, cols)}


def _armijo(objective, x, f, g, s, mu, c=1e-3, max_tries=20):
    """Backtracking from step length ``mu``; returns ``(x_new, f_new, mu, tries)`` or ``None``."""
    slope = float(g @ s)
    for tries in range(1, max_tries + 1):
        xt = x + mu * s
        ft = objective.value(xt)
        if ft <= f + c * mu * slope:
            return xt, ft, mu, tries
        mu *= 0.5
    return None


def _line_search_descent(objective, x0, max_iter, direction, grow, hessian, ls_c, ls_max_tries, monitor, desc):
    """The loop Gauss-Newton and steepest descent share: a step along ``direction(ev)`` found by :func:`_armijo`.

    ``direction(ev) -> (s, cg_steps)`` gives the search direction at the
    evaluation ``ev`` (computed with the Gauss-Newton product if ``hessian``);
    the next line search starts from the accepted step length, changed to
    ``grow(mu)`` when the first try was accepted.
    """
    x = np.array(x0, dtype=float)
    kwargs = {"hessian": True} if hessian else {}
    with progress.bar(max_iter, desc) as bar:
        rec = _Recorder(monitor, bar)
        ev = objective.evaluate(x, **kwargs)
        rec.evaluations += 1
        rec.record(0, ev)
        mu, message = 1.0, "maximum iterations reached"
        for it in range(1, max_iter + 1):
            s, steps = direction(ev)
            found = _armijo(objective, x, ev.value, ev.grad, s, mu, ls_c, ls_max_tries)
            if found is None:
                message = f"line search failed at iteration {it}"
                break
            x, _, mu, tries = found
            rec.evaluations += tries
            if tries == 1:
                mu = grow(mu)
            ev = objective.evaluate(x, **kwargs)
            rec.evaluations += 1
            rec.record(it, ev, cg_steps=steps, step=found[2])
    return OptimResult(x, ev.theta, ev.W, rec.history(), message)


def gauss_newton(objective, x0, max_iter=40, cg_tol=0.1, cg_max_iter=20, max_step=1.0, ls_c=1e-3,
                 ls_max_tries=20, monitor=None, desc="gauss-newton"):
    def direction(ev):
        s, steps, _ = conjugate_gradient(ev.hessvec, -ev.grad, tol=cg_tol, max_iter=cg_max_iter)
        if not np.any(s):
            s = -ev.grad / np.linalg.norm(ev.grad)
        smax = np.max(np.abs(s))
        if smax > max_step:
            s *= max_step / smax
        return s, steps

    return _line_search_descent(objective, x0, max_iter, direction, lambda mu: min(1.5 * mu, 1.0), True, ls_c,
                                ls_max_tries, monitor, desc)


def lbfgs(objective, x0, max_iter=300, memory=10, monitor=None, desc="l-bfgs"):
    last = {}

    def fun(x):
        ev = objective.evaluate(x)
        last["x"], last["ev"] = x.copy(), ev
        rec.evaluations += 1
        return ev.value, ev.grad

    with progress.bar(max_iter, desc) as bar:
        rec = _Recorder(monitor, bar)
        fun(np.array(x0, dtype=float))
        rec.record(0, last["ev"])
        count = [0]

        def callback(intermediate_result):
            count[0] += 1
            x = intermediate_result.x
            if not np.array_equal(x, last["x"]):
                fun(x)
            rec.record(count[0], last["ev"])

        res = scipy.optimize.minimize(
            fun, x0, jac=True, method="L-BFGS-B", callback=callback,
            options={"maxiter": max_iter, "maxcor": memory, "ftol": 0.0, "gtol": 0.0, "maxfun": 20 * max_iter},
        )
    if not np.array_equal(res.x, last["x"]):
        fun(res.x)
    ev = last["ev"]
    return OptimResult(res.x, ev.theta, ev.W, rec.history(), str(res.message))


def adam(objective, x0, max_iter=300, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, monitor=None, desc="adam"):
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    with progress.bar(max_iter, desc) as bar:
        rec = _Recorder(monitor, bar)
        ev = objective.evaluate(x)
        rec.evaluations += 1
        rec.record(0, ev)
        for it in range(1, max_iter + 1):
            g = ev.grad
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            x = x - lr * (m / (1 - beta1**it)) / (np.sqrt(v / (1 - beta2**it)) + eps)
            ev = objective.evaluate(x)
            rec.evaluations += 1
            rec.record(it, ev, step=lr)
    return OptimResult(x, ev.theta, ev.W, rec.history(), "maximum iterations reached")


def gradient_descent(objective, x0, max_iter=300, ls_c=1e-3, ls_max_tries=20, monitor=None, desc="gd"):
    return _line_search_descent(objective, x0, max_iter, lambda ev: (-ev.grad, 0), lambda mu: mu * 2.0, False, ls_c,
                                ls_max_tries, monitor, desc)
