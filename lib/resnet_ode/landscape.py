"""Loss landscapes: random directions, their normalisation, surfaces and measures of non-convexity.

Around trained weights ``theta*`` the training objective is evaluated on the
plane spanned by two random directions (Li et al. 2018),

    f(a, b) = L(theta* + a d1 + b d2),

with ``L`` either

``"joint"``
    the joint objective ``F(theta, W*) = CE(W*, Y_T(theta)) + R(theta) + R_W(W*)``
    with the classifier held at its trained value ``W*``, or
``"varpro"``
    the variable-projection objective ``Phi(theta) = min_W [CE(W, Y_T(theta)) +
    R_W(W)] + R(theta)``: the classifier is re-solved at every point, from zero
    and to the tolerance of :data:`resnet_ode.objectives.EXACT_CLASSIFIER_SOLVER`,
    so that the value is a function of the point alone (no warm start);
    the iteration limit is raised to 100 (:data:`LANDSCAPE_SOLVER`).

Directions
    :func:`directions` draws two Gaussian vectors from an explicit seed and
    normalises them (:func:`normalise_direction`) in one of four modes:
    ``"filter"`` (Li et al.: every row of a dense weight matrix, i.e. one
    neuron's incoming weights, gets the norm of that row in ``theta*``),
    ``"layer"`` (every weight matrix gets the norm of its matrix), ``"none"``
    and ``"thesis"`` (the thesis's code: each layer multiplied by the ratio of
    the *signed means* of ``theta*`` and of the direction over that layer).
    The bias ``b(t)`` of the ODE block is one scalar per layer, added outside
    the activation; how its direction entry is set is an explicit rule
    (:data:`BIAS_RULES`).
Surfaces
    :class:`BatchObjective` evaluates either objective at many weight vectors
    at once: the weights are stacked along a leading batch axis and pushed
    through the network together (``np.matmul`` over that axis), on the
    distinct training points only (the Peaks sample is drawn with
    replacement; repeated points are weighted by their count), and the
    classifier subproblem is solved by a copy of
    :func:`resnet_ode.objectives.solve_classifier` (same start, same Newton
    steps, same line search) whose steps cost about a third as much
    (distinct samples, Hessian assembled from distinct products). With
    thousands of samples per point the arrays of one point are already
    large, so stacking points saves little here (measured: a few points per
    batch is best); :func:`evaluate_plane` also shares the
    batches between worker processes. :func:`get_surface` computes a surface
    with a progress bar, or loads it with its directions from the cache
    (:mod:`resnet_ode.cache`) when the same run, settings and library source
    produced it before.
Measures
    :func:`grid_hessian` (2-D Hessian of ``f`` by finite differences on the
    grid), :func:`curvature_measures`, :func:`local_minima` and
    :func:`hessian_extremes` (smallest and largest eigenvalue of the full
    Hessian at ``theta*`` by Lanczos iteration on finite differences of exact
    gradients).

References
----------
H. Li, Z. Xu, G. Taylor, C. Studer and T. Goldstein, "Visualizing the loss
landscape of neural nets", NeurIPS 2018.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import progress
from ._validate import check_choice, check_float, check_int
from .objectives import EXACT_CLASSIFIER_SOLVER, ClassifierSolverSettings, JointObjective
from .cache import HESSIANS, SURFACES, BadEntry, code_digest, make_key, take_array, take_field

#: Direction normalisation modes.
NORMALISATIONS = ("filter", "layer", "none", "thesis")

#: Rules for the bias entries of a direction.
#:
#: ``"own"``
#:     every scalar bias ``b_k`` is a group of its own: with ``"filter"`` and
#:     ``"layer"`` its entry becomes ``sign(d_b) |b_k*|`` (the direction keeps a
#:     random sign and gets the size of the trained bias); with ``"thesis"`` the
#:     ratio of means of a single number gives ``b_k*`` itself; with
#:     ``"none"`` the Gaussian draw is kept.
#: ``"zero"``
#:     biases are not perturbed (the ``--xignore biasbn`` option of Li et al.'s
#:     code).
#: ``"layer"``
#:     the bias is normalised together with its layer's weight matrix (the 65
#:     numbers of a control layer): with ``"layer"`` it enters that layer's
#:     norm, with ``"thesis"`` its mean (the thesis's code). Not defined for
#:     ``"filter"`` (the bias belongs to no single row).
BIAS_RULES = ("own", "zero", "layer")

#: The bias rule used when none is given (the thesis's grouping for ``"thesis"``, ``"own"`` otherwise).
DEFAULT_BIAS = {"filter": "own", "layer": "own", "none": "own", "thesis": "layer"}

#: Objectives a surface can show.
OBJECTIVES = ("joint", "varpro")

#: Bump when the layout of a stored surface changes.
SURFACE_FORMAT = 1

#: The classifier subproblem solver of the VarPro landscapes, the package's
#: :data:`resnet_ode.objectives.EXACT_CLASSIFIER_SOLVER` (Newton from zero to a
#: gradient norm below 1e-9) with up to 100 instead of 50 iterations; far from
#: ``theta*`` a few subproblems need up to about 60.
LANDSCAPE_SOLVER = dataclasses.replace(EXACT_CLASSIFIER_SOLVER, max_iter=100)


# ----------------------------------------------------------------------------
# Parameter groups and directions
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterGroups:
    """How the network weights ``theta`` split into layers, filters and biases.

    Attributes
    ----------
    n : int
        Number of network weights.
    layer_weights : list of ndarray of int
        Per layer the indices of its weight matrix: the opening layer's
        ``K0`` (``nc * n_in`` entries), then every control layer's ``K_k``
        (``nc * nc`` entries).
    layer_bias : list of ndarray of int
        Per layer the indices of its bias (empty for the opening layer, one
        index for each control layer).
    filters : list of ndarray of int
        Rows of every weight matrix (one neuron's incoming weights), in the
        order of the layers.
    """

    n: int
    layer_weights: list
    layer_bias: list
    filters: list

    @property
    def biases(self) -> np.ndarray:
        """Indices of all bias entries, shape (n_biases,)."""
        parts = [b for b in self.layer_bias if b.size]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)

    def layers(self, with_bias: bool = True) -> list:
        """Index arrays of the layers (weight matrix plus, if ``with_bias``, the bias)."""
        if not with_bias:
            return list(self.layer_weights)
        return [np.concatenate([w, b]) for w, b in zip(self.layer_weights, self.layer_bias)]


def parameter_groups(model) -> ParameterGroups:
    """Layers, filters and biases of a :class:`resnet_ode.network.ResNetODE`'s weights.

    The thesis's "layers" are the opening layer's ``nc * n_in`` weights and
    then every control layer's ``nc * nc + 1`` weights (``K_k`` row-major,
    then ``b_k``).
    """
    op, ode = model.opening, model.ode
    w, n_in = op.width, op.n_in
    layer_weights = [np.arange(op.n_params)]
    layer_bias = [np.zeros(0, dtype=int)]
    filters = [np.arange(r * n_in, (r + 1) * n_in) for r in range(w)]
    for k in range(ode.n_controls):
        base = op.n_params + k * ode.n_per_control
        layer_weights.append(np.arange(base, base + ode.width * ode.width))
        layer_bias.append(np.array([base + ode.width * ode.width]))
        filters.extend(np.arange(base + r * ode.width, base + (r + 1) * ode.width) for r in range(ode.width))
    return ParameterGroups(model.n_params, layer_weights, layer_bias, filters)


def resolve_bias_rule(norm: str, bias: str | None) -> str:
    """The bias rule for ``norm``: ``bias`` checked, or the default of :data:`DEFAULT_BIAS`."""
    check_choice("norm", norm, NORMALISATIONS)
    if bias is None:
        return DEFAULT_BIAS[norm]
    check_choice("bias", bias, BIAS_RULES)
    if norm == "filter" and bias == "layer":
        raise ValueError("bias='layer' is not defined for norm='filter' (a bias belongs to no single row); "
                         "allowed values are ['own', 'zero']")
    return bias


def normalise_direction(d, theta, groups: ParameterGroups, norm: str = "filter", bias: str | None = None):
    """Scale a direction group by group to the size of the weights.

    Parameters
    ----------
    d : ndarray, shape (n,)
        Raw direction (e.g. a Gaussian draw).
    theta : ndarray, shape (n,)
        Weights the landscape is centred on.
    groups : ParameterGroups
    norm : {"filter", "layer", "none", "thesis"}
        ``"filter"``: every filter ``d_f <- d_f / ||d_f|| * ||theta_f||``;
        ``"layer"``: the same per weight matrix; ``"none"``: unchanged;
        ``"thesis"``: every layer ``d_L <- d_L * mean(theta_L) / mean(d_L)``
        with signed means (the thesis's code).
    bias : {"own", "zero", "layer"} or None
        Rule for the bias entries (see :data:`BIAS_RULES`); ``None`` takes
        :data:`DEFAULT_BIAS`.

    Returns
    -------
    ndarray, shape (n,)

    Notes
    -----
    A group whose direction is exactly zero stays zero (no division by
    zero); with ``"thesis"`` a layer whose direction has mean zero would be
    scaled without bound, which is the weakness of that variant (the chapter
    shows how far the scale factors spread).
    """
    bias = resolve_bias_rule(norm, bias)
    d = np.array(d, dtype=float)
    theta = np.asarray(theta, dtype=float)
    if d.shape != (groups.n,) or theta.shape != (groups.n,):
        raise ValueError(f"d and theta must have shape ({groups.n},), got {d.shape} and {theta.shape}")
    out = d.copy()

    def scale_norm(idx):
        dn = np.linalg.norm(d[idx])
        out[idx] = d[idx] * (np.linalg.norm(theta[idx]) / dn) if dn > 0 else 0.0

    def scale_mean(idx):
        dm = np.mean(d[idx])
        out[idx] = d[idx] * (np.mean(theta[idx]) / dm) if dm != 0 else 0.0

    if norm == "filter":
        for idx in groups.filters:
            scale_norm(idx)
    elif norm in ("layer", "thesis"):
        scale = scale_norm if norm == "layer" else scale_mean
        for idx in groups.layers(with_bias=(bias == "layer")):
            scale(idx)
    if groups.biases.size:
        bidx = groups.biases
        if bias == "zero":
            out[bidx] = 0.0
        elif bias == "own" and norm in ("filter", "layer"):
            out[bidx] = np.sign(d[bidx]) * np.abs(theta[bidx])
        elif bias == "own" and norm == "thesis":
            out[bidx] = np.where(d[bidx] != 0, theta[bidx], 0.0)
    return out


def directions(model, theta, seed: int, norm: str = "filter", bias: str | None = None):
    """Two normalised Gaussian directions from ``numpy.random.default_rng(seed)``.

    ``d1`` is the first ``n`` standard normal draws, ``d2`` the next ``n``;
    each is then normalised by :func:`normalise_direction`.

    Returns
    -------
    d1, d2 : ndarray, shape (n_params,)
    """
    seed = check_int("seed", seed, min_value=0)
    resolve_bias_rule(norm, bias)
    groups = parameter_groups(model)
    rng = np.random.default_rng(seed)
    raw1 = rng.standard_normal(groups.n)
    raw2 = rng.standard_normal(groups.n)
    return (normalise_direction(raw1, theta, groups, norm, bias),
            normalise_direction(raw2, theta, groups, norm, bias))


def relative_layer_sizes(d, theta, groups: ParameterGroups) -> np.ndarray:
    """Per layer ``||d_L|| / ||theta_L||`` over its weight matrix: the step ``a = 1`` relative to the layer.

    Filter and layer normalisation make every entry 1; the thesis's
    variant does not.

    Returns
    -------
    ndarray, shape (n_layers,)
        Opening layer first, then the control layers.
    """
    return np.array([np.linalg.norm(d[i]) / np.linalg.norm(theta[i]) for i in groups.layer_weights])


# ----------------------------------------------------------------------------
# Batched evaluation of the objectives
# ----------------------------------------------------------------------------


def _unique_columns(X, y):
    """Distinct columns of ``X`` (with their class) and how often each occurs."""
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
    W : ndarray, shape (n_classifier_params,), optional
        Classifier held fixed for ``"joint"`` (required there).
    solver : ClassifierSolverSettings
        Newton settings of the classifier subproblem for ``"varpro"``
        (``method`` must be ``"newton"``); default :data:`LANDSCAPE_SOLVER`.

    Notes
    -----
    Values equal those of ``JointObjective(model, X, y).value([theta; W])``
    and ``VarProObjective(model, X, y, warm_start=False, solver=solver).value(theta)``
    up to rounding (tested): the objective is a mean over the samples, so
    repeated samples are evaluated once and weighted by their count, and the
    classifier subproblem is solved by the same Newton iteration from zero.
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
        if not isinstance(solver, ClassifierSolverSettings) or solver.method != "newton":
            raise ValueError("solver must be a ClassifierSolverSettings with method='newton'")
        self.solver = solver

    # -- network ---------------------------------------------------------------
    def features(self, thetas) -> np.ndarray:
        """Final states ``Y_T`` for every weight vector, shape (B, nc, m) (``m`` distinct samples)."""
        thetas = self._check_thetas(thetas)
        B = thetas.shape[0]
        op, ode = self.opening, self.ode
        K0 = thetas[:, : op.n_params].reshape(B, op.width, op.n_in)
        Z = np.matmul(K0, self.X)
        Y = op.activation(Z) if op.activation.name != "tanh" else np.tanh(Z, out=Z)
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

    # -- loss ------------------------------------------------------------------
    def _cross_entropy(self, S):
        """Weighted mean cross-entropy of scores ``S`` (B, n_classes, m) and the softmax, per batch entry."""
        m = S.shape[-1]
        cols = np.arange(m)
        Smax = S.max(axis=1)
        E = np.exp(S - Smax[:, None, :])
        Zs = E.sum(axis=1)
        terms = np.log(Zs) + Smax - S[:, self.y, cols]
        # One dot product per point, so that a value does not depend on its neighbours in the batch.
        return np.array([t @ self.weights for t in terms]), E / Zs[:, None, :]

    def values(self, thetas) -> np.ndarray:
        """Objective at every weight vector, shape (B,) for ``thetas`` of shape (B, n_params)."""
        return self.evaluate(thetas)[0]

    def evaluate(self, thetas):
        """Objective values and, for ``"varpro"``, how well the classifier subproblem was solved.

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
            Wm = self.classifier.matrix(self.W)
            S = np.matmul(Wm[:, :-1], Y) + Wm[:, -1:]
            values = self._cross_entropy(S)[0] + reg + self.regulariser_W.value_grad(self.W)[0]
            return values, np.full(len(thetas), np.nan)
        W, gnorm = self.solve_classifier(Y, return_grad_norm=True)
        Wm = W.reshape(W.shape[0], self.classifier.n_classes, -1)
        S = np.matmul(Wm[:, :, :-1], Y) + Wm[:, :, -1:]
        rw = 0.5 * self.regulariser_W.alpha * np.einsum("bi,bi->b", W, W)
        return self._cross_entropy(S)[0] + rw + reg, gnorm

    # -- classifier subproblem ---------------------------------------------------
    def solve_classifier(self, Y, return_grad_norm: bool = False):
        """Classifier minimising ``CE + R_W`` for every feature set, shape (B, n_classifier_params).

        Follows :func:`resnet_ode.objectives.solve_classifier` with
        ``method="newton"`` step by step (see :meth:`SoftmaxSubproblem.solve`),
        from zero and with the settings of ``solver``.

        Parameters
        ----------
        Y : ndarray, shape (B, nc, m)
        return_grad_norm : bool
            Also return the subproblem's gradient norm at every solution, shape (B,).
        """
        Ws, norms = [], []
        for Yi in np.asarray(Y, dtype=float):
            sp = self.subproblem(Yi)
            Ws.append(sp.solve(max_iter=self.solver.max_iter, gtol=self.solver.gtol))
            norms.append(sp.grad_norm)
        return (np.stack(Ws), np.array(norms)) if return_grad_norm else np.stack(Ws)

    def subproblem(self, Y) -> "SoftmaxSubproblem":
        """The classifier subproblem for features ``Y`` of shape (nc, m) (distinct samples)."""
        return SoftmaxSubproblem(Y, self.y, self.weights, self.classifier.n_classes, self.regulariser_W.alpha)


class SoftmaxSubproblem:
    """``g(W) = sum_i w_i CE(W [y_i; 1], c_i) + alpha/2 ||W||^2``: the classifier subproblem with sample weights.

    Parameters
    ----------
    Y : ndarray, shape (nc, m)
        Features of ``m`` samples.
    y : ndarray of int, shape (m,)
        Classes.
    weights : ndarray, shape (m,)
        Sample weights (``count / n`` for the mean over ``n`` samples with repeats).
    n_classes : int
    alpha : float
        Tikhonov weight.

    Notes
    -----
    ``W`` is row-major of shape (n_classes, nc + 1) as in
    :class:`resnet_ode.blocks.AffineClassifier`. The Hessian is
    ``sum_i w_i (diag(p_i) - p_i p_i^T) kron (yb_i yb_i^T) + alpha I``; it is
    assembled from the ``(nc+1)(nc+2)/2`` distinct products of feature pairs
    and the ``n_classes (n_classes+1)/2`` distinct products of class
    probabilities, one matrix product of those, which is cheaper than
    forming every block.
    """

    #: A sample whose probabilities other than the largest sum to less than
    #: this (relative) adds nothing to the Hessian at double precision.
    PRUNE = 1e-14

    def __init__(self, Y, y, weights, n_classes: int, alpha: float):
        Y = np.asarray(Y, dtype=float)
        nc, m = Y.shape
        self.m, self.ncls, self.nf = m, n_classes, nc + 1
        self.alpha = alpha
        self.w = np.asarray(weights, dtype=float)
        self.Yb = np.vstack([Y, np.ones((1, m))])
        self.YbT = np.ascontiguousarray(self.Yb.T)
        fi, fj = np.triu_indices(self.nf)
        ci, cj = np.triu_indices(n_classes)
        self._ci, self._cj, self._diag = ci, cj, ci == cj
        self.Zf = self.Yb[fi] * self.Yb[fj]  # distinct feature products, shape (nf(nf+1)/2, m)
        nf = self.nf
        # Position of every (class pair, feature pair) product in the full Hessian (four by symmetry).
        r1, c1 = ci[:, None] * nf + fi[None, :], cj[:, None] * nf + fj[None, :]
        r2, c2 = ci[:, None] * nf + fj[None, :], cj[:, None] * nf + fi[None, :]
        self._pos = [(r1, c1), (r2, c2), (c1, r1), (c2, r2)]
        self._true = np.asarray(y) * m + np.arange(m)  # flat index of each sample's true-class score
        self._onehot_w = np.zeros((n_classes, m))
        self._onehot_w.ravel()[self._true] = self.w

    @property
    def n(self) -> int:
        """Number of unknowns, ``n_classes * (nc + 1)``."""
        return self.ncls * self.nf

    def value(self, W):
        """``(g(W), E, Zs)``; ``E`` (n_classes, m) are the shifted exponentials, ``Zs`` (m,) their sums."""
        Wm = np.asarray(W, dtype=float).reshape(self.ncls, self.nf)
        S = Wm @ self.Yb
        S -= S.max(axis=0)
        E = np.exp(S)
        Zs = E.sum(axis=0)
        f = float(np.log(Zs) @ self.w - np.take(S, self._true) @ self.w) + 0.5 * self.alpha * float(np.sum(Wm * Wm))
        return f, E, Zs

    def gradient(self, W, E, Zs):
        """``(grad g(W), P)`` from :meth:`value`'s ``E`` and ``Zs``; shapes (n_classes, nc+1) and (n_classes, m)."""
        Wm = np.asarray(W, dtype=float).reshape(self.ncls, self.nf)
        P = E / Zs
        return (P * self.w - self._onehot_w) @ self.YbT + self.alpha * Wm, P

    def hessian(self, P, Zs=None) -> np.ndarray:
        """Hessian of ``g`` at the probabilities ``P`` (n_classes, m), shape (n, n).

        With ``Zs`` given, samples classified with certainty (see
        :attr:`PRUNE`) are skipped when they are the majority.
        """
        Pa, wa, Za = P, self.w, self.Zf
        if Zs is not None:
            keep = (Zs - 1.0) > self.PRUNE * Zs
            if keep.mean() < 0.5:
                act = np.flatnonzero(keep)
                Pa, wa, Za = P[:, act], self.w[act], self.Zf[:, act]
        Wt = -(Pa[self._ci] * Pa[self._cj])
        Wt[self._diag] += Pa
        Wt *= wa
        Hu = Wt @ Za.T  # (class pairs, feature pairs)
        H = np.empty((self.n, self.n))
        for pos in self._pos:
            H[pos] = Hu
        H[np.diag_indices_from(H)] += self.alpha
        return H

    def solve(self, W0=None, max_iter: int = 50, gtol: float = 1e-9) -> np.ndarray:
        """Minimise ``g`` by Newton's method, as :func:`resnet_ode.objectives.solve_classifier` does.

        From ``W0`` (default zero): stop when ``||grad|| < gtol`` or after
        ``max_iter`` iterations; Newton step (``-grad`` if the Hessian is
        singular or the step is no descent direction), Armijo backtracking
        with ``c = 1e-4`` halving at most 40 times, and stop if no step is
        accepted. Returns ``W`` flattened, shape (n,); ``iterations`` and
        ``grad_norm`` tell how it ended.
        """
        W = np.zeros((self.ncls, self.nf)) if W0 is None else np.array(W0, dtype=float).reshape(self.ncls, self.nf)
        f, E, Zs = self.value(W)
        G, P = self.gradient(W, E, Zs)
        self.iterations = 0
        for it in range(max_iter):
            g = G.ravel()
            if np.linalg.norm(g) < gtol:
                break
            self.iterations = it + 1
            H = self.hessian(P, Zs)
            try:
                s = -np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                s = -g
            slope = float(g @ s)
            if slope >= 0:
                s, slope = -g, -float(g @ g)
            step = s.reshape(self.ncls, self.nf)
            mu = 1.0
            for _ in range(40):
                trial = W + mu * step
                ft, Et, Zt = self.value(trial)
                if ft <= f + 1e-4 * mu * slope:
                    break
                mu *= 0.5
            else:
                break
            W, f, Zs = trial, ft, Zt
            G, P = self.gradient(W, Et, Zt)
        self.grad_norm = float(np.linalg.norm(G))
        return W.ravel()


# ----------------------------------------------------------------------------
# Surfaces
# ----------------------------------------------------------------------------


def li_grid(n: int = 51) -> tuple:
    """``n`` equally spaced coordinates on ``[-1, 1]`` (Li et al. used 51)."""
    n = check_int("n", n, min_value=3, max_value=1001)
    return tuple(float(v) for v in np.linspace(-1.0, 1.0, n))


def thesis_grid() -> tuple:
    """The thesis's coordinates ``0.05 k - 1``, ``k = 1 .. 40`` (from -0.95 to 1)."""
    return tuple(0.05 * k - 1.0 for k in range(1, 41))


def _coords(name, values) -> tuple:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of real numbers, got {values!r}") from None
    if arr.ndim != 1 or arr.size < 1 or arr.size > 1001 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be 1 to 1001 finite coordinates, got shape {arr.shape}")
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    return tuple(float(v) for v in arr)


@dataclass(frozen=True)
class SurfaceSpec:
    """What to plot around a trained network, checked on construction.

    Attributes
    ----------
    objective : {"joint", "varpro"}
    norm : {"filter", "layer", "none", "thesis"}
    bias : {"own", "zero", "layer"} or None
        ``None`` is replaced by the default of :data:`DEFAULT_BIAS`.
    seed : int
        Seed of the two Gaussian directions.
    a, b : tuple of float
        Coordinates along ``d1`` and ``d2`` (``b=(0.0,)`` gives a 1-D slice
        along ``d1``).
    """

    objective: str = "joint"
    norm: str = "filter"
    bias: str | None = None
    seed: int = 0
    a: tuple = field(default_factory=lambda: li_grid(51))
    b: tuple = field(default_factory=lambda: li_grid(51))

    def __post_init__(self):
        s = object.__setattr__
        check_choice("objective", self.objective, OBJECTIVES)
        s(self, "bias", resolve_bias_rule(self.norm, self.bias))
        s(self, "seed", check_int("seed", self.seed, min_value=0))
        s(self, "a", _coords("a", self.a))
        s(self, "b", _coords("b", self.b))

    def to_dict(self) -> dict:
        return {"objective": self.objective, "norm": self.norm, "bias": self.bias, "seed": self.seed,
                "a": list(self.a), "b": list(self.b)}


@dataclass
class Surface:
    """A computed surface with everything needed to redraw it.

    Attributes
    ----------
    spec : SurfaceSpec
    a, b : ndarray, shapes (na,) and (nb,)
    values : ndarray, shape (na, nb)
        ``values[i, j] = L(theta + a[i] d1 + b[j] d2)``.
    d1, d2 : ndarray, shape (n_params,)
        The normalised directions.
    theta : ndarray, shape (n_params,)
        Centre (trained weights).
    seconds : float
        Time it took to evaluate the surface when it was computed.
    inner_grad_norm : ndarray, shape (na, nb)
        For ``"varpro"``: gradient norm of the classifier subproblem where
        its solver stopped (``nan`` for ``"joint"``).
    key : str
        Cache key.
    from_cache : bool
    """

    spec: SurfaceSpec
    a: np.ndarray
    b: np.ndarray
    values: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    theta: np.ndarray
    seconds: float
    inner_grad_norm: np.ndarray
    key: str = ""
    from_cache: bool = False

    @property
    def centre(self) -> float:
        """Value at ``a = b = 0`` (``nan`` if the grid does not contain it)."""
        i, j = np.flatnonzero(self.a == 0.0), np.flatnonzero(self.b == 0.0)
        return float(self.values[i[0], j[0]]) if i.size and j.size else float("nan")


def landscapes_dir() -> Path:
    """Folder of stored surfaces and Hessian extremes: the cache root (:func:`resnet_ode.cache.root`), not created here."""
    from .cache import root

    return root()


def source_hash() -> str:
    """SHA-256 over this module's code without docstrings and the training code's hash (:func:`resnet_ode.runs.source_hash`)."""
    from .runs import source_hash as training_hash

    return code_digest(Path(__file__), extra=training_hash())


def surface_key(run_key: str, spec: SurfaceSpec, data_key: str = "train") -> str:
    """Hex key of a surface: the run's cache key, the settings, the data, this module's source."""
    return make_key(run=run_key, spec=spec.to_dict(), data=data_key, source=source_hash(), format=SURFACE_FORMAT)


class _PlaneTask:
    """Values at plane coordinates, for the worker processes (``apply`` is the pool's entry point)."""

    def __init__(self, objective, theta, d1, d2):
        self.objective, self.theta, self.d1, self.d2 = objective, theta, d1, d2

    def evaluate(self, coef):
        thetas = self.theta[None, :] + coef[:, :1] * self.d1[None, :] + coef[:, 1:] * self.d2[None, :]
        return np.stack(self.objective.evaluate(thetas))

    def apply(self, coef, _unused=None):
        return self.evaluate(coef)


def evaluate_plane(objective: BatchObjective, theta, d1, d2, a, b, batch_size: int = 4, desc: str | None = None,
                   workers: int | None = 1, return_inner: bool = False):
    """``L(theta + a_i d1 + b_j d2)`` on the grid, in batches of ``batch_size`` points, with a progress bar.

    Parameters
    ----------
    objective : BatchObjective
    theta, d1, d2 : ndarray, shape (n_params,)
    a, b : sequence of float, lengths na and nb
    batch_size : int
        Points pushed through the network together. Every point is computed
        on its own within a batch, so the values do not depend on it (nor on
        ``workers``).
    workers : int or None
        Processes sharing the batches (:mod:`resnet_ode.parallel`); ``None``
        takes :func:`resnet_ode.parallel.default_workers`.
    return_inner : bool
        Also return the classifier subproblem's gradient norm at every point
        (see :meth:`BatchObjective.evaluate`).

    Returns
    -------
    ndarray, shape (na, nb)
        And, with ``return_inner``, a second array of that shape.
    """
    from .parallel import default_workers, get_pool

    batch_size = check_int("batch_size", batch_size, min_value=1, max_value=4096)
    workers = default_workers() if workers is None else check_int("workers", workers, min_value=1, max_value=64)
    theta, d1, d2 = (np.asarray(v, dtype=float) for v in (theta, d1, d2))
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    A, Bc = np.meshgrid(a, b, indexing="ij")
    coef = np.stack([A.ravel(), Bc.ravel()], axis=1)
    batches = [coef[s:s + batch_size] for s in range(0, coef.shape[0], batch_size)]
    task = _PlaneTask(objective, theta, d1, d2)
    out = []
    workers = min(workers, len(batches))
    with progress.bar(coef.shape[0], desc or f"{objective.objective} surface") as bar:
        if workers <= 1:
            for c in batches:
                out.append(task.evaluate(c))
                bar.update(len(c))
        else:
            pool = get_pool(workers)
            token = pool.new_token()
            try:
                for w in range(workers):
                    pool.send(w, "register", token, task)
                    pool.receive(w)
                # Batch k goes to worker k % workers; one batch in flight per worker.
                for start in range(0, len(batches), workers):
                    group = range(start, min(start + workers, len(batches)))
                    for k in group:
                        pool.send(k % workers, "apply", token, batches[k], None)
                    for k in group:
                        out.append(pool.receive(k % workers))
                        bar.update(len(batches[k]))
            except BaseException:
                pool.discard()  # replies may be out of step; the next request starts a new pool
                raise
            for w in range(workers):
                pool.post(w, "forget", token)
    both = np.concatenate(out, axis=1).reshape(2, a.size, b.size)
    return (both[0], both[1]) if return_inner else both[0]


def compute_surface(model, theta, W, X, y, spec: SurfaceSpec, batch_size: int = 4, desc: str | None = None,
                    workers: int | None = 1):
    """Evaluate the surface ``spec`` around ``theta`` (no cache involved).

    Returns
    -------
    values : ndarray, shape (len(spec.a), len(spec.b))
    d1, d2 : ndarray, shape (n_params,)
    seconds : float
    inner_grad_norm : ndarray, shape (len(spec.a), len(spec.b))
    """
    theta = np.asarray(theta, dtype=float)
    d1, d2 = directions(model, theta, spec.seed, spec.norm, spec.bias)
    obj = BatchObjective(model, X, y, spec.objective, W=W if spec.objective == "joint" else None)
    t0 = time.perf_counter()
    values, inner = evaluate_plane(obj, theta, d1, d2, spec.a, spec.b, batch_size=batch_size, desc=desc,
                                   workers=workers, return_inner=True)
    return values, d1, d2, time.perf_counter() - t0, inner


def _save_surface(s: Surface):
    """A surface as the arrays and metadata of its store entry."""
    meta = {"spec": s.spec.to_dict(), "seconds": s.seconds, "format": SURFACE_FORMAT}
    return {"a": s.a, "b": s.b, "values": s.values, "d1": s.d1, "d2": s.d2, "theta": s.theta,
            "inner_grad_norm": s.inner_grad_norm}, meta


def _load_surface(arrays: dict, meta: dict, run, spec: SurfaceSpec, key: str) -> Surface:
    """A stored surface of ``run`` and ``spec``, checked (:class:`resnet_ode.cache.BadEntry` if it does not fit)."""
    na, nb, n = len(spec.a), len(spec.b), np.size(run.theta)
    a, b = take_array(arrays, "a", (na,)), take_array(arrays, "b", (nb,))
    if not (np.array_equal(a, spec.a) and np.array_equal(b, spec.b)):
        raise BadEntry("stored coordinates a, b differ from the spec's")
    values, inner = take_array(arrays, "values", (na, nb)), take_array(arrays, "inner_grad_norm", (na, nb))
    d1, d2, theta = (take_array(arrays, name, (n,)) for name in ("d1", "d2", "theta"))
    if not np.array_equal(theta, run.theta):
        raise BadEntry("stored centre differs from the run's trained weights")
    seconds = float(take_field(meta, "seconds", "number"))
    return Surface(spec, a, b, values, d1, d2, theta, seconds, inner, key=key, from_cache=True)


def get_surface(run, spec: SurfaceSpec, use_cache: bool = True, batch_size: int = 4, desc: str | None = None,
                workers: int | None = None):
    """The surface ``spec`` around a trained run, on its training data, from the store or computed.

    Parameters
    ----------
    run : resnet_ode.runs.RunResult
        Its ``theta`` is the centre; its ``W`` the fixed classifier of the
        joint objective.
    spec : SurfaceSpec
    use_cache : bool
        ``False`` computes afresh and stores nothing.

    Returns
    -------
    Surface
        Stored as ``surface-<key>.npz`` in the cache (:mod:`resnet_ode.cache`:
        atomically, under a lock; an unusable entry is reported, moved aside
        and computed again), the key covering the run's cache key (its settings and the training
        code), the spec and this module's source, so a changed run or library
        never reuses a stale surface.
    """
    from .runs import cache_key

    if not isinstance(spec, SurfaceSpec):
        raise TypeError(f"spec must be a SurfaceSpec, got {type(spec).__name__}")
    key = surface_key(cache_key(run.config), spec)

    def compute():
        data = run.config.dataset()
        values, d1, d2, seconds, inner = compute_surface(run.model, run.theta, run.W, data.X_train, data.y_train,
                                                         spec, batch_size=batch_size, desc=desc, workers=workers)
        return Surface(spec, np.array(spec.a), np.array(spec.b), values, d1, d2, np.array(run.theta), seconds, inner,
                       key=key)

    if not use_cache:
        return compute()
    return SURFACES.get_or_compute(key, compute, _save_surface,
                                   lambda arrays, meta: _load_surface(arrays, meta, run, spec, key),
                                   expect={"spec": spec.to_dict()})


# ----------------------------------------------------------------------------
# Measures
# ----------------------------------------------------------------------------


def _spacing(name, x):
    x = np.asarray(x, dtype=float)
    if x.size < 3:
        raise ValueError(f"{name} needs at least 3 coordinates for second differences, got {x.size}")
    h = np.diff(x)
    if not np.allclose(h, h[0], rtol=1e-9, atol=0.0):
        raise ValueError(f"{name} must be equally spaced for finite differences")
    return float(h.mean())


def grid_hessian(values, a, b):
    """Eigenvalues of the 2-D Hessian of ``f(a, b)`` at the interior grid points, by central differences.

    ``f_aa = (f[i+1,j] - 2 f[i,j] + f[i-1,j]) / ha^2``, likewise ``f_bb``, and
    ``f_ab = (f[i+1,j+1] - f[i+1,j-1] - f[i-1,j+1] + f[i-1,j-1]) / (4 ha hb)``.
    Exact for quadratics.

    Parameters
    ----------
    values : ndarray, shape (na, nb)
    a, b : ndarray, shapes (na,), (nb,), equally spaced

    Returns
    -------
    lam_min, lam_max : ndarray, shape (na - 2, nb - 2)
    """
    f = np.asarray(values, dtype=float)
    ha, hb = _spacing("a", a), _spacing("b", b)
    if f.shape != (len(a), len(b)):
        raise ValueError(f"values must have shape ({len(a)}, {len(b)}), got {f.shape}")
    faa = (f[2:, 1:-1] - 2 * f[1:-1, 1:-1] + f[:-2, 1:-1]) / ha**2
    fbb = (f[1:-1, 2:] - 2 * f[1:-1, 1:-1] + f[1:-1, :-2]) / hb**2
    fab = (f[2:, 2:] - f[2:, :-2] - f[:-2, 2:] + f[:-2, :-2]) / (4 * ha * hb)
    mean = 0.5 * (faa + fbb)
    rad = np.sqrt(0.25 * (faa - fbb) ** 2 + fab**2)
    return mean - rad, mean + rad


def curvature_measures(values, a, b, rel_tol: float = 1e-3) -> dict:
    """Non-convexity of a surface on its grid.

    A grid point counts as non-convex when the smaller eigenvalue of the 2-D
    Hessian (:func:`grid_hessian`) is negative by more than ``rel_tol``
    times the larger eigenvalue magnitude there (so rounding noise on flat
    ground does not count).

    Returns
    -------
    dict
        ``negative_share``: share of interior points that are non-convex;
        ``local_minima``: strict local minima among the interior points
        (8 neighbours); ``argmin``: ``(a, b)`` of the smallest value;
        ``min``; ``centre`` (value at ``a = b = 0``).
    """
    rel_tol = check_float("rel_tol", rel_tol, min_value=0.0)
    lo, hi = grid_hessian(values, a, b)
    scale = np.maximum(np.abs(hi), np.abs(lo))
    neg = lo < -rel_tol * scale
    f = np.asarray(values, dtype=float)
    i, j = np.unravel_index(np.argmin(f), f.shape)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ci, cj = np.flatnonzero(a == 0.0), np.flatnonzero(b == 0.0)
    return {
        "negative_share": float(neg.mean()),
        "local_minima": local_minima(f),
        "argmin": [float(a[i]), float(b[j])],
        "min": float(f[i, j]),
        "centre": float(f[ci[0], cj[0]]) if ci.size and cj.size else float("nan"),
    }


def local_minima(values) -> int:
    """Number of interior grid points strictly below all 8 neighbours."""
    f = np.asarray(values, dtype=float)
    if f.ndim != 2 or min(f.shape) < 3:
        raise ValueError(f"values must be a 2-D grid with at least 3 points per axis, got shape {f.shape}")
    c = f[1:-1, 1:-1]
    is_min = np.ones_like(c, dtype=bool)
    na, nb = f.shape
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= c < f[1 + di:na - 1 + di, 1 + dj:nb - 1 + dj]
    return int(is_min.sum())


def slice_nonconvex_share(values, x, rel_tol: float = 1e-3) -> float:
    """Share of interior points of a 1-D slice with a negative second difference (beyond ``rel_tol`` of the largest)."""
    f = np.asarray(values, dtype=float)
    h = _spacing("x", x)
    d2 = (f[2:] - 2 * f[1:-1] + f[:-2]) / h**2
    return float(np.mean(d2 < -rel_tol * np.max(np.abs(d2)))) if d2.size else 0.0


def format_timed_table(headers, rows, durations, floatfmt: str = "{:.4f}") -> str:
    """:func:`resnet_ode.numbers.format_table` with duration columns appended unpadded at the end of each line.

    Durations (seconds, printed by :func:`resnet_ode.formatting.fmt_seconds`)
    vary between runs; the notebook checks replace them by a placeholder, so
    no column may be aligned on their width.

    Parameters
    ----------
    headers : list of str
        Headers of the aligned columns, then one per duration column.
    rows : list of list
        Aligned cells of every row.
    durations : list of list of float
        Seconds of every row, one per duration column.
    """
    from .numbers import fmt_seconds, format_table

    n_timed = len(durations[0]) if durations else 0
    lines = format_table(headers[: len(headers) - n_timed], rows, floatfmt).split("\n")
    timed = [headers[len(headers) - n_timed:], ["-" * len(h) for h in headers[len(headers) - n_timed:]]]
    timed += [[fmt_seconds(t) for t in ts] for ts in durations]
    return "\n".join(line + "  " + "  ".join(cells) for line, cells in zip(lines, timed))


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------


def plot_contour(ax, surface: Surface, levels: int = 25, title: str | None = None, colorbar: bool = True):
    """Filled contours of ``log10 f`` over ``(a, b)`` with contour lines; the centre is marked ``+``."""
    import matplotlib.pyplot as plt

    Z = np.log10(surface.values).T  # rows: b, columns: a
    cs = ax.contourf(surface.a, surface.b, Z, levels=levels, cmap="viridis")
    ax.contour(surface.a, surface.b, Z, levels=cs.levels[::2], colors="k", linewidths=0.35)
    ax.plot([0], [0], "+", color="w", ms=8, mew=1.5)
    ax.set_xlabel("$a$ (along $d_1$)")
    ax.set_ylabel("$b$ (along $d_2$)")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        plt.colorbar(cs, ax=ax, shrink=0.85, label="$\\log_{10} f$")
    return cs


def plot_surface_3d(ax, surface: Surface, title: str | None = None):
    """3-D surface of ``log10 f`` over ``(a, b)`` (``ax`` must be a 3-D axes)."""
    A, B = np.meshgrid(surface.a, surface.b, indexing="ij")
    ax.plot_surface(A, B, np.log10(surface.values), cmap="viridis", linewidth=0, antialiased=True,
                    rstride=1, cstride=1)
    ax.set_xlabel("$a$")
    ax.set_ylabel("$b$")
    ax.set_zlabel("$\\log_{10} f$")
    ax.view_init(elev=35, azim=-60)
    if title:
        ax.set_title(title, fontsize=9)


# ----------------------------------------------------------------------------
# Eigenvalues of the full Hessian at theta*
# ----------------------------------------------------------------------------


class _VarProGradient:
    """Gradient of ``Phi`` accurate enough for finite differences near ``theta*``.

    ``grad Phi(theta) = grad_theta F(theta, W(theta))`` at the classifier's
    unique minimiser ``W(theta)``. At ``theta*`` it is computed from zero as
    on the surfaces; nearby, Newton's method starts from it and runs until no
    step decreases the objective any more (machine precision), because an
    error in ``W`` would be divided by the finite-difference step.
    """

    def __init__(self, model, X, y, theta):
        self.model, self.X, self.y = model, X, y
        self.joint = JointObjective(model, X, y)
        self.batch = BatchObjective(model, X, y, "varpro")
        self.W0 = self.batch.solve_classifier(self.batch.features(np.asarray(theta, dtype=float)[None]))[0]

    def W(self, theta):
        Y = self.batch.features(theta[None])[0]
        sp = self.batch.subproblem(Y)
        W = sp.solve(W0=self.W0, max_iter=10, gtol=0.0)
        # Two plain Newton steps more: where rounding hides any further decrease of the value, the
        # line search stops, but the gradient still points to the minimiser along flat directions.
        for _ in range(2):
            _, E, Zs = sp.value(W)
            G, P = sp.gradient(W, E, Zs)
            W = W - np.linalg.solve(sp.hessian(P), G.ravel())
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
    (:mod:`resnet_ode.cache`), ``hessian-<key>.json``, keyed by the run's cache key,
    ``objective``, ``settings`` and this module's source.
    """
    from .runs import cache_key

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
    return HESSIANS.get_or_compute(key, compute, lambda result: ({}, {"result": result}), decode)


#: What a stored result of :func:`get_hessian_extremes` must hold.
HESSIAN_FIELDS = ("lam_min", "lam_max", "ratio", "matvecs", "grad_norm", "asymmetry", "second_difference_min",
                  "seconds")
