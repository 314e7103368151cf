"""Smallest and largest eigenvalue of the full Hessian at the trained weights, and their store.

:func:`hessian_extremes` runs Lanczos iteration on finite differences of
exact gradients (of the joint objective in ``theta``, or of ``Phi`` with the
classifier re-solved); :func:`get_hessian_extremes` keeps the result in the
cache (:mod:`resnet_ode.training.cache`) like the surfaces.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from .batch import OBJECTIVES, BatchObjective
from .surfaces import SURFACE_FORMAT
from .version import source_hash
from resnet_ode.core.objectives import JointObjective
from resnet_ode.training.cache import HESSIANS, make_key, take_field
from resnet_ode.util.validate import check_choice, check_float, check_int


class _VarProGradient:
    """Gradient of ``Phi`` accurate enough for finite differences near ``theta*``.

    ``grad Phi(theta) = grad_theta F(theta, W(theta))`` at the classifier's
    unique minimiser ``W(theta)``. At ``theta*`` it is computed from zero as
    on the surfaces; nearby, Newton's method starts from it and runs until no
    step decreases the objective any more (machine precision), because an
    error in ``W`` would be divided by the finite-difference step.
    """

    #: Newton from ``W0``: ten iterations, no gradient tolerance (until no step decreases the value).
    POLISH = 10

    def __init__(self, model, X, y, theta):
        self.model, self.X, self.y = model, X, y
        self.joint = JointObjective(model, X, y)
        self.batch = BatchObjective(model, X, y, "varpro")
        self.W0 = self.batch.solve_classifier(self.batch.features(np.asarray(theta, dtype=float)[None]))[0]
        self.settings = dataclasses.replace(self.batch.solver, max_iter=self.POLISH, gtol=0.0)

    def W(self, theta):
        """The classifier's minimiser at ``theta`` (n_params,), shape (n_classifier_params,)."""
        Y = self.batch.features(theta[None])[0]
        sp = self.batch.subproblem(Y)
        W = sp.solve(self.W0, self.settings)[0]
        # Two plain Newton steps more: where rounding hides any further decrease of the value, the
        # line search stops, but the gradient still points to the minimiser along flat directions.
        for _ in range(2):
            _, g, P = sp.value_grad(W)
            W = W - np.linalg.solve(sp.hessian(P), g)
        return W

    def __call__(self, theta):
        return self.joint.evaluate(np.concatenate([theta, self.W(theta)])).grad[: self.model.n_params]


#: The Lanczos basis size per objective. The joint Hessian's spectrum spans about seven orders of
#: magnitude (the trained classifier has large weights), which needs a larger Krylov space than Phi's.
LANCZOS_NCV = {"joint": 80, "varpro": 30}


def hessian_extremes(model, theta, W, X, y, objective: str = "joint", step: float = 1e-6, seed: int = 0,
                     tol: float = 1e-4, ncv: int | None = None, maxiter: int = 100):
    """Smallest and largest eigenvalue of the Hessian of the objective in ``theta`` at ``theta``.

    Lanczos iteration (``scipy.sparse.linalg.eigsh`` with ``which="BE"``,
    both ends of the spectrum in one run) on Hessian-vector products from
    central differences of exact gradients,
    ``H v ~ (g(theta + eps v) - g(theta - eps v)) / (2 eps)`` with
    ``eps = step * max(1, ||theta||) / ||v||``. Not the Gauss-Newton matrix,
    which is positive semi-definite and could not show negative curvature.
    For ``"joint"`` the gradient is the one in ``theta`` with the classifier
    held at ``W``; for ``"varpro"`` it is the gradient of ``Phi`` (classifier
    re-solved, see ``_VarProGradient``).

    Parameters
    ----------
    model : ResNetODE
    theta : ndarray, shape (n_params,)
    W : ndarray, shape (n_classifier_params,)
        Classifier for ``"joint"`` (ignored for ``"varpro"``).
    X, y : ndarray, shapes (n_in, n) and (n,)
    step : float
        Relative finite-difference step.
    seed : int
        Seed of the Lanczos start vector and of the symmetry check.
    tol, ncv, maxiter : see ``eigsh``; ``ncv=None`` takes :data:`LANCZOS_NCV`.

    Returns
    -------
    dict
        ``lam_min``, ``lam_max``, ``ratio`` (``lam_min / lam_max``),
        ``matvecs`` (Hessian-vector products used), ``grad_norm`` at
        ``theta`` and ``asymmetry``: ``||V^T H V - (V^T H V)^T|| / ||V^T H V||``
        for 6 random vectors, a check of the finite differences (an exact
        Hessian gives 0); ``second_difference_min``: the curvature along the
        eigenvector of ``lam_min`` from second differences of objective
        values (step ``1e-4 max(1, ||theta||)``), which should agree with
        ``lam_min``.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    check_choice("objective", objective, OBJECTIVES)
    step = check_float("step", step, min_value=0.0, strict_min=True)
    seed = check_int("seed", seed, min_value=0)
    tol = check_float("tol", tol, min_value=0.0)
    theta = np.asarray(theta, dtype=float)
    n = theta.size
    ncv = LANCZOS_NCV[objective] if ncv is None else check_int("ncv", ncv, min_value=3)
    ncv = min(ncv, n)
    if objective == "joint":
        joint = JointObjective(model, X, y)
        W = np.asarray(W, dtype=float)

        def grad(th):
            return joint.evaluate(np.concatenate([th, W])).grad[:n]
    else:
        grad = _VarProGradient(model, X, y, theta)
    count = [0]
    scale = step * max(1.0, float(np.linalg.norm(theta)))

    def matvec(v):
        v = np.asarray(v, dtype=float).ravel()
        nv = np.linalg.norm(v)
        if nv == 0:
            return np.zeros(n)
        eps = scale / nv
        count[0] += 1
        return (grad(theta + eps * v) - grad(theta - eps * v)) / (2 * eps)

    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, 6))
    M = V.T @ np.column_stack([matvec(v) for v in V.T])
    asym = float(np.linalg.norm(M - M.T) / np.linalg.norm(M))
    op = LinearOperator((n, n), matvec=matvec, dtype=float)
    v0 = rng.standard_normal(n)
    lam, vecs = eigsh(op, k=2, which="BE", v0=v0, tol=tol, ncv=ncv, maxiter=maxiter)
    order = np.argsort(lam)
    lam, v_min = lam[order], vecs[:, order[0]]
    # Independent check: curvature along the eigenvector from second differences of objective values.
    if objective == "joint":
        def value(th):
            return joint.value(np.concatenate([th, W]))
    else:
        batch = BatchObjective(model, X, y, "varpro")

        def value(th):
            return float(batch.values(th[None])[0])
    e = 1e-4 * max(1.0, float(np.linalg.norm(theta)))
    second = (value(theta + e * v_min) - 2 * value(theta) + value(theta - e * v_min)) / e**2
    return {"lam_min": float(lam[0]), "lam_max": float(lam[1]), "ratio": float(lam[0] / lam[1]),
            "matvecs": count[0], "grad_norm": float(np.linalg.norm(grad(theta))), "asymmetry": asym,
            "second_difference_min": float(second)}


def get_hessian_extremes(run, objective: str = "joint", use_cache: bool = True, **settings) -> dict:
    """:func:`hessian_extremes` at a trained run's weights on its training data, stored like the surfaces.

    The result (with the ``seconds`` it took) is kept as JSON in the cache
    (:mod:`resnet_ode.training.cache`), ``hessian-<key>.json``, keyed by the run's cache key,
    ``objective``, ``settings`` and the landscape code
    (:func:`resnet_ode.studies.landscape.version.source_hash`).

    Parameters
    ----------
    run : resnet_ode.training.trainer.RunResult
    objective : {"joint", "varpro"}
    use_cache : bool
        ``False`` computes afresh and stores nothing.
    **settings
        Passed to :func:`hessian_extremes` (``step``, ``seed``, ``tol``,
        ``ncv``, ``maxiter``).

    Returns
    -------
    dict
        See :func:`hessian_extremes`, with ``seconds``.
    """
    from resnet_ode.training.runs import cache_key

    check_choice("objective", objective, OBJECTIVES)
    key = make_key(run=cache_key(run.config), objective=objective, settings=settings, source=source_hash(),
                   format=SURFACE_FORMAT)

    def compute():
        data = run.config.dataset()
        t0 = time.perf_counter()
        result = hessian_extremes(run.model, run.theta, run.W, data.X_train, data.y_train, objective=objective,
                                  **settings)
        result["seconds"] = time.perf_counter() - t0
        return result

    def decode(arrays, meta):
        result = take_field(meta, "result", "dict")
        for name in HESSIAN_FIELDS:
            take_field(result, name, "number")
        return result

    if not use_cache:
        return compute()
    return HESSIANS.get_or_compute(key, compute, lambda result: ({}, {"result": result}), decode,
                                   recipe={"run": run.config.to_dict(), "objective": objective, "settings": settings})


#: What a stored result of :func:`get_hessian_extremes` must hold.
HESSIAN_FIELDS = ("lam_min", "lam_max", "ratio", "matvecs", "grad_norm", "asymmetry", "second_difference_min",
                  "seconds")
