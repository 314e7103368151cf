"""Checks that catch a wrong derivative: the Taylor test and the adjoint test.

Taylor test
    For a smooth map ``F`` with claimed derivative ``J``, the zeroth-order
    remainder ``|F(x + h v) - F(x)|`` falls like ``h`` and the first-order
    remainder ``|F(x + h v) - F(x) - h J v|`` like ``h^2`` as ``h`` is halved. A
    wrong ``J`` leaves the first-order remainder falling like ``h`` only.
Adjoint test
    The transposed product must satisfy ``<J v, w> = <v, J^T w>`` to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TaylorResult:
    """Remainders of a Taylor test.

    Attributes
    ----------
    h : ndarray, shape (m,)
        Step sizes, halved each time.
    r0, r1 : ndarray, shape (m,)
        Zeroth- and first-order remainders.
    """

    h: np.ndarray
    r0: np.ndarray
    r1: np.ndarray

    @property
    def orders(self) -> np.ndarray:
        """Observed orders ``log2(r1[k] / r1[k+1])``, shape (m - 1,)."""
        return np.log2(self.r1[:-1] / self.r1[1:])

    def order(self, noise: float = 1e-11) -> float:
        """Median observed order of the first-order remainder.

        Steps whose remainder is within ``noise`` (relative to the zeroth-order
        remainder) of rounding are left out, since there the remainder stops
        falling for reasons unrelated to the derivative.
        """
        keep = self.r1[1:] > noise * np.maximum(self.r0[1:], 1e-300)
        orders = self.orders[keep]
        return float(np.median(orders)) if orders.size else float("nan")

    def passed(self, expected: float = 2.0, tol: float = 0.2) -> bool:
        return abs(self.order() - expected) <= tol


def taylor_test(fun, x, v, Jv, h0: float = 1.0, n: int = 10) -> TaylorResult:
    """Run a Taylor test of ``fun`` at ``x`` in direction ``v``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> ndarray`` (any shape).
    x, v : ndarray
        Point and direction (same shape).
    Jv : ndarray
        Claimed derivative of ``fun`` at ``x`` in direction ``v``.
    h0 : float
        First step; ``n`` steps halving each time.
    """
    f0 = fun(x)
    hs = h0 * 0.5 ** np.arange(n)
    r0, r1 = [], []
    for h in hs:
        fh = fun(x + h * v)
        r0.append(np.linalg.norm(fh - f0))
        r1.append(np.linalg.norm(fh - f0 - h * Jv))
    return TaylorResult(hs, np.array(r0), np.array(r1))


def adjoint_error(Jv, w, v, JTw) -> float:
    """Relative mismatch ``|<J v, w> - <v, J^T w>| / max(|<J v, w>|, |<v, J^T w>|)``."""
    lhs = float(np.vdot(Jv, w))
    rhs = float(np.vdot(v, JTw))
    return abs(lhs - rhs) / max(abs(lhs), abs(rhs), 1e-300)


def check_block(block, rng: np.random.Generator, n_samples: int = 7, h0: float = 0.5):
    """Taylor test (weights and inputs together) and adjoint test for a block.

    Weights are drawn around the block's initial weights with a random
    perturbation so that no structure of the initial guess hides an error.

    Returns
    -------
    taylor : TaylorResult
    adjoint : float
        Relative adjoint mismatch.
    """
    theta = block.init_params(rng) + 0.3 * rng.standard_normal(block.n_params)
    Y = rng.standard_normal((block.n_in, n_samples))
    dtheta = rng.standard_normal(block.n_params)
    dY = rng.standard_normal(Y.shape)
    out, tape = block.forward(theta, Y)
    Jv = block.jvp(tape, dtheta, dY)
    x = np.concatenate([theta, Y.ravel()])
    v = np.concatenate([dtheta, dY.ravel()])

    def fun(z):
        return block.apply(z[: block.n_params], z[block.n_params :].reshape(Y.shape))

    taylor = taylor_test(fun, x, v, Jv, h0=h0)
    W = rng.standard_normal(out.shape)
    gtheta, gY = block.vjp(tape, W)
    adjoint = adjoint_error(Jv, W, v, np.concatenate([gtheta, gY.ravel()]))
    return taylor, adjoint
