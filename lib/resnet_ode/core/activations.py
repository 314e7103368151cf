"""Activation functions with their derivatives, applied elementwise.

Each activation maps pre-activations ``Z`` to ``(sigma(Z), sigma'(Z))`` in one
call, because every forward pass that will be differentiated needs both.
``tanh`` is :func:`resnet_ode.core.elementary.tanh` (the same bits on every
processor), not numpy's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from resnet_ode.core.elementary import tanh
from resnet_ode.util.validate import check_choice


def _tanh(Z):
    A = tanh(Z)
    D = 1.0 - A * A
    return A, D


def _tanh_inplace(Z, D, scale):
    tanh(Z, out=Z)
    if D is not None:  # scale * (1 - tanh^2), as scale - scale * tanh^2
        np.multiply(Z, Z, out=D)
        D *= -scale
        D += scale


def _relu(Z):
    return np.maximum(Z, 0.0), (Z > 0).astype(Z.dtype)


def _identity(Z):
    return np.array(Z, copy=True), np.ones_like(Z)


@dataclass(frozen=True)
class Activation:
    """An elementwise activation.

    Attributes
    ----------
    name : str
    evaluate : callable
        ``evaluate(Z) -> (A, D)`` with ``A = sigma(Z)`` and ``D = sigma'(Z)``,
        both of the shape of ``Z``.
    smooth : bool
        Whether ``sigma`` is continuously differentiable (ReLU is not at 0).
    inplace : callable or None
        Optional fast path of :meth:`apply_`, ``inplace(Z, D, scale)``
        (no temporaries); without one, :meth:`apply_` goes through ``evaluate``.
    """

    name: str
    evaluate: Callable
    smooth: bool
    inplace: Callable | None = None

    def __call__(self, Z):
        return self.evaluate(np.asarray(Z, dtype=float))[0]

    def derivative(self, Z):
        return self.evaluate(np.asarray(Z, dtype=float))[1]

    def apply_(self, Z: np.ndarray, D: np.ndarray | None = None, scale: float = 1.0) -> None:
        """In place: ``Z <- sigma(Z)`` and, if ``D`` is given, ``D <- scale * sigma'(Z)``.

        Parameters
        ----------
        Z : ndarray of float, any shape
            Pre-activations, overwritten.
        D : ndarray, the shape of ``Z``, or None
        scale : float
        """
        if self.inplace is not None:
            self.inplace(Z, D, scale)
            return
        A, der = self.evaluate(Z)
        np.copyto(Z, A)
        if D is not None:
            np.multiply(der, scale, out=D)


ACTIVATIONS = {
    "tanh": Activation("tanh", _tanh, True, _tanh_inplace),
    "relu": Activation("relu", _relu, False),
    "identity": Activation("identity", _identity, True),
}


def get_activation(name: str) -> Activation:
    """Look an activation up by name; unknown names raise a ``ValueError``."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]
