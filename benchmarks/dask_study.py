"""Overhead of the Dask path against the local process pool, for a 12-run study on this machine.

The same study (``nY`` 8 and 16, ``T`` 10 and 20, ``init_seed`` 0, 1 and 2:
12 runs; ``max_iter`` 20, the other settings the book's defaults) runs

- ``local``: through :class:`resnet_ode.book.executors.LocalPool` with 2
  processes (what ``resnet-ode study`` does without ``--scheduler``);
- ``dask``: through a ``distributed.LocalCluster`` of 2 worker processes with
  1 thread each on 127.0.0.1, reached like any scheduler
  (:func:`resnet_ode.training.cluster.connect`).

Each run of the study gets one process (``RESNET_ODE_WORKERS=1``) on both
paths. The two take turns (local, dask, then dask, local, ...) over
``--rounds`` rounds, each with a fresh, empty cache folder, so that every
study trains all 12 runs and a change in the machine's load hits both. The
cluster is started once, before the first round, and its workers import the
package before it (not timed; its start-up is printed separately), as a
cluster that serves study after study would; the local pool's processes are
forked from this process, which has imported the package too, so neither
side pays for imports in the timed part. The time is
the wall clock of :func:`resnet_ode.studies.study.run_study`: training, the
evaluations, storing the runs and writing the table and figure.

Usage::

    python benchmarks/dask_study.py                 # 3 rounds
    python benchmarks/dask_study.py --rounds 5 --json dask.json

Run on an otherwise idle machine with the Makefile's environment (one BLAS
thread, pinned numeric code paths).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RESNET_ODE_PROGRESS", "0")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from resnet_ode.book.executors import LocalPool, connect, store_run  # noqa: E402
from resnet_ode.studies.study import StudySpec, run_study  # noqa: E402

GRID = {"nY": [8, 16], "T": [10.0, 20.0], "init_seed": [0, 1, 2]}


def _warm():
    import resnet_ode.studies.study  # noqa: F401
    import resnet_ode.training.runs  # noqa: F401


def timed_study(executor, spec, scratch: Path) -> float:
    """Seconds of one study with a fresh cache folder under ``scratch`` (removed afterwards)."""
    folder = Path(tempfile.mkdtemp(dir=scratch))
    os.environ["RESNET_ODE_CACHE"] = str(folder / "cache")
    try:
        t0 = time.perf_counter()
        done = run_study(spec, folder / "out", executor, store_run, workers=1)
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if done["trained"] != done["runs"]:
        raise RuntimeError(f"expected every run trained, got {done['trained']} of {done['runs']}")
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="studies per side (default 3)")
    parser.add_argument("--max-iter", type=int, default=20, help="optimiser iterations per run (default 20)")
    parser.add_argument("--json", type=Path, help="write the measurements to this file")
    args = parser.parse_args(argv)
    from distributed import LocalCluster

    spec = StudySpec(GRID, {"max_iter": args.max_iter})
    n_runs = len(spec.configs())
    scratch = Path(tempfile.mkdtemp(prefix="resnet-ode-dask-bench-"))
    times = {"local": [], "dask": []}
    try:
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        startup = time.perf_counter() - t0
        with cluster, connect(cluster.scheduler_address) as dask:
            dask.client.run(_warm)
            local = LocalPool(2)
            for r in range(args.rounds):
                order = ("local", "dask") if r % 2 == 0 else ("dask", "local")
                for side in order:
                    seconds = timed_study(local if side == "local" else dask, spec, scratch)
                    times[side].append(seconds)
                    print(f"round {r + 1}: {side:<5} {seconds:7.2f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\n{n_runs}-run study ({', '.join(f'{k} {v}' for k, v in GRID.items())}; max_iter {args.max_iter}), "
          f"{os.cpu_count()} cores; LocalCluster start-up {startup:.1f} s (not counted)\n")
    print("| round | local pool (2 processes) | Dask LocalCluster (2 workers x 1 thread) | dask / local |")
    print("| --- | --- | --- | --- |")
    for r, (a, b) in enumerate(zip(times["local"], times["dask"]), 1):
        print(f"| {r} | {a:.2f} s | {b:.2f} s | {b / a:.3f} |")
    med_a, med_b = statistics.median(times["local"]), statistics.median(times["dask"])
    print(f"| median | {med_a:.2f} s | {med_b:.2f} s | {med_b / med_a:.3f} |")
    verdict = "within" if med_b <= 1.10 * med_a else "NOT within"
    print(f"\nDask {verdict} 10 % of the local pool (median ratio {med_b / med_a:.3f}).")
    if args.json:
        args.json.write_text(json.dumps({"runs": n_runs, "grid": GRID, "max_iter": args.max_iter,
                                         "startup_seconds": startup, "seconds": times}, indent=2))


if __name__ == "__main__":
    main()
