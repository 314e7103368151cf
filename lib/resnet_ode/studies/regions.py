"""Stability functions and stability regions of explicit Runge-Kutta methods.

An explicit Runge-Kutta method applied to the linear test equation ``y' =
lambda y`` multiplies ``y`` by ``R(h lambda)`` per step, with ``R`` the
method's stability polynomial
(:meth:`resnet_ode.core.integrators.ButcherTableau.stability_polynomial`); it is
*stable* for ``z = h lambda`` in the region ``|R(z)| <= 1``. This module
evaluates ``R`` for numbers and for matrices, measures the region along the
axes and draws it; :mod:`resnet_ode.studies.stability` sets the eigenvalues of trained
networks against it.
"""

from __future__ import annotations

import numpy as np

from resnet_ode.core.integrators import as_method
from resnet_ode.util.validate import check_float, check_int

#: Rounding allowance for "inside the region" (``|R(z)| <= 1 + REGION_TOL``), so that
#: ``z = 0`` (a zero eigenvalue) and points on the boundary count as inside.
REGION_TOL = 1e-12


def matrix_stability_function(method, Z, h: float | None = None) -> np.ndarray:
    """``R(Z)`` for a stack of square matrices ``Z`` (the method's polynomial, evaluated by Horner).

    With frozen coefficients ``J``, one step of the method maps a perturbation
    ``d`` to ``R(h J) d``; for forward Euler ``R(h J) = I + h J`` is exactly the
    Jacobian of the step.

    Parameters
    ----------
    method : str or ButcherTableau
    Z : array_like, shape (..., w, w)

    Returns
    -------
    ndarray, shape (..., w, w)
    """
    coeffs = as_method(method).stability_polynomial(h)
    Z = np.asarray(Z, dtype=float)
    eye = np.broadcast_to(np.eye(Z.shape[-1]), Z.shape)
    out = coeffs[-1] * eye
    for c in coeffs[-2::-1]:
        out = Z @ out + c * eye
    return out


# ----------------------------------------------------------------------------
# Stability functions and regions
# ----------------------------------------------------------------------------


def stability_function(method, z, h: float | None = None) -> np.ndarray:
    """``R(z)`` of an explicit Runge-Kutta method (complex array in, complex array out).

    ``method`` is a name in :data:`resnet_ode.core.integrators.METHODS` or a method
    object; ``h`` is needed only for step-dependent schemes.
    """
    return as_method(method).stability_function(z, h)


def amplification(method, z, h: float | None = None) -> np.ndarray:
    """``|R(z)|``: the factor by which one step scales the test equation's solution."""
    return np.abs(stability_function(method, z, h))


def in_region(z, method="euler", h: float | None = None, tol: float = REGION_TOL) -> np.ndarray:
    """Whether ``z = h lambda`` lies in the method's stability region ``|R(z)| <= 1``.

    Parameters
    ----------
    z : array_like of complex
    method : str or method object
    tol : float
        Rounding allowance: points with ``|R(z)| <= 1 + tol`` count as inside.

    Returns
    -------
    ndarray of bool, the shape of ``z``
    """
    tol = check_float("tol", tol, min_value=0.0)
    return amplification(method, z, h) <= 1.0 + tol


def real_axis_interval(method, h: float | None = None, x_min: float = -20.0, step: float = 1e-3) -> float:
    """Left end ``x* < 0`` of the stability interval ``[x*, 0]`` on the negative real axis.

    Scans from 0 to ``x_min`` in steps of ``step`` for the first point outside
    the region and refines the crossing by bisection.

    Returns
    -------
    float
        ``x*`` (``-2`` for forward Euler, about ``-2.785`` for RK4).

    Raises
    ------
    ValueError
        If the interval reaches ``x_min`` (no crossing found).
    """
    x_min = check_float("x_min", x_min, max_value=0.0)
    step = check_float("step", step, min_value=0.0, strict_min=True)
    m = as_method(method)
    xs = -np.arange(step, -x_min + step, step)
    outside = amplification(m, xs, h) > 1.0 + REGION_TOL
    if not outside.any():
        raise ValueError(f"the stability interval of {m.name} extends beyond x_min = {x_min}")
    k = int(np.argmax(outside))
    lo, hi = xs[k], (xs[k - 1] if k > 0 else 0.0)   # lo outside, hi inside
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if abs(m.stability_function(mid, h)) > 1.0:
            lo = mid
        else:
            hi = mid
    return float(hi)


def imaginary_axis_interval(method, h: float | None = None) -> float:
    """Largest ``y >= 0`` with the segment ``[-i y, i y]`` inside the region.

    Computed exactly from the polynomial ``E(y) = |R(i y)|^2 - 1`` (real
    coefficients from those of ``R``): 0 if ``E > 0`` just right of 0 (Euler,
    the two-stage second-order methods), else its smallest positive root
    (``2 sqrt 2`` for RK4), ``inf`` if there is none.
    """
    P = np.polynomial.polynomial
    c = as_method(method).stability_polynomial(h)
    k = np.arange(c.size)
    re = np.where(k % 2 == 0, c * (-1.0) ** (k // 2), 0.0)
    im = np.where(k % 2 == 1, c * (-1.0) ** ((k - 1) // 2), 0.0)
    E = P.polyadd(P.polymul(re, re), P.polymul(im, im))
    E[0] -= 1.0
    E[np.abs(E) < 1e-13] = 0.0          # terms that cancel exactly in exact arithmetic
    nz = np.flatnonzero(E)
    if nz.size == 0:
        return float("inf")
    if E[nz[0]] > 0:
        return 0.0
    roots = P.polyroots(E[nz[0]:])
    positive = roots[(np.abs(roots.imag) < 1e-10) & (roots.real > 0)].real
    return float(positive.min()) if positive.size else float("inf")


def region_grid(method, extent=(-4.0, 1.0, -3.5, 3.5), n: int = 401, h: float | None = None):
    """``|R(z)|`` on a regular grid, for drawing the region's boundary ``|R| = 1``.

    Parameters
    ----------
    extent : (xmin, xmax, ymin, ymax)
    n : int
        Points per axis.

    Returns
    -------
    x : ndarray, shape (n,)
    y : ndarray, shape (n,)
    amp : ndarray, shape (n, n)
        ``amp[k, l] = |R(x[l] + i y[k])|``.
    """
    n = check_int("n", n, min_value=2, max_value=10_000)
    x = np.linspace(extent[0], extent[1], n)
    y = np.linspace(extent[2], extent[3], n)
    return x, y, amplification(method, x[None, :] + 1j * y[:, None], h)


def plot_region(ax, method, extent=(-4.0, 1.0, -3.5, 3.5), n: int = 401, h: float | None = None,
                color: str = "crimson", fill_alpha: float = 0.12, linewidth: float = 1.2,
                linestyle: str = "-", label: str | None = None):
    """Draw a method's stability region ``|R(z)| <= 1`` (filled, with its boundary) on ``ax``.

    Returns the boundary's contour set. ``label`` goes into the legend via a
    proxy line.
    """
    x, y, amp = region_grid(method, extent, n, h)
    if fill_alpha > 0:
        ax.contourf(x, y, amp, levels=[0.0, 1.0], colors=[color], alpha=fill_alpha)
    cs = ax.contour(x, y, amp, levels=[1.0], colors=[color], linewidths=linewidth, linestyles=linestyle)
    if label:
        ax.plot([], [], color=color, linewidth=linewidth, linestyle=linestyle, label=label)
    return cs
