"""Explicit Runge-Kutta methods as validated data.

A method is declared once as a Butcher tableau ``(A, b, c)``; the constructor
checks that it is explicit (``A`` strictly lower triangular), that the row sums
of ``A`` equal the nodes ``c``, and that the order conditions hold up to the
declared order (all rooted trees up to order 4). One step of size ``h`` for
``dy/dt = f(t, y)`` is

.. math::

    U_i = y_n + h \\sum_{j<i} a_{ij} k_j,\\qquad k_i = f(t_n + c_i h, U_i),\\qquad
    y_{n+1} = y_n + h \\sum_i b_i k_i .

The thesis's "RK4" code is not a Runge-Kutta method of this kind: it applies the
step size twice to stages 2-4, which amounts to a tableau that depends on
``h``. It is kept, named as such, in :data:`RK4_THESIS_AS_WRITTEN`, so that the
book can compare it with the real method.

References
----------
.. [1] E. Hairer, S. P. Norsett, G. Wanner, *Solving Ordinary Differential
   Equations I*, 2nd ed., Springer, 1993, Section II.1-II.2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from resnet_ode.core.rungekutta import FunctionField, RungeKutta
from resnet_ode.util.validate import check_choice

_TOL = 1e-12


def _order_conditions(A, b, c):
    """Residuals of the order conditions, grouped by order (1 to 4)."""
    e = np.ones_like(b)
    Ac = A @ c
    return {
        1: [b @ e - 1.0],
        2: [b @ c - 1.0 / 2],
        3: [b @ c**2 - 1.0 / 3, b @ Ac - 1.0 / 6],
        4: [
            b @ c**3 - 1.0 / 4,
            b @ (c * Ac) - 1.0 / 8,
            b @ (A @ c**2) - 1.0 / 12,
            b @ (A @ Ac) - 1.0 / 24,
        ],
    }


@dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge-Kutta method, checked on construction.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"rk4"``.
    A : array_like, shape (s, s)
        Strictly lower-triangular stage matrix.
    b : array_like, shape (s,)
        Weights.
    c : array_like, shape (s,)
        Nodes; must equal the row sums of ``A``.
    order : int
        Declared classical order (1 to 4 are verified).
    description : str
        One-line description for tables and figure legends.

    Raises
    ------
    ValueError
        If the tableau is not explicit, its nodes are not the row sums of
        ``A``, or an order condition up to ``order`` fails.
    """

    name: str
    A: np.ndarray
    b: np.ndarray
    c: np.ndarray
    order: int
    description: str = ""
    step_dependent: bool = field(default=False, init=False)

    def __post_init__(self):
        A = np.array(self.A, dtype=float)
        b = np.array(self.b, dtype=float)
        c = np.array(self.c, dtype=float)
        s = b.size
        if A.shape != (s, s) or c.shape != (s,):
            raise ValueError(f"{self.name}: A must be (s, s) and c (s,) with s = len(b) = {s}")
        if np.any(np.abs(np.triu(A)) > 0):
            raise ValueError(f"{self.name}: A must be strictly lower triangular (explicit method)")
        if np.max(np.abs(A.sum(axis=1) - c)) > _TOL:
            raise ValueError(f"{self.name}: row sums of A must equal c")
        if not 1 <= self.order <= 4:
            raise ValueError(f"{self.name}: declared order must be 1 to 4, got {self.order}")
        residuals = _order_conditions(A, b, c)
        for p in range(1, self.order + 1):
            worst = max(abs(r) for r in residuals[p])
            if worst > _TOL:
                raise ValueError(f"{self.name}: an order-{p} condition fails (residual {worst:.2e})")
        for arr in (A, b, c):
            arr.setflags(write=False)
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "c", c)

    @property
    def n_stages(self) -> int:
        """Number of stages ``s`` (function evaluations per step)."""
        return self.b.size

    def coefficients(self, h: float):
        """Return ``(A, b, c)`` for a step of size ``h`` (independent of ``h`` here)."""
        return self.A, self.b, self.c

    def stability_polynomial(self, h: float | None = None) -> np.ndarray:
        """Coefficients of ``R(z) = 1 + sum_k z^k b^T A^(k-1) 1``, lowest degree first.

        For the test equation ``y' = lambda y`` one step multiplies ``y`` by
        ``R(h lambda)``; the method is stable where ``|R(z)| <= 1``.
        """
        A, b, _ = self.coefficients(h)
        coeffs = [1.0]
        v = np.ones_like(b)
        for _ in range(b.size):
            coeffs.append(float(b @ v))
            v = A @ v
        return np.array(coeffs)

    def stability_function(self, z, h: float | None = None):
        """Evaluate ``R(z)`` (complex array in, complex array out)."""
        return np.polynomial.polynomial.polyval(np.asarray(z, dtype=complex), self.stability_polynomial(h))


@dataclass(frozen=True)
class StepDependentRK:
    """A Runge-Kutta-like scheme whose coefficients depend on the step size.

    Used only for the thesis's RK4 code as written; it has no classical order.
    ``coefficients(h)`` returns the ``(A, b, c)`` that the written code applies
    with step ``h``.
    """

    name: str
    make: object  # callable h -> (A, b, c)
    n_stages: int
    description: str = ""
    order: int | None = None
    step_dependent: bool = field(default=True, init=False)

    def coefficients(self, h: float):
        if h is None:
            raise ValueError(f"{self.name}: the coefficients depend on the step size h; pass h")
        return self.make(float(h))

    stability_polynomial = ButcherTableau.stability_polynomial
    stability_function = ButcherTableau.stability_function


EULER = ButcherTableau("euler", A=[[0.0]], b=[1.0], c=[0.0], order=1, description="forward Euler")

MIDPOINT = ButcherTableau(
    "midpoint", A=[[0, 0], [0.5, 0]], b=[0, 1], c=[0, 0.5], order=2, description="explicit midpoint rule"
)

HEUN = ButcherTableau("heun", A=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 1], order=2, description="Heun's method")

RK4 = ButcherTableau(
    "rk4",
    A=[[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]],
    b=[1 / 6, 1 / 3, 1 / 3, 1 / 6],
    c=[0, 0.5, 0.5, 1],
    order=4,
    description="classical Runge-Kutta (RK4)",
)

RK4_38 = ButcherTableau(
    "rk4_38",
    A=[[0, 0, 0, 0], [1 / 3, 0, 0, 0], [-1 / 3, 1, 0, 0], [1, -1, 1, 0]],
    b=[1 / 8, 3 / 8, 3 / 8, 1 / 8],
    c=[0, 1 / 3, 2 / 3, 1],
    order=4,
    description="Kutta's 3/8 rule (torchdiffeq's 'rk4')",
)


def _thesis_rk4(h: float):
    # The thesis code: R1 = f(Y); R2 = (h/2) f(Y + h/2 R1); R3 = (h/2) f(Y + h/2 R2);
    # R4 = h f(Y + h R3); Y+ = Y + h/6 (R1 + 2 R2 + 2 R3 + R4). Written with
    # k_i = f(U_i) this is U2 = Y + h (1/2) k1, U3 = Y + h (h/4) k2,
    # U4 = Y + h (h/2) k3 and Y+ = Y + h (k1/6 + h k2/6 + h k3/6 + h k4/6).
    A = np.zeros((4, 4))
    A[1, 0] = 0.5
    A[2, 1] = h / 4.0
    A[3, 2] = h / 2.0
    b = np.array([1.0, h, h, h]) / 6.0
    c = np.array([0.0, 0.5, 0.5, 1.0])  # stage times the code intends
    return A, b, c


RK4_THESIS_AS_WRITTEN = StepDependentRK(
    "rk4_thesis_as_written",
    make=_thesis_rk4,
    n_stages=4,
    description="the thesis's RK4 code as written (h applied twice in stages 2-4)",
)

#: Every method by name.
METHODS = {
    m.name: m for m in (EULER, MIDPOINT, HEUN, RK4, RK4_38, RK4_THESIS_AS_WRITTEN)
}


def get_method(name: str):
    """Look a method up by name; unknown names raise a ``ValueError`` listing the allowed ones."""
    return METHODS[check_choice("integrator", name, METHODS)]


def as_method(method):
    """A method of :data:`METHODS` given by name, or ``method`` itself if it already is one."""
    return get_method(method) if isinstance(method, str) else method


def solve(method, f, y0, T: float, n_steps: int, t0: float = 0.0, trajectory: bool = False):
    """Integrate ``dy/dt = f(t, y)`` from ``t0`` to ``t0 + T`` with ``n_steps`` equal steps.

    Parameters
    ----------
    method : ButcherTableau or StepDependentRK or str
    f : callable
        ``f(t, y) -> ndarray`` of the shape of ``y``.
    y0 : array_like
        Initial value (any shape).
    T : float
        Length of the time interval.
    n_steps : int
        Number of steps; the step is ``h = T / n_steps``.
    trajectory : bool
        Return all ``n_steps + 1`` states instead of the last one.

    Returns
    -------
    ndarray
        ``y(t0 + T)`` (shape of ``y0``), or shape (n_steps + 1,) + shape of ``y0``.
    """
    from resnet_ode.util.validate import check_float, check_int

    method = as_method(method)
    T = check_float("T", T, min_value=0.0, strict_min=True)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    h = T / n_steps
    _, _, c = method.coefficients(h)
    s = c.size
    kernel = RungeKutta.of(method, h, n_steps)
    y0 = np.asarray(y0, dtype=float)
    field = FunctionField(f, lambda e: t0 + (e // s) * h + c[e % s] * h)
    states = np.empty((n_steps + 1,) + y0.shape) if trajectory else None
    y = kernel.forward(field, y0, states=states)
    return states if trajectory else y
