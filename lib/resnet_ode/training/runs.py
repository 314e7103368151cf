"""Training runs through the cache: keys, entries and :func:`get_run`.

A run is fully described by a :class:`~resnet_ode.training.trainer.RunConfig`
(its settings and training are in :mod:`resnet_ode.training.trainer`, and
re-exported here). :func:`get_run` returns its result from the local cache,
else from the entries published with the book, else trains it and stores it
atomically (:mod:`resnet_ode.training.cache`). A run's key covers its
settings and :func:`source_hash`, the code that decides a run's values; so
the book never shows a result that the current code did not produce, while
editing the cache, the command line or a study invalidates nothing.
Concurrent callers asking for the same run wait on a lock and then read the
entry instead of training twice.
"""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy

from resnet_ode.core import optim
from resnet_ode.training.cache import RUNS, BadEntry, make_key, take_array, take_field
from resnet_ode.training.trainer import CLASSIFIER_SOLVERS, RunConfig, RunResult, train  # noqa: F401  (re-exported)
from resnet_ode.util.codehash import code_without_docs, package_imports
from resnet_ode.util.provenance import numerics

#: Bump when the layout of a cache entry changes (format 2 added the recipe and the provenance).
CACHE_FORMAT = 2

#: Modules a run imports whose code decides no value, left out of :func:`source_hash`, with the reason.
#: A mistake here is caught by ``resnet-ode verify``, which recomputes published runs bit for bit.
NOT_VALUE_MODULES = {
    "util/progress.py": "progress bars only",
    "util/paths.py": "file locations only",
    "util/storage.py": "atomic files and locks only",
    "util/environ.py": "environment variables for a block only",
}


# ----------------------------------------------------------------------------
# the code hash
# ----------------------------------------------------------------------------


def training_modules() -> list[Path]:
    """Source files whose code decides a run's values.

    :mod:`resnet_ode.training.trainer` and every package module it imports,
    transitively (read from the ``import`` statements, so the set follows
    the code without a list to maintain), less :data:`NOT_VALUE_MODULES`.
    """
    here = Path(__file__).resolve()
    pkg = here.parents[1]
    return [p for p in package_imports(here.with_name("trainer.py"), pkg)
            if p.relative_to(pkg).as_posix() not in NOT_VALUE_MODULES]


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 over the code that decides a run's values (:func:`training_modules`) and the Python, numpy and scipy versions.

    What is hashed is each module's syntax tree without docstrings, so editing
    a docstring or a comment keeps cached runs valid, while any change to what
    the code does invalidates every cached run. The machine's numeric code
    paths are not part of it: they are provenance, recorded with each entry
    (:mod:`resnet_ode.util.provenance`), so a reader on other hardware reads
    the published runs instead of training runs that differ in round-off.
    """
    pkg = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in training_modules():
        h.update(path.relative_to(pkg).as_posix().encode())
        h.update(b"\0")
        h.update(code_without_docs(path.read_text()).encode())
        h.update(b"\0")
    h.update(f"python={sys.version_info[:2]};numpy={np.__version__};scipy={scipy.__version__}".encode())
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_identity() -> str:
    """:func:`source_hash` and the numeric code paths together: what a worker must share with the process it computes for.

    A Dask worker or a pool process whose identity differs would store
    results with other bits under the same keys, so the checks in
    :mod:`resnet_ode.training.cluster` compare this, not the key's hash.
    """
    return hashlib.sha256((source_hash() + numerics()).encode()).hexdigest()


def cache_key(config: RunConfig) -> str:
    """Hex key of a run: its settings, the library source hash and the cache format."""
    return make_key(config=config.to_dict(), source=source_hash(), format=CACHE_FORMAT)


def _encode(result: RunResult):
    """A run as the arrays and metadata of its cache entry."""
    meta = {
        "config": result.config.to_dict(),
        "train_seconds": result.train_seconds,
        "message": result.message,
        "source": source_hash(),
        "format": CACHE_FORMAT,
    }
    arrays = {"theta": result.theta, "W": result.W}
    arrays.update({f"history__{k}": v for k, v in result.history.items()})
    return arrays, meta


def _decoder(config: RunConfig, key: str):
    """Reads a cache entry of ``config`` back, checking it against what the settings imply."""

    def decode(arrays: dict, meta: dict) -> RunResult:
        model = config.model()
        theta = take_array(arrays, "theta", (model.n_params,))
        W = take_array(arrays, "W", (model.n_classifier_params,))
        history = {k[len("history__"):]: v for k, v in arrays.items() if k.startswith("history__")}
        missing = [k for k in optim.HISTORY_KEYS if k not in history]
        if missing:
            raise BadEntry(f"history lacks {', '.join(missing)}")
        lengths = {k: v.shape for k, v in history.items()}
        if len(set(lengths.values())) != 1 or len(next(iter(lengths.values()))) != 1 or \
                lengths["objective"][0] == 0:
            raise BadEntry(f"history arrays differ in length or shape: {lengths}")
        for name, values in (("theta", theta), ("W", W), ("recorded objective", history["objective"]),
                             ("recorded loss", history["loss"])):
            bad = int(np.sum(~np.isfinite(values)))
            if bad:
                raise BadEntry(f"{name} holds {bad} non-finite value(s)")
        seconds = take_field(meta, "train_seconds", "number")
        message = take_field(meta, "message", "text")
        return RunResult(config, theta, W, history, float(seconds), message, from_cache=True, key=key,
                         _model=model)

    return decode


def cached_result(config: RunConfig, report: bool = True) -> RunResult | None:
    """The result for ``config`` under the current code from the local cache or the published entries, or ``None`` (never trains).

    ``report=False``: an unusable entry is not reported here (for a caller that trains the run next, where it is
    set aside and reported once).
    """
    key = cache_key(config)
    return RUNS.read(key, _decoder(config, key), expect={"config": config.to_dict()}, report=report)


def get_run(config: RunConfig, use_cache: bool = True, desc: str | None = None) -> RunResult:
    """Result of the run ``config``: from the cache if present, else trained and stored.

    A cache entry that cannot be read or does not fit ``config`` is reported
    (:class:`resnet_ode.training.cache.CacheWarning`), moved aside and trained again;
    see :mod:`resnet_ode.training.cache`.

    Parameters
    ----------
    config : RunConfig
    use_cache : bool
        ``False`` trains afresh and does not touch the cache.
    desc : str, optional
        Progress-bar label.

    Raises
    ------
    FloatingPointError
        If training produced a non-finite objective or weights (nothing is cached).
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig, got {type(config).__name__}")
    if not use_cache:
        return train(config, desc)
    key = cache_key(config)

    def compute():
        result = train(config, desc)
        result.key = key
        return result

    return RUNS.get_or_compute(key, compute, _encode, _decoder(config, key), expect={"config": config.to_dict()},
                               recipe=recipe(config))


def recipe(config: RunConfig) -> dict:
    """What recomputes a run's entry from nothing (stored with it; ``resnet-ode verify`` follows it)."""
    return {"config": config.to_dict()}


def from_recipe(rec: dict) -> RunResult:
    """The run a :func:`recipe` describes, read from the cache or the published entries, else trained."""
    return get_run(RunConfig(**rec["config"]))


def get_runs(configs, desc: str = "runs") -> list[RunResult]:
    """Results of several runs in order, with one progress bar over them."""
    from resnet_ode.util import progress

    configs = list(configs)
    out = []
    with progress.bar(len(configs), desc) as bar:
        for cfg in configs:
            out.append(get_run(cfg))
            bar.update(1)
    return out
