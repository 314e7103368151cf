"""Stability of the forward propagation: layer Jacobians, eigenvalues, stability regions.

The residual dynamics ``dY/dt = f(t, Y)`` with ``f(t, y) = sigma(K(t) y) + b(t)``
(bias outside the activation) or ``f(t, y) = sigma(K(t) y + b(t))`` (inside)
have, at a state ``y``, the Jacobian

.. math::

    J(t, y) = \\operatorname{diag}\\bigl(\\sigma'(K(t) y [+ b(t)])\\bigr)\\, K(t).

An explicit Runge-Kutta method with stability function ``R`` (a polynomial,
see :meth:`resnet_ode.core.integrators.ButcherTableau.stability_polynomial`) applied
to the linear test equation ``y' = lambda y`` multiplies ``y`` by ``R(h lambda)``
per step; it is *stable* for ``z = h lambda`` in the region ``|R(z)| <= 1``
(for forward Euler ``R(z) = 1 + z``: the unit disk centred at ``-1``). The
eigenvalue test of a trained network freezes the Jacobian at every layer ``j``
and every example: the layer is "stable" for that example when all ``h lambda``
of ``J(t_j, y_j)`` lie in the region.

This module computes those Jacobians and eigenvalues for whole batches of
examples (one ``numpy.linalg.eigvals`` call over a stack of matrices per
layer), summarises them per layer, draws stability regions, and propagates
small perturbations of the block's input through the layers (linearised and
nonlinear) to compare the eigenvalue picture with what actually happens.

References
----------
- E. Haber and L. Ruthotto, "Stable architectures for deep neural networks", Inverse Problems 34 (2017) 014004.
- E. Hairer, S. P. Norsett, G. Wanner, *Solving Ordinary Differential Equations I*, 2nd ed., Springer, 1993, Section IV.2 (stability functions).

"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_ode.core.activations import get_activation
from resnet_ode.core.integrators import METHODS
from resnet_ode.util.validate import check_choice, check_float, check_int

from resnet_ode.studies.regions import (  # the methods' stability regions, re-exported: the chapters read them here
    REGION_TOL,
    amplification,
    imaginary_axis_interval,
    in_region,
    matrix_stability_function,
    plot_region,
    real_axis_interval,
    region_grid,
    stability_function,
)


# ----------------------------------------------------------------------------
# Eigenvalues and layer Jacobians
# ----------------------------------------------------------------------------


def eigenvalues(M) -> np.ndarray:
    """Eigenvalues of a stack of square matrices.

    Parameters
    ----------
    M : array_like, shape (..., w, w)

    Returns
    -------
    ndarray of complex, shape (..., w)
        In the order LAPACK returns them (deterministic for the same input).

    Raises
    ------
    ValueError
        If the last two axes are not square or ``M`` has fewer than 2 axes.
    """
    M = np.asarray(M, dtype=float)
    if M.ndim < 2 or M.shape[-1] != M.shape[-2]:
        raise ValueError(f"M must have shape (..., w, w) with square last axes, got {M.shape}")
    return np.linalg.eigvals(M).astype(complex)


def residual_function(K, y, b=0.0, activation: str = "tanh", bias: str = "outside") -> np.ndarray:
    """The right-hand side ``f(y) = sigma(K y) + b`` (or ``sigma(K y + b)``) for columns ``y``.

    Parameters
    ----------
    K : ndarray, shape (w, w)
    y : ndarray, shape (w,) or (w, n)
    b : float
        Scalar bias of the layer.
    activation : str
    bias : {"outside", "inside"}

    Returns
    -------
    ndarray, the shape of ``y``
    """
    act = get_activation(activation)
    check_choice("bias", bias, ("outside", "inside"))
    Z = np.asarray(K, dtype=float) @ np.asarray(y, dtype=float)
    if bias == "inside":
        return act(Z + b)
    return act(Z) + b


def layer_jacobians(K, Y, b=None, activation: str = "tanh", bias: str = "outside") -> np.ndarray:
    """Jacobians ``J = diag(sigma'(K y [+ b])) K`` of the residual function at every column ``y`` of ``Y``.

    Parameters
    ----------
    K : array_like, shape (w, w) or (L, w, w)
        Weights of one layer or of ``L`` layers.
    Y : array_like, shape (w, n) or (L, w, n)
        States (samples as columns) at which each layer is linearised.
    b : float or array_like of shape (L,), optional
        Biases; they enter only with ``bias="inside"``.
    activation : str
        Name in :data:`resnet_ode.core.activations.ACTIVATIONS`.
    bias : {"outside", "inside"}

    Returns
    -------
    ndarray, shape (n, w, w) or (L, n, w, w)
        ``J[..., i, :, :]`` is the Jacobian at sample ``i``.

    Raises
    ------
    ValueError
        If the shapes do not match.
    """
    act = get_activation(activation)
    check_choice("bias", bias, ("outside", "inside"))
    K = np.asarray(K, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if K.ndim not in (2, 3) or K.shape[-1] != K.shape[-2]:
        raise ValueError(f"K must have shape (w, w) or (L, w, w), got {K.shape}")
    if Y.ndim != K.ndim or Y.shape[-2] != K.shape[-1] or (K.ndim == 3 and Y.shape[0] != K.shape[0]):
        raise ValueError(f"Y must have shape {'(L, w, n)' if K.ndim == 3 else '(w, n)'} matching K {K.shape}, "
                         f"got {Y.shape}")
    Z = K @ Y
    if bias == "inside" and b is not None:
        bb = np.asarray(b, dtype=float)
        Z = Z + (bb[..., None, None] if bb.ndim else bb)
    D = act.derivative(Z)                      # (..., w, n)
    # J[..., i, r, c] = D[..., r, i] * K[..., r, c]
    return np.swapaxes(D, -1, -2)[..., :, :, None] * K[..., None, :, :]


# ----------------------------------------------------------------------------
# Spectra of a trained network, layer by layer
# ----------------------------------------------------------------------------


def layer_weights(ode, theta_ode):
    """Weights of every layer at its state time: ``K_j = K(t_j)`` and ``b_j = b(t_j)``.

    For forward Euler these are exactly the weights layer ``j`` applies (for a
    standard ResNet, its own weight set; with interpolated weights,
    ``ode.weights_at_stages(theta_ode)[0][j]``). For a method with several
    stages they are the weights of the first stage (``c_1 = 0``).

    Returns
    -------
    K : ndarray, shape (n_steps, w, w)
    b : ndarray, shape (n_steps,)
    """
    Ke, be = ode.weights_at_stages(theta_ode)
    idx = np.arange(ode.n_steps) * ode.n_stages
    return Ke[idx], be[idx]


@dataclass
class LayerSpectra:
    """Eigenvalues of the layer Jacobians of one network over many examples, with per-layer summaries.

    Attributes
    ----------
    times : ndarray, shape (L,)
        State time ``t_j`` of each layer.
    h : float
        Step size.
    method : str
        Integrator whose stability region is used.
    n_samples : int
        Examples the Jacobians were evaluated at.
    max_real : ndarray, shape (L,)
        Largest real part of any eigenvalue ``lambda`` of the layer.
    min_max_real : ndarray, shape (L,)
        Smallest over the examples of each example's largest real part: if
        positive, *every* example has an eigenvalue with ``Re lambda > 0`` at
        that layer.
    max_amp : ndarray, shape (L,)
        Largest ``|R(h lambda)|`` (``|1 + h lambda|`` for Euler).
    share_inside : ndarray, shape (L,)
        Share of eigenvalues (over examples and the ``w`` eigenvalues each)
        with ``h lambda`` inside the region.
    share_inside_rk4 : ndarray, shape (L,)
        The same share for the classical RK4 region, for comparison.
    share_left : ndarray, shape (L,)
        Share of eigenvalues with ``Re lambda <= 0`` (the condition of the
        continuous problem, independent of ``h``).
    share_stable_examples : ndarray, shape (L,)
        Share of examples whose eigenvalues are *all* inside the region.
    median_amp : ndarray, shape (L,)
        Median over examples of ``max_k |R(h lambda_k)|`` (spectral radius of
        the frozen step matrix ``R(h J)``).
    max_step_norm, median_step_norm : ndarray, shape (L,)
        Largest and median spectral norm ``||R(h J)||_2`` over examples: the
        worst-case growth of a perturbation in one step of the frozen
        linearisation (for Euler, of the exact linearised step).
    log_norm_product : ndarray, shape (n_samples,), or None
        ``sum_j log ||R(h J_j)||_2`` per example: for forward Euler the log of
        an upper bound on the growth ``||dY_N|| / ||dY_0||`` of any small
        perturbation of that example's block input. None when read from a
        stored summary without the per-example arrays
        (:func:`resnet_ode.studies.layer_spectra.stored_spectra`).
    log_radius_product : ndarray, shape (n_samples,), or None
        ``sum_j log max_k |R(h lambda_k(J_j))|`` per example: the growth the
        eigenvalues alone would predict (exact if all ``J_j`` were equal and
        normal). None as ``log_norm_product``.
    eigvals : ndarray of complex, shape (L, n_samples, w), or None
        All eigenvalues (``lambda``, not ``h lambda``) when kept.
    medians : tuple of float, or None
        ``(radius, norm)``: the medians over the examples of ``exp(log_radius_product)`` and
        ``exp(log_norm_product)``, as stored with a summary that lacks the per-example
        arrays (:meth:`median_products` computes them otherwise).
    """

    times: np.ndarray
    h: float
    method: str
    n_samples: int
    max_real: np.ndarray
    min_max_real: np.ndarray
    max_amp: np.ndarray
    share_inside: np.ndarray
    share_inside_rk4: np.ndarray
    share_left: np.ndarray
    share_stable_examples: np.ndarray
    median_amp: np.ndarray
    max_step_norm: np.ndarray
    median_step_norm: np.ndarray
    log_norm_product: np.ndarray | None
    log_radius_product: np.ndarray | None
    eigvals: np.ndarray | None = None
    medians: tuple | None = None

    @property
    def n_layers(self) -> int:
        return int(self.times.size)

    def median_products(self) -> tuple[float, float]:
        """Medians over the examples of the products of the spectral radii and of the norms: ``(radius, norm)``."""
        if self.log_radius_product is None or self.log_norm_product is None:
            if self.medians is None:
                raise ValueError("these spectra keep neither the per-example products nor their medians")
            return self.medians
        return float(np.median(np.exp(self.log_radius_product))), float(np.median(np.exp(self.log_norm_product)))

    def overall(self) -> dict:
        """Summaries over all layers (every layer has the same number of eigenvalues)."""
        return {
            "max_real": float(self.max_real.max()),
            "min_max_real": float(self.min_max_real.min()),
            "max_amp": float(self.max_amp.max()),
            "share_inside": float(self.share_inside.mean()),
            "share_inside_rk4": float(self.share_inside_rk4.mean()),
            "share_left": float(self.share_left.mean()),
            "share_stable_examples": float(self.share_stable_examples.mean()),
            "layers_all_inside": int(np.sum(self.share_inside >= 1.0)),
            "max_step_norm": float(self.max_step_norm.max()),
        }

    def per_layer(self) -> dict:
        """Per-layer arrays as a dict (for :func:`resnet_ode.book.numbers.write_numbers`)."""
        return {
            "time": self.times,
            "max_real": self.max_real,
            "min_max_real": self.min_max_real,
            "max_amp": self.max_amp,
            "share_inside": self.share_inside,
            "share_inside_rk4": self.share_inside_rk4,
            "share_left": self.share_left,
            "share_stable_examples": self.share_stable_examples,
            "median_amp": self.median_amp,
            "max_step_norm": self.max_step_norm,
            "median_step_norm": self.median_step_norm,
        }


def network_states(model, theta, X) -> np.ndarray:
    """States ``Y_0 .. Y_N`` of the residual block for inputs ``X``, shape (nY, nc, n)."""
    return model.states(theta, X)


def network_spectra(model, theta, X, method: str | None = None, keep: bool = True,
                    desc: str | None = None) -> LayerSpectra:
    """Eigenvalues of every layer Jacobian ``J_j`` at the propagated states of every example.

    Parameters
    ----------
    model : resnet_ode.core.network.ResNetODE
    theta : ndarray, shape (model.n_params,)
        Trained network weights.
    X : ndarray, shape (2, n)
        Inputs; the states ``y_j`` of each are propagated by the network.
    method : str, optional
        Region to test against; default the network's own integrator.
    keep : bool
        Keep all eigenvalues (``L * n * w`` complex numbers) in the result.
    desc : str, optional
        Progress-bar label (a bar over the layers is shown when given).

    Returns
    -------
    LayerSpectra
    """
    from resnet_ode.util import progress

    ode = model.ode
    method = ode.method.name if method is None else check_choice("method", method, list(METHODS))
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != model.opening.n_in:
        raise ValueError(f"X must have shape ({model.opening.n_in}, n), got {X.shape}")
    _, th_ode = model.chain.split(theta)
    states = network_states(model, theta, X)               # (nY, w, n)
    K, b = layer_weights(ode, th_ode)
    L, n, w = ode.n_steps, X.shape[1], ode.width
    h = ode.h
    out = {k: np.empty(L) for k in ("max_real", "min_max_real", "max_amp", "share_inside", "share_inside_rk4",
                                    "share_left", "share_stable_examples", "median_amp", "max_step_norm",
                                    "median_step_norm")}
    eig = np.empty((L, n, w), dtype=complex) if keep else None
    log_norm = np.zeros(n)
    log_radius = np.zeros(n)
    with progress.bar(L, desc or "layer spectra", leave=False) as bar:
        for j in range(L):
            J = layer_jacobians(K[j], states[j], b[j], ode.activation.name, ode.bias)   # (n, w, w)
            lam = eigenvalues(J)                                                          # (n, w)
            amp = amplification(method, h * lam, h)
            inside = amp <= 1.0 + REGION_TOL
            step_norm = np.linalg.norm(matrix_stability_function(method, h * J, h), ord=2, axis=(-2, -1))
            out["max_real"][j] = lam.real.max()
            out["min_max_real"][j] = lam.real.max(axis=1).min()
            out["max_amp"][j] = amp.max()
            out["share_inside"][j] = inside.mean()
            out["share_inside_rk4"][j] = in_region(h * lam, "rk4").mean()
            out["share_left"][j] = (lam.real <= 0.0).mean()
            out["share_stable_examples"][j] = inside.all(axis=1).mean()
            out["median_amp"][j] = np.median(amp.max(axis=1))
            out["max_step_norm"][j] = step_norm.max()
            out["median_step_norm"][j] = np.median(step_norm)
            log_norm += np.log(step_norm)
            log_radius += np.log(amp.max(axis=1))
            if keep:
                eig[j] = lam
            bar.update(1)
    return LayerSpectra(times=ode.state_times[:-1].copy(), h=float(h), method=method, n_samples=n,
                        log_norm_product=log_norm, log_radius_product=log_radius, eigvals=eig, **out)


# ----------------------------------------------------------------------------
# Perturbations through the layers
# ----------------------------------------------------------------------------


def tangent_states(ode, tape, dY0) -> np.ndarray:
    """Exact linearised propagation of a perturbation ``dY0`` of the block's input, state by state.

    The recursion of ``ode.jvp(tape, None, dY0)`` (the tangent of the
    Runge-Kutta kernel, :meth:`resnet_ode.core.rungekutta.RungeKutta.tangent`),
    returning the tangent at every state time instead of only the last: for
    a step with stages ``U_i = Y_j + h sum_m a_im k_m``, ``k_i = f(t_j + c_i
    h, U_i)``,

    ``dU_i = dY_j + h sum_m a_im dk_m``, ``dk_i = diag(sigma'(Z_i)) K_i dU_i``,
    ``dY_{j+1} = dY_j + h sum_i b_i dk_i``.

    Parameters
    ----------
    ode : resnet_ode.core.blocks.ODEBlock
    tape : ODETape
        From ``ode.forward(theta_ode, Y0)``.
    dY0 : ndarray, shape (w, n)

    Returns
    -------
    ndarray, shape (n_steps + 1, w, n)
    """
    return ode.tangent_states(tape, dY0)


@dataclass
class PerturbationGrowth:
    """How perturbations of the residual block's input grow or shrink through the layers.

    Attributes
    ----------
    times : ndarray, shape (nY,)
        State times ``t_0 .. t_N``.
    linear : ndarray, shape (nY, n)
        ``||dY_j|| / ||dY_0||`` per example for the exact linearised
        propagation (tangent).
    nonlinear : ndarray, shape (nY, n)
        ``||Y_j(Y_0 + eps d) - Y_j(Y_0)|| / ||eps d||`` per example.
    eps : float
        Relative size of the finite perturbation.
    """

    times: np.ndarray
    linear: np.ndarray
    nonlinear: np.ndarray
    eps: float

    def quantiles(self, which: str = "linear", q=(0.1, 0.5, 0.9)) -> np.ndarray:
        """Quantiles over examples per state, shape (len(q), nY)."""
        data = {"linear": self.linear, "nonlinear": self.nonlinear}[check_choice("which", which,
                                                                                ("linear", "nonlinear"))]
        return np.quantile(data, q, axis=1)

    def step_ratios(self, which: str = "linear") -> np.ndarray:
        """Per-step growth ``||dY_{j+1}|| / ||dY_j||``, shape (nY - 1, n)."""
        data = self.linear if which == "linear" else self.nonlinear
        return data[1:] / data[:-1]

    def max_relative_difference(self) -> float:
        """Largest ``|nonlinear - linear| / linear`` over states and examples."""
        return float(np.max(np.abs(self.nonlinear - self.linear) / self.linear))


def perturbation_growth(model, theta, X, eps: float = 1e-4, seed: int = 0) -> PerturbationGrowth:
    """Propagate a random perturbation of every example's block input, linearised and as it is.

    The input of the residual block ``Y_0 = tanh(K_0 x)`` of each example is
    perturbed in a random direction ``d`` (standard normal, one per example,
    scaled to ``||d|| = ||y_0||``) and the ratio of the perturbation's norm at
    every state to its initial norm is recorded, (a) for the tangent ``dY_j``
    (exact derivative, :func:`tangent_states`) and (b) for the finite
    difference of the states with ``Y_0 + eps d``.

    Parameters
    ----------
    model : resnet_ode.core.network.ResNetODE
    theta : ndarray, shape (model.n_params,)
    X : ndarray, shape (2, n)
    eps : float
        Relative size of the finite perturbation, in (0, 1].
    seed : int
        Seed of the random directions.

    Returns
    -------
    PerturbationGrowth
    """
    eps = check_float("eps", eps, min_value=0.0, max_value=1.0, strict_min=True)
    seed = check_int("seed", seed, min_value=0)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != model.opening.n_in:
        raise ValueError(f"X must have shape ({model.opening.n_in}, n), got {X.shape}")
    th_open, th_ode = model.chain.split(theta)
    ode = model.ode
    Y0 = model.opening.apply(th_open, X)
    d = np.random.default_rng(seed).standard_normal(Y0.shape)
    d *= np.linalg.norm(Y0, axis=0) / np.linalg.norm(d, axis=0)
    _, tape = ode.forward(th_ode, Y0)
    base = tape.states().copy()
    lin = tangent_states(ode, tape, d)
    pert = ode.forward(th_ode, Y0 + eps * d)[1].states()
    d0 = np.linalg.norm(d, axis=0)
    linear = np.linalg.norm(lin, axis=1) / d0
    nonlinear = np.linalg.norm(pert - base, axis=1) / (eps * d0)
    return PerturbationGrowth(times=ode.state_times.copy(), linear=linear, nonlinear=nonlinear, eps=eps)


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------


def cloud_extent(spectra, margin: float = 0.1, include=(-0.05, 0.05, -0.05, 0.05)):
    """Axis limits ``(xmin, xmax, ymin, ymax)`` around every ``h lambda`` of ``spectra``.

    The box holds all points and ``include`` (by default a small box around
    the origin, where the region's boundary passes), widened by ``margin``
    times its size on every side. ``spectra`` is a :class:`LayerSpectra` with
    eigenvalues or a sequence of them.
    """
    items = spectra if isinstance(spectra, (list, tuple)) else [spectra]
    lo_x, hi_x, lo_y, hi_y = include
    for sp in items:
        if sp.eigvals is None:
            raise ValueError("spectra must keep their eigenvalues (network_spectra(..., keep=True))")
        z = sp.h * sp.eigvals
        lo_x, hi_x = min(lo_x, z.real.min()), max(hi_x, z.real.max())
        lo_y, hi_y = min(lo_y, z.imag.min()), max(hi_y, z.imag.max())
    dx, dy = margin * (hi_x - lo_x), margin * (hi_y - lo_y)
    return lo_x - dx, hi_x + dx, lo_y - dy, hi_y + dy


def plot_layer_clouds(spectra, ncols: int = 4, highlight: int | None = None, extent=None,
                      panel_size: float = 2.3, point_size: float = 1.0, alpha: float = 0.08,
                      title: str | None = None, compare: str | None = None, layers=None):
    """One panel per layer: the cloud of ``h lambda`` over all examples against the stability region.

    Parameters
    ----------
    spectra : LayerSpectra
        With eigenvalues kept.
    ncols : int
        Panels per row.
    highlight : int, optional
        Index of one example whose eigenvalues are drawn on top (red crosses),
        as the thesis drew a single example.
    extent : tuple, optional
        Common axis limits; default :func:`cloud_extent`.
    compare : str, optional
        Another method whose region boundary is drawn dashed for comparison
        (e.g. ``"rk4"``).
    layers : sequence of int, optional
        The layers shown (default all): a subset keeps the panels legible for deep networks.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if spectra.eigvals is None:
        raise ValueError("spectra must keep their eigenvalues (network_spectra(..., keep=True))")
    ncols = check_int("ncols", ncols, min_value=1)
    shown = list(range(spectra.n_layers)) if layers is None else [int(j) for j in layers]
    L = len(shown)
    nrows = -(-L // ncols)
    extent = extent or cloud_extent(spectra)
    aspect = (extent[3] - extent[2]) / (extent[1] - extent[0])
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, nrows * (panel_size * aspect + 0.55) + 0.4),
                             sharex=True, sharey=True, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= L:
            ax.set_visible(False)
            continue
        j = shown[i]
        plot_region(ax, spectra.method, extent, n=241, color="crimson", fill_alpha=0.10, linewidth=1.0)
        if compare is not None:
            plot_region(ax, compare, extent, n=241, color="k", fill_alpha=0.0, linewidth=0.8, linestyle="--")
        z = spectra.h * spectra.eigvals[j].ravel()
        ax.scatter(z.real, z.imag, s=point_size, color="#0072B2", alpha=alpha, linewidths=0, rasterized=True)
        if highlight is not None:
            zh = spectra.h * spectra.eigvals[j, highlight]
            ax.scatter(zh.real, zh.imag, marker="x", s=14, color="#D55E00", linewidths=0.9)
        ax.axhline(0, color="0.6", lw=0.5)
        ax.axvline(0, color="0.6", lw=0.5)
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        ax.set_aspect("equal")
        ax.tick_params(labelsize=8)
        ax.set_title(f"layer {j}: {100 * spectra.share_inside[j]:.0f}% inside", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel(r"Re $h\lambda$", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel(r"Im $h\lambda$", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
