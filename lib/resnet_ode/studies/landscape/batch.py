"""The training objective at many network weights at once, on the distinct training samples.

:class:`BatchObjective` stacks weight vectors along a leading batch axis and
pushes them through the network together (``np.matmul`` over that axis). The
Peaks sample is drawn with replacement, so it evaluates every distinct
sample once, weighted by its count: the cross-entropy is
:func:`resnet_ode.core.losses.cross_entropy` with sample weights, and the
classifier subproblem of the VarPro objective is solved by the training
code's own solver, :class:`resnet_ode.core.objectives.ClassifierSubproblem`, with
those weights (from zero, no warm start, to the tolerance of
:data:`LANDSCAPE_SOLVER`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from resnet_ode.core.losses import cross_entropy
from resnet_ode.core.objectives import EXACT_CLASSIFIER_SOLVER, ClassifierSolverSettings, ClassifierSubproblem
from resnet_ode.util.validate import check_choice

#: Objectives a surface can show.
OBJECTIVES = ("joint", "varpro")

#: The classifier subproblem solver of the VarPro landscapes, the package's
#: :data:`resnet_ode.core.objectives.EXACT_CLASSIFIER_SOLVER` (Newton from zero to a
#: gradient norm below 1e-9) with up to 100 instead of 50 iterations (far from
#: ``theta*`` a few subproblems need up to about 60) and the samples classified
#: with certainty left out of the Hessian (``prune``; they are most samples
#: near ``theta*``).
LANDSCAPE_SOLVER = dataclasses.replace(EXACT_CLASSIFIER_SOLVER, max_iter=100, prune=True)


def _unique_columns(X, y):
    """Distinct columns of ``X`` (n_in, n) with their classes, shapes (n_in, m) and (m,), and their counts (m,)."""
    stacked = np.vstack([np.asarray(X, dtype=float), np.asarray(y, dtype=float)[None, :]])
    U, counts = np.unique(stacked, axis=1, return_counts=True)
    return U[:-1].copy(), U[-1].astype(int), counts


class BatchObjective:
    """The training objective at many network weights at once.

    Parameters
    ----------
    model : ResNetODE
    X : ndarray, shape (n_in, n)
    y : ndarray of int, shape (n,)
    objective : {"joint", "varpro"}
        ``"joint"``: ``F(theta, W) = CE(W, Y_T(theta)) + R(theta) + R_W(W)``
        with the classifier held at ``W``; ``"varpro"``:
        ``Phi(theta) = min_W [CE(W, Y_T(theta)) + R_W(W)] + R(theta)``.
    W : ndarray, shape (n_classifier_params,), optional
        Classifier held fixed for ``"joint"`` (required there).
    solver : ClassifierSolverSettings
        Settings of the classifier subproblem for ``"varpro"``; default
        :data:`LANDSCAPE_SOLVER`.

    Attributes
    ----------
    X : ndarray, shape (n_in, m)
        The ``m`` distinct samples.
    y : ndarray of int, shape (m,)
    weights : ndarray, shape (m,)
        ``count / n`` of every distinct sample (they sum to 1).

    Notes
    -----
    Values equal those of ``JointObjective(model, X, y).value([theta; W])``
    and ``VarProObjective(model, X, y, warm_start=False, solver=solver).value(theta)``
    up to rounding (tested): the objective is a mean over the samples, so
    repeated samples are evaluated once and weighted by their count, and the
    classifier subproblem is solved by the same solver from zero.
    The object holds no worker processes and can be pickled.
    """

    def __init__(self, model, X, y, objective: str = "joint", W=None, solver: ClassifierSolverSettings | None = None):
        self.objective = check_choice("objective", objective, OBJECTIVES)
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        if X.ndim != 2 or X.shape[0] != model.opening.n_in or y.shape != (X.shape[1],):
            raise ValueError(f"X must have shape ({model.opening.n_in}, n) and y shape (n,), "
                             f"got {X.shape} and {y.shape}")
        self.opening, self.ode, self.classifier = model.opening, model.ode, model.classifier
        self.regulariser, self.regulariser_W = model.regulariser, model.regulariser_W
        self.n_params = model.n_params
        self.X, self.y, counts = _unique_columns(X, y)
        self.n_samples = X.shape[1]
        self.weights = counts / self.n_samples
        if self.objective == "joint":
            if W is None:
                raise ValueError("objective='joint' needs the classifier weights W")
            W = np.asarray(W, dtype=float)
            if W.shape != (model.classifier.n_params,):
                raise ValueError(f"W must have shape ({model.classifier.n_params},), got {W.shape}")
        self.W = W
        solver = LANDSCAPE_SOLVER if solver is None else solver
        if not isinstance(solver, ClassifierSolverSettings):
            raise TypeError(f"solver must be a ClassifierSolverSettings, got {type(solver).__name__}")
        self.solver = solver

    # -- network ---------------------------------------------------------------
    def features(self, thetas) -> np.ndarray:
        """Final states ``Y_T`` for every weight vector.

        Parameters
        ----------
        thetas : ndarray, shape (B, n_params)

        Returns
        -------
        ndarray, shape (B, nc, m)
            For the ``m`` distinct samples.
        """
        thetas = self._check_thetas(thetas)
        B = thetas.shape[0]
        op, ode = self.opening, self.ode
        K0 = thetas[:, : op.n_params].reshape(B, op.width, op.n_in)
        Z = np.matmul(K0, self.X)
        op.activation.apply_(Z)   # in place: Z becomes the opening layer's output
        Y = Z
        th = thetas[:, op.n_params:].reshape(B, ode.n_controls, ode.n_per_control)
        stages = np.matmul(ode.P, th)  # (B, n_eval, nc*nc + 1): weights at every stage time
        # Stage-major and contiguous, so that every step is one BLAS call per point.
        Ke = np.ascontiguousarray(stages[:, :, :-1].reshape(B, -1, ode.width, ode.width).transpose(1, 0, 2, 3))
        be = np.ascontiguousarray(stages[:, :, -1].T)
        return ode.propagate(Ke, be, Y)

    def _check_thetas(self, thetas):
        thetas = np.asarray(thetas, dtype=float)
        if thetas.ndim != 2 or thetas.shape[1] != self.n_params:
            raise ValueError(f"thetas must have shape (B, {self.n_params}), got {thetas.shape}")
        return thetas

    # -- objective ---------------------------------------------------------------
    def values(self, thetas) -> np.ndarray:
        """Objective at every weight vector, shape (B,) for ``thetas`` of shape (B, n_params)."""
        return self.evaluate(thetas)[0]

    def evaluate(self, thetas):
        """Objective values and, for ``"varpro"``, how well the classifier subproblem was solved.

        Parameters
        ----------
        thetas : ndarray, shape (B, n_params)

        Returns
        -------
        values : ndarray, shape (B,)
        inner_grad_norm : ndarray, shape (B,)
            Gradient norm of the subproblem at the returned classifier
            (below ``solver.gtol`` when solved; ``nan`` for ``"joint"``).
        """
        thetas = self._check_thetas(thetas)
        Y = self.features(thetas)
        reg = np.array([self.regulariser.value_grad(t)[0] for t in thetas])
        if self.objective == "joint":
            Wm, gnorm = self.classifier.matrix(self.W), np.full(len(thetas), np.nan)
            reg_W = self.regulariser_W.value_grad(self.W)[0]
        else:
            W, gnorm = self.solve_classifier(Y, return_grad_norm=True)
            Wm = W.reshape(W.shape[0], self.classifier.n_classes, -1)
            reg_W = np.array([self.regulariser_W.value_grad(w)[0] for w in W])
        S = np.matmul(Wm[..., :-1], Y) + Wm[..., -1:]  # (B, n_classes, m)
        return cross_entropy(S, self.y, self.weights)[0] + reg_W + reg, gnorm

    # -- classifier subproblem ---------------------------------------------------
    def solve_classifier(self, Y, return_grad_norm: bool = False):
        """Classifier minimising ``CE + R_W`` for every feature set, from zero, with the settings of ``solver``.

        Parameters
        ----------
        Y : ndarray, shape (B, nc, m)
        return_grad_norm : bool
            Also return the subproblem's gradient norm at every solution.

        Returns
        -------
        W : ndarray, shape (B, n_classifier_params)
        grad_norm : ndarray, shape (B,)
            Only with ``return_grad_norm``.
        """
        solved = [self.subproblem(Yi).solve(settings=self.solver) for Yi in np.asarray(Y, dtype=float)]
        W = np.stack([w for w, _ in solved])
        return (W, np.array([info["grad_norm"] for _, info in solved])) if return_grad_norm else W

    def subproblem(self, Y) -> ClassifierSubproblem:
        """The classifier subproblem for features ``Y`` of shape (nc, m) (distinct samples, weighted)."""
        return ClassifierSubproblem(self.classifier, Y, self.y, self.regulariser_W, self.weights)
