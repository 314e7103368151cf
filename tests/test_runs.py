import json

import numpy as np
import pytest

from resnet_ode.training import runs
from resnet_ode.training.cache import CacheWarning
from resnet_ode.training.runs import RunConfig, cache_key, cached_result, get_run

TINY = dict(nY=4, T=2.0, nt=3, nc=4, n_train_per_class=20, n_val_per_class=4, max_iter=3, cg_max_iter=5)


@pytest.mark.parametrize(
    "changes, error, name",
    [
        (dict(nY=1), ValueError, "nY"),
        (dict(T=0.0), ValueError, "T"),
        (dict(T=-1), ValueError, "T"),
        (dict(nt=1), ValueError, "nt"),
        (dict(integrator="rk5"), ValueError, "integrator"),
        (dict(activation="sigmoid"), ValueError, "activation"),
        (dict(nY=8.0), TypeError, "nY"),
        (dict(nY="8"), TypeError, "nY"),
        (dict(T="20"), TypeError, "T"),
        (dict(optimizer="sgd"), ValueError, "optimizer"),
        (dict(bias="middle"), ValueError, "bias"),
        (dict(warm_start=1), TypeError, "warm_start"),
        (dict(cg_tol=0.0), ValueError, "cg_tol"),
    ],
)
def test_bad_parameters_fail_before_compute(changes, error, name, monkeypatch, tmp_cache):
    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(runs, "train", no_training)
    with pytest.raises(error) as info:
        get_run(RunConfig(**changes))
    assert name in str(info.value)
    if isinstance(info.value, ValueError) and name in ("integrator", "activation", "optimizer"):
        assert "allowed" in str(info.value)


def test_cache_round_trip(tmp_cache):
    cfg = RunConfig(**TINY)
    first = get_run(cfg)
    assert not first.from_cache
    again = get_run(cfg)
    assert again.from_cache
    assert np.array_equal(first.theta, again.theta) and np.array_equal(first.W, again.W)
    assert set(first.history) == set(again.history)
    assert again.train_seconds == first.train_seconds
    # A fresh training gives the same numbers (determinism).
    fresh = get_run(cfg, use_cache=False)
    assert np.array_equal(fresh.theta, first.theta)


def test_key_depends_on_settings_and_library_source(monkeypatch, tmp_cache):
    cfg = RunConfig(**TINY)
    assert cache_key(cfg) != cache_key(cfg.replace(nY=5))
    assert cache_key(cfg) == cache_key(RunConfig(**TINY))
    get_run(cfg)
    assert cached_result(cfg) is not None
    monkeypatch.setattr(runs, "source_hash", lambda: "a-changed-library")
    assert cached_result(cfg) is None  # stale entry not used


def test_source_hash_follows_the_training_code(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    pkg = Path(runs.__file__).parents[1]
    copy = tmp_path / "resnet_ode"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runs, "__file__", str(copy / "training" / "runs.py"))
    runs.source_hash.cache_clear()
    try:
        names = {p.relative_to(copy).as_posix() for p in runs.training_modules()}
        assert {"training/trainer.py", "core/blocks.py", "core/rungekutta.py", "core/objectives.py", "core/optim.py",
                "core/network.py", "core/data.py", "util/validate.py"} <= names
        assert not any(n.startswith(("studies/", "book/")) for n in names)
        # the cache, keys and published entries decide no value; nor do progress bars or file locations
        assert not names & {"training/runs.py", "training/cache.py", "util/progress.py", "util/paths.py",
                            "util/storage.py"}
        before = runs.source_hash()
        for name in ("training/cache.py", "training/runs.py"):
            module = copy / name
            module.write_text(module.read_text() + "\n\ndef an_edit():\n    return 1\n")
        runs.source_hash.cache_clear()
        assert runs.source_hash() == before
        plotting = copy / "studies" / "plotting.py"
        plotting.write_text(plotting.read_text() + "\n# edited\n")
        runs.source_hash.cache_clear()
        assert runs.source_hash() == before  # analysis-only module: cached runs stay valid
        blocks = copy / "core" / "blocks.py"
        text = blocks.read_text()
        edited_doc = text.replace('"""Network blocks', '"""Edited docstring. Network blocks', 1) + "\n# a comment\n"
        assert edited_doc != text
        blocks.write_text(edited_doc)
        runs.source_hash.cache_clear()
        assert runs.source_hash() == before  # docstrings and comments do not count
        blocks.write_text(text.replace("self.h = self.T / self.n_steps", "self.h = 1.0 * self.T / self.n_steps"))
        runs.source_hash.cache_clear()
        assert runs.source_hash() != before  # training code: every cached run is invalid
        kernel = copy / "core" / "rungekutta.py"   # reached only through blocks' import
        blocks.write_text(text)
        runs.source_hash.cache_clear()
        assert runs.source_hash() == before
        kernel.write_text(kernel.read_text().replace("self.h, self.n_steps = float(h), int(n_steps)",
                                                     "self.h, self.n_steps = 1.0 * float(h), int(n_steps)"))
        runs.source_hash.cache_clear()
        assert runs.source_hash() != before
    finally:
        runs.source_hash.cache_clear()


def test_interrupted_run_leaves_nothing(monkeypatch, tmp_cache):
    cfg = RunConfig(**TINY)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        get_run(cfg)
    assert not list(tmp_cache.glob("*.npz")) and not list(tmp_cache.glob(".*.tmp"))


def test_interrupted_write_leaves_nothing(monkeypatch, tmp_cache):
    cfg = RunConfig(**TINY)
    real_save = np.savez_compressed

    def failing_savez(buf, **arrays):
        real_save(buf, **arrays)
        raise KeyboardInterrupt  # after the data was produced, before it is in place

    monkeypatch.setattr(runs.np, "savez_compressed", failing_savez)
    with pytest.raises(KeyboardInterrupt):
        get_run(cfg)
    # Nothing of the entry is left: no entry, no temporary file; only the cache's marker and lock files.
    left = sorted(p.name for p in tmp_cache.iterdir()) if tmp_cache.exists() else []
    assert all(name == ".resnet-ode-cache" or name.endswith(".lock") for name in left), left


def test_corrupt_entry_is_retrained(tmp_cache):
    cfg = RunConfig(**TINY)
    first = get_run(cfg)
    (entry,) = tmp_cache.glob("*.npz")
    entry.write_bytes(b"not a zip file")
    with pytest.warns(CacheWarning, match=f"{entry}.*BadZipFile"):
        again = get_run(cfg)
    assert not again.from_cache and np.array_equal(again.theta, first.theta)
    assert (tmp_cache / f"{entry.name}.bad").read_bytes() == b"not a zip file"  # moved aside, not deleted


def test_cached_run_is_bit_identical_to_training(tmp_cache):
    cfg = RunConfig(**TINY)
    get_run(cfg)
    cached, fresh = get_run(cfg), runs.train(cfg)
    assert cached.from_cache
    assert np.array_equal(cached.theta, fresh.theta) and np.array_equal(cached.W, fresh.W)
    assert all(np.array_equal(cached.history[k], fresh.history[k]) for k in fresh.history if k != "seconds")


def test_summary_and_final(tmp_cache):
    result = get_run(RunConfig(**TINY))
    final = result.final()
    assert final["iterations"] == 3
    assert 0 <= final["val_accuracy"] <= 1
    text = result.summary()
    assert "validation accuracy" in text and "training time" not in text  # machine-dependent: not in the summary
    json.dumps(final)
