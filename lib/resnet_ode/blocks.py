"""Network blocks with a forward pass and exact Jacobian products.

Every block offers the same small interface (after Meganet's):

``n_params``
    Number of weights.
``init_params(rng)``
    Initial weights, shape (n_params,).
``forward(theta, Y) -> (Y_out, tape)``
    Output for inputs ``Y`` of shape (n_in, n) (samples as columns), and a tape
    holding what the derivatives need.
``jvp(tape, dtheta, dY) -> dY_out``
    Directional derivative ``J_theta dtheta + J_Y dY`` of the output (either
    direction may be ``None`` for zero).
``vjp(tape, W) -> (dtheta, dY)``
    Transposed products ``J_theta^T W`` and ``J_Y^T W`` for ``W`` of the output's
    shape.

One generic Taylor test and one adjoint test (``tests/test_derivatives.py``)
run over every block, including compositions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import weakref
from dataclasses import dataclass

import numpy as np

from ._validate import check_choice, check_float, check_int
from .activations import get_activation
from .integrators import get_method
from .timegrid import interpolate, interpolate_adjoint, interpolation_matrix, per_step_times, uniform_times


class Block(ABC):
    """Interface shared by all blocks (see the module docstring)."""

    n_in: int
    n_out: int
    n_params: int

    @abstractmethod
    def init_params(self, rng: np.random.Generator) -> np.ndarray: ...

    @abstractmethod
    def forward(self, theta: np.ndarray, Y: np.ndarray): ...

    @abstractmethod
    def jvp(self, tape, dtheta: np.ndarray | None = None, dY: np.ndarray | None = None) -> np.ndarray: ...

    @abstractmethod
    def vjp(self, tape, W: np.ndarray): ...

    def apply(self, theta: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Forward pass without keeping a tape for derivatives."""
        return self.forward(theta, Y)[0]

    def _check_theta(self, theta):
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_params,):
            raise ValueError(f"{type(self).__name__}: theta must have shape ({self.n_params},), got {theta.shape}")
        return theta


# --------------------------------------------------------------------------
# Opening layer and classifier
# --------------------------------------------------------------------------


class OpeningLayer(Block):
    """``Y = sigma(K0 X)``: lifts ``n_in`` input features to ``width`` channels (no bias).

    Parameters
    ----------
    n_in : int
        Input features (2 for Peaks).
    width : int
        Channels ``nc``.
    activation : str
        Name in :data:`resnet_ode.activations.ACTIVATIONS`.
    init_scale : float
        Initial weights are ``init_scale * U[0, 1)`` as in the 2018 reference.

    Weights: ``K0`` of shape (width, n_in), stored row-major.
    """

    def __init__(self, n_in: int = 2, width: int = 8, activation: str = "tanh", init_scale: float = 0.1):
        self.n_in = check_int("n_in", n_in, min_value=1)
        self.width = self.n_out = check_int("width", width, min_value=1)
        self.activation = get_activation(activation)
        self.init_scale = check_float("init_scale", init_scale, min_value=0.0)
        self.n_params = self.width * self.n_in

    def init_params(self, rng):
        return self.init_scale * rng.uniform(size=self.n_params)

    def forward(self, theta, Y):
        K = self._check_theta(theta).reshape(self.width, self.n_in)
        A, D = self.activation.evaluate(K @ Y)
        return A, (K, Y, D)

    def jvp(self, tape, dtheta=None, dY=None):
        K, Y, D = tape
        dZ = np.zeros_like(D)
        if dtheta is not None:
            dZ += dtheta.reshape(K.shape) @ Y
        if dY is not None:
            dZ += K @ dY
        return D * dZ

    def vjp(self, tape, W):
        K, Y, D = tape
        G = D * W
        return (G @ Y.T).ravel(), K.T @ G


class AffineClassifier(Block):
    """Class scores ``S = W [Y; 1]`` (bias in the last column of ``W``).

    Weights: ``W`` of shape (n_classes, n_in + 1), stored row-major. Initial
    weights are zero.
    """

    def __init__(self, n_in: int = 8, n_classes: int = 5):
        self.n_in = check_int("n_in", n_in, min_value=1)
        self.n_out = self.n_classes = check_int("n_classes", n_classes, min_value=2)
        self.n_params = self.n_classes * (self.n_in + 1)

    def init_params(self, rng):
        return np.zeros(self.n_params)

    def matrix(self, theta):
        """``W`` as an array of shape (n_classes, n_in + 1)."""
        return self._check_theta(theta).reshape(self.n_classes, self.n_in + 1)

    def forward(self, theta, Y):
        W = self.matrix(theta)
        return W[:, :-1] @ Y + W[:, -1:], (W, Y)

    def jvp(self, tape, dtheta=None, dY=None):
        W, Y = tape
        out = np.zeros((self.n_classes, Y.shape[1]))
        if dtheta is not None:
            dW = dtheta.reshape(W.shape)
            out += dW[:, :-1] @ Y + dW[:, -1:]
        if dY is not None:
            out += W[:, :-1] @ dY
        return out

    def vjp(self, tape, G):
        W, Y = tape
        dW = np.empty_like(W)
        dW[:, :-1] = G @ Y.T
        dW[:, -1] = G.sum(axis=1)
        return dW.ravel(), W[:, :-1].T @ G


# --------------------------------------------------------------------------
# The residual ODE block
# --------------------------------------------------------------------------


@dataclass
class ODETape:
    """What the ODE block's derivatives need.

    Attributes
    ----------
    K : ndarray, shape (n_eval, width, width)
        Weights at every stage time.
    bias : ndarray, shape (n_eval,)
        Bias at every stage time.
    U : ndarray, shape (n_steps, n_stages, width, n)
        Stage inputs; ``U[j, 0]`` is the state ``Y_j``.
    D : ndarray, shape (n_steps, n_stages, width, n)
        Activation derivatives at every stage (times ``h`` for forward Euler,
        see ``ODEBlock``'s fast path).
    Y_out : ndarray, shape (width, n)
        Final state.
    """

    K: np.ndarray
    bias: np.ndarray
    U: np.ndarray
    D: np.ndarray
    Y_out: np.ndarray

    def states(self) -> np.ndarray:
        """All states ``Y_0, ..., Y_N``, shape (n_steps + 1, width, n)."""
        return np.concatenate([self.U[:, 0], self.Y_out[None]], axis=0)


class ODEBlock(Block):
    """Residual dynamics ``dY/dt = f(t, Y)`` integrated by an explicit Runge-Kutta method.

    ``f(t, Y) = sigma(K(t) Y) + b(t)`` (bias *outside* the activation, as in the
    thesis code and the reference) or ``sigma(K(t) Y + b(t))`` (``bias="inside"``,
    the thesis's equation 2.11). ``K(t)`` is ``width`` x ``width`` and ``b(t)`` one
    scalar per time.

    Parameters
    ----------
    width : int
        Channels ``nc``.
    T : float
        Final time, > 0.
    n_states : int
        ``nY``: state times ``t_j = j T / (nY - 1)``, ``j = 0 .. nY-1``, so
        ``nY - 1`` steps of size ``h = T / (nY - 1)``.
    n_controls : int or None
        ``nt``: control times ``k T / (nt - 1)`` on which the weights live,
        piecewise-linearly interpolated to every stage time. Ignored with
        ``control="per_step"``.
    control : {"interpolated", "per_step"}
        ``"per_step"`` is the standard ResNet: one weight set per step (layer),
        placed at the step's left end point, so ``nt = nY - 1``. Forward Euler
        uses exactly that set in its step; the later stages of a multi-stage
        method, at times inside the step, see the linear interpolation towards
        the next layer's set (and the last layer's set after the last one).
    integrator : str
        Method name in :data:`resnet_ode.integrators.METHODS`.
    activation : str
        Name in :data:`resnet_ode.activations.ACTIVATIONS`.
    bias : {"outside", "inside"}
    init_scale : float
        Initial ``K`` is ``init_scale * U[0, 1)``, one draw repeated at every
        control time; the bias starts at zero (the 2018 reference).

    Notes
    -----
    Weights are stored as an array of shape (nt, width*width + 1): row ``k``
    holds ``K_k`` row-major and then ``b_k``.
    """

    def __init__(
        self,
        width: int = 8,
        T: float = 20.0,
        n_states: int = 32,
        n_controls: int | None = 16,
        control: str = "interpolated",
        integrator: str = "euler",
        activation: str = "tanh",
        bias: str = "outside",
        init_scale: float = 0.1,
    ):
        self.width = self.n_in = self.n_out = check_int("width", width, min_value=1)
        self.T = check_float("T", T, min_value=0.0, strict_min=True)
        self.n_states = check_int("nY", n_states, min_value=2)
        self.control = check_choice("control", control, ("interpolated", "per_step"))
        if self.control == "interpolated":
            self.n_controls = check_int("nt", n_controls, min_value=2)
            self.control_times = uniform_times(self.T, self.n_controls)
        else:
            self.n_controls = self.n_states - 1
            self.control_times = per_step_times(self.T, self.n_controls)
        self.method = get_method(integrator)
        self.activation = get_activation(activation)
        self.bias = check_choice("bias", bias, ("outside", "inside"))
        self.init_scale = check_float("init_scale", init_scale, min_value=0.0)

        self.state_times = uniform_times(self.T, self.n_states)
        self.n_steps = self.n_states - 1
        self.h = self.T / self.n_steps
        self.A, self.b, self.c = (np.asarray(a, dtype=float) for a in self.method.coefficients(self.h))
        self.n_stages = self.b.size
        self.eval_times = (self.state_times[:-1, None] + self.c[None, :] * self.h).ravel()
        self.P = interpolation_matrix(self.control_times, self.eval_times)
        self.n_per_control = self.width * self.width + 1
        self.n_params = self.n_controls * self.n_per_control

    # -- tape memory -----------------------------------------------------------
    # A tape at nY = 256 over 5000 samples holds about 160 MB. Fresh arrays of
    # that size come from the operating system page by page, zero-filled, on
    # every forward pass, which costs as much as the arithmetic. Arrays of a
    # tape that has been garbage collected are therefore kept for the next one.

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_spare", None)
        return state

    def _tape_arrays(self, shape):
        spare = self.__dict__.setdefault("_spare", [])
        while spare:
            U, D = spare.pop()
            if U.shape == shape:
                return U, D
        return np.empty(shape), np.empty(shape)

    def _recycle_when_dead(self, tape, U, D):
        spare = self.__dict__.setdefault("_spare", [])
        weakref.finalize(tape, _keep_spare, spare, U, D)

    # -- parameter layout ----------------------------------------------------
    def unpack(self, theta):
        """Split weights into ``K`` (nt, width, width) and ``b`` (nt,) (views)."""
        th = np.asarray(theta, dtype=float).reshape(self.n_controls, self.n_per_control)
        return th[:, :-1].reshape(self.n_controls, self.width, self.width), th[:, -1]

    def pack(self, K, b):
        """Inverse of :meth:`unpack`, shape (n_params,)."""
        return np.concatenate([K.reshape(self.n_controls, -1), b[:, None]], axis=1).ravel()

    def init_params(self, rng):
        K = self.init_scale * rng.uniform(size=(self.width, self.width))
        return self.pack(np.broadcast_to(K, (self.n_controls, self.width, self.width)), np.zeros(self.n_controls))

    def weights_at_stages(self, theta):
        """Interpolated ``K`` (n_eval, width, width) and ``b`` (n_eval,) at every stage time."""
        K, b = self.unpack(self._check_theta(theta))
        return interpolate(self.P, K), self.P @ b

    # -- forward Euler fast path ----------------------------------------------
    # One stage, so the tape stores h * sigma'(Z) and every step is a handful of
    # numpy calls writing into preallocated arrays (no temporaries).

    def _forward_euler(self, Ke, be, Y):
        h, inside = self.h, self.bias == "inside"
        tanh = self.activation.name == "tanh"
        n = Y.shape[1]
        U, D = self._tape_arrays((self.n_steps + 1, 1, self.width, n))
        A = np.empty((self.width, n))
        U[0, 0] = Y
        for j in range(self.n_steps):
            Uj, Dj = U[j, 0], D[j, 0]
            np.matmul(Ke[j], Uj, out=A)
            if inside:
                A += be[j]
            if tanh:
                np.tanh(A, out=A)
                np.multiply(A, A, out=Dj)
                Dj *= -h
                Dj += h
            else:
                act, der = self.activation.evaluate(A)
                np.copyto(A, act)
                np.multiply(der, h, out=Dj)
            if not inside:
                A += be[j]
            A *= h
            np.add(Uj, A, out=U[j + 1, 0])
        Y_out = U[-1, 0]
        tape = ODETape(Ke, be, U[:-1], D[:-1], Y_out.copy())
        self._recycle_when_dead(tape, U, D)
        return tape.Y_out, tape

    def _jvp_euler(self, tape, dtheta, dY):
        h, inside = self.h, self.bias == "inside"
        n = tape.Y_out.shape[1]
        dY = np.zeros((self.width, n)) if dY is None else np.array(dY, dtype=float, copy=True)
        t1 = np.empty_like(dY)
        t2 = np.empty_like(dY)
        if dtheta is not None:
            dK, db = self.unpack(dtheta)
            dKe, dbe = interpolate(self.P, dK), self.P @ db
        for j in range(self.n_steps):
            np.matmul(tape.K[j], dY, out=t1)
            if dtheta is not None:
                np.matmul(dKe[j], tape.U[j, 0], out=t2)
                t1 += t2
                if inside:
                    t1 += dbe[j]
            t1 *= tape.D[j, 0]
            dY += t1
            if dtheta is not None and not inside:
                dY += h * dbe[j]
        return dY

    def _vjp_euler(self, tape, W):
        h, inside = self.h, self.bias == "inside"
        gK = np.empty_like(tape.K)
        gb = np.empty_like(tape.bias)
        lam = np.array(W, dtype=float, copy=True)
        G = np.empty_like(lam)
        t = np.empty_like(lam)
        for j in range(self.n_steps - 1, -1, -1):
            np.multiply(tape.D[j, 0], lam, out=G)
            gb[j] = G.sum() if inside else h * lam.sum()
            np.matmul(G, tape.U[j, 0].T, out=gK[j])
            np.matmul(tape.K[j].T, G, out=t)
            lam += t
        return self.pack(interpolate_adjoint(self.P, gK), self.P.T @ gb), lam

    def apply(self, theta, Y):
        """Final state without a tape (no storage of intermediate states)."""
        Ke, be = self.weights_at_stages(theta)
        return self.propagate(Ke, be, Y)

    def propagate(self, Ke, be, Y):
        """Final state from the weights at the stage times, without a tape.

        Parameters
        ----------
        Ke : ndarray, shape (n_eval, width, width) or (n_eval, B, width, width)
            ``K`` at every stage time (see :meth:`weights_at_stages`); with a
            batch axis, ``B`` weight sets are propagated at once (Chapter 3.3
            evaluates loss landscapes this way).
        be : ndarray, shape (n_eval,) or (n_eval, B)
            The bias at every stage time.
        Y : ndarray, shape (width, n) or (B, width, n)
            Initial states.

        Returns
        -------
        ndarray, the shape of ``Y``
        """
        if not self._is_euler:
            return self._rk_steps(Ke, be, Y)
        h, inside = self.h, self.bias == "inside"
        tanh = self.activation.name == "tanh"
        Y = np.array(Y, dtype=float, copy=True)
        A = np.empty_like(Y)
        for j in range(self.n_steps):
            np.matmul(Ke[j], Y, out=A)
            if inside:
                A += _bias(be, j)
            if tanh:
                np.tanh(A, out=A)
            else:
                np.copyto(A, self.activation(A))
            A *= h
            Y += A
            if not inside:
                Y += h * _bias(be, j)
        return Y

    # -- forward -------------------------------------------------------------
    def forward(self, theta, Y):
        Ke, be = self.weights_at_stages(theta)
        if self._is_euler:
            return self._forward_euler(Ke, be, np.asarray(Y, dtype=float))
        U, D = self._tape_arrays((self.n_steps, self.n_stages) + Y.shape)
        Y = self._rk_steps(Ke, be, Y, U, D)
        tape = ODETape(Ke, be, U, D, Y)
        self._recycle_when_dead(tape, U, D)
        return Y, tape

    def _rk_steps(self, Ke, be, Y, U=None, D=None):
        """Explicit Runge-Kutta steps; stores the stage inputs in ``U`` and sigma' in ``D`` when given.

        All work arrays are allocated once, outside the loop over steps.
        Shapes as in :meth:`propagate` (a batch axis only without ``U`` and ``D``).
        """
        h, A, b, s = self.h, self.A, self.b, self.n_stages
        inside = self.bias == "inside"
        tanh = self.activation.name == "tanh"
        Y = np.array(Y, dtype=float, copy=True)
        ks = [np.empty_like(Y) for _ in range(s)]
        work = np.empty_like(Y)
        tmp = np.empty_like(Y)
        for j in range(self.n_steps):
            for i in range(s):
                e = j * s + i
                Ui = work if U is None else U[j, i]
                np.copyto(Ui, Y)
                for m in range(i):
                    if A[i, m] != 0.0:
                        np.multiply(ks[m], h * A[i, m], out=tmp)
                        Ui += tmp
                k = ks[i]
                np.matmul(Ke[e], Ui, out=k)
                if inside:
                    k += _bias(be, e)
                if tanh:
                    np.tanh(k, out=k)
                    if D is not None:
                        np.multiply(k, k, out=D[j, i])
                        np.subtract(1.0, D[j, i], out=D[j, i])
                else:
                    act, der = self.activation.evaluate(k)
                    np.copyto(k, act)
                    if D is not None:
                        np.copyto(D[j, i], der)
                if not inside:
                    k += _bias(be, e)
            for i in range(s):
                if b[i] != 0.0:
                    np.multiply(ks[i], h * b[i], out=tmp)
                    Y += tmp
        return Y

    # -- derivatives ---------------------------------------------------------
    @property
    def _is_euler(self):
        return self.n_stages == 1 and self.A[0, 0] == 0.0 and self.b[0] == 1.0

    def jvp(self, tape, dtheta=None, dY=None):
        if self._is_euler:
            return self._jvp_euler(tape, dtheta, dY)
        h, A, b, s = self.h, self.A, self.b, self.n_stages
        inside = self.bias == "inside"
        n = tape.Y_out.shape[1]
        if dtheta is not None:
            dK, db = self.unpack(dtheta)
            dKe, dbe = interpolate(self.P, dK), self.P @ db
        dY = np.zeros((self.width, n)) if dY is None else np.array(dY, dtype=float, copy=True)
        dks = [np.empty_like(dY) for _ in range(s)]
        dU = np.empty_like(dY)
        tmp = np.empty_like(dY)
        for j in range(self.n_steps):
            for i in range(s):
                e = j * s + i
                np.copyto(dU, dY)
                for m in range(i):
                    if A[i, m] != 0.0:
                        np.multiply(dks[m], h * A[i, m], out=tmp)
                        dU += tmp
                dk = dks[i]
                np.matmul(tape.K[e], dU, out=dk)
                if dtheta is not None:
                    np.matmul(dKe[e], tape.U[j, i], out=tmp)
                    dk += tmp
                    if inside:
                        dk += dbe[e]
                dk *= tape.D[j, i]
                if dtheta is not None and not inside:
                    dk += dbe[e]
            for i in range(s):
                if b[i] != 0.0:
                    np.multiply(dks[i], h * b[i], out=tmp)
                    dY += tmp
        return dY

    def vjp(self, tape, W):
        if self._is_euler:
            return self._vjp_euler(tape, W)
        h, A, b, s = self.h, self.A, self.b, self.n_stages
        inside = self.bias == "inside"
        gK = np.zeros_like(tape.K)
        gb = np.zeros_like(tape.bias)
        lam = np.array(W, dtype=float, copy=True)
        barU = [np.empty_like(lam) for _ in range(s)]
        used = [False] * s
        bark = np.empty_like(lam)
        G = np.empty_like(lam)
        tmp = np.empty_like(lam)
        for j in range(self.n_steps - 1, -1, -1):
            for i in range(s - 1, -1, -1):
                e = j * s + i
                # dL/dk_i = h b_i lambda + sum_{m > i} h a_mi dL/dU_m
                has = False
                if b[i] != 0.0:
                    np.multiply(lam, h * b[i], out=bark)
                    has = True
                for m in range(i + 1, s):
                    if A[m, i] != 0.0 and used[m]:
                        if has:
                            np.multiply(barU[m], h * A[m, i], out=tmp)
                            bark += tmp
                        else:
                            np.multiply(barU[m], h * A[m, i], out=bark)
                            has = True
                used[i] = has
                if not has:
                    continue
                np.multiply(tape.D[j, i], bark, out=G)
                gb[e] += G.sum() if inside else bark.sum()
                gK[e] += G @ tape.U[j, i].T
                np.matmul(tape.K[e].T, G, out=barU[i])
            for i in range(s):
                if used[i]:
                    lam += barU[i]
        return self.pack(interpolate_adjoint(self.P, gK), self.P.T @ gb), lam


# --------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------


class Chain(Block):
    """Blocks applied one after another; weights concatenated in order."""

    def __init__(self, blocks):
        self.blocks = list(blocks)
        for a, b in zip(self.blocks, self.blocks[1:]):
            if a.n_out != b.n_in:
                raise ValueError(f"block outputs {a.n_out} features but the next expects {b.n_in}")
        self.n_in = self.blocks[0].n_in
        self.n_out = self.blocks[-1].n_out
        self.sizes = [blk.n_params for blk in self.blocks]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.n_params = int(self.offsets[-1])

    def split(self, theta):
        """Per-block views of ``theta``."""
        theta = self._check_theta(theta)
        return [theta[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def init_params(self, rng):
        return np.concatenate([blk.init_params(rng) for blk in self.blocks])

    def apply(self, theta, Y):
        for blk, th in zip(self.blocks, self.split(theta)):
            Y = blk.apply(th, Y)
        return Y

    def forward(self, theta, Y):
        tapes = []
        for blk, th in zip(self.blocks, self.split(theta)):
            Y, tape = blk.forward(th, Y)
            tapes.append(tape)
        return Y, tapes

    def jvp(self, tape, dtheta=None, dY=None):
        parts = self.split(dtheta) if dtheta is not None else [None] * len(self.blocks)
        for blk, t, dth in zip(self.blocks, tape, parts):
            dY = blk.jvp(t, dth, dY)
        return dY

    def vjp(self, tape, W):
        grads = [None] * len(self.blocks)
        for k in range(len(self.blocks) - 1, -1, -1):
            grads[k], W = self.blocks[k].vjp(tape[k], W)
        return np.concatenate(grads), W


class ColumnParallel(Block):
    """Run a block on fixed column chunks of the input, in worker processes.

    The samples (columns) are cut into ``n_chunks`` contiguous chunks and each
    chunk is propagated independently; weight derivatives are summed over the
    chunks in chunk order. With ``workers >= 2`` chunk ``c`` lives in worker
    process ``c % workers`` of a shared :class:`resnet_ode.parallel.WorkerPool`,
    which keeps its tapes; with ``workers=1`` the chunks run here, one after
    the other. The chunking does not depend on ``workers``, so neither do the
    results.
    """

    def __init__(self, block: Block, n_chunks: int = 2, workers: int = 1):
        self.block = block
        self.n_in, self.n_out, self.n_params = block.n_in, block.n_out, block.n_params
        self.n_chunks = check_int("n_chunks", n_chunks, min_value=1)
        self.workers = min(check_int("workers", workers, min_value=1), self.n_chunks)
        self._pool = None
        self._registered = set()
        self._tape_ids = 0

    def _get_pool(self):
        if self._pool is None or self._pool.closed:
            from .parallel import get_pool

            self._pool = get_pool(self.workers)
            self._registered = set()
            self._token = self._pool.new_token()
            weakref.finalize(self, _forget, self._pool, self._token, self.workers)
        return self._pool

    def _bounds(self, n):
        edges = np.linspace(0, n, min(self.n_chunks, n) + 1).astype(int)
        return list(zip(edges[:-1], edges[1:]))

    def _remote(self, cmd, bounds, payload):
        """Send ``(cmd, token, *payload(c, a, b))`` for every chunk and collect the replies in order.

        If the request is interrupted (Ctrl-C) or a worker dies, the pool is
        discarded: its pipes would be out of step. The next request starts a
        new one.
        """
        pool = self._get_pool()
        try:
            return self._exchange(pool, cmd, bounds, payload)
        except (KeyboardInterrupt, EOFError, OSError):
            pool.discard()
            raise

    def _exchange(self, pool, cmd, bounds, payload):
        for c in range(len(bounds)):
            w = c % self.workers
            if w not in self._registered:
                pool.send(w, "register", self._token, self.block)
                pool.receive(w)
                self._registered.add(w)
        replies = [None] * len(bounds)
        error = None
        # Chunks beyond the number of workers go in further rounds.
        for start in range(0, len(bounds), self.workers):
            batch = range(start, min(start + self.workers, len(bounds)))
            for c in batch:
                pool.send(c % self.workers, cmd, self._token, *payload(c, *bounds[c]))
            for c in batch:  # every reply is read, even after an error, to keep the pipes in step
                try:
                    replies[c] = pool.receive(c % self.workers)
                except Exception as exc:  # noqa: BLE001 - re-raised below
                    error = error or exc
        if error is not None:
            raise error
        return replies

    def init_params(self, rng):
        return self.block.init_params(rng)

    def apply(self, theta, Y):
        bounds = self._bounds(Y.shape[1])
        if self.workers == 1:
            outs = [self.block.apply(theta, Y[:, a:b]) for a, b in bounds]
        else:
            outs = self._remote("apply", bounds, lambda c, a, b: (theta, Y[:, a:b]))
        return np.concatenate(outs, axis=1)

    def forward(self, theta, Y):
        bounds = self._bounds(Y.shape[1])
        if self.workers == 1:
            results = [self.block.forward(theta, Y[:, a:b]) for a, b in bounds]
            return np.concatenate([r[0] for r in results], axis=1), (bounds, [r[1] for r in results])
        self._tape_ids += 1
        tid = self._tape_ids
        outs = self._remote("forward", bounds, lambda c, a, b: ((tid, c), theta, Y[:, a:b]))
        return np.concatenate(outs, axis=1), _RemoteTape(bounds, tid, self)

    def jvp(self, tape, dtheta=None, dY=None):
        bounds = tape[0]
        parts = [None if dY is None else dY[:, a:b] for a, b in bounds]
        if self.workers == 1:
            outs = [self.block.jvp(t, dtheta, d) for t, d in zip(tape[1], parts)]
        else:
            outs = self._remote("jvp", bounds, lambda c, a, b: ((tape.tid, c), dtheta, parts[c]))
        return np.concatenate(outs, axis=1)

    def vjp(self, tape, W):
        bounds = tape[0]
        if self.workers == 1:
            outs = [self.block.vjp(t, W[:, a:b]) for t, (a, b) in zip(tape[1], bounds)]
        else:
            outs = self._remote("vjp", bounds, lambda c, a, b: ((tape.tid, c), W[:, a:b]))
        dtheta = outs[0][0].copy()
        for g, _ in outs[1:]:
            dtheta += g
        return dtheta, np.concatenate([o[1] for o in outs], axis=1)


def _bias(be, e):
    """The bias at stage time ``e``: a scalar, or a (B, 1, 1) column for a batch of weight sets."""
    return be[e] if be.ndim == 1 else be[e][:, None, None]


def _keep_spare(spare, U, D, limit=2):
    if len(spare) < limit:
        spare.append((U, D))


class _RemoteTape:
    """Handle of the tapes that worker processes hold; they are released when it is garbage collected."""

    def __init__(self, bounds, tid, owner):
        self.bounds, self.tid = bounds, tid
        weakref.finalize(self, _release, owner._pool, owner._token, tid, len(bounds), owner.workers)

    def __getitem__(self, index):
        return (self.bounds, self.tid)[index]


def _release(pool, token, tid, n_chunks, workers):
    for c in range(n_chunks):
        pool.post(c % workers, "release", token, (tid, c))


def _forget(pool, token, workers):
    """Tell the workers to drop a block and its tapes (queued; sent with the next request)."""
    for w in range(workers):
        pool.post(w, "forget", token)
