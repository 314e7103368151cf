"""Runge-Kutta forward propagation: the course script's toy problem and convergence studies (Chapter 3.4).

The thesis (Section 3.4) checked its RK4 forward propagation on a toy problem
from Ruthotto's numerical deep-learning course: a 3 x 3 kernel with two
parameters,

.. math::

    K(\\theta) = \\begin{pmatrix} -s & \\theta_1 & \\theta_2 \\\\ \\theta_2 & -s & \\theta_1 \\\\
    \\theta_1 & \\theta_2 & -s \\end{pmatrix},\\qquad s = \\theta_1 + \\theta_2,

the dynamics ``dY/dt = tanh(K Y)`` on ``[0, T]``, and the objective
``Phi(theta) = 0.5 ||Y_N(theta) - C||_F^2`` against outputs ``C`` that 200
forward-Euler steps produce at ``theta = (1, 1)``. This module computes that
objective for a whole grid of ``theta`` at once (all kernels as one stacked
array), with any method of :mod:`resnet_ode.core.integrators`, and measures the
convergence order of every method.

For the Peaks network it provides the equal-cost pairing of Runge-Kutta and
Euler networks and the evaluation of trained weights under other
discretisations.

References
----------
- E. Hairer, S. P. Norsett, G. Wanner, *Solving Ordinary Differential Equations I*, 2nd ed., Springer, 1993, Section II.1.

"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_ode.core.activations import get_activation
from resnet_ode.core.costs import equal_cost_states, evaluations  # noqa: F401 (part of this module's interface: Chapter 3.4 calls them here)
from resnet_ode.core.integrators import as_method
from resnet_ode.core.rungekutta import LayerField, RungeKutta
from resnet_ode.studies import evaluation
from resnet_ode.util.validate import check_float, check_int

#: Final time of the toy problem.
TOY_T = 10.0

#: Parameters that produce the reference outputs ``C``.
TOY_THETA_TRUE = (1.0, 1.0)


# ----------------------------------------------------------------------------
# The toy problem
# ----------------------------------------------------------------------------


def toy_kernel(theta) -> np.ndarray:
    """The course script's 3 x 3 kernel for one or many parameter pairs.

    Parameters
    ----------
    theta : array_like, shape (..., 2)
        ``(theta_1, theta_2)`` pairs.

    Returns
    -------
    ndarray, shape (..., 3, 3)
        ``[[-s, t1, t2], [t2, -s, t1], [t1, t2, -s]]`` with ``s = t1 + t2``: a
        circulant matrix whose rows and columns sum to zero.
    """
    theta = np.asarray(theta, dtype=float)
    if theta.shape[-1:] != (2,):
        raise ValueError(f"theta must have shape (..., 2), got {theta.shape}")
    t1, t2 = theta[..., 0], theta[..., 1]
    s = t1 + t2
    K = np.empty(theta.shape[:-1] + (3, 3))
    K[..., 0, :] = np.stack([-s, t1, t2], axis=-1)
    K[..., 1, :] = np.stack([t2, -s, t1], axis=-1)
    K[..., 2, :] = np.stack([t1, t2, -s], axis=-1)
    return K


def toy_eigenvalues(theta) -> np.ndarray:
    """Eigenvalues of :func:`toy_kernel`, shape (..., 3) (complex).

    The kernel is circulant, so its eigenvalues are ``0`` and
    ``-3 s / 2 +- i sqrt(3)/2 (theta_1 - theta_2)``. Near ``Y = 0`` the
    dynamics ``tanh(K Y)`` behave like ``K Y``.
    """
    theta = np.asarray(theta, dtype=float)
    t1, t2 = theta[..., 0], theta[..., 1]
    re = -1.5 * (t1 + t2)
    im = np.sqrt(3.0) / 2 * (t1 - t2)
    return np.stack([np.zeros_like(re) + 0j, re + 1j * im, re - 1j * im], axis=-1)


def propagate(method, K, Y0, T: float, n_steps: int) -> np.ndarray:
    """Final state of ``dY/dt = tanh(K Y)`` after ``n_steps`` steps of a Runge-Kutta method.

    Vectorised over a stack of kernels: every kernel moves its own copy of
    the inputs. The dynamics are autonomous, so the nodes ``c`` of the
    method do not enter.

    Parameters
    ----------
    method : str or method of :mod:`resnet_ode.core.integrators`
        Including the step-dependent ``"rk4_thesis_as_written"``.
    K : array_like, shape (..., m, m)
        One kernel or a stack of kernels.
    Y0 : array_like, shape (m, n) or (..., m, n)
        Initial states, samples as columns.
    T : float
        Final time, > 0.
    n_steps : int
        Number of steps, >= 1; the step is ``h = T / n_steps``.

    Returns
    -------
    ndarray, shape (..., m, n)
        ``Y_N`` for every kernel.
    """
    method = as_method(method)
    T = check_float("T", T, min_value=0.0, strict_min=True)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    K = np.asarray(K, dtype=float)
    Y0 = np.asarray(Y0, dtype=float)
    if K.ndim < 2 or K.shape[-1] != K.shape[-2]:
        raise ValueError(f"K must have shape (..., m, m), got {K.shape}")
    if Y0.ndim < 2 or Y0.shape[-2] != K.shape[-1]:
        raise ValueError(f"Y0 must have shape (..., {K.shape[-1]}, n), got {Y0.shape}")
    shape = np.broadcast_shapes(K.shape[:-2], Y0.shape[:-2]) + Y0.shape[-2:]
    field = LayerField(K, None, get_activation("tanh"), per_stage=False)
    return RungeKutta.of(method, T / n_steps, n_steps).forward(field, np.broadcast_to(Y0, shape))


@dataclass(frozen=True)
class ToyData:
    """Inputs and reference outputs of the toy problem.

    Attributes
    ----------
    Y0, Y0_test : ndarray, shape (3, n)
        Training and test inputs, ``scale * N(0, 1)`` draws.
    C, C_test : ndarray, shape (3, n)
        Reference outputs: ``ref_method`` with ``ref_steps`` steps at ``theta_true``.
    T : float
    theta_true : tuple of float
    ref_steps : int
    ref_method : str
    seed : int
    scale : float
        The scale of the input draws.
    """

    Y0: np.ndarray
    Y0_test: np.ndarray
    C: np.ndarray
    C_test: np.ndarray
    T: float
    theta_true: tuple
    ref_steps: int
    ref_method: str
    seed: int
    scale: float = 0.1

    def recipe(self) -> dict:
        """The arguments of :func:`make_toy_data` that draw these data (JSON-able)."""
        return {"n_examples": int(self.Y0.shape[1]), "seed": int(self.seed), "T": float(self.T),
                "theta_true": [float(t) for t in self.theta_true], "ref_steps": int(self.ref_steps),
                "ref_method": str(self.ref_method), "scale": float(self.scale)}

    def drawn_by_recipe(self) -> bool:
        """True when :func:`make_toy_data` with :meth:`recipe` gives exactly these arrays (not so for data built
        by hand, or changed after drawing)."""
        again = make_toy_data(**self.recipe())
        return all(np.array_equal(getattr(self, k), getattr(again, k)) for k in ("Y0", "Y0_test", "C", "C_test"))


def make_toy_data(n_examples: int = 20, seed: int = 0, T: float = TOY_T, theta_true=TOY_THETA_TRUE,
                  ref_steps: int = 200, ref_method: str = "euler", scale: float = 0.1) -> ToyData:
    """Draw the toy problem's training and test inputs and compute their reference outputs.

    One generator seeded with ``seed`` draws ``Y0`` and then ``Y0_test``, each
    ``scale * standard_normal((3, n_examples))``. ``C`` is what ``ref_steps``
    steps of ``ref_method`` (the course script: 200 Euler steps) give at
    ``theta_true``.
    """
    n_examples = check_int("n_examples", n_examples, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    T = check_float("T", T, min_value=0.0, strict_min=True)
    ref_steps = check_int("ref_steps", ref_steps, min_value=1)
    scale = check_float("scale", scale, min_value=0.0, strict_min=True)
    rng = np.random.default_rng(seed)
    Y0 = scale * rng.standard_normal((3, n_examples))
    Y0_test = scale * rng.standard_normal((3, n_examples))
    K = toy_kernel(theta_true)
    C = propagate(ref_method, K, Y0, T, ref_steps)
    C_test = propagate(ref_method, K, Y0_test, T, ref_steps)
    return ToyData(Y0, Y0_test, C, C_test, T, tuple(float(t) for t in theta_true), ref_steps, ref_method, seed, scale)


def theta_grid(lo: float = 0.2, hi: float = 2.0, n: int = 101):
    """The parameter grid ``linspace(lo, hi, n)^2``.

    Returns
    -------
    t : ndarray, shape (n,)
        The values of either parameter.
    theta : ndarray, shape (n * n, 2)
        ``theta[i * n + j] = (t[i], t[j])``: row index ``i`` is ``theta_1``.
    """
    n = check_int("n", n, min_value=2)
    lo = check_float("lo", lo)
    hi = check_float("hi", hi)
    if hi <= lo:
        raise ValueError(f"hi must be > lo, got lo={lo}, hi={hi}")
    t = np.linspace(lo, hi, n)
    t1, t2 = np.meshgrid(t, t, indexing="ij")
    return t, np.stack([t1.ravel(), t2.ravel()], axis=-1)


def objective(method, data: ToyData, n_steps: int, theta, chunk: int = 4096):
    """Training and test objectives ``0.5 ||Y_N(theta) - C||_F^2`` for many parameter pairs.

    Training and test inputs are propagated together (their columns do not
    interact); the kernels are processed in chunks of ``chunk`` to bound memory.

    Parameters
    ----------
    method : str or method
    data : ToyData
    n_steps : int
        Steps over ``[0, data.T]``.
    theta : array_like, shape (g, 2)
    chunk : int
        Kernels per batch.

    Returns
    -------
    train, test : ndarray, shape (g,)
    """
    method = as_method(method)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    chunk = check_int("chunk", chunk, min_value=1)
    theta = np.asarray(theta, dtype=float).reshape(-1, 2)
    Y0 = np.concatenate([data.Y0, data.Y0_test], axis=1)
    C = np.concatenate([data.C, data.C_test], axis=1)
    n = data.Y0.shape[1]
    train = np.empty(len(theta))
    test = np.empty(len(theta))
    for a in range(0, len(theta), chunk):
        Y = propagate(method, toy_kernel(theta[a:a + chunk]), Y0, data.T, n_steps)
        R = (Y - C) ** 2
        train[a:a + chunk] = 0.5 * R[..., :n].sum(axis=(-2, -1))
        test[a:a + chunk] = 0.5 * R[..., n:].sum(axis=(-2, -1))
    return train, test


def objective_landscape(method, data: ToyData, n_steps: int, n: int = 101, lo: float = 0.2, hi: float = 2.0):
    """:func:`objective` on the grid :func:`theta_grid` ``(lo, hi, n)``.

    Returns
    -------
    t : ndarray, shape (n,)
    train, test : ndarray, shape (n, n)
        ``[i, j]`` is the objective at ``theta = (t[i], t[j])``.
    """
    t, theta = theta_grid(lo, hi, n)
    train, test = objective(method, data, n_steps, theta)
    return t, train.reshape(n, n), test.reshape(n, n)



def linear_growth(method, h: float, theta) -> np.ndarray:
    """Largest ``|R(h lambda)|`` over the kernel's eigenvalues: the growth per step of the linearised method.

    Near ``Y = 0``, ``tanh(K Y) ~ K Y`` and one step multiplies the component
    along an eigenvector by the stability function ``R(h lambda)``. The
    zero eigenvalue (``R(0) = 1``, the preserved mean) is left out, so a value
    above 1 means the decaying modes grow instead.

    Parameters
    ----------
    method : str or method
    h : float
        Step size, > 0.
    theta : array_like, shape (..., 2)

    Returns
    -------
    ndarray, shape (...)
    """
    method = as_method(method)
    h = check_float("h", h, min_value=0.0, strict_min=True)
    lam = toy_eigenvalues(theta)[..., 1:]
    return np.abs(method.stability_function(h * lam, h)).max(axis=-1)

# ----------------------------------------------------------------------------
# Convergence
# ----------------------------------------------------------------------------


def fitted_order(h, errors) -> float:
    """Slope of the least-squares line through ``(log h, log error)``."""
    h = np.asarray(h, dtype=float)
    errors = np.asarray(errors, dtype=float)
    if h.shape != errors.shape or h.size < 2:
        raise ValueError("h and errors must be arrays of the same length >= 2")
    if np.any(errors <= 0) or np.any(h <= 0):
        raise ValueError("h and errors must be positive to fit a slope in log-log scale")
    return float(np.polyfit(np.log(h), np.log(errors), 1)[0])


@dataclass(frozen=True)
class Convergence:
    """Errors of one method against a reference at several step counts.

    Attributes
    ----------
    method : str
    steps : ndarray of int, shape (k,)
    h : ndarray, shape (k,)
        Step sizes.
    evaluations : ndarray of int, shape (k,)
        Function evaluations, ``steps * stages``.
    errors : ndarray, shape (k,)
        Relative errors ``||Y_N - Y_ref||_F / ||Y_ref||_F``.
    fit : ndarray of bool, shape (k,)
        The points the order is fitted over.
    order : float
        :func:`fitted_order` over the points in ``fit``.
    """

    method: str
    steps: np.ndarray
    h: np.ndarray
    evaluations: np.ndarray
    errors: np.ndarray
    fit: np.ndarray
    order: float


def convergence(methods, final_state, steps, reference, length: float, fit_min_steps: int | None = None) -> dict:
    """Relative error of ``final_state(method, n)`` against ``reference`` for every method and step count.

    Parameters
    ----------
    methods : sequence of str or methods
    final_state : callable
        ``final_state(method, n) -> ndarray``: the approximation after ``n``
        steps over an interval of length ``length``.
    steps : sequence of int
        Step counts, at least two distinct ones.
    reference : ndarray
        The (near-)exact final state, same shape as ``final_state``'s result.
    length : float
        Length of the time interval (``h = length / n``).
    fit_min_steps : int, optional
        Fit the order only over step counts ``>= fit_min_steps`` (the
        asymptotic range); default: all. At least two must remain.

    Returns
    -------
    dict of str -> Convergence
    """
    steps = np.array(sorted({check_int("steps", n, min_value=1) for n in steps}))
    if steps.size < 2:
        raise ValueError(f"steps must hold at least 2 distinct step counts, got {steps.tolist()}")
    length = check_float("length", length, min_value=0.0, strict_min=True)
    fit = steps >= (steps[0] if fit_min_steps is None else check_int("fit_min_steps", fit_min_steps, min_value=1))
    if fit.sum() < 2:
        raise ValueError(f"fit_min_steps={fit_min_steps} leaves fewer than 2 of the steps {steps.tolist()} to fit")
    reference = np.asarray(reference, dtype=float)
    scale = np.linalg.norm(reference)
    h = length / steps
    out = {}
    for name in methods:
        m = as_method(name)
        errs = np.array([np.linalg.norm(final_state(m, int(n)) - reference) / scale for n in steps])
        out[m.name] = Convergence(m.name, steps, h, steps * m.n_stages, errs, fit, fitted_order(h[fit], errs[fit]))
    return out


def toy_convergence(methods, data: ToyData, theta=TOY_THETA_TRUE, steps=(16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
                    fit_min_steps: int | None = 128, ref_steps: int = 32768, ref_method: str = "rk4",
                    time_scale: float = 1.0) -> dict:
    """Convergence of every method on the toy problem at one parameter pair (training inputs).

    The reference is ``ref_method`` with ``ref_steps`` steps for ``dY/dt =
    time_scale * tanh(K Y)`` on ``[0, T]``, i.e. ``dY/dt = tanh(K Y)`` on
    ``[0, time_scale * T]``. With ``time_scale=1/6`` it is the problem that
    the thesis's variant is consistent with (its weights sum to ``1/6 + h/2``).

    Returns
    -------
    dict of str -> Convergence
    """
    time_scale = check_float("time_scale", time_scale, min_value=0.0, strict_min=True)
    K = toy_kernel(theta)
    reference = propagate(ref_method, K, data.Y0, data.T * time_scale, ref_steps)
    return convergence(methods, lambda m, n: propagate(m, K, data.Y0, data.T, n), steps, reference, data.T,
                       fit_min_steps)


def weight_sum(method, h: float) -> float:
    """Sum of the weights ``b`` at step ``h``: 1 for a consistent method, ``1/6 + h/2`` for the thesis's variant.

    To first order in ``h`` a step advances ``y`` by ``h * sum(b) * f(y)``, so a
    method with weight sum ``a`` integrates ``dy/dt = a f(y)``.
    """
    return float(np.sum(as_method(method).coefficients(h)[1]))


def landscape_summary(P, t, reference=None) -> dict:
    """Key numbers of an objective landscape.

    Parameters
    ----------
    P : ndarray, shape (n, n)
        ``P[i, j]`` at ``theta = (t[i], t[j])``.
    t : ndarray, shape (n,)
    reference : ndarray, shape (n, n), optional

    Returns
    -------
    dict
        ``max``, ``min``, ``argmin`` (theta pair); with a reference also
        ``max_abs_diff`` (``max |P - reference|``), ``rel_diff``
        (``||P - reference||_F / ||reference||_F``) and ``log_corr`` (correlation
        coefficient of ``log10 P`` and ``log10 reference`` over the grid: how
        alike the two look in a logarithmic colour plot).
    """
    P = np.asarray(P, dtype=float)
    i, j = np.unravel_index(np.argmin(P), P.shape)
    out = {"max": float(P.max()), "min": float(P.min()), "argmin": [float(t[i]), float(t[j])]}
    if reference is not None:
        reference = np.asarray(reference, dtype=float)
        out["max_abs_diff"] = float(np.abs(P - reference).max())
        out["rel_diff"] = float(np.linalg.norm(P - reference) / np.linalg.norm(reference))
        logs = np.log10(np.maximum(np.stack([P.ravel(), reference.ravel()]), np.finfo(float).tiny))
        out["log_corr"] = float(np.corrcoef(logs)[0, 1])
    return out


# ----------------------------------------------------------------------------
# The Peaks network with Runge-Kutta forward propagation
# ----------------------------------------------------------------------------


def accuracy_under(results, evaluators, X, y) -> np.ndarray:
    """Accuracy of every run's trained weights under other networks: :func:`resnet_ode.studies.evaluation.accuracy_under` with the networks of the RunConfigs ``evaluators``.

    Parameters
    ----------
    results : sequence of RunResult
        Trained runs (sharing ``nt`` and ``nc``).
    evaluators : sequence of RunConfig
        Networks to evaluate the weights with (e.g. another integrator or
        number of state times).
    X : ndarray, shape (2, n)
    y : ndarray of int, shape (n,)

    Returns
    -------
    ndarray, shape (len(results), len(evaluators))
    """
    return evaluation.accuracy_under(results, [c.model() for c in evaluators], X, y)


def feature_error_under(results, evaluators, reference, X) -> np.ndarray:
    """Relative distance of the final features under other networks from those of a reference network.

    Returns
    -------
    ndarray, shape (len(results), len(evaluators))
        ``||Y_T^e(theta_r) - Y_T^ref(theta_r)||_F / ||Y_T^ref(theta_r)||_F``.
    """
    ref_model = reference.model()
    models = [c.model() for c in evaluators]
    out = np.empty((len(results), len(models)))
    for i, r in enumerate(results):
        Yref = ref_model.features.apply(r.theta, X)
        for j, m in enumerate(models):
            out[i, j] = np.linalg.norm(m.features.apply(r.theta, X) - Yref) / np.linalg.norm(Yref)
    return out


def network_convergence(config, theta, X, methods, states, ref_states: int = 1921, ref_method: str = "rk4",
                        fit_min_steps: int | None = None) -> dict:
    """Convergence of the trained network's features ``Y(T)`` in the number of steps, for several methods.

    The weights ``theta`` of the run ``config`` define the ODE (weights
    interpolated linearly in time between the control times); it is solved
    by every method with ``n - 1`` steps for every ``n`` in ``states`` and
    compared with ``ref_method`` at ``ref_states`` state times.

    Returns
    -------
    dict of str -> Convergence
        ``steps`` are numbers of steps (``states - 1``).
    """
    states = [check_int("states", n, min_value=2) for n in states]
    ref = config.replace(integrator=ref_method, nY=ref_states).model().features.apply(theta, X)

    def final(m, n_steps):
        return config.replace(integrator=m.name, nY=n_steps + 1).model().features.apply(theta, X)

    return convergence(methods, final, [n - 1 for n in states], ref, config.T, fit_min_steps)


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------

#: Line styles of the methods in the convergence plots.
METHOD_STYLES = {
    "euler": dict(color="#0072B2", marker="o"),
    "midpoint": dict(color="#56B4E9", marker="s"),
    "heun": dict(color="#009E73", marker="^"),
    "rk4": dict(color="#D55E00", marker="D"),
    "rk4_38": dict(color="#E69F00", marker="v"),
    "rk4_thesis_as_written": dict(color="k", marker="x", linestyle="--"),
}


def plot_landscape(ax, t, P, title: str | None = None, log: bool = True, levels: int = 30, cmap: str = "viridis",
                   vmin=None, vmax=None, colorbar: bool = True):
    """Filled contour plot of a landscape ``P[i, j]`` at ``(t[i], t[j])``: ``theta_1`` across, ``theta_2`` up.

    With ``log=True`` the colours show ``log10 P``. Returns the contour set.
    """
    import matplotlib.pyplot as plt

    Z = np.log10(np.maximum(P, np.finfo(float).tiny)) if log else np.asarray(P)
    lo = Z.min() if vmin is None else vmin
    hi = Z.max() if vmax is None else vmax
    cs = ax.contourf(t, t, Z.T, levels=np.linspace(lo, hi, levels), cmap=cmap, extend="both")
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        cb = plt.colorbar(cs, ax=ax, fraction=0.046, pad=0.04)
        cb.set_label(r"$\log_{10}$" if log else "", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    return cs


def plot_convergence(ax, results: dict, x: str = "h", fitted: bool = True):
    """Log-log plot of the errors of :func:`convergence` results against ``h`` or ``"evaluations"``.

    With ``fitted=True`` the legend gives each method's fitted order and the
    fitted line is drawn over the fit range.
    """
    for name, c in results.items():
        style = dict(METHOD_STYLES.get(name, {}))
        xs = c.h if x == "h" else c.evaluations
        label = f"{name} (order {c.order:.2f})" if fitted else name
        line = ax.loglog(xs, c.errors, label=label, markersize=4, **style)[0]
        if fitted and x == "h":
            hf = c.h[c.fit]
            slope, icpt = np.polyfit(np.log(hf), np.log(c.errors[c.fit]), 1)
            ax.loglog(hf, np.exp(icpt) * hf**slope, color=line.get_color(), alpha=0.35, linewidth=4)
    ax.set_xlabel("step size h" if x == "h" else "function evaluations")
    ax.set_ylabel("relative error of Y(T)")
    ax.grid(True, which="both", alpha=0.3)
    return ax
