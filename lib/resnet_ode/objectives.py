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

from .losses import cross_entropy, cross_entropy_hessvec


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
    """``F(x)`` with ``x = [theta; W]`` for a :class:`resnet_ode.network.ResNetODE`.

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


#: Solves the subproblem to a tight tolerance (for exact ``Phi`` values, e.g. landscapes).
EXACT_CLASSIFIER_SOLVER = ClassifierSolverSettings(method="newton", max_iter=50, gtol=1e-9)


def classifier_hessian(P, Yb, alpha_W):
    """Hessian of ``L(W) + alpha_W/2 ||W||^2`` in row-major ``W``.

    Parameters
    ----------
    P : ndarray, shape (n_classes, n)
        Softmax probabilities.
    Yb : ndarray, shape (nf, n)
        Features with a row of ones appended.

    Returns
    -------
    ndarray, shape (n_classes * nf, n_classes * nf)
    """
    n_cls, n = P.shape
    nf = Yb.shape[0]
    Q = (P[:, None, :] * Yb[None, :, :]).reshape(n_cls * nf, n)
    H = -(Q @ Q.T)
    for c in range(n_cls):
        H[c * nf:(c + 1) * nf, c * nf:(c + 1) * nf] += (Yb * P[c]) @ Yb.T
    H /= n
    H[np.diag_indices_from(H)] += alpha_W
    return H


def solve_classifier(classifier, Y, y, reg_W, W0=None, settings: ClassifierSolverSettings = ClassifierSolverSettings()):
    """Minimise ``L(W, Y) + R_W(W)`` over ``W`` by Newton's method with Armijo backtracking.

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

    Returns
    -------
    W : ndarray, shape (n_classifier_params,)
    info : dict
        ``iterations`` and final ``grad_norm``.
    """
    W = np.zeros(classifier.n_params) if W0 is None else np.array(W0, dtype=float)
    n_cls, nf = classifier.n_classes, classifier.n_in + 1
    Yb = np.vstack([Y, np.ones((1, Y.shape[1]))])

    def value_grad(Wv):
        S = Wv.reshape(n_cls, nf) @ Yb
        f, dS, P = cross_entropy(S, y)
        r, gr = reg_W.value_grad(Wv)
        return f + r, (dS @ Yb.T).ravel() + gr, P

    f, g, P = value_grad(W)
    it = 0
    for it in range(1, settings.max_iter + 1):
        if np.linalg.norm(g) < settings.gtol:
            it -= 1
            break
        if settings.method == "newton":
            H = classifier_hessian(P, Yb, reg_W.alpha)
            try:
                s = -np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                s = -g
        else:
            def H(v, P=P):
                V = v.reshape(n_cls, nf)
                return (cross_entropy_hessvec(P, V @ Yb) @ Yb.T).ravel() + reg_W.hessvec(v)

            s = conjugate_gradient(H, -g, tol=settings.cg_tol, max_iter=settings.cg_max_iter)[0]
        slope = float(g @ s)
        if slope >= 0:
            s, slope = -g, -float(g @ g)
        mu = 1.0
        for _ in range(40):
            Wt = W + mu * s
            ft, gt, Pt = value_grad(Wt)
            if ft <= f + 1e-4 * mu * slope:
                break
            mu *= 0.5
        else:
            break
        W, f, g, P = Wt, ft, gt, Pt
    return W, {"iterations": it, "grad_norm": float(np.linalg.norm(g))}


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


def conjugate_gradient(A, b, tol: float = 0.1, max_iter: int = 20):
    """Steihaug-type CG for ``A x = b`` with ``A`` symmetric positive semi-definite.

    Stops when the relative residual falls below ``tol``, after ``max_iter``
    steps, or on non-positive curvature (then the current iterate, or the
    right-hand side if no step was taken, is returned).

    Returns
    -------
    x : ndarray
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
