"""The Peaks network: opening layer, residual ODE block, softmax classifier.

:class:`ResNetODE` assembles the blocks of :mod:`resnet_ode.core.blocks` from a few
settings and offers what the experiments need: the feature map ``theta -> Y(T)``
with its Jacobian products, class scores and predictions, the regulariser of
the reference, and initial weights.
"""

from __future__ import annotations

import numpy as np

from resnet_ode.core.blocks import AffineClassifier, Chain, ODEBlock, OpeningLayer
from resnet_ode.core.losses import BlockRegulariser, Tikhonov, TimeSmoothness
from resnet_ode.core.parallel import ColumnParallel, default_workers
from resnet_ode.util.validate import check_float, check_int

#: Chunks the samples are split into for parallel propagation. Fixed, so that
#: results do not depend on the machine's number of cores.
N_CHUNKS = 2


class ResNetODE:
    """Opening layer ``tanh(K0 x)``, residual ODE block, affine classifier.

    Parameters
    ----------
    nY : int
        State times (>= 2); ``nY - 1`` steps.
    T : float
        Final time (> 0).
    nt : int
        Control times (>= 2) with ``control="interpolated"``.
    nc : int
        Channels (width).
    integrator, activation, bias, control : str
        See :class:`resnet_ode.core.blocks.ODEBlock`.
    n_in, n_classes : int
        Input features and classes (2 and 5 for Peaks).
    alpha : float
        Regularisation weight on the network weights (reference: 5e-6).
    alpha_W : float
        Tikhonov weight on the classifier (reference: 1e-10).
    init_scale : float
        Initial weights are ``init_scale * U[0, 1)`` (reference: 0.1).
    workers : int or None
        Processes the samples are propagated in (results do not depend on
        it); ``None`` takes :func:`resnet_ode.core.parallel.default_workers`.

    Attributes
    ----------
    features : Block
        ``theta -> Y(T)``, shape (nc, n) for inputs of shape (n_in, n).
    classifier : AffineClassifier
    regulariser : BlockRegulariser
        Tikhonov on the opening layer, smoothness in time on the ODE block.
    """

    def __init__(
        self,
        nY: int,
        T: float = 20.0,
        nt: int = 16,
        nc: int = 8,
        integrator: str = "euler",
        activation: str = "tanh",
        bias: str = "outside",
        control: str = "interpolated",
        n_in: int = 2,
        n_classes: int = 5,
        alpha: float = 5e-6,
        alpha_W: float = 1e-10,
        init_scale: float = 0.1,
        workers: int | None = None,
    ):
        self.opening = OpeningLayer(n_in=n_in, width=nc, activation=activation, init_scale=init_scale)
        self.ode = ODEBlock(
            width=nc,
            T=T,
            n_states=nY,
            n_controls=nt,
            control=control,
            integrator=integrator,
            activation=activation,
            bias=bias,
            init_scale=init_scale,
        )
        self.chain = Chain([self.opening, self.ode])
        if workers is None:
            workers = default_workers()
        self.features = ColumnParallel(self.chain, n_chunks=N_CHUNKS, workers=workers)
        self.classifier = AffineClassifier(n_in=nc, n_classes=n_classes)
        self.alpha = check_float("alpha", alpha, min_value=0.0)
        self.alpha_W = check_float("alpha_W", alpha_W, min_value=0.0)
        control_step = (
            self.ode.control_times[1] - self.ode.control_times[0] if self.ode.n_controls > 1 else self.ode.T
        )
        self.regulariser = BlockRegulariser(
            [
                (Tikhonov(self.alpha), self.opening.n_params),
                (TimeSmoothness(self.alpha, self.ode.n_controls, control_step), self.ode.n_params),
            ]
        )
        self.regulariser_W = Tikhonov(self.alpha_W)

    # -- sizes and weights ------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of network weights (opening layer + ODE block)."""
        return self.chain.n_params

    @property
    def n_classifier_params(self) -> int:
        return self.classifier.n_params

    def init_params(self, seed: int) -> np.ndarray:
        """Initial network weights from ``numpy.random.default_rng(seed)``.

        They depend on ``nc``, ``nt`` and the seed but not on ``nY``, so every
        depth starts from the same weights.
        """
        return self.chain.init_params(np.random.default_rng(check_int("seed", seed, min_value=0)))

    def split(self, theta):
        """``(K0 of shape (nc, n_in), K of shape (nt, nc, nc), b of shape (nt,))``."""
        th_open, th_ode = self.chain.split(theta)
        K, b = self.ode.unpack(th_ode)
        return th_open.reshape(self.opening.width, self.opening.n_in), K, b

    # -- evaluation -------------------------------------------------------------
    def scores(self, theta, W, X) -> np.ndarray:
        """Class scores ``W [Y(T); 1]``, shape (n_classes, n)."""
        return self.classifier.apply(W, self.features.apply(theta, X))

    def predict(self, theta, W, X) -> np.ndarray:
        """Predicted classes, shape (n,)."""
        return np.argmax(self.scores(theta, W, X), axis=0)

    def accuracy(self, theta, W, X, y) -> float:
        """Share of correctly classified points."""
        return float(np.mean(self.predict(theta, W, X) == y))

    def states(self, theta, X) -> np.ndarray:
        """All states ``Y_0 .. Y_N`` of the ODE block, shape (nY, nc, n)."""
        th_open, th_ode = self.chain.split(theta)
        Y0 = self.opening.apply(th_open, X)
        return self.ode.forward(th_ode, Y0)[1].states()
