"""Surfaces around a trained network: grids, their specification, computation and store.

A :class:`SurfaceSpec` says what to plot (objective, normalisation, bias
rule, direction seed and the grid coordinates ``a``, ``b``);
:func:`compute_surface` evaluates it with :func:`resnet_ode.studies.landscape.plane.evaluate_plane`
and :func:`get_surface` computes it with a progress bar, or loads it with its
directions from the cache (:mod:`resnet_ode.training.cache`) when the same run,
settings and landscape code produced it before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .batch import OBJECTIVES, BatchObjective
from .directions import directions, resolve_bias_rule
from .plane import evaluate_plane
from .version import VALUE_MODULES, source_hash  # noqa: F401  (re-exported)
from resnet_ode.training.cache import SURFACES, BadEntry, make_key, take_array, take_field
from resnet_ode.util.validate import check_choice, check_int

#: Bump when the layout of a stored surface changes.
SURFACE_FORMAT = 1



def li_grid(n: int = 51) -> tuple:
    """``n`` equally spaced coordinates on ``[-1, 1]`` (Li et al. used 51)."""
    n = check_int("n", n, min_value=3, max_value=1001)
    return tuple(float(v) for v in np.linspace(-1.0, 1.0, n))


def thesis_grid() -> tuple:
    """The thesis's coordinates ``0.05 k - 1``, ``k = 1 .. 40`` (from -0.95 to 1)."""
    return tuple(0.05 * k - 1.0 for k in range(1, 41))


def _coords(name, values) -> tuple:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of real numbers, got {values!r}") from None
    if arr.ndim != 1 or arr.size < 1 or arr.size > 1001 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be 1 to 1001 finite coordinates, got shape {arr.shape}")
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    return tuple(float(v) for v in arr)


@dataclass(frozen=True)
class SurfaceSpec:
    """What to plot around a trained network, checked on construction.

    Attributes
    ----------
    objective : {"joint", "varpro"}
    norm : {"filter", "layer", "none", "thesis"}
    bias : {"own", "zero", "layer"} or None
        ``None`` is replaced by the default of :data:`resnet_ode.studies.landscape.directions.DEFAULT_BIAS`.
    seed : int
        Seed of the two Gaussian directions.
    a, b : tuple of float
        Coordinates along ``d1`` and ``d2`` (``b=(0.0,)`` gives a 1-D slice
        along ``d1``).
    """

    objective: str = "joint"
    norm: str = "filter"
    bias: str | None = None
    seed: int = 0
    a: tuple = field(default_factory=lambda: li_grid(51))
    b: tuple = field(default_factory=lambda: li_grid(51))

    def __post_init__(self):
        s = object.__setattr__
        check_choice("objective", self.objective, OBJECTIVES)
        s(self, "bias", resolve_bias_rule(self.norm, self.bias))
        s(self, "seed", check_int("seed", self.seed, min_value=0))
        s(self, "a", _coords("a", self.a))
        s(self, "b", _coords("b", self.b))

    def to_dict(self) -> dict:
        return {"objective": self.objective, "norm": self.norm, "bias": self.bias, "seed": self.seed,
                "a": list(self.a), "b": list(self.b)}


@dataclass
class Surface:
    """A computed surface with everything needed to redraw it.

    Attributes
    ----------
    spec : SurfaceSpec
    a, b : ndarray, shapes (na,) and (nb,)
    values : ndarray, shape (na, nb)
        ``values[i, j] = L(theta + a[i] d1 + b[j] d2)``.
    d1, d2 : ndarray, shape (n_params,)
        The normalised directions.
    theta : ndarray, shape (n_params,)
        Centre (trained weights).
    seconds : float
        Time it took to evaluate the surface when it was computed.
    inner_grad_norm : ndarray, shape (na, nb)
        For ``"varpro"``: gradient norm of the classifier subproblem where
        its solver stopped (``nan`` for ``"joint"``).
    key : str
        Cache key.
    from_cache : bool
    """

    spec: SurfaceSpec
    a: np.ndarray
    b: np.ndarray
    values: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    theta: np.ndarray
    seconds: float
    inner_grad_norm: np.ndarray
    key: str = ""
    from_cache: bool = False

    @property
    def centre(self) -> float:
        """Value at ``a = b = 0`` (``nan`` if the grid does not contain it)."""
        i, j = np.flatnonzero(self.a == 0.0), np.flatnonzero(self.b == 0.0)
        return float(self.values[i[0], j[0]]) if i.size and j.size else float("nan")


def landscapes_dir() -> Path:
    """Folder of stored surfaces and Hessian extremes: the cache root (:func:`resnet_ode.training.cache.root`), not created here."""
    from resnet_ode.training.cache import root

    return root()


def surface_key(run_key: str, spec: SurfaceSpec, data_key: str = "train") -> str:
    """Hex key of a surface: the run's cache key, the settings, the data, the landscape code (:func:`resnet_ode.studies.landscape.version.source_hash`)."""
    return make_key(run=run_key, spec=spec.to_dict(), data=data_key, source=source_hash(), format=SURFACE_FORMAT)


def compute_surface(model, theta, W, X, y, spec: SurfaceSpec, batch_size: int = 4, desc: str | None = None,
                    workers: int | None = 1):
    """Evaluate the surface ``spec`` around ``theta`` (no cache involved).

    Parameters
    ----------
    model : ResNetODE
    theta : ndarray, shape (n_params,)
        Centre.
    W : ndarray, shape (n_classifier_params,)
        Classifier held fixed for ``"joint"`` (ignored for ``"varpro"``).
    X, y : ndarray, shapes (n_in, n) and (n,)
        Data of the objective.
    spec : SurfaceSpec
    batch_size, desc, workers
        As for :func:`resnet_ode.studies.landscape.plane.evaluate_plane`.

    Returns
    -------
    values : ndarray, shape (len(spec.a), len(spec.b))
    d1, d2 : ndarray, shape (n_params,)
    seconds : float
    inner_grad_norm : ndarray, shape (len(spec.a), len(spec.b))
    """
    theta = np.asarray(theta, dtype=float)
    d1, d2 = directions(model, theta, spec.seed, spec.norm, spec.bias)
    obj = BatchObjective(model, X, y, spec.objective, W=W if spec.objective == "joint" else None)
    t0 = time.perf_counter()
    values, inner = evaluate_plane(obj, theta, d1, d2, spec.a, spec.b, batch_size=batch_size, desc=desc,
                                   workers=workers, return_inner=True)
    return values, d1, d2, time.perf_counter() - t0, inner


def _save_surface(s: Surface):
    """A surface as the arrays and metadata of its store entry."""
    meta = {"spec": s.spec.to_dict(), "seconds": s.seconds, "format": SURFACE_FORMAT}
    return {"a": s.a, "b": s.b, "values": s.values, "d1": s.d1, "d2": s.d2, "theta": s.theta,
            "inner_grad_norm": s.inner_grad_norm}, meta


def _load_surface(arrays: dict, meta: dict, run, spec: SurfaceSpec, key: str) -> Surface:
    """A stored surface of ``run`` and ``spec``, checked (:class:`resnet_ode.training.cache.BadEntry` if it does not fit)."""
    na, nb, n = len(spec.a), len(spec.b), np.size(run.theta)
    a, b = take_array(arrays, "a", (na,)), take_array(arrays, "b", (nb,))
    if not (np.array_equal(a, spec.a) and np.array_equal(b, spec.b)):
        raise BadEntry("stored coordinates a, b differ from the spec's")
    values, inner = take_array(arrays, "values", (na, nb)), take_array(arrays, "inner_grad_norm", (na, nb))
    d1, d2, theta = (take_array(arrays, name, (n,)) for name in ("d1", "d2", "theta"))
    if not np.array_equal(theta, run.theta):
        raise BadEntry("stored centre differs from the run's trained weights")
    seconds = float(take_field(meta, "seconds", "number"))
    return Surface(spec, a, b, values, d1, d2, theta, seconds, inner, key=key, from_cache=True)


def get_surface(run, spec: SurfaceSpec, use_cache: bool = True, batch_size: int = 4, desc: str | None = None,
                workers: int | None = None):
    """The surface ``spec`` around a trained run, on its training data, from the store or computed.

    Parameters
    ----------
    run : resnet_ode.training.trainer.RunResult
        Its ``theta`` is the centre; its ``W`` the fixed classifier of the
        joint objective.
    spec : SurfaceSpec
    use_cache : bool
        ``False`` computes afresh and stores nothing.
    batch_size, desc, workers
        As for :func:`resnet_ode.studies.landscape.plane.evaluate_plane` (``workers=None``:
        :func:`resnet_ode.core.parallel.default_workers`).

    Returns
    -------
    Surface
        Stored as ``surface-<key>.npz`` in the cache (:mod:`resnet_ode.training.cache`:
        atomically, under a lock; an unusable entry is reported, moved aside
        and computed again), the key covering the run's cache key (its
        settings and the training code), the spec and the landscape code
        (:func:`resnet_ode.studies.landscape.version.source_hash`), so a changed run or library never reuses a
        stale surface.
    """
    from resnet_ode.training.runs import cache_key

    if not isinstance(spec, SurfaceSpec):
        raise TypeError(f"spec must be a SurfaceSpec, got {type(spec).__name__}")
    key = surface_key(cache_key(run.config), spec)

    def compute():
        data = run.config.dataset()
        values, d1, d2, seconds, inner = compute_surface(run.model, run.theta, run.W, data.X_train, data.y_train,
                                                         spec, batch_size=batch_size, desc=desc, workers=workers)
        return Surface(spec, np.array(spec.a), np.array(spec.b), values, d1, d2, np.array(run.theta), seconds, inner,
                       key=key)

    if not use_cache:
        return compute()
    return SURFACES.get_or_compute(key, compute, _save_surface,
                                   lambda arrays, meta: _load_surface(arrays, meta, run, spec, key),
                                   expect={"spec": spec.to_dict()},
                                   recipe={"run": run.config.to_dict(), "spec": spec.to_dict(), "data": "train"})

