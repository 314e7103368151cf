"""Recomputing published entries from nothing and comparing them with what was published.

Each published entry (:mod:`resnet_ode.training.published`) records a
recipe. :func:`verify_task` follows it without any cache (a run is trained
afresh; a surface or a Hessian is computed around the published run's
weights) and compares every number with the published entry: bit for bit,
array by array. The submitting process loads what a task needs
(:func:`task_inputs`) and the task touches no file, so tasks run in local
processes or on a Dask cluster's workers alike.

When the entry was computed under other numeric code paths
(:func:`resnet_ode.util.provenance.numerics`), bit equality is not expected:
the report then gives, array by array, the largest absolute and relative
difference instead.
"""

from __future__ import annotations

import json
import os
import platform
import zlib

import numpy as np

from resnet_ode.training import published
from resnet_ode.training.trainer import RunConfig, train
from resnet_ode.util.environ import environment
from resnet_ode.util.provenance import numerics

#: History columns that measure time, not results (never compared).
TIMING_FIELDS = ("seconds",)


def _compare_arrays(expected: dict, got: dict) -> list[dict]:
    """One record per array name: ``equal`` (same dtype, shape and bytes) or the differences."""
    out = []
    for name in sorted(expected):
        a = np.asarray(expected[name])
        b = np.asarray(got.get(name)) if name in got else None
        rec = {"array": name, "equal": False}
        if b is None:
            rec["why"] = "not computed"
        elif a.shape != b.shape or a.dtype != b.dtype:
            rec["why"] = f"shape/dtype {a.shape} {a.dtype} published, {b.shape} {b.dtype} computed"
        elif a.tobytes() == b.tobytes():
            rec["equal"] = True
        else:
            fa, fb = a.astype(float), b.astype(float)
            diff = np.abs(fa - fb)
            diff[np.isnan(fa) & np.isnan(fb)] = 0.0
            scale = np.maximum(np.abs(fa), 1e-300)
            rec["max_abs"] = float(np.nanmax(diff)) if diff.size else 0.0
            rec["max_rel"] = float(np.nanmax(diff / scale)) if diff.size else 0.0
            rec["differing"] = int(np.sum(diff > 0))
            rec["why"] = (f"{rec['differing']} of {a.size} values differ, largest |difference| "
                          f"{rec['max_abs']:.3g} (relative {rec['max_rel']:.3g})")
        out.append(rec)
    return out


def _run_arrays(result) -> dict:
    arrays = {"theta": result.theta, "W": result.W}
    arrays.update({f"history__{k}": v for k, v in result.history.items() if k not in TIMING_FIELDS})
    return arrays


def task_inputs(record: dict, folder=None) -> dict:
    """What :func:`verify_task` needs for ``record``, read from the published entries (checked by SHA-256).

    A run needs nothing but its recipe; a surface or a Hessian also needs the
    trained weights of its run, which must be published too.
    """
    arrays, meta = published.load_published(record, folder)
    inputs = {"expected_arrays": {k: v for k, v in arrays.items() if not k.endswith(TIMING_FIELDS)},
              "expected_meta": meta}
    if record["kind"] == "analyses":
        inputs["runs"] = [_published_weights(config, record, folder) for config in record["recipe"]["runs"]]
    elif record["kind"] != "runs":
        inputs["theta"], inputs["W"] = _published_weights(record["recipe"]["run"], record, folder)
    return inputs


def _published_weights(config: dict, record: dict, folder=None):
    """``(theta, W)`` of the published run with settings ``config``, which ``record`` needs."""
    from resnet_ode.training.runs import cache_key

    cfg = RunConfig(**config)
    run_record = published.published_manifest(folder).get(f"run-{cache_key(cfg)}.npz")
    if run_record is None:
        raise published.BadEntry(f"{record['file']}: its run ({cfg.label()}) is not published")
    run_arrays, _ = published.load_published(run_record, folder)
    return run_arrays["theta"], run_arrays["W"]


def verify_task(record: dict, inputs: dict, workers: int = 1) -> dict:
    """Recompute the entry ``record`` from its recipe (no cache) and compare it with the published one.

    Returns
    -------
    dict
        ``file``, ``kind``, ``arrays`` (one record per array or field compared),
        ``identical`` (every array and result field equal), ``same_numerics``
        (the recorded code paths are this process's), ``host``, ``pid``.
    """
    kind, rec = record["kind"], record["recipe"]
    with environment({"RESNET_ODE_WORKERS": int(workers)}):
        if kind == "runs":
            result = train(RunConfig(**rec["config"]), desc=f"verify {record['file'][:16]}")
            comparison = _compare_arrays(inputs["expected_arrays"], _run_arrays(result))
            comparison += _compare_fields({"message": inputs["expected_meta"].get("message")},
                                          {"message": result.message})
        elif kind == "analyses":
            from resnet_ode.studies import memo
            from resnet_ode.training.trainer import RunResult

            trained = [RunResult(RunConfig(**c), theta, W, {}, 0.0, "") for c, (theta, W) in
                       zip(rec["runs"], inputs["runs"])]
            comparison = _compare_arrays(inputs["expected_arrays"], memo.recompute(rec, trained))
        else:
            config = RunConfig(**rec["run"])
            model = config.model()
            data = config.dataset()
            theta, W = inputs["theta"], inputs["W"]
            if kind == "surfaces":
                from resnet_ode.studies.landscape.surfaces import SurfaceSpec, compute_surface

                spec = SurfaceSpec(**rec["spec"])
                values, d1, d2, _, inner = compute_surface(model, theta, W, data.X_train, data.y_train, spec,
                                                           workers=1)
                got = {"a": np.array(spec.a), "b": np.array(spec.b), "values": values, "d1": d1, "d2": d2,
                       "theta": np.array(theta), "inner_grad_norm": inner}
                comparison = _compare_arrays(inputs["expected_arrays"], got)
            else:
                from resnet_ode.studies.landscape.hessian import hessian_extremes

                result = hessian_extremes(model, theta, W, data.X_train, data.y_train, objective=rec["objective"],
                                          **rec["settings"])
                expected = dict(inputs["expected_meta"]["result"])
                comparison = _compare_fields(expected, result)
    same = json.loads(numerics()) == record.get("numerics")
    return {"file": record["file"], "kind": kind, "arrays": comparison,
            "identical": all(c["equal"] for c in comparison), "same_numerics": same,
            "host": platform.node(), "pid": os.getpid()}


def _compare_fields(expected: dict, got: dict) -> list[dict]:
    """Scalar result fields compared exactly (timings left out)."""
    out = []
    for name in sorted(k for k in expected if k not in TIMING_FIELDS):
        a, b = expected[name], got.get(name)
        rec = {"array": name, "equal": a == b}
        if not rec["equal"]:
            rec["why"] = f"published {a!r}, computed {b!r}"
        out.append(rec)
    return out


def sample(records: list[dict], seed: int) -> list[dict]:
    """A sample CI can afford that still exercises every kind: one deep and one shallow run, one surface, one Hessian, one analysis.

    "Deep" is drawn from the runs whose number of state layers is in the top
    quarter of those published, "shallow" from the bottom quarter; the draw
    follows ``seed`` (CI passes the commit), so the sample changes with
    every change.
    """
    rng = np.random.default_rng(seed)
    runs = sorted((r for r in records if r["kind"] == "runs"), key=lambda r: (r["recipe"]["config"]["nY"], r["file"]))
    chosen = []
    if runs:
        q = max(1, len(runs) // 4)
        chosen.append(runs[len(runs) - q + int(rng.integers(q))])
        shallow = runs[int(rng.integers(q))]
        if shallow is not chosen[0]:
            chosen.append(shallow)
    for kind in ("surfaces", "hessians", "analyses"):
        pool = sorted((r for r in records if r["kind"] == kind), key=lambda r: r["file"])
        if pool:
            chosen.append(pool[int(rng.integers(len(pool)))])
    return chosen


def seed_from(text: str) -> int:
    """A sample seed from a commit name or any text (CRC-32 of it)."""
    return zlib.crc32(text.encode())


def report_line(result: dict) -> str:
    """One line per verified entry."""
    head = f"{result['file']} ({result['kind']})"
    if result["identical"]:
        return f"  identical  {head}: every value bit for bit"
    bad = [c for c in result["arrays"] if not c["equal"]]
    where = "" if result["same_numerics"] else " (computed under other numeric code paths: bits may differ)"
    return f"  DIFFERENT  {head}{where}: " + "; ".join(f"{c['array']}: {c.get('why', 'differs')}" for c in bad)
