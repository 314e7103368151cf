"""Speed of the Peaks network's kernels, side by side in one process.

Implementations
    ``numpy-plain``   a straightforward numpy implementation written here: one
                      pass over the steps with fresh arrays, np.tanh, no reuse,
                      one process (the baseline every ratio refers to);
    ``resnet_ode-1``  the package with one process (allocation-free Euler
                      path, recycled tape memory);
    ``resnet_ode-2``  the package with two worker processes (the default on
                      two cores);
    ``threads-2``     the package's column chunks (the same two chunks as the
                      worker processes) propagated by two threads of one
                      process instead, each with its own copy of the blocks;
    ``numba-1``       the same network compiled with numba (``numba_kernels.py``:
    ``numba-2``       one loop over the samples through every step and stage),
                      with one thread or two threads over the two chunks (only
                      if numba is installed; skipped with a message otherwise);
    ``torch``         PyTorch on the CPU in float64 with 2 threads, the same
                      network, data and initial weights (only if torch is
                      installed; skipped with a message otherwise).

Operations (all over the 5000 Peaks training points, nc = 8, nt = 16, T = 20)
    ``forward``       Y(T) without derivatives;
    ``fwd+grad``      forward pass with what the gradient needs, then the
                      gradient of the cross-entropy (classifier fixed) with
                      respect to the network weights;
    ``gn-cg-step``    one CG step of Gauss-Newton: J v followed by J^T w at a
                      fixed forward pass (the tape is reused, as in training).

Usage::

    python benchmarks/bench.py                      # table for nY in 8 32 128 256, Euler and RK4
    python benchmarks/bench.py --nY 256 --integrator euler --json results.json
    python benchmarks/bench.py --implementation resnet_ode-1 resnet_ode-2 threads-2   # processes vs threads
    python benchmarks/bench.py --against HEAD       # the working tree against a commit, side by side
    python benchmarks/bench.py --train              # also time training each Chapter 3.1 depth
    python benchmarks/bench.py --nY 256 --integrator euler --implementation resnet_ode-1 --activation
                                                    # also tanh per value and its share of fwd+grad
    python benchmarks/bench.py --book               # also time the whole book build, empty cache

``--against REV`` extracts the package of commit ``REV`` (``git archive``, into
a temporary folder outside the repository, removed afterwards) and starts two
measuring processes, one importing the working tree's ``lib`` and one the
extracted ``lib``. They take turns (A B, then B A, ...) over ``--rounds``
rounds for every operation, so that a change of machine load hits both; the
table gives the median of each and their ratio (defaults: nY 32 and 256,
Euler and RK4, the package with one and two processes).

Numbers are medians over repeats, the implementations taking turns call by
call; run on an otherwise idle machine (on a busy one the second core, which
two processes or two threads need, is not free, and their speed-ups shrink).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("RESNET_ODE_PROGRESS", "0")

import numpy as np  # noqa: E402

try:
    from resnet_ode.core.data import make_peaks_dataset  # noqa: E402
    from resnet_ode.core.losses import cross_entropy  # noqa: E402
    from resnet_ode.core.network import ResNetODE  # noqa: E402
except ImportError:  # a commit from before the layered layout (``--against`` an older revision)
    from resnet_ode.data import make_peaks_dataset  # noqa: E402
    from resnet_ode.losses import cross_entropy  # noqa: E402
    from resnet_ode.network import ResNetODE  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: Every implementation, in table order.
IMPLEMENTATIONS = ("numpy-plain", "resnet_ode-1", "resnet_ode-2", "threads-2", "numba-1", "numba-2", "torch")
OPERATIONS = ("forward", "fwd+grad", "gn-cg-step")


def measure(fns, min_repeats=3, max_repeats=20, budget=2.0):
    """Median wall-clock seconds of every ``fns[name]()`` over repeats (after one warm-up call each).

    The functions take turns, one call each per round, so that a change of
    the machine's load between rounds hits them all alike. Returns
    ``{name: (median seconds, repeats)}``.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    start = time.perf_counter()
    rounds = 0
    while rounds < max_repeats and (rounds < min_repeats or time.perf_counter() - start < budget * len(fns)):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
        rounds += 1
    return {name: (statistics.median(t), len(t)) for name, t in times.items()}


# ----------------------------------------------------------------------------
# the straightforward numpy baseline
# ----------------------------------------------------------------------------


class PlainNumpy:
    """Textbook forward/backward for the same network, with any explicit RK tableau."""

    def __init__(self, model):
        self.model = model
        ode = model.ode
        self.h, self.A, self.b, self.s = ode.h, ode.A, ode.b, ode.n_stages
        self.P = ode.P

    def _weights(self, theta):
        K0, K, b = self.model.split(theta)
        Ke = np.einsum("ek,kij->eij", self.P, K)
        return K0, Ke, self.P @ b

    def forward(self, theta, X, keep=False):
        K0, Ke, be = self._weights(theta)
        Y = np.tanh(K0 @ X)
        tape = []
        for j in range(self.model.ode.n_steps):
            ks, stages = [], []
            for i in range(self.s):
                U = Y + sum(self.h * self.A[i, m] * ks[m] for m in range(i)) if i else Y
                Z = Ke[j * self.s + i] @ U
                act = np.tanh(Z)
                ks.append(act + be[j * self.s + i])
                stages.append((U, act))
            if keep:
                tape.append(stages)
            Y = Y + self.h * sum(self.b[i] * ks[i] for i in range(self.s))
        return Y, (K0, Ke, X, tape)

    def backward(self, cache, G):
        K0, Ke, X, tape = cache
        gK = np.zeros_like(Ke)
        gb = np.zeros(Ke.shape[0])
        lam = G
        for j in reversed(range(len(tape))):
            barU = [None] * self.s
            for i in reversed(range(self.s)):
                bark = self.h * self.b[i] * lam
                for m in range(i + 1, self.s):
                    bark = bark + self.h * self.A[m, i] * barU[m]
                U, act = tape[j][i]
                D = (1.0 - act**2) * bark
                e = j * self.s + i
                gb[e] += bark.sum()
                gK[e] += D @ U.T
                barU[i] = Ke[e].T @ D
            lam = lam + sum(barU)
        Y0 = np.tanh(K0 @ X)
        gK0 = ((1.0 - Y0**2) * lam) @ X.T
        gKc = np.einsum("ek,eij->kij", self.P, gK)
        gbc = self.P.T @ gb
        return np.concatenate([gK0.ravel(), np.concatenate([gKc.reshape(len(gbc), -1), gbc[:, None]], axis=1).ravel()])

    def jvp(self, theta, cache, v):
        K0, Ke, X, tape = cache
        dK0, dK, db = self.model.split(v)
        dKe = np.einsum("ek,kij->eij", self.P, dK)
        dbe = self.P @ db
        Y0 = np.tanh(K0 @ X)
        dY = (1.0 - Y0**2) * (dK0 @ X)
        for j in range(len(tape)):
            dks = []
            for i in range(self.s):
                U, act = tape[j][i]
                dU = dY + sum(self.h * self.A[i, m] * dks[m] for m in range(i)) if i else dY
                e = j * self.s + i
                dks.append((1.0 - act**2) * (dKe[e] @ U + Ke[e] @ dU) + dbe[e])
            dY = dY + self.h * sum(self.b[i] * dks[i] for i in range(self.s))
        return dY


# ----------------------------------------------------------------------------
# the benchmark
# ----------------------------------------------------------------------------


def loss_grad_Y(model, W, Y, y):
    S = model.classifier.apply(W, Y)
    _, dS, _ = cross_entropy(S, y)
    return model.classifier.vjp((model.classifier.matrix(W), Y), dS)[1]


class ThreadChunks:
    """The package's column chunks of ``block`` propagated by one thread per chunk of one process.

    The samples are cut as :class:`resnet_ode.core.parallel.ColumnParallel` cuts
    them and chunk ``c`` always runs on copy ``c`` of the block (as it always
    runs in the same worker process there); partial gradients are summed in
    chunk order, so the results equal those of one process bit for bit.
    """

    def __init__(self, block, n_chunks: int = 2):
        self.n_chunks = n_chunks
        self.blocks = [copy.deepcopy(block) for _ in range(n_chunks)]
        self.pool = ThreadPoolExecutor(max_workers=n_chunks, thread_name_prefix="bench-chunk")

    def _bounds(self, n):
        edges = np.linspace(0, n, min(self.n_chunks, n) + 1).astype(int)
        return list(zip(edges[:-1], edges[1:]))

    def _each(self, fn, items):
        return list(self.pool.map(fn, range(len(items)), items))

    def apply(self, theta, Y):
        bounds = self._bounds(Y.shape[1])
        return np.concatenate(self._each(lambda c, ab: self.blocks[c].apply(theta, Y[:, ab[0]:ab[1]]), bounds), axis=1)

    def forward(self, theta, Y):
        bounds = self._bounds(Y.shape[1])
        results = self._each(lambda c, ab: self.blocks[c].forward(theta, Y[:, ab[0]:ab[1]]), bounds)
        return np.concatenate([r[0] for r in results], axis=1), (bounds, [r[1] for r in results])

    def jvp(self, tape, dtheta=None, dY=None):
        bounds, tapes = tape
        return np.concatenate(self._each(
            lambda c, t: self.blocks[c].jvp(t, dtheta, None if dY is None else dY[:, bounds[c][0]:bounds[c][1]]),
            tapes), axis=1)

    def vjp(self, tape, W):
        bounds, tapes = tape
        outs = self._each(lambda c, t: self.blocks[c].vjp(t, W[:, bounds[c][0]:bounds[c][1]]), tapes)
        dtheta = outs[0][0].copy()
        for g, _ in outs[1:]:
            dtheta += g
        return dtheta, np.concatenate([o[1] for o in outs], axis=1)


def bench_numpy(model, theta, W, X, y, impl):
    v = np.random.default_rng(1).standard_normal(model.n_params)
    if impl in ("numpy-plain", "numba-1", "numba-2"):
        if impl == "numpy-plain":
            plain = PlainNumpy(model)
        else:
            from numba_kernels import NumbaNetwork

            plain = NumbaNetwork(model, threads=int(impl[-1]), n_chunks=getattr(model.features, "n_chunks", 2))
        cache = plain.forward(theta, X, keep=True, **({} if impl == "numpy-plain" else {"reuse": False}))[1]
        Wout = np.random.default_rng(2).standard_normal((model.ode.width, X.shape[1]))

        def fwd_grad():
            Y, c = plain.forward(theta, X, keep=True)
            return plain.backward(c, loss_grad_Y(model, W, Y, y))

        return {
            "forward": lambda: plain.forward(theta, X),
            "fwd+grad": fwd_grad,
            "gn-cg-step": lambda: (plain.jvp(theta, cache, v), plain.backward(cache, Wout)),
        }
    feats = ThreadChunks(model.chain, getattr(model.features, "n_chunks", 2)) if impl == "threads-2" else model.features
    Y, tape = feats.forward(theta, X)
    Wout = np.random.default_rng(2).standard_normal(Y.shape)

    def fwd_grad():
        Yf, t = feats.forward(theta, X)
        return feats.vjp(t, loss_grad_Y(model, W, Yf, y))[0]

    return {
        "forward": lambda: feats.apply(theta, X),
        "fwd+grad": fwd_grad,
        "gn-cg-step": lambda: (feats.jvp(tape, v), feats.vjp(tape, Wout)),
    }


def bench_torch(model, theta, W, X, y):
    import torch
    from torch.func import jvp as tjvp
    from torch.func import vjp as tvjp

    torch.set_num_threads(2)
    dt = torch.float64
    ode = model.ode
    P = torch.tensor(ode.P, dtype=dt)
    A, b, h, s = ode.A, ode.b, ode.h, ode.n_stages
    Xt = torch.tensor(X, dtype=dt)
    yt = torch.tensor(y)
    Wt = torch.tensor(model.classifier.matrix(W), dtype=dt)
    nc, nt = ode.width, ode.n_controls

    def features(th):
        K0 = th[: 2 * nc].reshape(nc, 2)
        rest = th[2 * nc :].reshape(nt, nc * nc + 1)
        Ke = (P @ rest[:, :-1]).reshape(-1, nc, nc)
        be = P @ rest[:, -1]
        Y = torch.tanh(K0 @ Xt)
        for j in range(ode.n_steps):
            ks = []
            for i in range(s):
                U = Y
                for m in range(i):
                    if A[i, m] != 0:
                        U = U + h * A[i, m] * ks[m]
                ks.append(torch.tanh(Ke[j * s + i] @ U) + be[j * s + i])
            for i in range(s):
                if b[i] != 0:
                    Y = Y + h * b[i] * ks[i]
        return Y

    th = torch.tensor(theta, dtype=dt)
    v = torch.tensor(np.random.default_rng(1).standard_normal(model.n_params), dtype=dt)
    Wout = torch.tensor(np.random.default_rng(2).standard_normal((nc, X.shape[1])), dtype=dt)

    def forward():
        with torch.no_grad():
            return features(th)

    def fwd_grad():
        t = th.clone().requires_grad_(True)
        S = Wt[:, :-1] @ features(t) + Wt[:, -1:]
        loss = torch.nn.functional.cross_entropy(S.T, yt)
        loss.backward()
        return t.grad

    _, pullback = tvjp(features, th)

    def cg_step():
        # J v by forward mode, J^T w by the pullback of the stored forward pass.
        return tjvp(features, (th,), (v,))[1], pullback(Wout)

    return {"forward": forward, "fwd+grad": fwd_grad, "gn-cg-step": cg_step}


def available(impls, with_torch=True):
    """``impls`` without those whose optional package is missing (saying so)."""
    keep = [i for i in impls if i != "torch" or with_torch]
    for module, needs, why in (("torch", ("torch",), "the PyTorch comparison is skipped (pip install torch==2.13.0)"),
                               ("numba", ("numba-1", "numba-2"), "numba-1 and numba-2 are skipped (numba is not a "
                                "dependency; pip install numba in a separate environment to measure them)")):
        if not set(needs) & set(keep):
            continue
        try:
            __import__(module)
        except ImportError:
            keep = [i for i in keep if i not in needs]
            print(f"{module} is not installed: {why}.")
    return keep


def _check_same(models, theta, X, suites):
    """The threaded chunks must compute what one process computes, bit for bit; numba's loops up to round-off."""
    one = models["resnet_ode-1"]
    Y = one.features.apply(theta, X)
    if "threads-2" in suites:
        if not np.array_equal(ThreadChunks(one.chain, getattr(one.features, "n_chunks", 2)).apply(theta, X), Y):
            raise AssertionError("threads-2 computes another Y(T) than resnet_ode-1")
    for impl in ("numba-1", "numba-2"):
        if impl in suites:
            from numba_kernels import NumbaNetwork

            if not np.allclose(NumbaNetwork(one, threads=int(impl[-1])).forward(theta, X)[0], Y, rtol=1e-10,
                               atol=1e-12):
                raise AssertionError(f"{impl} computes another Y(T) than resnet_ode-1")


def run_kernels(depths, integrators, ops, with_torch, impls=IMPLEMENTATIONS):
    data = make_peaks_dataset()
    X, y = data.X_train, data.y_train
    records = []
    impls = available(impls, with_torch)
    for integrator in integrators:
        for nY in depths:
            workers = {"resnet_ode-2": 2}
            models = {name: ResNetODE(nY=nY, integrator=integrator, workers=workers.get(name, 1))
                      for name in impls if name != "torch"}
            models.setdefault("resnet_ode-1", ResNetODE(nY=nY, integrator=integrator, workers=1))
            base = models["resnet_ode-1"]
            theta = base.init_params(0) + 0.1 * np.random.default_rng(0).standard_normal(base.n_params)
            W = np.random.default_rng(3).standard_normal(base.n_classifier_params)
            suites = {name: bench_numpy(models[name], theta, W, X, y, name) for name in impls if name != "torch"}
            if "torch" in impls:
                suites["torch"] = bench_torch(base, theta, W, X, y)
            _check_same(models, theta, X, suites)
            for op in ops:
                timed = measure({impl: suite[op] for impl, suite in suites.items()})
                for impl, (seconds, repeats) in timed.items():
                    records.append({"implementation": impl, "operation": op, "integrator": integrator, "nY": nY,
                                    "median_seconds": seconds, "repeats": repeats})
                    print(f"  {integrator:6s} nY={nY:4d} {op:11s} {impl:13s} {seconds * 1e3:9.2f} ms", file=sys.stderr)
    return records


def print_kernel_table(records):
    impls = list(dict.fromkeys(r["implementation"] for r in records))
    keyed = {(r["integrator"], r["nY"], r["operation"], r["implementation"]): r["median_seconds"] for r in records}
    groups = list(dict.fromkeys((r["integrator"], r["nY"], r["operation"]) for r in records))
    lead = f"{'integrator':10s} {'nY':>4s} {'operation':11s}"
    tables = [("median milliseconds per call", impls, lambda g, i: f"{keyed[g + (i,)] * 1e3:14.2f}")]
    for ref, what in (("numpy-plain", "numpy-plain"), ("resnet_ode-1", "one process of the package")):
        if ref in impls and len(impls) > 1:
            tables.append((f"speed-up over {what} ({ref} time / time; higher is faster)", impls,
                           lambda g, i, ref=ref: f"{keyed[g + (ref,)] / keyed[g + (i,)]:14.2f}"))
    for title, cols, cell in tables:
        head = lead + "".join(f"{i:>14s}" for i in cols)
        print(f"\n{title}\n{head}\n{'-' * len(head)}")
        for g in groups:
            print(f"{g[0]:10s} {g[1]:4d} {g[2]:11s}" + "".join(cell(g, i) for i in cols))


#: numpy restricted to its pre-AVX2 loops and OpenBLAS at another core type (the "other numeric code paths").
PINNED_PATHS = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Zen"}


def tanh_costs(sizes=(4_000, 40_000, 400_000)) -> dict:
    """Nanoseconds per value of numpy's ``tanh`` and the package's, by numpy passes and compiled, in turns."""
    from resnet_ode.core.elementary import tanh, tanh_numpy

    out = {}
    for n in sizes:
        x = np.random.default_rng(n).standard_normal(n) * 2.0
        y = np.empty_like(x)
        timed = measure({"numpy": lambda: np.tanh(x, out=y), "passes": lambda: tanh_numpy(x, out=y),
                         "resnet_ode": lambda: tanh(x, out=y)}, budget=0.3)
        out[n] = {name: seconds / n * 1e9 for name, (seconds, _) in timed.items()}
    return out


def activation_share(nY=256, integrator="euler") -> dict:
    """Share of a one-process forward-and-gradient pass spent in the activation (wrapped with a timer)."""
    from resnet_ode.core.activations import ACTIVATIONS

    act = ACTIVATIONS["tanh"]
    spent = [0.0]
    saved = {name: getattr(act, name) for name in ("evaluate", "inplace")}

    def timed(fn):
        def call(*args):
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                spent[0] += time.perf_counter() - t0
        return call

    data = make_peaks_dataset()
    model = ResNetODE(nY=nY, integrator=integrator, workers=1)
    theta = model.init_params(0) + 0.1 * np.random.default_rng(0).standard_normal(model.n_params)
    W = np.random.default_rng(3).standard_normal(model.n_classifier_params)
    suite = bench_numpy(model, theta, W, data.X_train, data.y_train, "resnet_ode-1")
    suite["fwd+grad"]()
    try:
        for name, fn in saved.items():
            if fn is not None:
                object.__setattr__(act, name, timed(fn))
        total, calls = 0.0, 5
        for _ in range(calls):
            t0 = time.perf_counter()
            suite["fwd+grad"]()
            total += time.perf_counter() - t0
    finally:
        for name, fn in saved.items():
            object.__setattr__(act, name, fn)
    return {"kernel_ms": total / calls * 1e3, "activation_ms": spent[0] / calls * 1e3}


def run_activation(records):
    """The activation's cost: per value (this process's code paths and the pinned ones) and its share of the kernel."""
    here = tanh_costs()
    script = ("import json, sys; sys.path.insert(0, %r); import bench; "
              "print(json.dumps(bench.tanh_costs()))" % str(Path(__file__).resolve().parent))
    pinned = subprocess.run([sys.executable, "-c", script], env={**os.environ, **PINNED_PATHS},
                            capture_output=True, text=True, check=True)
    pinned = {int(k): v for k, v in json.loads(pinned.stdout.strip().splitlines()[-1]).items()}
    from resnet_ode.core.elementary import kernel

    print("\ntanh, nanoseconds per value (median): numpy's float64 tanh, the package's method as numpy passes "
          f"(tanh_numpy) and as tanh runs it ({kernel()}); speed-up over numpy's tanh")
    head = (f"{'values':>8s} {'code paths':12s} {'numpy':>8s} {'passes':>8s} {'resnet_ode':>11s} "
            f"{'x passes':>9s} {'x tanh':>9s}")
    print(f"{head}\n{'-' * len(head)}")
    for label, costs in (("this machine", here), ("pinned", pinned)):
        for n, c in costs.items():
            print(f"{n:8d} {label:12s} {c['numpy']:8.2f} {c['passes']:8.2f} {c['resnet_ode']:11.2f} "
                  f"{c['numpy'] / c['passes']:9.2f} {c['numpy'] / c['resnet_ode']:9.2f}")
            records.append({"implementation": "tanh", "operation": f"tanh/{label}", "integrator": "-", "nY": n,
                            "median_seconds": c["resnet_ode"] * 1e-9, "numpy_seconds": c["numpy"] * 1e-9,
                            "passes_seconds": c["passes"] * 1e-9, "repeats": 0})
    share = activation_share()
    print(f"\nfwd+grad, Euler, nY = 256, one process: {share['kernel_ms']:.1f} ms per call, of which the activation "
          f"{share['activation_ms']:.1f} ms ({share['activation_ms'] / share['kernel_ms']:.0%})")
    records.append({"implementation": "resnet_ode-1", "operation": "activation share", "integrator": "euler",
                    "nY": 256, "median_seconds": share["activation_ms"] * 1e-3,
                    "kernel_seconds": share["kernel_ms"] * 1e-3, "repeats": 5})


def run_training(records):
    from resnet_ode.book.experiments import state_layer_runs
    from resnet_ode.training.runs import get_run

    print("\ntraining each Chapter 3.1 depth afresh (Gauss-Newton, 40 iterations, 2 workers)")
    for cfg in state_layer_runs():
        t0 = time.perf_counter()
        res = get_run(cfg, use_cache=False)
        seconds = time.perf_counter() - t0
        records.append({"implementation": "resnet_ode-2", "operation": "train", "integrator": cfg.integrator,
                        "nY": cfg.nY, "median_seconds": seconds, "repeats": 1})
        print(f"  nY={cfg.nY:4d}: {seconds:7.1f} s (validation accuracy {res.final()['val_accuracy']:.3f})")


def run_book(records):
    print("\nwhole book build with an empty run cache (make book, cache in a temporary folder)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, RESNET_ODE_CACHE=cache)
        t0 = time.perf_counter()
        subprocess.run(["make", "book"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
    records.append({"implementation": "make book", "operation": "book", "integrator": "-", "nY": 0,
                    "median_seconds": seconds, "repeats": 1})
    print(f"  {seconds:7.1f} s")


# ----------------------------------------------------------------------------
# side by side with another commit
# ----------------------------------------------------------------------------


def serve():
    """Measuring process of ``--against``: reads one JSON request per line on stdin, answers on stdout.

    Requests: ``{"setup": [integrator, nY, impl]}`` builds that suite (once);
    ``{"time": [integrator, nY, impl, op], "calls": k}`` answers the seconds
    of ``k`` calls. Everything else the process or its workers print goes to
    stderr.
    """
    import resnet_ode

    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    data = make_peaks_dataset()
    X, y = data.X_train, data.y_train
    suites = {}

    def reply(obj):
        answer.write(json.dumps(obj) + "\n")
        answer.flush()

    reply({"library": str(Path(resnet_ode.__file__).resolve().parents[1])})
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if "setup" in req:
                integrator, nY, impl = req["setup"]
                if (integrator, nY, impl) not in suites:
                    model = ResNetODE(nY=nY, integrator=integrator, workers=2 if impl == "resnet_ode-2" else 1)
                    theta = model.init_params(0) + 0.1 * np.random.default_rng(0).standard_normal(model.n_params)
                    W = np.random.default_rng(3).standard_normal(model.n_classifier_params)
                    suites[integrator, nY, impl] = bench_numpy(model, theta, W, X, y, impl)
                reply({"ok": True})
            elif "time" in req:
                integrator, nY, impl, op = req["time"]
                fn = suites[integrator, nY, impl][op]
                times = []
                for _ in range(int(req["calls"])):
                    t0 = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t0)
                reply({"seconds": times})
            elif "quit" in req:
                break
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            reply({"error": f"{type(exc).__name__}: {exc}"})


class _Side:
    """One measuring process (:func:`serve`) importing the package from ``lib``."""

    def __init__(self, label, lib: Path, workdir: Path):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(lib), *filter(None, [os.environ.get("PYTHONPATH")])]),
                   RESNET_ODE_CACHE=str(workdir / "cache"), RESNET_ODE_PROGRESS="0")
        self.label, self.lib = label, lib
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], env=env,
                                     cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        got = Path(self._read()["library"])
        if got != lib.resolve():
            self.close()
            raise RuntimeError(f"{label}: the measuring process imported resnet_ode from {got}, not from {lib}")

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label}: the measuring process ended (its messages are above)")
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError(f"{self.label}: {out['error']}")
        return out

    def ask(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def extract_lib(rev: str, dest: Path) -> str:
    """Write the ``lib`` folder of commit ``rev`` under ``dest`` (``git archive``; the repository is not touched).

    Returns the full commit hash.
    """
    full = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True,
                          text=True)
    if full.returncode != 0:
        raise SystemExit(f"--against: {rev!r} is not a commit of {ROOT} ({full.stderr.strip()})")
    tar = subprocess.run(["git", "archive", "--format=tar", full.stdout.strip(), "lib"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    return full.stdout.strip()


def run_against(rev, depths, integrators, ops, impls, rounds, budget=0.25):
    """Median seconds per call of the working tree (A) and of commit ``rev`` (B), measured in turns."""
    records = []
    tmp = Path(tempfile.mkdtemp(prefix="resnet-ode-bench-"))
    sides = []
    try:
        commit = extract_lib(rev, tmp / "old")
        sides = [_Side("A (working tree)", ROOT / "lib", tmp), _Side(f"B ({rev} = {commit[:10]})", tmp / "old" / "lib",
                                                                     tmp)]
        print(f"A: working tree, {ROOT / 'lib'}\nB: {rev} = {commit}, extracted to {tmp / 'old' / 'lib'}\n"
              f"{rounds} rounds in turns (AB, BA, ...) per operation; medians of every call", file=sys.stderr)
        for integrator in integrators:
            for nY in depths:
                for impl in impls:
                    for side in sides:
                        side.ask(setup=[integrator, nY, impl])
                    for op in ops:
                        key = [integrator, nY, impl, op]
                        warm = [side.ask(time=key, calls=2)["seconds"][-1] for side in sides]  # pools started
                        calls = max(1, min(20, round(budget / max(max(warm), 1e-6))))
                        times = [[], []]
                        for r in range(rounds):
                            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                                times[i] += sides[i].ask(time=key, calls=calls)["seconds"]
                        a, b = (statistics.median(t) for t in times)
                        records.append({"integrator": integrator, "nY": nY, "implementation": impl, "operation": op,
                                        "A_seconds": a, "B_seconds": b, "ratio": a / b, "calls": len(times[0]),
                                        "B_commit": commit})
                        print(f"  {integrator:6s} nY={nY:4d} {op:11s} {impl:13s} A {a * 1e3:9.2f} ms  "
                              f"B {b * 1e3:9.2f} ms  A/B {a / b:5.3f}", file=sys.stderr)
    finally:
        for side in sides:
            side.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return records


def print_against_table(records, rev, tolerance=0.05):
    print(f"\nA = working tree, B = {rev} ({records[0]['B_commit'][:10]}): median milliseconds per call, "
          f"measured in turns in one run")
    head = (f"{'integrator':10s} {'nY':>4s} {'operation':11s} {'implementation':14s} {'A ms':>10s} {'B ms':>10s} "
            f"{'A/B':>7s} {'calls':>6s}")
    print(f"{head}\n{'-' * len(head)}")
    for r in records:
        flag = f"  slower by more than {tolerance:.0%}" if r["ratio"] > 1 + tolerance else ""
        print(f"{r['integrator']:10s} {r['nY']:4d} {r['operation']:11s} {r['implementation']:14s} "
              f"{r['A_seconds'] * 1e3:10.2f} {r['B_seconds'] * 1e3:10.2f} {r['ratio']:7.3f} {r['calls']:6d}{flag}")
    slower = [r for r in records if r["ratio"] > 1 + tolerance]
    print(f"{len(slower)} of {len(records)} timings of A are more than {tolerance:.0%} slower than B's")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nY", type=int, nargs="+", help="state times (default: 8 32 128 256; 32 256 with --against)")
    parser.add_argument("--integrator", nargs="+", default=["euler", "rk4"])
    parser.add_argument("--operation", nargs="+", default=list(OPERATIONS), choices=OPERATIONS)
    parser.add_argument("--implementation", nargs="+", choices=IMPLEMENTATIONS,
                        help="implementations to time (default: all; resnet_ode-1 resnet_ode-2 with --against)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--against", metavar="REV",
                        help="time the working tree and commit REV side by side, in turns, instead")
    parser.add_argument("--rounds", type=int, default=7, help="turns of each side per operation with --against")
    parser.add_argument("--activation", action="store_true",
                        help="also time tanh per value (numpy's and the package's, also under pinned code paths) "
                             "and the activation's share of fwd+grad")
    parser.add_argument("--train", action="store_true", help="also time training every Chapter 3.1 depth")
    parser.add_argument("--book", action="store_true", help="also time `make book` with an empty run cache")
    parser.add_argument("--json", type=Path, help="write one record per measurement to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    depths = args.nY or ([32, 256] if args.against else [8, 32, 128, 256])
    for n in depths:
        if n < 2:
            parser.error(f"--nY must be >= 2, got {n}")
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.against:
        impls = args.implementation or ["resnet_ode-1", "resnet_ode-2"]
        if {"torch", "numba-1", "numba-2"} & set(impls):
            parser.error("--against times the package and the implementations written here, not torch or numba")
        records = run_against(args.against, depths, args.integrator, args.operation, impls, args.rounds)
        print_against_table(records, args.against)
    else:
        records = run_kernels(depths, args.integrator, args.operation, not args.no_torch,
                              args.implementation or IMPLEMENTATIONS)
        print_kernel_table(records)
    if args.activation:
        run_activation(records)
    if args.train:
        run_training(records)
    if args.book:
        run_book(records)
    if args.json:
        args.json.write_text(json.dumps(records, indent=2) + "\n")
        print(f"\n{len(records)} records written to {args.json}")


if __name__ == "__main__":
    main()
