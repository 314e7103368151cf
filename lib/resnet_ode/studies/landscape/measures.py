"""Measures of non-convexity of a computed surface, on its grid.

:func:`grid_hessian` (the 2-D Hessian of ``f(a, b)`` by central differences
on the grid), :func:`curvature_measures` (share of non-convex points, local
minima, minimum), :func:`local_minima` and :func:`slice_nonconvex_share`
(for 1-D slices).
"""

from __future__ import annotations

import numpy as np

from resnet_ode.util.validate import check_float


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

    Parameters
    ----------
    values : ndarray, shape (na, nb)
        ``f(a_i, b_j)``.
    a, b : ndarray, shapes (na,) and (nb,), equally spaced
    rel_tol : float

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
    """Number of interior grid points strictly below all 8 neighbours, for ``values`` of shape (na, nb)."""
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
    """Share of interior points of a 1-D slice with a negative second difference (beyond ``rel_tol`` of the largest).

    Parameters
    ----------
    values : ndarray, shape (n,)
        ``f(x_i)``.
    x : ndarray, shape (n,), equally spaced
    rel_tol : float

    Returns
    -------
    float
    """
    f = np.asarray(values, dtype=float)
    h = _spacing("x", x)
    d2 = (f[2:] - 2 * f[1:-1] + f[:-2]) / h**2
    return float(np.mean(d2 < -rel_tol * np.max(np.abs(d2)))) if d2.size else 0.0

