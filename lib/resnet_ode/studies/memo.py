"""Analyses worth storing: results of trained networks that take seconds to compute, kept and published like runs.

A chapter's heaviest analysis is not training but evaluating: every trained
network of Chapter 3.1 under every other depth on all 65,536 grid points, for
example. :func:`stored` keeps such a result in the cache's ``analyses`` store
(``analysis-<key>.npz``, :mod:`resnet_ode.training.cache`), so it is computed
once, published with the book like a training run
(:mod:`resnet_ode.training.published`) and verified by recomputing it
(:mod:`resnet_ode.studies.verification`).

An analysis is a function registered in :data:`ANALYSES` under a name: it
takes the trained runs and JSON-able parameters and returns a dict of arrays.
The key covers the name, the runs' cache keys, the parameters and the code of
the modules named at registration (with the training code), so a change to
what the analysis computes computes it again. The recipe stored with the
entry (the runs' settings and the parameters) is all that is needed to
recompute it.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

import numpy as np

from resnet_ode.training.cache import STORES, BadEntry, make_key, take_array
from resnet_ode.util.codehash import code_digest, package_root

#: Bump when the layout of a stored analysis changes.
MEMO_FORMAT = 1

ANALYSIS_STORE = next(s for s in STORES if s.name == "analyses")


@dataclass(frozen=True)
class Analysis:
    """A registered analysis: ``compute(runs, **params) -> dict of arrays`` and the modules whose code decides it."""

    name: str
    compute: object
    modules: tuple
    module: str = ""   # where it is registered: importing it registers it again (for recomputing)

    def source_hash(self) -> str:
        """SHA-256 over the code of ``modules`` (paths relative to the package) and the training code's hash."""
        from resnet_ode.training.runs import source_hash as training_hash

        pkg = package_root()
        return code_digest(*(pkg / m for m in self.modules), extra=training_hash())


#: name -> :class:`Analysis`, filled by :func:`register`.
ANALYSES: dict = {}


def register(name: str, modules: tuple):
    """Decorator: register ``compute(runs, **params) -> dict of arrays`` as the analysis ``name``.

    ``modules`` are the package files (relative to ``lib/resnet_ode``, e.g.
    ``"studies/evaluation.py"``) whose code decides the result, besides the
    training code, which always counts.
    """

    def deco(fn):
        missing = [m for m in modules if not (package_root() / m).is_file()]
        if missing:
            raise ValueError(f"analysis {name!r}: no such module(s) {missing}")
        ANALYSES[name] = Analysis(name, fn, tuple(modules), fn.__module__)
        return fn

    return deco


def _run_key(run) -> str:
    from resnet_ode.training.runs import cache_key

    return cache_key(run.config)


def analysis_key(name: str, runs, params: dict) -> str:
    """Hex key of the analysis ``name`` of ``runs`` with ``params``."""
    return make_key(analysis=name, runs=[_run_key(r) for r in runs], params=params,
                    source=ANALYSES[name].source_hash(), format=MEMO_FORMAT)


def stored(name: str, runs, **params) -> dict:
    """The result of the registered analysis ``name`` on ``runs``: from the cache or the published entries, else computed and stored.

    Parameters
    ----------
    name : str
        A key of :data:`ANALYSES`.
    runs : sequence of RunResult
        Trained runs (their settings identify them). Objects without a
        ``config`` (networks that are not training runs) are computed on
        and nothing is stored.
    **params
        JSON-able parameters of the analysis.

    Returns
    -------
    dict of str -> ndarray
    """
    analysis = ANALYSES[name]
    runs = list(runs)
    if not all(hasattr(r, "config") for r in runs):  # networks that are not training runs: nothing to key them by
        return {k: np.asarray(v) for k, v in analysis.compute(runs, **params).items()}
    key = analysis_key(name, runs, params)

    took = []

    def compute():
        t0 = time.perf_counter()
        out = analysis.compute(runs, **params)
        took.append(time.perf_counter() - t0)
        return {k: np.asarray(v) for k, v in out.items()}

    def encode(arrays):
        return dict(arrays), {"analysis": name, "params": params, "format": MEMO_FORMAT, "seconds": sum(took)}

    def decode(arrays, meta):
        if not arrays:
            raise BadEntry("no arrays")
        for k, v in arrays.items():
            take_array(arrays, k, v.shape)
            if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
                raise BadEntry(f"array {k!r} holds non-finite values")
        return arrays

    recipe = {"analysis": name, "module": analysis.module, "runs": [r.config.to_dict() for r in runs],
              "params": params}
    return ANALYSIS_STORE.get_or_compute(key, compute, encode, decode, expect={"analysis": name, "params": params},
                                         recipe=recipe)


def recompute(recipe: dict, runs) -> dict:
    """The result a stored recipe describes, computed afresh on ``runs`` (no cache)."""
    if not str(recipe["module"]).startswith("resnet_ode.studies."):
        raise ValueError(f"analysis module {recipe['module']!r} is not part of resnet_ode.studies")
    importlib.import_module(recipe["module"])  # registers the analysis
    out = ANALYSES[recipe["analysis"]].compute(list(runs), **recipe["params"])
    return {k: np.asarray(v) for k, v in out.items()}
