"""Fault injection on the cache: damaged entries of every store, foreign and missing folders, read-only caches, runs that diverge.

Every test works on real files in a temporary cache (``RESNET_ODE_CACHE``).
The tests go through the public functions only (``get_run``,
``get_surface``, ``get_hessian_extremes``, ``resnet-ode cache``) and point
``RESNET_ODE_LANDSCAPES`` (where releases before ``resnet_ode.training.cache`` kept
surfaces) at the same folder, so that the same file can be run against an
older version of the package to see each fault come back.

A read-only cache is simulated (the tests run as root, for whom ``chmod``
does not stop writes): every call that would create, change or remove a
file or folder inside the cache raises ``PermissionError``, as on a
read-only mount.
"""

import builtins
import errno
import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from resnet_ode.book import cli
from resnet_ode.studies import landscape as L
from resnet_ode.training.runs import RunConfig, cached_result, get_run, train

TINY = dict(nY=3, nt=2, max_iter=1, n_train_per_class=5, n_val_per_class=2)
SPEC = dict(objective="joint", a=(-1.0, 0.0, 1.0), b=(-1.0, 0.0, 1.0))
FAKE_HESSIAN = {"lam_min": -1.0, "lam_max": 2.0, "ratio": -0.5, "matvecs": 3, "grad_norm": 0.1, "asymmetry": 0.0,
                "second_difference_min": -1.0}


@pytest.fixture
def root(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("RESNET_ODE_CACHE", str(folder))
    monkeypatch.setenv("RESNET_ODE_LANDSCAPES", str(folder))
    monkeypatch.setenv("RESNET_ODE_WORKERS", "1")
    return folder


@pytest.fixture
def hessian_calls(monkeypatch):
    """``hessian_extremes`` replaced by a fast fake that counts its calls (the store is under test, not Lanczos)."""
    calls = []

    def fake(*args, **kwargs):
        calls.append(1)
        return dict(FAKE_HESSIAN)

    monkeypatch.setattr(L, "hessian_extremes", fake)
    # Also where get_hessian_extremes looks it up (the module that defines it, wherever that is).
    monkeypatch.setitem(L.get_hessian_extremes.__globals__, "hessian_extremes", fake)
    return calls


def _entry(root, prefix):
    (path,) = root.glob(f"{prefix}-*.npz") if prefix != "hessian" else root.glob("hessian-*.json")
    return path


# ----------------------------------------------------------------------------
# damage
# ----------------------------------------------------------------------------


def truncate_100(path):
    path.write_bytes(path.read_bytes()[:-100])


def truncate_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_middle_byte(path):
    """Flip a byte in the middle of the file; in a zip (an .npz entry), in the middle of its largest member's data.

    Entries are compressed, so the middle of the file can fall on bytes zip ignores, depending on the data (the
    entry's numbers differ between numeric code paths); the middle of a member's data is always checked (CRC).
    """
    data = bytearray(path.read_bytes())
    pos = len(data) // 2
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            info = max(zf.infolist(), key=lambda i: i.compress_size)
        head = info.header_offset
        name_len = int.from_bytes(data[head + 26:head + 28], "little")
        extra_len = int.from_bytes(data[head + 28:head + 30], "little")
        pos = head + 30 + name_len + extra_len + info.compress_size // 2
    data[pos] ^= 0xFF
    path.write_bytes(bytes(data))


def _rewrite_npz(path, change):
    """Rewrite a valid .npz entry with ``change(arrays, meta)`` applied (meta: parsed JSON or raw text)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta = change(arrays, meta)
    buf = io.BytesIO()
    np.savez(buf, **arrays, meta=np.array(meta if isinstance(meta, str) else json.dumps(meta)))
    path.write_bytes(buf.getvalue())


def _drop(name):
    def change(arrays, meta):
        del meta[name]
        return meta
    return change


def _shorten(name):
    def change(arrays, meta):
        arrays[name] = arrays[name][:-1]
        return meta
    return change


def _not_json(arrays, meta):
    return "{not json"


def _poison(name, value):
    """One number of array ``name`` replaced by ``value`` (NaN, inf): a valid zip that passed every check."""
    def change(arrays, meta):
        arrays[name] = arrays[name].astype(float)
        arrays[name][len(arrays[name]) // 2] = value
        return meta
    return change


BYTES = {"truncated by 100 bytes": truncate_100, "truncated to half": truncate_half,
         "one byte flipped": flip_middle_byte}
RUN_DAMAGE = {
    **BYTES,
    "theta one too short": lambda p: _rewrite_npz(p, _shorten("theta")),
    "W one too short": lambda p: _rewrite_npz(p, _shorten("W")),
    "history arrays of unequal length": lambda p: _rewrite_npz(p, _shorten("history__loss")),
    "meta without train_seconds": lambda p: _rewrite_npz(p, _drop("train_seconds")),
    "meta without message": lambda p: _rewrite_npz(p, _drop("message")),
    "meta not JSON": lambda p: _rewrite_npz(p, _not_json),
    "theta holds a NaN": lambda p: _rewrite_npz(p, _poison("theta", np.nan)),
    "W holds an inf": lambda p: _rewrite_npz(p, _poison("W", -np.inf)),
    "recorded loss holds a NaN": lambda p: _rewrite_npz(p, _poison("history__loss", np.nan)),
}
SURFACE_DAMAGE = {
    **BYTES,
    "values of the wrong shape": lambda p: _rewrite_npz(p, _shorten("values")),
    "d1 one too short": lambda p: _rewrite_npz(p, _shorten("d1")),
    "meta without seconds": lambda p: _rewrite_npz(p, _drop("seconds")),
    "meta not JSON": lambda p: _rewrite_npz(p, _not_json),
}


def _hessian_json(change):
    def damage(path):
        stored = json.loads(path.read_text())
        path.write_text(change(stored))
    return damage


HESSIAN_DAMAGE = {
    **BYTES,
    "result without lam_min": _hessian_json(lambda s: json.dumps({**s, "result": {k: v for k, v in s["result"].items()
                                                                                   if k != "lam_min"}})),
    "result not a dict": _hessian_json(lambda s: json.dumps({**s, "result": [1, 2]})),
    "not JSON": _hessian_json(lambda s: "{not json"),
}


def _expect_set_aside(path):
    """The warning must name the damaged file; afterwards it lies next to the new entry as ``<name>.bad``."""
    return pytest.warns(UserWarning, match=re.escape(str(path)))


# ----------------------------------------------------------------------------
# damaged entries: reported with their path, moved aside, computed again
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("damage", RUN_DAMAGE.values(), ids=RUN_DAMAGE.keys())
def test_damaged_run_entry_is_reported_moved_aside_and_retrained(damage, root):
    cfg = RunConfig(**TINY)
    first = get_run(cfg)
    entry = _entry(root, "run")
    damage(entry)
    with _expect_set_aside(entry):
        again = get_run(cfg)
    assert not again.from_cache
    assert np.array_equal(again.theta, first.theta) and np.array_equal(again.W, first.W)
    assert (root / (entry.name + ".bad")).is_file()
    third = get_run(cfg)  # the recomputed entry is whole again
    assert third.from_cache and np.array_equal(third.theta, first.theta)
    assert set(third.history) == set(first.history)


@pytest.mark.parametrize("damage", SURFACE_DAMAGE.values(), ids=SURFACE_DAMAGE.keys())
def test_damaged_surface_entry_is_reported_moved_aside_and_recomputed(damage, root):
    run = get_run(RunConfig(**TINY))
    spec = L.SurfaceSpec(**SPEC)
    first = L.get_surface(run, spec, workers=1)
    entry = _entry(root, "surface")
    damage(entry)
    with _expect_set_aside(entry):
        again = L.get_surface(run, spec, workers=1)
    assert not again.from_cache and np.array_equal(again.values, first.values)
    assert (root / (entry.name + ".bad")).is_file()
    third = L.get_surface(run, spec, workers=1)
    assert third.from_cache and third.values.shape == (3, 3)


@pytest.mark.parametrize("damage", HESSIAN_DAMAGE.values(), ids=HESSIAN_DAMAGE.keys())
def test_damaged_hessian_entry_is_reported_moved_aside_and_recomputed(damage, root, hessian_calls):
    run = get_run(RunConfig(**TINY))
    first = L.get_hessian_extremes(run, "joint")
    entry = _entry(root, "hessian")
    damage(entry)
    with _expect_set_aside(entry):
        again = L.get_hessian_extremes(run, "joint")
    assert len(hessian_calls) == 2
    assert {k: again[k] for k in FAKE_HESSIAN} == {k: first[k] for k in FAKE_HESSIAN}
    assert (root / (entry.name + ".bad")).is_file()
    assert L.get_hessian_extremes(run, "joint") == again and len(hessian_calls) == 2


def test_a_second_bad_copy_does_not_overwrite_the_first_set_aside(root):
    """Two bad copies of one entry in turn: both are kept (``.bad``, ``.1.bad``), each as it was found."""
    cfg = RunConfig(**TINY)
    get_run(cfg)
    entry = _entry(root, "run")
    found = []
    for damage in (truncate_half, lambda p: _rewrite_npz(p, _poison("theta", np.nan))):
        damage(entry)
        found.append(entry.read_bytes())
        with _expect_set_aside(entry):
            assert not get_run(cfg).from_cache
    assert [(root / f"{entry.name}{n}.bad").read_bytes() for n in ("", ".1")] == found


def test_a_flipped_byte_lands_in_data_covered_by_a_checksum(root):
    """The flip test above must damage a zip member, not a field zip ignores (it would then pass vacuously)."""
    get_run(RunConfig(**TINY))
    entry = _entry(root, "run")
    flip_middle_byte(entry)
    with pytest.raises((zipfile.BadZipFile, zlib.error)), zipfile.ZipFile(entry) as zf:
        for name in zf.namelist():
            zf.read(name)


# ----------------------------------------------------------------------------
# cache clear and cache info
# ----------------------------------------------------------------------------


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None for p in folder.rglob("*")}


def test_clear_refuses_a_folder_the_cache_did_not_write(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "my-documents"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.tex").write_text("precious")
    (folder / "sub" / "data.csv").write_text("1,2,3")
    (folder / f"run-{'0' * 32}.npz").write_bytes(b"looks like an entry, but the folder has no marker")
    before = _tree(folder)
    monkeypatch.setenv("RESNET_ODE_CACHE", str(folder))
    with pytest.raises(SystemExit) as info:
        cli.main(["cache", "clear"])
    assert info.value.code not in (0, None)
    assert "not a resnet-ode cache" in str(info.value.code) and str(folder) in str(info.value.code)
    assert _tree(folder) == before


def test_clear_removes_only_what_the_cache_wrote(root, hessian_calls, capsys):
    run = get_run(RunConfig(**TINY))
    L.get_surface(run, L.SurfaceSpec(**SPEC), workers=1)
    L.get_hessian_extremes(run, "joint")
    other = get_run(RunConfig(**TINY, init_seed=1))
    entry = root / f"run-{other.key}.npz"
    truncate_half(entry)
    with pytest.warns(UserWarning):
        get_run(RunConfig(**TINY, init_seed=1))  # leaves run-<key>.npz.bad
    (root / f".run-{other.key}.npz.abc_123.tmp").write_bytes(b"left by a killed writer")
    # Files the cache did not write, placed inside it.
    (root / "notes.txt").write_text("mine")
    (root / "run-not-a-key.npz").write_text("mine too")
    (root / "mine").mkdir()
    (root / "mine" / f"run-{other.key}.npz").write_text("in a subfolder: not the cache's")
    names = {p.name for p in root.iterdir()}
    assert {n for n in names if n.endswith(".bad")} and {n for n in names if n.endswith(".lock")}
    cli.main(["cache", "clear"])
    assert "removed" in capsys.readouterr().out
    left = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    assert left == sorted([".resnet-ode-cache", "mine", f"mine/run-{other.key}.npz", "notes.txt",
                           "run-not-a-key.npz"])
    assert (root / "notes.txt").read_text() == "mine"


def test_info_on_a_missing_path_creates_nothing(tmp_path, monkeypatch, capsys):
    typo = tmp_path / "chache" / "runs"
    monkeypatch.setenv("RESNET_ODE_CACHE", str(typo))
    with pytest.raises(SystemExit) as info:
        cli.main(["cache", "info"])
    assert info.value.code not in (0, None) and "does not exist" in str(info.value.code)
    with pytest.raises(SystemExit):
        cli.main(["cache", "clear"])
    assert cached_result(RunConfig(**TINY)) is None  # reading does not create it either
    assert not (tmp_path / "chache").exists()


def test_info_counts_every_store(root, hessian_calls, capsys):
    run = get_run(RunConfig(**TINY))
    get_run(RunConfig(**TINY, init_seed=1))
    L.get_surface(run, L.SurfaceSpec(**SPEC), workers=1)
    L.get_hessian_extremes(run, "joint")
    cli.main(["cache", "info"])
    out = capsys.readouterr().out
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(runs|surfaces|hessians)\s+(\d+) entries", out,
                                                                re.M)}
    assert counts == {"runs": 2, "surfaces": 1, "hessians": 1}, out
    assert str(root) in out


# ----------------------------------------------------------------------------
# read-only cache
# ----------------------------------------------------------------------------


@pytest.fixture
def read_only(monkeypatch):
    """Make ``folder`` behave like a read-only mount: creating, changing or removing anything in it fails."""

    def inside(path, folder):
        try:
            return Path(os.path.abspath(os.fspath(path))).is_relative_to(folder)
        except TypeError:
            return False  # a file descriptor

    def denied(path):
        return PermissionError(errno.EROFS, "Read-only file system", str(path))

    def make(folder):
        folder = Path(folder).resolve()
        real_open, real_mkstemp = builtins.open, tempfile.mkstemp
        real = {name: getattr(os, name) for name in ("replace", "rename", "unlink", "remove", "mkdir", "rmdir")}

        def guarded_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+") and inside(file, folder):
                raise denied(file)
            return real_open(file, mode, *args, **kwargs)

        def guarded_mkstemp(*args, dir=None, **kwargs):
            if dir is not None and inside(dir, folder):
                raise denied(dir)
            return real_mkstemp(*args, dir=dir, **kwargs)

        def guard(name):
            def call(*paths, **kwargs):
                if any(inside(p, folder) for p in paths):
                    if name == "mkdir" and Path(paths[0]).exists():
                        raise FileExistsError(errno.EEXIST, "File exists", str(paths[0]))
                    raise denied(paths[0])
                return real[name](*paths, **kwargs)
            return call

        monkeypatch.setattr(builtins, "open", guarded_open)
        monkeypatch.setattr(io, "open", guarded_open)
        monkeypatch.setattr(tempfile, "mkstemp", guarded_mkstemp)
        for name in real:
            monkeypatch.setattr(os, name, guard(name))

    return make


def test_clear_on_a_read_only_cache_is_one_error_line(root, read_only, capsys):
    """``cache clear`` on a read-only cache ended in an OSError traceback."""
    get_run(RunConfig(**TINY))
    entry = _entry(root, "run")
    read_only(root)
    with pytest.raises(SystemExit) as info:
        cli.main(["cache", "clear"])
    message = str(info.value.code)
    assert message.startswith(f"error: cannot remove {entry} from the cache {root} (Read-only file system)")
    assert "RESNET_ODE_CACHE" in message and "\n" not in message
    assert entry.is_file()


def test_read_only_cache_serves_a_hit(root, read_only, hessian_calls):
    cfg = RunConfig(**TINY)
    first = get_run(cfg)
    surface = L.get_surface(first, L.SurfaceSpec(**SPEC), workers=1)
    L.get_hessian_extremes(first, "joint")
    before = _tree(root)
    read_only(root)
    with pytest.raises(PermissionError):
        (root / "probe").write_text("x")  # the simulation works
    hit = get_run(cfg)
    assert hit.from_cache and np.array_equal(hit.theta, first.theta)
    assert L.get_surface(hit, L.SurfaceSpec(**SPEC), workers=1).from_cache
    assert np.array_equal(L.get_surface(hit, L.SurfaceSpec(**SPEC), workers=1).values, surface.values)
    L.get_hessian_extremes(hit, "joint")
    assert len(hessian_calls) == 1
    assert _tree(root) == before


def test_read_only_cache_computes_a_miss_and_says_it_could_not_store_it(root, read_only):
    get_run(RunConfig(**TINY))
    before = _tree(root)
    read_only(root)
    cfg = RunConfig(**TINY, init_seed=3)
    with pytest.warns(UserWarning, match="could not store"):
        result = get_run(cfg)
    assert not result.from_cache and np.array_equal(result.theta, train(cfg).theta)
    assert _tree(root) == before


# ----------------------------------------------------------------------------
# a run that diverges
# ----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_training_stops_with_a_clear_error_and_is_not_cached(root):
    cfg = RunConfig(**TINY)
    # RunConfig now refuses such a scale; forced here to reach the training-time check behind it.
    object.__setattr__(cfg, "init_scale", 1e200)
    with pytest.raises(FloatingPointError) as info:
        get_run(cfg)
    message = str(info.value)
    assert "init_scale=1e+200" in message and "nY=3" in message
    assert "objective" in message and "not cached" in message
    assert not list(root.glob("run-*.npz")) and not list(root.glob(".*.tmp"))
    with pytest.raises(FloatingPointError):
        get_run(cfg, use_cache=False)
