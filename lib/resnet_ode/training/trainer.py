"""A training run on Peaks: its validated settings, training it, and its result.

Everything here decides the values a run computes (with the numerics of
:mod:`resnet_ode.core`), so the run cache's code hash
(:func:`resnet_ode.training.runs.source_hash`) covers this module and what it
imports. Keys, the cache and the published entries live in
:mod:`resnet_ode.training.runs` and :mod:`resnet_ode.training.cache`, whose
code decides no value: editing them invalidates nothing.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from resnet_ode.core import optim
from resnet_ode.core.activations import ACTIVATIONS
from resnet_ode.core.data import Dataset, make_peaks_dataset
from resnet_ode.core.integrators import METHODS as INTEGRATORS
from resnet_ode.core.network import ResNetODE
from resnet_ode.core.objectives import EXACT_CLASSIFIER_SOLVER, ClassifierSolverSettings, JointObjective, VarProObjective
from resnet_ode.util.validate import check_choice, check_float, check_int

CLASSIFIER_SOLVERS = {"reference": ClassifierSolverSettings(), "exact": EXACT_CLASSIFIER_SOLVER}


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one training run on Peaks, checked on construction.

    Network
        ``nY`` state times (>= 2), final time ``T`` (> 0), ``nt`` control times
        (>= 2), width ``nc``, ``integrator``, ``activation``, ``bias``
        ("outside" or "inside") and ``control`` ("interpolated" or
        "per_step" for a standard ResNet with one weight set per step; then
        ``nt`` is set to ``nY - 1``).
    Data
        ``data_seed`` and the points per class for training and validation.
    Initial weights
        ``init_seed`` and ``init_scale`` (``init_scale * U[0, 1)``).
    Regularisation
        ``alpha`` on the network weights, ``alpha_W`` on the classifier.
    Optimiser
        ``optimizer`` in :data:`resnet_ode.core.optim.METHODS`; ``objective``
        "varpro" (classifier eliminated) or "joint"; ``max_iter``; Gauss-Newton
        CG settings ``cg_tol`` and ``cg_max_iter``, ``max_step``,
        ``hessian_shift``; ``classifier_solver`` ("reference" or "exact") and
        ``warm_start`` for VarPro; ``lbfgs_memory``; ``learning_rate`` for Adam.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter, its allowed values and the value given, before
        any compute. Every number must be finite and lie in a range that
        trains: ``T`` in (0, 1e4], ``init_scale`` in [0, 10],
        ``learning_rate`` in (0, 10], ``max_step`` in (0, 100], ``alpha``,
        ``alpha_W`` and ``hessian_shift`` in [0, 1000], at most 100 000
        points per class.
    """

    nY: int = 32
    T: float = 20.0
    nt: int = 16
    nc: int = 8
    integrator: str = "euler"
    activation: str = "tanh"
    bias: str = "outside"
    control: str = "interpolated"
    data_seed: int = 0
    n_train_per_class: int = 1000
    n_val_per_class: int = 40
    init_seed: int = 0
    init_scale: float = 0.1
    alpha: float = 5e-6
    alpha_W: float = 1e-10
    optimizer: str = "gauss_newton"
    objective: str = "varpro"
    max_iter: int = 40
    cg_tol: float = 1e-2
    cg_max_iter: int = 50
    max_step: float = 1.0
    hessian_shift: float = 1e-3
    classifier_solver: str = "reference"
    warm_start: bool = True
    lbfgs_memory: int = 10
    learning_rate: float = 1e-2

    def __post_init__(self):
        s = object.__setattr__
        s(self, "nY", check_int("nY", self.nY, min_value=2, max_value=100_000))
        s(self, "T", check_float("T", self.T, min_value=0.0, max_value=1e4, strict_min=True))
        check_choice("control", self.control, ("interpolated", "per_step"))
        if self.control == "per_step":
            s(self, "nt", self.nY - 1)  # a standard ResNet: one weight set per step, nt is implied
        else:
            s(self, "nt", check_int("nt", self.nt, min_value=2, max_value=100_000))
        s(self, "nc", check_int("nc", self.nc, min_value=1, max_value=1024))
        check_choice("integrator", self.integrator, INTEGRATORS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("bias", self.bias, ("outside", "inside"))
        s(self, "data_seed", check_int("data_seed", self.data_seed, min_value=0))
        s(self, "n_train_per_class", check_int("n_train_per_class", self.n_train_per_class,
                                                     min_value=1, max_value=100_000))
        s(self, "n_val_per_class", check_int("n_val_per_class", self.n_val_per_class, min_value=1, max_value=100_000))
        s(self, "init_seed", check_int("init_seed", self.init_seed, min_value=0))
        s(self, "init_scale", check_float("init_scale", self.init_scale, min_value=0.0, max_value=10.0))
        s(self, "alpha", check_float("alpha", self.alpha, min_value=0.0, max_value=1e3))
        s(self, "alpha_W", check_float("alpha_W", self.alpha_W, min_value=0.0, max_value=1e3))
        check_choice("optimizer", self.optimizer, optim.METHODS)
        check_choice("objective", self.objective, ("varpro", "joint"))
        s(self, "max_iter", check_int("max_iter", self.max_iter, min_value=0, max_value=100_000))
        s(self, "cg_tol", check_float("cg_tol", self.cg_tol, min_value=0.0, max_value=1.0, strict_min=True))
        s(self, "cg_max_iter", check_int("cg_max_iter", self.cg_max_iter, min_value=1, max_value=100_000))
        s(self, "max_step", check_float("max_step", self.max_step, min_value=0.0, max_value=100.0, strict_min=True))
        s(self, "hessian_shift", check_float("hessian_shift", self.hessian_shift, min_value=0.0, max_value=1e3))
        check_choice("classifier_solver", self.classifier_solver, CLASSIFIER_SOLVERS)
        if not isinstance(self.warm_start, bool):
            raise TypeError(f"warm_start must be True or False, got {self.warm_start!r}")
        s(self, "lbfgs_memory", check_int("lbfgs_memory", self.lbfgs_memory, min_value=1, max_value=1000))
        s(self, "learning_rate", check_float("learning_rate", self.learning_rate,
                                                 min_value=0.0, max_value=10.0, strict_min=True))

    def replace(self, **changes) -> "RunConfig":
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def model(self, workers: int | None = None) -> ResNetODE:
        """The network these settings describe."""
        return ResNetODE(
            nY=self.nY, T=self.T, nt=self.nt, nc=self.nc, integrator=self.integrator,
            activation=self.activation, bias=self.bias, control=self.control,
            alpha=self.alpha, alpha_W=self.alpha_W, init_scale=self.init_scale,
            workers=workers,
        )

    def dataset(self) -> Dataset:
        return _dataset(self.n_train_per_class, self.n_val_per_class, self.data_seed)

    def label(self) -> str:
        """Short human-readable description, e.g. ``nY=32 T=20 nt=16 euler``."""
        return f"nY={self.nY} T={self.T:g} nt={self.nt} {self.integrator}"


@lru_cache(maxsize=8)
def _dataset(n_train, n_val, seed):
    return make_peaks_dataset(n_train, n_val, seed)


@dataclass
class RunResult:
    """A trained run.

    Attributes
    ----------
    config : RunConfig
    theta : ndarray, shape (n_params,)
        Trained network weights.
    W : ndarray, shape (n_classes * (nc + 1),)
        Trained classifier weights.
    history : dict of str -> ndarray
        Per-iteration history (keys of :data:`resnet_ode.core.optim.HISTORY_KEYS`).
    train_seconds : float
        Wall-clock training time when the run was computed.
    message : str
        The optimiser's stopping reason.
    from_cache : bool
        Whether this result was read from the cache.
    """

    config: RunConfig
    theta: np.ndarray
    W: np.ndarray
    history: dict
    train_seconds: float
    message: str
    from_cache: bool = False
    key: str = ""
    _model: object = field(default=None, repr=False)

    @property
    def model(self) -> ResNetODE:
        if self._model is None:
            self._model = self.config.model()
        return self._model

    def summary(self) -> str:
        """Settings and final numbers as an aligned text table.

        The training time is left out: it depends on the machine (print it
        with :func:`resnet_ode.util.formatting.fmt_seconds` in a ``volatile`` cell).
        """
        c, f = self.config, self.final()
        model = self.model
        rows = [
            ("state times nY (steps)", f"{c.nY} ({c.nY - 1})"),
            ("final time T, step h", f"{c.T:g}, {model.ode.h:.4f}"),
            ("control times nt", f"{model.ode.n_controls} ({c.control})"),
            ("integrator, activation, bias", f"{c.integrator}, {c.activation}, {c.bias}"),
            ("network weights", f"{model.n_params}"),
            ("optimiser", f"{c.optimizer} on the {c.objective} objective, {f['iterations']} iterations"),
            ("final objective", f"{f['objective']:.4f}"),
            ("training accuracy", f"{f['train_accuracy']:.4f}"),
            ("validation accuracy", f"{f['val_accuracy']:.4f}"),
            ("stopped because", self.message),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def final(self) -> dict:
        """Final objective, accuracies and iteration count."""
        h = self.history
        return {
            "objective": float(h["objective"][-1]),
            "loss": float(h["loss"][-1]),
            "train_accuracy": float(h["train_accuracy"][-1]),
            "val_accuracy": float(h["val_accuracy"][-1]),
            "iterations": int(h["iteration"][-1]),
            "cg_steps": int(np.sum(h["cg_steps"])),
        }


# ----------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------


def train(config: RunConfig, desc: str | None = None) -> RunResult:
    """Train the network described by ``config`` (no cache involved)."""
    data = config.dataset()
    model = config.model()
    theta0 = model.init_params(config.init_seed)
    if config.objective == "varpro":
        objective = VarProObjective(
            model, data.X_train, data.y_train, hessian_shift=config.hessian_shift,
            warm_start=config.warm_start, solver=CLASSIFIER_SOLVERS[config.classifier_solver],
        )
    else:
        objective = JointObjective(model, data.X_train, data.y_train, hessian_shift=config.hessian_shift)

    def monitor(theta, W):
        return model.accuracy(theta, W, data.X_val, data.y_val)

    x0 = objective.initial_point(theta0)
    desc = desc or config.label()
    t0 = time.perf_counter()
    if config.optimizer == "gauss_newton":
        res = optim.gauss_newton(objective, x0, max_iter=config.max_iter, cg_tol=config.cg_tol,
                                 cg_max_iter=config.cg_max_iter, max_step=config.max_step, monitor=monitor, desc=desc)
    elif config.optimizer == "lbfgs":
        res = optim.lbfgs(objective, x0, max_iter=config.max_iter, memory=config.lbfgs_memory, monitor=monitor,
                          desc=desc)
    elif config.optimizer == "adam":
        res = optim.adam(objective, x0, max_iter=config.max_iter, lr=config.learning_rate, monitor=monitor, desc=desc)
    else:
        res = optim.gradient_descent(objective, x0, max_iter=config.max_iter, monitor=monitor, desc=desc)
    seconds = time.perf_counter() - t0
    _check_finite(config, res)
    return RunResult(config, res.theta, res.W, res.history, seconds, res.message, _model=model)


def _check_finite(config: RunConfig, res):
    """Raise ``FloatingPointError`` naming the run and what went non-finite, if anything did."""
    bad = []
    for name in ("objective", "loss"):
        values = np.asarray(res.history.get(name, []), dtype=float)
        where = np.flatnonzero(~np.isfinite(values))
        if where.size:
            bad.append(f"{name} {values[where[0]]} at iteration {where[0]}")
    for name, values in (("theta", res.theta), ("W", res.W)):
        count = int(np.sum(~np.isfinite(values)))
        if count:
            bad.append(f"{count} of {np.size(values)} entries of {name}")
    if bad:
        defaults = RunConfig()
        changed = ", ".join(f"{k}={v!r}" for k, v in config.to_dict().items() if getattr(defaults, k) != v)
        raise FloatingPointError(
            f"training run {config.label()} ({changed or 'default settings'}) went non-finite: {'; '.join(bad)}. "
            "The result is not cached. A smaller init_scale, T or max_step usually avoids this.")
