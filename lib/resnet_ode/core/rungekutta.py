"""One Runge-Kutta kernel: forward steps, their tangent (linearisation) and their adjoint.

Every place of the package that steps an ODE goes through :class:`RungeKutta`:
the residual block (:class:`resnet_ode.core.blocks.ODEBlock`, with and without a
tape), the toy problem of Chapter 3.4 (:func:`resnet_ode.studies.rkstudy.propagate`),
the perturbation study of Chapter 3.2
(:func:`resnet_ode.studies.stability.tangent_states`) and the general solver
:func:`resnet_ode.core.integrators.solve`. One explicit step of size ``h`` with
tableau ``(A, b)`` is

.. math::

    U_i = Y_j + h \\sum_{m<i} a_{im} k_m,\\qquad k_i = f_e(U_i),\\qquad
    Y_{j+1} = Y_j + h \\sum_i b_i k_i ,

with ``e = j s + i`` the index of the stage time. The right-hand side is a
*field* object (:class:`LayerField` for ``f_e(U) = sigma(K_e U [+ b_e]) [+
b_e]``, :class:`FunctionField` for any ``f(t, y)``).

The tape
--------
A differentiated forward pass records, for every step ``j`` and stage ``i``,
the stage input ``U[j, i]`` (``U[j, 0]`` is the state ``Y_j``) and
``D[j, i] = h sigma'(Z_i)``: the activation's derivative at the stage's
pre-activation, times the step. Storing ``h sigma'`` (not ``sigma'``) lets the
tangent and the adjoint work with ``h k_i`` and the plain coefficients ``a_im``
and ``b_i``, so forward Euler (one stage, ``b = 1``) needs no multiplication by
``h`` at all. Arrays ``U`` and ``D`` have shape ``(n_steps + 1, s) + Y.shape``;
the last slot of ``U`` receives the final state.

Forward Euler
-------------
Forward Euler (one stage, ``b = 1``) runs through the same loops; the
tangent and the no-tape forward pass have a branch for it that skips the
stage buffers (its adjoint needs none: ``bar(h k)`` is ``lambda`` itself). The
branches keep the operation order the cached training runs were computed with:
without a tape, the bias outside the activation is added to the state as
``h b`` after the step (``Y += h sigma(...)``; ``Y += h b``), with a tape as
part of ``k`` (``Y + h (sigma(...) + b)``); the tangent adds ``h db`` to
``dY`` after the stage term. The two orders differ in the last bit only, but
changing either would change the last bits of every trained network, and
training is chaotic in round-off.
"""

from __future__ import annotations

import numpy as np


class LayerField:
    """``f_e(U) = sigma(K_e U + b_e)`` (bias inside) or ``sigma(K_e U) + b_e`` (outside).

    Parameters
    ----------
    K : ndarray, shape (n_eval, ..., w, w) or (..., w, w)
        Weights at every stage time ``e``; with ``per_stage=False`` one
        (stack of) matrices used at every stage (an autonomous field). Extra
        leading axes are batch axes (several weight sets at once).
    bias : ndarray, shape (n_eval,) or (n_eval, B), or None
        The bias at every stage time (a scalar per time, or one per weight
        set of a batch ``B``); ``None`` for no bias.
    activation : resnet_ode.core.activations.Activation
    inside : bool
        Bias inside the activation (``sigma(K U + b)``) or outside.
    per_stage : bool
        Whether ``K`` has a leading axis over the stage times.
    """

    def __init__(self, K, bias, activation, inside: bool = False, per_stage: bool = True):
        self.K, self.bias, self.activation = K, bias, activation
        self.inside, self.per_stage = bool(inside), bool(per_stage)
        self._columns = None if bias is None else _columns(bias)

    def evaluate(self, e, U, out, d=None, scale: float = 1.0, outside_bias: bool = True):
        """Write ``f_e(U)`` into ``out`` and, if ``d`` is given, ``scale * sigma'(Z)`` into ``d``.

        Parameters
        ----------
        e : int
            Stage-time index.
        U : ndarray, shape (..., w, n)
        out, d : ndarray, the shape of ``U``
        scale : float
            Factor of the recorded derivative (the step ``h`` for a tape).
        outside_bias : bool
            Add a bias outside the activation (``False``: the caller adds it).
        """
        np.matmul(self.K[e] if self.per_stage else self.K, U, out=out)
        columns = self._columns
        if columns is not None and self.inside:
            out += columns[e]
        self.activation.apply_(out, d, scale)
        if columns is not None and not self.inside and outside_bias:
            out += columns[e]

    def add_outside_bias(self, e, Y, factor: float, bias=None):
        """``Y += factor * b_e`` if the bias (or the direction ``bias``) lies outside the activation."""
        columns = self._columns if bias is None else _columns(bias)
        if columns is not None and not self.inside:
            Y += factor * columns[e]

    def linearised(self, e, U, d, dU, out, tmp, dK=None, db=None, outside_factor=None):
        """Write ``d * (K_e dU + dK_e U [+ db_e]) [+ outside_factor db_e]`` into ``out``.

        The directional derivative of ``scale * f_e`` at ``U`` (``d`` holds
        ``scale * sigma'``) in the direction ``dU`` of the input and ``(dK,
        db)`` of the weights (weights at the stage times, or ``None``). A bias
        outside the activation is added with ``outside_factor`` when given.
        """
        np.matmul(self.K[e] if self.per_stage else self.K, dU, out=out)
        if dK is not None:
            np.matmul(dK[e], U, out=tmp)
            out += tmp
            if self.inside:
                out += db[e]
        out *= d
        if dK is not None and not self.inside and outside_factor is not None:
            out += outside_factor * db[e]

    def adjoint(self, e, U, d, bark, G, barU, gK, gb, h: float):
        """Pull ``bark`` (the gradient with respect to ``h k_i``) back through stage ``e``.

        Writes the weight gradients of stage time ``e`` into ``gK[e]`` and
        ``gb[e]`` (every stage time has its own weights, visited once), and
        the gradient with respect to the stage input into ``barU``. ``G`` is
        work space of the state's shape.
        """
        np.multiply(d, bark, out=G)
        gb[e] = G.sum() if self.inside else h * bark.sum()
        np.matmul(G, U.T, out=gK[e])
        np.matmul(self.K[e].T, G, out=barU)


def _columns(bias):
    """``bias`` indexable by stage time: scalars, or (B, 1, 1) columns for a batch of weight sets."""
    return bias if bias.ndim == 1 else bias[:, :, None, None]


class FunctionField:
    """``f(t_e, y)`` for any callable ``f(t, y) -> ndarray`` (no tape, no derivatives).

    Parameters
    ----------
    f : callable
    times : callable
        ``times(e) -> t_e``, the time of stage ``e``.
    """

    def __init__(self, f, times):
        self.f, self.times = f, times

    def evaluate(self, e, U, out, d=None, scale: float = 1.0, outside_bias: bool = True):
        np.copyto(out, self.f(self.times(e), U))

    def add_outside_bias(self, e, Y, factor, bias=None):
        pass


class RungeKutta:
    """Explicit Runge-Kutta stepping with a fixed step: forward, tangent and adjoint.

    Parameters
    ----------
    A : ndarray, shape (s, s)
        Strictly lower-triangular stage matrix (for the step ``h``; the
        thesis's step-dependent scheme passes its ``coefficients(h)``).
    b : ndarray, shape (s,)
        Weights.
    h : float
        Step.
    n_steps : int
        Number of steps.
    """

    def __init__(self, A, b, h: float, n_steps: int):
        self.A, self.b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)
        self.h, self.n_steps = float(h), int(n_steps)
        self.s = self.b.size
        self.is_euler = self.s == 1 and self.A[0, 0] == 0.0 and self.b[0] == 1.0
        # Python floats: scalar work in the loops stays out of numpy (same values).
        self._a = self.A.tolist()
        self._w = self.b.tolist()
        # Nonzero couplings: stage i reads k_m for m in earlier[i]; k_i feeds stages later[i].
        self._earlier = [[m for m in range(i) if self.A[i, m] != 0.0] for i in range(self.s)]
        self._later = [[m for m in range(i + 1, self.s) if self.A[m, i] != 0.0] for i in range(self.s)]

    @classmethod
    def of(cls, method, h: float, n_steps: int) -> "RungeKutta":
        """The kernel of a method of :mod:`resnet_ode.core.integrators` for step ``h``."""
        A, b, _ = method.coefficients(h)
        return cls(A, b, h, n_steps)

    def tape_shape(self, state_shape) -> tuple:
        """Shape of the tape arrays ``U`` and ``D`` for states of ``state_shape``."""
        return (self.n_steps + 1, self.s) + tuple(state_shape)

    # -- forward ---------------------------------------------------------------
    def forward(self, field, Y, U=None, D=None, states=None):
        """Final state after ``n_steps`` steps from ``Y`` (not modified).

        Parameters
        ----------
        field : LayerField or FunctionField
        Y : ndarray, shape (..., w, n)
        U, D : ndarray, shape :meth:`tape_shape`, optional
            The tape to fill (both or neither); see the module docstring.
        states : ndarray, shape (n_steps + 1,) + Y.shape, optional
            Filled with every state ``Y_0 .. Y_N``.

        Returns
        -------
        ndarray, shape of ``Y``
            A new array (with a tape: ``U[-1, 0]``).
        """
        h, A, b, s = self.h, self._a, self._w, self.s
        if U is not None:
            np.copyto(U[0, 0], Y)
            Y = U[0, 0]
        else:
            Y = np.array(Y, dtype=float, copy=True)
        if states is not None:
            states[0] = Y
        if self.is_euler and U is None:
            k = np.empty_like(Y)
            for j in range(self.n_steps):
                field.evaluate(j, Y, k, outside_bias=False)
                k *= h
                Y += k
                field.add_outside_bias(j, Y, h)
                if states is not None:
                    states[j + 1] = Y
            return Y
        ks = [np.empty_like(Y) for _ in range(s)]
        work = np.empty_like(Y)
        tmp = np.empty_like(Y)
        for j in range(self.n_steps):
            for i in range(s):
                coupled = self._earlier[i]
                if U is not None:
                    Ui = U[j, i]
                    if i > 0:
                        np.copyto(Ui, Y)
                elif coupled:
                    Ui = work
                    np.copyto(Ui, Y)
                else:
                    Ui = Y
                for m in coupled:
                    np.multiply(ks[m], h * A[i][m], out=tmp)
                    Ui += tmp
                field.evaluate(j * s + i, Ui, ks[i], None if D is None else D[j, i], h)
            if U is not None:
                nxt = U[j + 1, 0]
                first = True
                for i in range(s):
                    if b[i] != 0.0:
                        np.multiply(ks[i], h * b[i], out=tmp)
                        if first:
                            np.add(Y, tmp, out=nxt)
                            first = False
                        else:
                            nxt += tmp
                Y = nxt
            else:
                for i in range(s):
                    if b[i] != 0.0:
                        np.multiply(ks[i], h * b[i], out=tmp)
                        Y += tmp
            if states is not None:
                states[j + 1] = Y
        return Y

    # -- tangent -----------------------------------------------------------------
    def tangent(self, field, U, D, dY=None, dK=None, db=None, states=None):
        """Directional derivative of the final state along ``dY`` (input) and ``(dK, db)`` (weights).

        ``dU_i = dY_j + sum_m a_im (h dk_m)``, ``h dk_i = D_i (K_e dU_i + dK_e
        U_i [+ db_e]) [+ h db_e]``, ``dY_{j+1} = dY_j + sum_i b_i (h dk_i)``.

        Parameters
        ----------
        field : LayerField
        U, D : ndarray
            The tape of :meth:`forward` (``U[j, i]``, ``D[j, i]`` for every step).
        dY : ndarray, shape (w, n), or None
            Direction of the input (``None``: zero).
        dK, db : ndarray, shapes (n_eval, w, w) and (n_eval,), or None
            Direction of the weights at the stage times.
        states : ndarray, shape (n_steps + 1, w, n), optional
            Filled with the tangent at every state.

        Returns
        -------
        ndarray, shape (w, n)
        """
        h, A, b, s = self.h, self._a, self._w, self.s
        shape = U.shape[2:]
        dY = np.zeros(shape) if dY is None else np.array(dY, dtype=float, copy=True)
        if states is not None:
            states[0] = dY
        tmp = np.empty_like(dY)
        if self.is_euler:
            t1 = np.empty_like(dY)
            for j in range(self.n_steps):
                field.linearised(j, U[j, 0], D[j, 0], dY, t1, tmp, dK, db)
                dY += t1
                if dK is not None:
                    field.add_outside_bias(j, dY, h, db)
                if states is not None:
                    states[j + 1] = dY
            return dY
        dks = [np.empty_like(dY) for _ in range(s)]
        dU = np.empty_like(dY)
        for j in range(self.n_steps):
            for i in range(s):
                e = j * s + i
                np.copyto(dU, dY)
                for m in self._earlier[i]:
                    np.multiply(dks[m], A[i][m], out=tmp)
                    dU += tmp
                field.linearised(e, U[j, i], D[j, i], dU, dks[i], tmp, dK, db, outside_factor=h)
            for i in range(s):
                if b[i] != 0.0:
                    np.multiply(dks[i], b[i], out=tmp)
                    dY += tmp
            if states is not None:
                states[j + 1] = dY
        return dY

    # -- adjoint -----------------------------------------------------------------
    def adjoint(self, field, U, D, W, n_eval: int):
        """Gradients of ``<W, Y_N>`` with respect to the weights at the stage times and to ``Y_0``.

        ``bar(h k_i) = b_i lambda + sum_{m>i} a_mi bar U_m``; ``bar U_i =
        K_e^T (D_i bar(h k_i))``; ``lambda_j = lambda_{j+1} + sum_i bar U_i``.
        With one stage and ``b = 1`` (forward Euler) ``bar(h k)`` is
        ``lambda`` itself: no copy.

        Parameters
        ----------
        field : LayerField
        U, D : ndarray
            The tape of :meth:`forward`.
        W : ndarray, shape (w, n)
            Gradient with respect to the final state.
        n_eval : int
            Number of stage times (``n_steps * s``).

        Returns
        -------
        gK : ndarray, shape (n_eval, w, w)
        gb : ndarray, shape (n_eval,)
        lam : ndarray, shape (w, n)
            Gradient with respect to the initial state.
        """
        h, A, b, s = self.h, self._a, self._w, self.s
        w = U.shape[2]
        gK = np.zeros((n_eval, w, w))
        gb = np.zeros(n_eval)
        lam = np.array(W, dtype=float, copy=True)
        barU = [np.empty_like(lam) for _ in range(s)]
        used = [False] * s
        bark = np.empty_like(lam)
        G = np.empty_like(lam)
        tmp = np.empty_like(lam)
        for j in range(self.n_steps - 1, -1, -1):
            for i in range(s - 1, -1, -1):
                later = self._later[i]
                if later:
                    later = [m for m in later if used[m]]
                if b[i] == 1.0 and not later:
                    src = lam
                else:
                    src = None
                    if b[i] != 0.0:
                        np.multiply(lam, b[i], out=bark)
                        src = bark
                    for m in later:
                        if src is None:
                            np.multiply(barU[m], A[m][i], out=bark)
                            src = bark
                        else:
                            np.multiply(barU[m], A[m][i], out=tmp)
                            bark += tmp
                used[i] = src is not None
                if src is not None:
                    field.adjoint(j * s + i, U[j, i], D[j, i], src, G, barU[i], gK, gb, h)
            for i in range(s):
                if used[i]:
                    lam += barU[i]
        return gK, gb, lam
