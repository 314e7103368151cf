"""Speed of the Peaks network's kernels, side by side in one process.

Implementations
    ``numpy-plain``   a straightforward numpy implementation written here: one
                      pass over the steps with fresh arrays, np.tanh, no reuse,
                      one process (the baseline every ratio refers to);
    ``resnet_ode-1``  the package with one process (allocation-free Euler
                      path, recycled tape memory);
    ``resnet_ode-2``  the package with two worker processes (the default on
                      two cores);
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
    python benchmarks/bench.py --train              # also time training each Chapter 3.1 depth
    python benchmarks/bench.py --book               # also time the whole book build, empty cache

Numbers are medians over repeats; run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("RESNET_ODE_PROGRESS", "0")

import numpy as np  # noqa: E402

from resnet_ode.data import make_peaks_dataset  # noqa: E402
from resnet_ode.losses import cross_entropy  # noqa: E402
from resnet_ode.network import ResNetODE  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def measure(fn, min_repeats=3, max_repeats=20, budget=2.0):
    """Median wall-clock seconds of ``fn()`` over repeats (after one warm-up call)."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


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


def bench_numpy(model, theta, W, X, y, impl):
    v = np.random.default_rng(1).standard_normal(model.n_params)
    if impl == "numpy-plain":
        plain = PlainNumpy(model)
        cache = plain.forward(theta, X, keep=True)[1]
        Wout = np.random.default_rng(2).standard_normal((model.ode.width, X.shape[1]))

        def fwd_grad():
            Y, c = plain.forward(theta, X, keep=True)
            return plain.backward(c, loss_grad_Y(model, W, Y, y))

        return {
            "forward": lambda: plain.forward(theta, X),
            "fwd+grad": fwd_grad,
            "gn-cg-step": lambda: (plain.jvp(theta, cache, v), plain.backward(cache, Wout)),
        }
    feats = model.features
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


def run_kernels(depths, integrators, ops, with_torch):
    data = make_peaks_dataset()
    X, y = data.X_train, data.y_train
    records = []
    try:
        import torch  # noqa: F401

        have_torch = with_torch
    except ImportError:
        have_torch = False
        if with_torch:
            print("torch is not installed: the PyTorch comparison is skipped (pip install torch==2.13.0).")
    for integrator in integrators:
        for nY in depths:
            models = {"numpy-plain": ResNetODE(nY=nY, integrator=integrator, workers=1),
                      "resnet_ode-1": ResNetODE(nY=nY, integrator=integrator, workers=1),
                      "resnet_ode-2": ResNetODE(nY=nY, integrator=integrator, workers=2)}
            base = models["numpy-plain"]
            theta = base.init_params(0) + 0.1 * np.random.default_rng(0).standard_normal(base.n_params)
            W = np.random.default_rng(3).standard_normal(base.n_classifier_params)
            suites = {name: bench_numpy(m, theta, W, X, y, name) for name, m in models.items()}
            if have_torch:
                suites["torch"] = bench_torch(base, theta, W, X, y)
            for op in ops:
                for impl, suite in suites.items():
                    seconds, repeats = measure(suite[op])
                    records.append({"implementation": impl, "operation": op, "integrator": integrator, "nY": nY,
                                    "median_seconds": seconds, "repeats": repeats})
                    print(f"  {integrator:6s} nY={nY:4d} {op:11s} {impl:13s} {seconds * 1e3:9.2f} ms", file=sys.stderr)
    return records


def print_kernel_table(records):
    impls = list(dict.fromkeys(r["implementation"] for r in records))
    keyed = {(r["integrator"], r["nY"], r["operation"], r["implementation"]): r["median_seconds"] for r in records}
    groups = list(dict.fromkeys((r["integrator"], r["nY"], r["operation"]) for r in records))
    lead = f"{'integrator':10s} {'nY':>4s} {'operation':11s}"
    for title, cell in (
        ("median milliseconds per call", lambda g, i: f"{keyed[g + (i,)] * 1e3:14.2f}"),
        ("speed-up over numpy-plain (numpy-plain time / time; higher is faster)",
         lambda g, i: f"{keyed[g + ('numpy-plain',)] / keyed[g + (i,)]:14.2f}"),
    ):
        head = lead + "".join(f"{i:>14s}" for i in impls)
        print(f"\n{title}\n{head}\n{'-' * len(head)}")
        for g in groups:
            print(f"{g[0]:10s} {g[1]:4d} {g[2]:11s}" + "".join(cell(g, i) for i in impls))


def run_training(records):
    from resnet_ode.experiments import state_layer_runs
    from resnet_ode.runs import get_run

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nY", type=int, nargs="+", default=[8, 32, 128, 256])
    parser.add_argument("--integrator", nargs="+", default=["euler", "rk4"])
    parser.add_argument("--operation", nargs="+", default=["forward", "fwd+grad", "gn-cg-step"],
                        choices=["forward", "fwd+grad", "gn-cg-step"])
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--train", action="store_true", help="also time training every Chapter 3.1 depth")
    parser.add_argument("--book", action="store_true", help="also time `make book` with an empty run cache")
    parser.add_argument("--json", type=Path, help="write one record per measurement to this file")
    args = parser.parse_args(argv)
    for n in args.nY:
        if n < 2:
            parser.error(f"--nY must be >= 2, got {n}")
    records = run_kernels(args.nY, args.integrator, args.operation, not args.no_torch)
    print_kernel_table(records)
    if args.train:
        run_training(records)
    if args.book:
        run_book(records)
    if args.json:
        args.json.write_text(json.dumps(records, indent=2) + "\n")
        print(f"\n{len(records)} records written to {args.json}")


if __name__ == "__main__":
    main()
