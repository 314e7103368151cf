"""Time grids and piecewise-linear interpolation of weights in time.

A residual network read as an ODE has two grids on ``[0, T]``: the *control*
times, where its weights live, and the *state* times, where the ODE is
integrated. The weights at any time are the piecewise-linear interpolation of
the control values (constant outside the control grid). Interpolation is a
linear map, so it is stored as a matrix ``P`` of shape (n_eval, n_control):
weights at the evaluation times are ``P @ theta_control`` and a gradient with
respect to them is spread back to the control nodes by ``P.T``.
"""

from __future__ import annotations

import numpy as np

from resnet_ode.util.validate import check_float, check_int


def uniform_times(T: float, n: int) -> np.ndarray:
    """``n`` equally spaced times on ``[0, T]``, both ends included.

    Returns
    -------
    ndarray, shape (n,)
        ``t_j = j T / (n - 1)``; the step is ``T / (n - 1)``.
    """
    T = check_float("T", T, min_value=0.0, strict_min=True)
    n = check_int("n", n, min_value=2)
    return np.linspace(0.0, T, n)


def per_step_times(T: float, n_steps: int) -> np.ndarray:
    """Left end points of ``n_steps`` equal steps on ``[0, T]``.

    This is the control grid of a *standard* ResNet: one weight set per layer,
    layer ``j`` acting on the step that starts at ``t_j = j T / n_steps``.

    Returns
    -------
    ndarray, shape (n_steps,)
    """
    T = check_float("T", T, min_value=0.0, strict_min=True)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    return T * np.arange(n_steps) / n_steps


def interpolation_matrix(control_times, eval_times) -> np.ndarray:
    """Matrix of piecewise-linear interpolation from control to evaluation times.

    Parameters
    ----------
    control_times : array_like, shape (n_control,)
        Strictly increasing control times.
    eval_times : array_like, shape (n_eval,)
        Times at which the interpolant is evaluated. Times before the first
        (after the last) control time take the first (last) control value.

    Returns
    -------
    P : ndarray, shape (n_eval, n_control)
        Each row holds at most two non-zero weights, non-negative and summing
        to one.
    """
    s = np.asarray(control_times, dtype=float)
    t = np.asarray(eval_times, dtype=float)
    if s.ndim != 1 or s.size < 1:
        raise ValueError("control_times must be a non-empty 1-D array")
    if np.any(np.diff(s) <= 0):
        raise ValueError("control_times must be strictly increasing")
    P = np.zeros((t.size, s.size))
    if s.size == 1:
        P[:, 0] = 1.0
        return P
    # Tolerance so that an evaluation time equal to a control time up to
    # rounding (j*T/(nY-1) against k*T/(nt-1)) hits that node exactly.
    tol = 1e-12 * max(1.0, abs(s[-1]))
    for row, tj in enumerate(t):
        if tj <= s[0] + tol:
            P[row, 0] = 1.0
        elif tj >= s[-1] - tol:
            P[row, -1] = 1.0
        else:
            k = int(np.searchsorted(s, tj, side="right")) - 1
            w = (tj - s[k]) / (s[k + 1] - s[k])
            if w <= tol:
                P[row, k] = 1.0
            elif w >= 1.0 - tol:
                P[row, k + 1] = 1.0
            else:
                P[row, k] = 1.0 - w
                P[row, k + 1] = w
    return P


def interpolate(P: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Apply an interpolation matrix to control values of any trailing shape.

    Parameters
    ----------
    P : ndarray, shape (n_eval, n_control)
    values : ndarray, shape (n_control, ...)

    Returns
    -------
    ndarray, shape (n_eval, ...)
    """
    flat = values.reshape(values.shape[0], -1)
    return (P @ flat).reshape((P.shape[0],) + values.shape[1:])


def interpolate_adjoint(P: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Adjoint of :func:`interpolate`: spread gradients back to the control nodes.

    Parameters
    ----------
    P : ndarray, shape (n_eval, n_control)
    grads : ndarray, shape (n_eval, ...)

    Returns
    -------
    ndarray, shape (n_control, ...)
    """
    flat = grads.reshape(grads.shape[0], -1)
    return (P.T @ flat).reshape((P.shape[1],) + grads.shape[1:])
