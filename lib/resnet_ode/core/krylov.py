"""Krylov solvers shared by the optimisers and the classifier subproblem.

:func:`conjugate_gradient` solves the Newton systems of the Gauss-Newton
optimiser (:mod:`resnet_ode.core.optim`) and of the reference's Newton-CG
classifier solver (:func:`resnet_ode.core.objectives.solve_classifier`); it needs
nothing but the product ``v -> A v``.
"""

from __future__ import annotations

import numpy as np


def conjugate_gradient(A, b, tol: float = 0.1, max_iter: int = 20):
    """Steihaug-type CG for ``A x = b`` with ``A`` symmetric positive semi-definite.

    Stops when the relative residual falls below ``tol``, after ``max_iter``
    steps, or on non-positive curvature (then the current iterate, or the
    right-hand side if no step was taken, is returned).

    Parameters
    ----------
    A : callable
        The product ``v -> A v`` for ``v`` of shape (n,), returning shape (n,).
    b : ndarray, shape (n,)
        Right-hand side.
    tol : float
        Relative residual ``||b - A x|| / ||b||`` to reach.
    max_iter : int
        CG steps at most.

    Returns
    -------
    x : ndarray, shape (n,)
    steps : int
        CG steps taken.
    relres : float
        Final relative residual.
    """
    x = np.zeros_like(b)
    r = b.copy()
    nb = np.linalg.norm(b)
    if nb == 0.0:
        return x, 0, 0.0
    p = r.copy()
    rr = float(r @ r)
    steps = 0
    for steps in range(1, max_iter + 1):
        Ap = A(p)
        curv = float(p @ Ap)
        if curv <= 0.0:
            if steps == 1:
                x = b.copy()
            steps -= 1
            break
        a = rr / curv
        x += a * p
        r -= a * Ap
        rr_new = float(r @ r)
        if np.sqrt(rr_new) <= tol * nb:
            rr = rr_new
            break
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x, steps, float(np.sqrt(rr) / nb)
