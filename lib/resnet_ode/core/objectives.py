"""Training objectives: joint, and variable projection with a Gauss-Newton Hessian.

Joint objective
    ``F(theta, W) = L(W, Y_T(theta)) + R(theta) + R_W(W)`` over network and
    classifier weights together (``x = [theta; W]``).
Variable projection (VarPro)
    ``Phi(theta) = min_W [L(W, Y_T(theta)) + R_W(W)] + R(theta)``: the classifier
    is eliminated by solving its convex subproblem (Newton-CG) at every
    ``theta``. By the envelope theorem the gradient is the partial gradient at
    the optimal ``W``. The Gauss-Newton Hessian is
    ``J^T W_Y^T (H_S + shift I/n) W_Y J + R''``, with ``J`` the Jacobian of
    ``Y_T`` with respect to ``theta``, ``W_Y`` the classifier without its bias
    column and ``H_S`` the cross-entropy Hessian in the scores.

``L`` is the mean cross-entropy of the softmax scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_ode.core.krylov import conjugate_gradient  # noqa: F401  (re-exported for code that imports it from here)
from resnet_ode.core.losses import cross_entropy, cross_entropy_hessvec


@dataclass
class Evaluation:
    """Everything known at one point.

    Attributes
    ----------
    value : float
        Objective.
    grad : ndarray, shape (n,)
        Gradient in the optimisation variables.
    theta, W : ndarray
        Network weights, shape (n_params,), and classifier weights, shape
        (n_classifier_params,).
    loss : float
        Data term ``L`` alone.
    train_accuracy : float
        On the training set, at these weights.
    hessvec : callable or None
        Gauss-Newton Hessian product ``v -> H v`` (VarPro only).
    """

    value: float
    grad: np.ndarray
    theta: np.ndarray
    W: np.ndarray
    loss: float
    train_accuracy: float
    hessvec: object = None


class JointObjective:
    """``F(x)`` with ``x = [theta; W]`` for a :class:`resnet_ode.core.network.ResNetODE`.

    Parameters
    ----------
    model : ResNetODE
    X : ndarray, shape (n_in, n)
    y : ndarray of int, shape (n,)
    """

    def __init__(self, model, X, y, hessian_shift: float = 1e-3):
        self.model, self.X, self.y = model, X, y
        self.hessian_shift = hessian_shift
        self.n_theta = model.n_params
        self.n = model.n_params + model.n_classifier_params

    def initial_point(self, theta0) -> np.ndarray:
        """``[theta0; 0]``: the classifier starts at zero."""
        return np.concatenate([theta0, np.zeros(self.model.n_classifier_params)])

    def evaluate(self, x, hessian: bool = False) -> Evaluation:
        m = self.model
        theta, W = x[: self.n_theta], x[self.n_theta :]
        Y, ftape = m.features.forward(theta, self.X)
        S, ctape = m.classifier.forward(W, Y)
        loss, dS, P = cross_entropy(S, self.y)
        gW, gY = m.classifier.vjp(ctape, dS)
        gtheta, _ = m.features.vjp(ftape, gY)
        rt, grt = m.regulariser.value_grad(theta)
        rw, grw = m.regulariser_W.value_grad(W)
        acc = float(np.mean(np.argmax(S, axis=0) == self.y))
        hv = None
        if hessian:
            nt = self.n_theta

            def hv(v):
                JV = m.classifier.jvp(ctape, v[nt:], m.features.jvp(ftape, v[:nt]))
                gW2, gY2 = m.classifier.vjp(ctape, cross_entropy_hessvec(P, JV, self.hessian_shift))
                gth2 = m.features.vjp(ftape, gY2)[0]
                return np.concatenate([gth2 + m.regulariser.hessvec(v[:nt]), gW2 + m.regulariser_W.hessvec(v[nt:])])

        return Evaluation(loss + rt + rw, np.concatenate([gtheta + grt, gW + grw]), theta, W, loss, acc, hv)

    def value(self, x) -> float:
        m = self.model
        theta, W = x[: self.n_theta], x[self.n_theta :]
        S = m.scores(theta, W, self.X)
        loss = cross_entropy(S, self.y)[0]
        return loss + m.regulariser.value_grad(theta)[0] + m.regulariser_W.value_grad(W)[0]

    def split(self, x):
        """``(theta, W)`` at the optimisation variables ``x``."""
        return x[: self.n_theta], x[self.n_theta :]


@dataclass(frozen=True)
class ClassifierSolverSettings:
    """Newton's method for the convex classifier subproblem.

    Attributes
    ----------
    method : {"newton_cg", "newton"}
        ``"newton_cg"`` is the reference's matrix-free Newton-CG;
        ``"newton"`` forms the small Hessian (``n_classes * (nc + 1)`` unknowns,
        45 for Peaks) and solves with it directly.
    max_iter : int
        Newton iterations (reference: 10).
    cg_max_iter, cg_tol : int, float
        CG steps and relative tolerance (``"newton_cg"`` only; reference: 10
        and 0.1).
    gtol : float
        Stop early once the gradient norm is below ``gtol``.
    prune : bool
        ``"newton"`` only: leave out of the Hessian the samples classified
        with certainty (their probabilities other than the largest sum to
        less than :data:`PRUNE` and add nothing at double precision) when
        they are the majority. Changes the Hessian by rounding only; the
        loss landscapes use it (far fewer samples near ``theta*``).

    Notes
    -----
    On Peaks the subproblem is badly conditioned at the initial weights (the
    eight features are nearly linear in the two inputs): solved exactly, its
    minimiser has entries near 1e4. Ten Newton-CG iterations from zero stop far
    from it, which acts as a regulariser that helps the outer problem but
    makes ``Phi`` disagree with its gradient; started from zero every time, the
    outer line search fails after about 20 iterations. Warm-starting (see
    :class:`VarProObjective`) keeps the reference's inner settings and lets
    the classifier converge along the path.
    """

    method: str = "newton_cg"
    max_iter: int = 10
    cg_max_iter: int = 10
    cg_tol: float = 1e-1
    gtol: float = 1e-12
    prune: bool = False


#: Solves the subproblem to a tight tolerance (for exact ``Phi`` values, e.g. landscapes).
EXACT_CLASSIFIER_SOLVER = ClassifierSolverSettings(method="newton", max_iter=50, gtol=1e-9)


#: A sample whose probabilities other than the largest sum to less than this
#: adds nothing to the classifier Hessian at double precision (see
#: the ``prune`` setting of :class:`ClassifierSolverSettings`).
PRUNE = 1e-14


def classifier_hessian(P, Yb, alpha_W, weights=None):
    """Hessian of ``L(W) + alpha_W/2 ||W||^2`` in row-major ``W``.

    ``L`` is the mean cross-entropy, or with ``weights`` the weighted sum
    of :func:`resnet_ode.core.losses.cross_entropy`:
    ``sum_i w_i (diag(p_i) - p_i p_i^T) kron (yb_i yb_i^T) + alpha_W I``.

    Parameters
    ----------
    P : ndarray, shape (n_classes, n)
        Softmax probabilities.
    Yb : ndarray, shape (nf, n)
        Features with a row of ones appended.
    alpha_W : float
    weights : ndarray, shape (n,), optional
        Sample weights (omitted: ``1/n`` each, as a division by ``n``).

    Returns
    -------
    ndarray, shape (n_classes * nf, n_classes * nf)
    """
    n_cls, n = P.shape
    nf = Yb.shape[0]
    if weights is not None:
        Yb = Yb * np.sqrt(weights)  # w_i yb_i yb_i^T: the same products, no division by n
    Q = (P[:, None, :] * Yb[None, :, :]).reshape(n_cls * nf, n)
    H = -(Q @ Q.T)
    for c in range(n_cls):
        H[c * nf:(c + 1) * nf, c * nf:(c + 1) * nf] += (Yb * P[c]) @ Yb.T
    if weights is None:
        H /= n
    H[np.diag_indices_from(H)] += alpha_W
    return H


class ClassifierSubproblem:
    """``g(W) = L(W, Y) + R_W(W)``: the convex classifier problem at fixed features.

    The one implementation of the subproblem: :func:`solve_classifier` (and
    through it both training objectives) and the loss landscapes
    (:class:`resnet_ode.studies.landscape.batch.BatchObjective`) solve it with
    :meth:`solve`.

    Parameters
    ----------
    classifier : AffineClassifier
        ``W`` has ``classifier.n_params = n_classes * (nc + 1)`` entries,
        row-major of shape (n_classes, nc + 1).
    Y : ndarray, shape (nc, n)
        Features.
    y : ndarray of int, shape (n,)
        True classes.
    reg_W : Tikhonov
        ``R_W``.
    weights : ndarray, shape (n,), optional
        Sample weights of the cross-entropy (see
        :func:`resnet_ode.core.losses.cross_entropy`); omitted: the mean.
    """

    def __init__(self, classifier, Y, y, reg_W, weights=None):
        self.n = classifier.n_params
        self.n_cls, self.nf = classifier.n_classes, classifier.n_in + 1
        self.Yb = np.vstack([Y, np.ones((1, Y.shape[1]))])
        self.y, self.reg_W, self.weights = y, reg_W, weights

    def value_grad(self, Wv):
        """``(g(W), grad g(W), P)`` at ``Wv`` of shape (n,); shapes (), (n,) and (n_classes, n_samples)."""
        S = Wv.reshape(self.n_cls, self.nf) @ self.Yb
        f, dS, P = cross_entropy(S, self.y, self.weights)
        r, gr = self.reg_W.value_grad(Wv)
        return f + r, (dS @ self.Yb.T).ravel() + gr, P

    def hessian(self, P, prune: bool = False) -> np.ndarray:
        """Hessian of ``g`` at the probabilities ``P`` (n_classes, n_samples), shape (n, n).

        ``prune``: leave out the samples classified with certainty when they
        are the majority (see the ``prune`` setting of
        :class:`ClassifierSolverSettings`).
        """
        Yb, w = self.Yb, self.weights
        if prune:
            w = np.full(P.shape[1], 1.0 / P.shape[1]) if w is None else w
            keep = (1.0 - P.max(axis=0)) > PRUNE
            if keep.mean() < 0.5:
                act = np.flatnonzero(keep)
                P, Yb, w = P[:, act], Yb[:, act], w[act]
        return classifier_hessian(P, Yb, self.reg_W.alpha, w)

    def hessvec(self, P, v) -> np.ndarray:
        """Hessian of ``g`` at the probabilities ``P`` times ``v`` of shape (n,), without forming it."""
        V = v.reshape(self.n_cls, self.nf)
        return (cross_entropy_hessvec(P, V @ self.Yb, weights=self.weights) @ self.Yb.T).ravel() + self.reg_W.hessvec(v)

    def solve(self, W0=None, settings: ClassifierSolverSettings = ClassifierSolverSettings()):
        """Minimise ``g`` by Newton's method with Armijo backtracking.

        From ``W0`` (zero if omitted, as in the reference): stop when
        ``||grad|| < settings.gtol`` or after ``settings.max_iter``
        iterations. The step solves with the Hessian (``"newton"``; ``-grad``
        if it is singular) or by CG (``"newton_cg"``), and is replaced by
        ``-grad`` if it is no descent direction; Armijo backtracking with
        ``c = 1e-4`` halves it at most 40 times, and the iteration stops if
        no step is accepted.

        Returns
        -------
        W : ndarray, shape (n,)
        info : dict
            ``iterations`` and final ``grad_norm``.
        """
        W = np.zeros(self.n) if W0 is None else np.array(W0, dtype=float)
        f, g, P = self.value_grad(W)
        it = 0
        for it in range(1, settings.max_iter + 1):
            if np.linalg.norm(g) < settings.gtol:
                it -= 1
                break
            if settings.method == "newton":
                H = self.hessian(P, settings.prune)
                try:
                    s = -np.linalg.solve(H, g)
                except np.linalg.LinAlgError:
                    s = -g
            else:
                s = conjugate_gradient(lambda v, P=P: self.hessvec(P, v), -g, tol=settings.cg_tol,
                                       max_iter=settings.cg_max_iter)[0]
            slope = float(g @ s)
            if slope >= 0:
                s, slope = -g, -float(g @ g)
            mu = 1.0
            for _ in range(40):
                Wt = W + mu * s
                ft, gt, Pt = self.value_grad(Wt)
                if ft <= f + 1e-4 * mu * slope:
                    break
                mu *= 0.5
            else:
                break
            W, f, g, P = Wt, ft, gt, Pt
        return W, {"iterations": it, "grad_norm": float(np.linalg.norm(g))}


def solve_classifier(classifier, Y, y, reg_W, W0=None, settings: ClassifierSolverSettings = ClassifierSolverSettings(),
                     weights=None):
    """Minimise ``L(W, Y) + R_W(W)`` over ``W``: :meth:`ClassifierSubproblem.solve`.

    Parameters
    ----------
    classifier : AffineClassifier
    Y : ndarray, shape (nc, n)
        Features.
    y : ndarray of int, shape (n,)
    reg_W : Tikhonov
    W0 : ndarray, shape (n_classifier_params,), optional
        Start (zero if omitted, as in the reference).
    settings : ClassifierSolverSettings
    weights : ndarray, shape (n,), optional
        Sample weights (omitted: the mean cross-entropy).

    Returns
    -------
    W : ndarray, shape (n_classifier_params,)
    info : dict
        ``iterations`` and final ``grad_norm``.
    """
    return ClassifierSubproblem(classifier, Y, y, reg_W, weights).solve(W0, settings)


class VarProObjective:
    """``Phi(theta)``: the classifier eliminated by variable projection.

    Parameters
    ----------
    model : ResNetODE
    X : ndarray, shape (n_in, n)
    y : ndarray of int, shape (n,)
    hessian_shift : float
        Added to the cross-entropy Hessian in the Gauss-Newton product
        (reference: 1e-3).
    warm_start : bool
        Start the classifier subproblem from the last solution instead of
        zero. The reference starts from zero; see
        :class:`ClassifierSolverSettings` for why the default warm-starts.
    solver : ClassifierSolverSettings
    """

    def __init__(self, model, X, y, hessian_shift: float = 1e-3, warm_start: bool = True,
                 solver: ClassifierSolverSettings = ClassifierSolverSettings()):
        self.model, self.X, self.y = model, X, y
        self.n = model.n_params
        self.hessian_shift = hessian_shift
        self.warm_start = warm_start
        self.solver = solver
        self._W_last = None
        self.last_inner = None

    def initial_point(self, theta0) -> np.ndarray:
        return np.array(theta0, dtype=float)

    def split(self, x):
        return x, self._W_last

    def _solve_W(self, Y):
        W0 = self._W_last if self.warm_start else None
        W, info = solve_classifier(self.model.classifier, Y, self.y, self.model.regulariser_W, W0, self.solver)
        self.last_inner = info
        return W

    def value(self, theta) -> float:
        m = self.model
        Y = m.features.apply(theta, self.X)
        W = self._solve_W(Y)
        S = m.classifier.apply(W, Y)
        return cross_entropy(S, self.y)[0] + m.regulariser_W.value_grad(W)[0] + m.regulariser.value_grad(theta)[0]

    def evaluate(self, theta, hessian: bool = False) -> Evaluation:
        m = self.model
        Y, ftape = m.features.forward(theta, self.X)
        W = self._solve_W(Y)
        self._W_last = W
        S, ctape = m.classifier.forward(W, Y)
        loss, dS, P = cross_entropy(S, self.y)
        _, gY = m.classifier.vjp(ctape, dS)
        gtheta, _ = m.features.vjp(ftape, gY)
        rt, grt = m.regulariser.value_grad(theta)
        rw = m.regulariser_W.value_grad(W)[0]
        acc = float(np.mean(np.argmax(S, axis=0) == self.y))
        hv = None
        if hessian:
            WY = m.classifier.matrix(W)[:, :-1]
            shift = self.hessian_shift

            def hv(v):
                JV = m.features.jvp(ftape, v)
                HJV = WY.T @ cross_entropy_hessvec(P, WY @ JV, shift)
                return m.features.vjp(ftape, HJV)[0] + m.regulariser.hessvec(v)

        return Evaluation(loss + rw + rt, gtheta + grt, theta, W, loss, acc, hv)

