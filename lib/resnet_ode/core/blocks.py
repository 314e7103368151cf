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

from resnet_ode.core.activations import get_activation
from resnet_ode.core.integrators import get_method
from resnet_ode.core.rungekutta import LayerField, RungeKutta
from resnet_ode.core.timegrid import interpolate, interpolate_adjoint, interpolation_matrix, per_step_times, uniform_times
from resnet_ode.util.validate import check_choice, check_float, check_int


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
        Name in :data:`resnet_ode.core.activations.ACTIVATIONS`.
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
        ``h sigma'(Z)`` at every stage: the activation's derivative times the
        step (the layout of :mod:`resnet_ode.core.rungekutta`).
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
        Method name in :data:`resnet_ode.core.integrators.METHODS`.
    activation : str
        Name in :data:`resnet_ode.core.activations.ACTIVATIONS`.
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
        self.kernel = RungeKutta(self.A, self.b, self.h, self.n_steps)

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

    # -- stepping: one Runge-Kutta kernel (resnet_ode.core.rungekutta) -----------------
    def field(self, Ke, be) -> LayerField:
        """The right-hand side with weights ``Ke`` and bias ``be`` at the stage times."""
        return LayerField(Ke, be, self.activation, inside=self.bias == "inside")

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
        return self.kernel.forward(self.field(Ke, be), np.asarray(Y, dtype=float))

    def forward(self, theta, Y):
        Ke, be = self.weights_at_stages(theta)
        Y = np.asarray(Y, dtype=float)
        U, D = self._tape_arrays(self.kernel.tape_shape(Y.shape))
        Y_out = self.kernel.forward(self.field(Ke, be), Y, U, D)
        tape = ODETape(Ke, be, U[:-1], D[:-1], Y_out.copy())
        self._recycle_when_dead(tape, U, D)
        return tape.Y_out, tape

    def jvp(self, tape, dtheta=None, dY=None):
        dKe = dbe = None
        if dtheta is not None:
            dK, db = self.unpack(dtheta)
            dKe, dbe = interpolate(self.P, dK), self.P @ db
        return self.kernel.tangent(self.field(tape.K, tape.bias), tape.U, tape.D, dY, dKe, dbe)

    def tangent_states(self, tape, dY0) -> np.ndarray:
        """The tangent of a perturbation ``dY0`` of the input at every state time.

        The same recursion as ``jvp(tape, None, dY0)``, keeping every state.

        Parameters
        ----------
        tape : ODETape
        dY0 : ndarray, shape (width, n)

        Returns
        -------
        ndarray, shape (n_steps + 1, width, n)
        """
        dY0 = np.asarray(dY0, dtype=float)
        if dY0.shape != tape.Y_out.shape:
            raise ValueError(f"dY0 must have shape {tape.Y_out.shape}, got {dY0.shape}")
        out = np.empty((self.n_steps + 1,) + dY0.shape)
        self.kernel.tangent(self.field(tape.K, tape.bias), tape.U, tape.D, dY0, states=out)
        return out

    def vjp(self, tape, W):
        gK, gb, lam = self.kernel.adjoint(self.field(tape.K, tape.bias), tape.U, tape.D, W, tape.K.shape[0])
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


def _keep_spare(spare, U, D, limit=2):
    if len(spare) < limit:
        spare.append((U, D))
