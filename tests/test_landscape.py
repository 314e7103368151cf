"""Loss landscapes: directions, normalisation, batched evaluation, surfaces, measures."""

import numpy as np
import pytest

from resnet_ode.studies import landscape as L
from resnet_ode.book.experiments import standard_resnet_config
from resnet_ode.core.network import ResNetODE
from resnet_ode.core.objectives import (
    EXACT_CLASSIFIER_SOLVER,
    ClassifierSubproblem,
    JointObjective,
    VarProObjective,
    solve_classifier,
)
from resnet_ode.training.runs import get_run

TINY = dict(nc=4, n_train_per_class=20, n_val_per_class=4, max_iter=3, cg_max_iter=5)


@pytest.fixture
def tiny_run(tmp_cache):
    return get_run(standard_resnet_config(3, T=1.0, **TINY))


@pytest.fixture
def store(tmp_cache):
    """Surfaces and Hessians live in the cache root, next to the runs (resnet_ode.training.cache)."""
    return tmp_cache


def small_model(**kw):
    args = dict(nY=4, T=1.0, nc=4, control="per_step", workers=1)
    args.update(kw)
    return ResNetODE(**args)


def data_with_repeats(rng, n=30):
    X = rng.uniform(-3, 3, (2, n))
    y = rng.integers(0, 5, n)
    # Repeated samples, as in the Peaks sample drawn with replacement.
    return np.concatenate([X, X[:, :7]], axis=1), np.concatenate([y, y[:7]])


# ----------------------------------------------------------------------------
# groups and directions
# ----------------------------------------------------------------------------


def test_parameter_groups_partition_the_weights():
    model = small_model(nY=5)
    g = L.parameter_groups(model)
    assert g.n == model.n_params == 8 + 4 * 17
    allidx = np.concatenate(g.layers(with_bias=True))
    assert np.array_equal(np.sort(allidx), np.arange(g.n))
    assert len(g.layer_weights) == 1 + 4 and [i.size for i in g.layer_weights] == [8] + [16] * 4
    assert len(g.filters) == 4 + 4 * 4
    assert np.array_equal(np.sort(np.concatenate(g.filters + [g.biases])), np.arange(g.n))
    # The bias index points at b_k of the ODE block.
    theta = np.arange(g.n, dtype=float)
    _, _, b = model.split(theta)
    assert np.array_equal(theta[g.biases], b)


def test_filter_normalised_direction_has_the_row_norms_of_theta(rng):
    model = small_model()
    g = L.parameter_groups(model)
    theta = rng.standard_normal(g.n)
    d = L.normalise_direction(rng.standard_normal(g.n), theta, g, "filter")
    for idx in g.filters:
        assert np.linalg.norm(d[idx]) == pytest.approx(np.linalg.norm(theta[idx]), rel=1e-12)
    # Biases ("own" rule): the size of the trained bias, random sign.
    assert np.allclose(np.abs(d[g.biases]), np.abs(theta[g.biases]))
    K0, K, _ = model.split(theta)
    dK0, dK, _ = model.split(d)
    assert np.allclose(np.linalg.norm(dK0, axis=1), np.linalg.norm(K0, axis=1))
    assert np.allclose(np.linalg.norm(dK, axis=2), np.linalg.norm(K, axis=2))


def test_bias_rules(rng):
    model = small_model()
    g = L.parameter_groups(model)
    theta, raw = rng.standard_normal(g.n), rng.standard_normal(g.n)
    assert np.all(L.normalise_direction(raw, theta, g, "filter", "zero")[g.biases] == 0)
    assert np.array_equal(L.normalise_direction(raw, theta, g, "none", "own"), raw)
    lay = L.normalise_direction(raw, theta, g, "layer", "layer")
    for idx in g.layers(with_bias=True):
        assert np.linalg.norm(lay[idx]) == pytest.approx(np.linalg.norm(theta[idx]))
    lay_own = L.normalise_direction(raw, theta, g, "layer", "own")
    for idx in g.layer_weights:
        assert np.linalg.norm(lay_own[idx]) == pytest.approx(np.linalg.norm(theta[idx]))
    with pytest.raises(ValueError, match="bias"):
        L.normalise_direction(raw, theta, g, "filter", "layer")


def test_thesis_normalisation_matches_the_layer_means(rng):
    model = small_model()
    g = L.parameter_groups(model)
    theta, raw = rng.standard_normal(g.n), rng.standard_normal(g.n)
    d = L.normalise_direction(raw, theta, g, "thesis")  # default bias rule: part of its layer (thesis code)
    assert L.resolve_bias_rule("thesis", None) == "layer"
    for idx in g.layers(with_bias=True):
        assert np.mean(d[idx]) == pytest.approx(np.mean(theta[idx]), rel=1e-10)
        # Every entry is the raw draw times one factor per layer.
        ratio = d[idx] / raw[idx]
        assert np.allclose(ratio, ratio[0])
    # Written out as the thesis's code does it: Q' (Q d) ./ (Q' total), then d .* thetaAvg ./ dAvg.
    Q = np.zeros((len(g.layer_weights), g.n))
    for k, idx in enumerate(g.layers(with_bias=True)):
        Q[k, idx] = 1
    total = Q.sum(axis=1)
    avg = lambda v: Q.T @ (Q @ v) / (Q.T @ total)  # noqa: E731
    assert np.allclose(d, raw * avg(theta) / avg(raw))


def test_directions_are_seeded(rng):
    model = small_model()
    theta = rng.standard_normal(model.n_params)
    a1, a2 = L.directions(model, theta, seed=3)
    b1, b2 = L.directions(model, theta, seed=3)
    c1, _ = L.directions(model, theta, seed=4)
    assert np.array_equal(a1, b1) and np.array_equal(a2, b2)
    assert not np.allclose(a1, c1) and not np.allclose(a1, a2)


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(norm="filters"), ValueError, "norm"),
        (dict(bias="inside"), ValueError, "bias"),
        (dict(norm="filter", bias="layer"), ValueError, "bias"),
        (dict(objective="exact"), ValueError, "objective"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(a=(0.0, -1.0)), ValueError, "a"),
        (dict(b=("x",)), TypeError, "b"),
    ],
)
def test_bad_settings_fail_before_compute(kwargs, error, name, tiny_run, store, monkeypatch):
    def no_compute(*args, **kw):
        raise AssertionError("computation started")

    monkeypatch.setattr(L.surfaces, "compute_surface", no_compute)
    with pytest.raises(error) as info:
        L.get_surface(tiny_run, L.SurfaceSpec(**kwargs))
    assert name in str(info.value)


# ----------------------------------------------------------------------------
# batched evaluation
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [dict(), dict(integrator="rk4", bias="inside"),
                                dict(control="interpolated", nt=3, integrator="heun")])
def test_batched_features_equal_the_network(kw, rng):
    model = small_model(**kw)
    X, y = data_with_repeats(rng)
    obj = L.BatchObjective(model, X, y, "joint", W=rng.standard_normal(model.n_classifier_params))
    thetas = rng.standard_normal((3, model.n_params))
    Y = obj.features(thetas)
    for t, Yt in zip(thetas, Y):
        assert np.allclose(Yt, model.features.apply(t, obj.X), rtol=1e-12, atol=1e-13)


def test_batched_joint_values_equal_the_plain_objective(rng):
    model = small_model()
    X, y = data_with_repeats(rng)
    W = rng.standard_normal(model.n_classifier_params)
    obj = L.BatchObjective(model, X, y, "joint", W=W)
    assert obj.X.shape[1] == 30 and np.isclose(obj.weights.sum(), 1.0)
    plain = JointObjective(model, X, y)
    thetas = 0.5 * rng.standard_normal((4, model.n_params))
    expect = [plain.value(np.concatenate([t, W])) for t in thetas]
    assert np.allclose(obj.values(thetas), expect, rtol=1e-12, atol=0)


def test_batched_varpro_values_equal_the_plain_objective(tiny_run):
    data = tiny_run.config.dataset()
    X = np.concatenate([data.X_train, data.X_train[:, :15]], axis=1)
    y = np.concatenate([data.y_train, data.y_train[:15]])
    model = tiny_run.model
    obj = L.BatchObjective(model, X, y, "varpro")
    plain = VarProObjective(model, X, y, warm_start=False, solver=L.LANDSCAPE_SOLVER)
    d1, d2 = L.directions(model, tiny_run.theta, seed=0)
    thetas = np.stack([tiny_run.theta + a * d1 + b * d2 for a, b in [(0, 0), (0.3, -0.2), (-1, 1)]])
    values = obj.values(thetas)
    expect = [plain.value(t) for t in thetas]
    # Both solve the same strictly convex subproblem to the same tolerance from the same start.
    assert np.allclose(values, expect, rtol=1e-9, atol=0)
    # The value does not depend on what was evaluated before (no warm start).
    assert np.array_equal(obj.values(thetas[::-1])[::-1], values)


def test_batched_varpro_solves_the_training_subproblem_on_distinct_samples(rng):
    """The landscape's classifier (distinct samples, weighted by count) is solve_classifier's on all samples."""
    model = small_model()
    X, y = data_with_repeats(rng)
    obj = L.BatchObjective(model, X, y, "varpro")
    theta = 0.5 * rng.standard_normal(model.n_params)
    W, gnorm = obj.solve_classifier(obj.features(theta[None]), return_grad_norm=True)
    Y = model.features.apply(theta, X)
    W_all, info = solve_classifier(model.classifier, Y, y, model.regulariser_W, settings=L.LANDSCAPE_SOLVER)
    assert gnorm[0] < L.LANDSCAPE_SOLVER.gtol and info["grad_norm"] < L.LANDSCAPE_SOLVER.gtol
    # The subproblem is alpha_W-strongly convex: two points with small gradients are close.
    assert np.linalg.norm(W[0] - W_all) <= (gnorm[0] + info["grad_norm"]) / model.regulariser_W.alpha
    # The same problem: the weighted value on the distinct samples is the mean over all samples.
    plain = ClassifierSubproblem(model.classifier, Y, y, model.regulariser_W)
    assert obj.subproblem(obj.features(theta[None])[0]).value_grad(W_all)[0] == pytest.approx(
        plain.value_grad(W_all)[0], rel=1e-13)


# ----------------------------------------------------------------------------
# surfaces
# ----------------------------------------------------------------------------


class Quadratic:
    """``0.5 (theta - c)^T A (theta - c)``, with the interface evaluate_plane needs."""

    objective = "quadratic"

    def __init__(self, A, c):
        self.A, self.c = A, c

    def evaluate(self, thetas):
        D = thetas - self.c
        return 0.5 * np.einsum("bi,ij,bj->b", D, self.A, D), np.full(len(thetas), np.nan)


@pytest.mark.parametrize("indefinite", [False, True])
def test_quadratic_gives_the_exact_paraboloid(indefinite, rng):
    n = 12
    M = rng.standard_normal((n, n))
    A = M @ M.T + np.eye(n)
    theta, c = rng.standard_normal(n), rng.standard_normal(n)
    d1, d2 = rng.standard_normal(n), rng.standard_normal(n)
    if indefinite:  # make the curvature along d1 negative
        A = A - 2 * (d1 @ A @ d1) / (d1 @ d1) ** 2 * np.outer(d1, d1)
    a, b = L.li_grid(11), L.li_grid(7)
    F = L.evaluate_plane(Quadratic(A, c), theta, d1, d2, a, b, batch_size=5)
    g = A @ (theta - c)
    H2 = np.array([[d1 @ A @ d1, d1 @ A @ d2], [d2 @ A @ d1, d2 @ A @ d2]])
    f0 = 0.5 * (theta - c) @ A @ (theta - c)
    Aa, Bb = np.meshgrid(a, b, indexing="ij")
    exact = f0 + Aa * (g @ d1) + Bb * (g @ d2) + 0.5 * (H2[0, 0] * Aa**2 + 2 * H2[0, 1] * Aa * Bb + H2[1, 1] * Bb**2)
    assert np.allclose(F, exact, rtol=1e-12, atol=1e-12)
    # The slice b = 0 is the parabola along d1.
    F1 = L.evaluate_plane(Quadratic(A, c), theta, d1, d2, a, (0.0,))
    assert np.allclose(F1[:, 0], f0 + np.array(a) * (g @ d1) + 0.5 * H2[0, 0] * np.array(a) ** 2, rtol=1e-12)
    # Finite differences are exact for a quadratic.
    lo, hi = L.grid_hessian(F, a, b)
    ev = np.linalg.eigvalsh(H2)
    assert np.allclose(lo, ev[0], rtol=1e-6) and np.allclose(hi, ev[1], rtol=1e-6)
    m = L.curvature_measures(F, a, b)
    assert m["negative_share"] == (1.0 if ev[0] < 0 else 0.0)
    assert L.slice_nonconvex_share(F1[:, 0], a) == (1.0 if H2[0, 0] < 0 else 0.0)


def test_local_minima_and_grid_checks():
    x = np.linspace(-1, 1, 61)
    X, Y = np.meshgrid(x, x, indexing="ij")
    F = -np.cos(3 * np.pi * X) * np.cos(3 * np.pi * Y)  # minima where both cosines are +-1 with the same sign
    assert L.local_minima(F) == 13  # interior points with cos(3 pi x) cos(3 pi y) = 1
    assert L.local_minima(X**2 + Y**2) == 1
    with pytest.raises(ValueError, match="equally spaced"):
        L.grid_hessian(F, np.r_[x[:-1], 2.0], x)


def test_surface_is_stored_and_reused(tiny_run, store):
    spec = L.SurfaceSpec(objective="joint", seed=1, a=L.li_grid(5), b=L.li_grid(3))
    first = L.get_surface(tiny_run, spec)
    assert not first.from_cache and first.values.shape == (5, 3)
    assert len(list(store.glob("surface-*.npz"))) == 1
    again = L.get_surface(tiny_run, spec)
    assert again.from_cache
    for name in ("values", "d1", "d2", "theta", "a", "b"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert again.seconds == first.seconds
    # Same seed, same surface when computed afresh.
    fresh = L.get_surface(tiny_run, spec, use_cache=False)
    assert np.array_equal(fresh.values, first.values)
    d1, d2 = L.directions(tiny_run.model, tiny_run.theta, 1)
    assert np.array_equal(first.d1, d1) and np.array_equal(first.d2, d2)
    # The centre is the objective at the trained weights.
    assert np.all(np.isnan(first.inner_grad_norm))
    assert first.centre == pytest.approx(JointObjective(tiny_run.model, *_train(tiny_run)).value(
        np.concatenate([tiny_run.theta, tiny_run.W])), rel=1e-12)


def _train(run):
    d = run.config.dataset()
    return d.X_train, d.y_train


def test_surface_key_follows_run_spec_and_source(tiny_run, store, monkeypatch):
    from resnet_ode.training.runs import cache_key

    spec = L.SurfaceSpec(a=L.li_grid(5), b=L.li_grid(5))
    key = L.surface_key(cache_key(tiny_run.config), spec)
    assert key == L.surface_key(cache_key(tiny_run.config), L.SurfaceSpec(a=L.li_grid(5), b=L.li_grid(5)))
    assert key != L.surface_key(cache_key(tiny_run.config), L.SurfaceSpec(seed=1, a=L.li_grid(5), b=L.li_grid(5)))
    assert key != L.surface_key(cache_key(tiny_run.config), L.SurfaceSpec(norm="thesis", a=L.li_grid(5),
                                                                          b=L.li_grid(5)))
    assert key != L.surface_key(cache_key(tiny_run.config.replace(init_seed=1)), spec)
    monkeypatch.setattr(L.surfaces, "source_hash", lambda: "changed library")
    assert key != L.surface_key(cache_key(tiny_run.config), spec)


def test_stale_or_broken_store_is_recomputed(tiny_run, store):
    spec = L.SurfaceSpec(a=L.li_grid(3), b=L.li_grid(3))
    first = L.get_surface(tiny_run, spec)
    path = next(store.glob("surface-*.npz"))
    path.write_bytes(b"not an npz file")
    with pytest.warns(UserWarning, match=str(path)):
        again = L.get_surface(tiny_run, spec)
    assert not again.from_cache and np.array_equal(again.values, first.values)
    assert L.get_surface(tiny_run, spec).from_cache


def test_workers_give_the_same_surface(tiny_run):
    d = tiny_run.config.dataset()
    model = tiny_run.model
    obj = L.BatchObjective(model, d.X_train, d.y_train, "varpro")
    d1, d2 = L.directions(model, tiny_run.theta, 0)
    a = L.li_grid(5)
    one, inner = L.evaluate_plane(obj, tiny_run.theta, d1, d2, a, a, batch_size=3, workers=1, return_inner=True)
    two = L.evaluate_plane(obj, tiny_run.theta, d1, d2, a, a, batch_size=3, workers=2)
    other_batches = L.evaluate_plane(obj, tiny_run.theta, d1, d2, a, a, batch_size=7, workers=1)
    assert np.array_equal(one, two) and np.array_equal(one, other_batches)
    # Every classifier subproblem was solved to the exact solver's tolerance.
    assert np.all(inner < EXACT_CLASSIFIER_SOLVER.gtol)
    assert L.LANDSCAPE_SOLVER.gtol == EXACT_CLASSIFIER_SOLVER.gtol and L.LANDSCAPE_SOLVER.method == "newton"


class Failing(Quadratic):
    """A quadratic whose evaluation raises once any coordinate reaches ``at``."""

    def __init__(self, A, c, at, error):
        super().__init__(A, c)
        self.at, self.error = at, error

    def evaluate(self, thetas):
        if np.any(thetas[:, 0] >= self.at):
            raise self.error("batch failed")
        return super().evaluate(thetas)


def _plane_args(rng, n=6):
    M = rng.standard_normal((n, n))
    theta = np.zeros(n)
    d1, d2 = np.eye(n)[0], np.eye(n)[1]
    return M @ M.T, rng.standard_normal(n), theta, d1, d2


@pytest.mark.processes
@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_a_failing_batch_stops_the_workers_and_the_next_plane_starts_new_ones(error, rng):
    from resnet_ode.studies.landscape import plane

    A, c, theta, d1, d2 = _plane_args(rng)
    a = L.li_grid(9)
    with pytest.raises(error, match="batch failed"):
        L.evaluate_plane(Failing(A, c, 0.5, error), theta, d1, d2, a, a, batch_size=2, workers=2)
    assert 2 not in plane._EXECUTORS
    good = L.evaluate_plane(Quadratic(A, c), theta, d1, d2, a, a, batch_size=2, workers=2)
    assert np.array_equal(good, L.evaluate_plane(Quadratic(A, c), theta, d1, d2, a, a, batch_size=2, workers=1))


def test_interrupt_while_collecting_cancels_the_rest_and_ends_the_workers(rng, monkeypatch):
    """Ctrl-C arriving while the results are collected: it propagates at once, the workers end, nothing hangs."""
    from resnet_ode.studies.landscape import plane

    class Interrupted:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            raise KeyboardInterrupt

    A, c, theta, d1, d2 = _plane_args(rng)
    a = L.li_grid(21)
    executor = plane._executor(2)
    procs = list(executor._processes.values())
    monkeypatch.setattr(plane.progress, "bar", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        L.evaluate_plane(Quadratic(A, c), theta, d1, d2, a, a, batch_size=1, workers=2)
    assert 2 not in plane._EXECUTORS
    for proc in procs:
        proc.join(timeout=30)
        assert not proc.is_alive() and proc.exitcode is not None


def test_store_key_digests_every_module_that_decides_values():
    """A module added to the package must be classified: in VALUE_MODULES or known to decide no stored value."""
    from pathlib import Path

    folder = Path(L.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")}
    assert modules == set(L.VALUE_MODULES) | {"__init__", "measures", "version"}


# ----------------------------------------------------------------------------
# Hessian at theta*
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("objective", ["joint", "varpro"])
def test_hessian_extremes_match_the_full_matrix(objective, tiny_run):
    X, y = _train(tiny_run)
    model, theta, W = tiny_run.model, tiny_run.theta, tiny_run.W
    res = L.hessian_extremes(model, theta, W, X, y, objective=objective, ncv=40)
    n = theta.size
    if objective == "joint":
        joint = JointObjective(model, X, y)
        grad = lambda th: joint.evaluate(np.concatenate([th, W])).grad[:n]  # noqa: E731
    else:
        grad = L.hessian._VarProGradient(model, X, y, theta)
    # The full matrix from products with an orthonormal basis of dense random vectors, H = (H Q) Q^T.
    Q = np.linalg.qr(np.random.default_rng(5).standard_normal((n, n)))[0]
    eps = 1e-6 * max(1.0, np.linalg.norm(theta))
    HQ = np.column_stack([(grad(theta + eps * q) - grad(theta - eps * q)) / (2 * eps) for q in Q.T])
    H = HQ @ Q.T
    ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    scale = max(abs(ev[0]), abs(ev[-1]))
    assert res["lam_max"] == pytest.approx(ev[-1], rel=1e-4)
    assert abs(res["lam_min"] - ev[0]) < 1e-4 * scale
    assert res["asymmetry"] < 1e-3
    assert res["second_difference_min"] == pytest.approx(res["lam_min"], rel=0.05, abs=1e-3 * scale)


def test_timed_table_keeps_durations_out_of_the_alignment(monkeypatch):
    monkeypatch.delenv("RESNET_ODE_DURATION_SCALE", raising=False)  # make test scales printed durations
    a = L.format_timed_table(["n", "x", "time"], [[1, 0.5], [20, 1.25]], [[3.1], [12.0]]).splitlines()
    b = L.format_timed_table(["n", "x", "time"], [[1, 0.5], [20, 1.25]], [[10.4], [0.2]]).splitlines()
    strip = lambda line: line.rsplit("  ", 1)[0]  # noqa: E731
    assert [strip(x) for x in a] == [strip(x) for x in b]
    assert a[2].endswith("3.1 s") and b[3].endswith("0.2 s")


def test_chapter_runs_and_sweep():
    import os

    from resnet_ode.book.experiments import SWEEPS, chapter_parameters, landscape_runs

    sweep = SWEEPS["3.3"]
    params = chapter_parameters(os.path.join(os.path.dirname(__file__), "..", sweep.notebook))
    configs = sweep.configs(params)
    assert [c.nt for c in configs] == sorted(params["depths"])
    assert all(c.control == "per_step" and c.T == params["T"] and c.nY == c.nt + 1 and c.nc == 8 for c in configs)
    assert sweep.output_path(configs[0]) == f"book/chapter3/runs/landscape-L{configs[0].nt:03d}.ipynb"
    assert [(c.nt, c.init_seed) for c in landscape_runs([20, 8], 2.0, seeds=[1, 3])] == [(8, 1), (20, 1), (8, 3), (20, 3)]
    assert sweep.all_runs(params)[: len(configs)] == configs                # pages first: the first seed's networks
    assert len(sweep.all_runs(params)) == len(params["depths"]) * len(params["seeds"])
    for bad, name in [(dict(depths=[8, 20], changes={"init_seed": 1}), "init_seed"), (dict(depths=[8, 20], seeds=[]), "seeds"),(dict(depths=[8]), "depths"), (dict(depths=[8, 2.5]), "depths"),
                      (dict(depths=[8, 20], changes={"nY": 5}), "nY"), (dict(depths=[8, 20], T=0.0), "T")]:
        with pytest.raises(ValueError, match=name):
            landscape_runs(**bad)
