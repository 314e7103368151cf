"""The on-disk cache every store uses: training runs, loss surfaces, Hessian extremes.

Layout
    One folder, the *cache root*: ``RESNET_ODE_CACHE`` if set, otherwise
    ``_build/cache`` in the repository (:func:`resnet_ode.util.paths.cache_dir`).
    The stores keep their entries side by side in it, told apart by name:

    - runs: ``run-<key>.npz``, written by :func:`resnet_ode.training.runs.get_run`;
    - surfaces: ``surface-<key>.npz``, by :func:`resnet_ode.studies.landscape.surfaces.get_surface`;
    - hessians: ``hessian-<key>.json``, by :func:`resnet_ode.studies.landscape.hessian.get_hessian_extremes`;
    - analyses: ``analysis-<key>.npz``, by :func:`resnet_ode.studies.memo.stored`.

    Next to an entry there may be its lock ``<store prefix>-<key>.lock``, a
    temporary file ``.<entry>.<random>.tmp`` while it is written, and
    ``<entry>.bad``, an entry found unusable and moved aside. The layout is
    flat (no subfolder per store) so that ``RESNET_ODE_CACHE`` still names
    the folder holding the run entries, as it always did. (Earlier versions
    kept runs in ``_build/cache/runs/`` and surfaces in ``_build/landscapes/``;
    those folders are no longer read, ``make clean`` removes them.)

Marker
    The first write creates the root if needed and puts a marker file
    :data:`MARKER` (``.resnet-ode-cache``, one line of text) in it.
    :func:`clear` acts only on a folder holding the marker and removes only
    the files named as above, so a file the cache did not write survives it,
    and a folder the cache never wrote to (a mistyped ``RESNET_ODE_CACHE``)
    is refused untouched. Reading never creates a folder or a file.

Keys
    :func:`make_key`: the first 32 hex digits of SHA-256 over the sorted JSON
    of the key's parts. A run's parts are its settings, the training-code
    hash :func:`resnet_ode.training.runs.source_hash` (syntax trees without
    docstrings of the code that decides a run's values) and the entry
    format; a surface's or a Hessian's are the run's key, their own settings
    and :func:`resnet_ode.studies.landscape.version.source_hash`; a stored
    analysis's (:mod:`resnet_ode.studies.memo`) the runs' keys, its
    parameters and the code of the modules that decide it. The machine's
    numeric code paths are not part of any key: they are recorded with each
    entry as ``provenance`` (:func:`resnet_ode.util.provenance.record`), with
    the ``recipe`` that recomputes it.

Lookup order
    The local cache, then the entries published with the book
    (:func:`resnet_ode.util.paths.published_dir`, listed in its
    ``manifest.json``; a file whose SHA-256 differs from the manifest's is
    refused with a :class:`CacheWarning` and never changed), then compute.
    Every lookup is noted in the read log ``RESNET_ODE_READ_LOG`` names, if
    set (:func:`note_read`; :mod:`resnet_ode.training.published`).

Writing
    Atomically (:func:`resnet_ode.util.storage.atomic_path`: temporary file,
    fsync, rename) and under one lock per entry
    (:func:`resnet_ode.util.storage.file_lock`), so an interrupted write leaves
    nothing half-written and two processes never compute the same entry
    twice: the second waits, then reads what the first stored.

Bad entries
    An entry is read eagerly (every array of the zip, with its CRC) and
    checked against what its settings imply (array shapes, recorded key and
    settings, required metadata). One that fails for any reason is reported
    by a :class:`CacheWarning` naming the file and the reason, renamed to
    ``<entry>.bad`` and computed again.

Read-only cache
    A hit needs no lock and no write, so a read-only cache serves it. On a
    miss, if the lock or the entry cannot be written (``OSError``, e.g. a
    read-only folder), the result is computed, returned and a
    :class:`CacheWarning` says it could not be stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from resnet_ode.util import provenance
from resnet_ode.util.paths import cache_dir, published_dir
from resnet_ode.util.storage import file_lock, write_json, write_npz

#: Name of the marker file in the cache root.
MARKER = ".resnet-ode-cache"
MARKER_TEXT = ("This folder is a resnet-ode cache (resnet_ode.training.cache). "
               "`resnet-ode cache clear` removes only the files resnet-ode wrote here.\n")
KEY_LENGTH = 32


class CacheWarning(UserWarning):
    """A cache entry was unusable, or a result could not be stored."""


class BadEntry(ValueError):
    """An entry whose content does not fit its settings; the message says why."""


class NotACache(Exception):
    """A folder :func:`clear` refuses: missing, or without the marker."""


#: The manifest of the published entries, in :func:`resnet_ode.util.paths.published_dir`.
MANIFEST = "manifest.json"
#: Environment variable naming a file to which every lookup appends one line (see :func:`note_read`).
READ_LOG_ENV = "RESNET_ODE_READ_LOG"


def root() -> Path:
    """The cache root (not created here)."""
    return cache_dir()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=4)
def _manifest_at(path: str, mtime_ns: int, size: int) -> dict:
    data = json.loads(Path(path).read_text())
    return {e["file"]: e for e in data.get("entries", [])}


def published_manifest(folder: Path | None = None) -> dict:
    """File name -> manifest record of the published entries (empty when there are none)."""
    path = Path(folder or published_dir()) / MANIFEST
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    return _manifest_at(str(path), st.st_mtime_ns, st.st_size)


def note_read(store: "Store", key: str, where: str):
    """Append ``"<store> <key> <where>"`` to the file ``$RESNET_ODE_READ_LOG`` names, if set.

    ``where`` is ``local`` (the local cache), ``published`` or ``computed``.
    ``resnet-ode publish`` reads these lines to learn which entries the book
    reads; ``resnet-ode publish --check`` fails on one computed or not
    published. One ``write`` of a short line to a file opened for appending,
    so processes writing at once do not mix their lines.
    """
    target = os.environ.get(READ_LOG_ENV)
    if not target:
        return
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{store.name} {key} {where}\n".encode())
        finally:
            os.close(fd)
    except OSError as exc:
        warnings.warn(f"resnet-ode cache: could not note a read in {target} ({exc})", CacheWarning, stacklevel=3)


def make_key(**parts) -> str:
    """Hex key over ``parts`` (JSON-able): first 32 hex digits of SHA-256 of their sorted JSON."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:KEY_LENGTH]


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, BadEntry) else f"{type(exc).__name__}: {exc}"


#: What reading or checking an entry may raise; anything else is a bug and propagates.
_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, zipfile.BadZipFile, zlib.error)


# ----------------------------------------------------------------------------
# checks the stores' decoders share
# ----------------------------------------------------------------------------


def take_array(arrays: dict, name: str, shape: tuple) -> np.ndarray:
    """``arrays[name]`` as floats if it has ``shape``, else :class:`BadEntry`."""
    if name not in arrays:
        raise BadEntry(f"array {name!r} is missing")
    a = arrays[name]
    if a.shape != tuple(shape):
        raise BadEntry(f"array {name!r} has shape {a.shape}, its settings need {tuple(shape)}")
    if a.dtype.kind not in "fiu":
        raise BadEntry(f"array {name!r} has dtype {a.dtype}, not numbers")
    return a


def take_field(meta: dict, name: str, kind):
    """``meta[name]`` if it is of ``kind`` ("number", "text" or "dict"), else :class:`BadEntry`."""
    if name not in meta:
        raise BadEntry(f"metadata {name!r} is missing")
    value = meta[name]
    ok = {"number": isinstance(value, (int, float)) and not isinstance(value, bool),
          "text": isinstance(value, str), "dict": isinstance(value, dict)}[kind]
    if not ok:
        raise BadEntry(f"metadata {name!r} is {value!r}, not a {kind}")
    return value


# ----------------------------------------------------------------------------
# stores
# ----------------------------------------------------------------------------

_MISSING = object()


@dataclass(frozen=True)
class Store:
    """Entries ``<prefix>-<key><suffix>`` in the cache root; ``suffix`` ".npz" (arrays + JSON meta) or ".json".

    An entry is a pair ``(arrays, meta)``: a dict of arrays (empty for
    ".json") and a JSON-able dict, to which the store adds ``"key"``.
    Callers give an ``encode(value) -> (arrays, meta)`` and a
    ``decode(arrays, meta) -> value`` that raises :class:`BadEntry` (or
    ``ValueError``, ``KeyError``, ``TypeError``) when the content does not
    fit the settings.
    """

    name: str
    prefix: str
    suffix: str

    def path(self, key: str, folder: Path | None = None) -> Path:
        return Path(folder or root()) / f"{self.prefix}-{key}{self.suffix}"

    def lock_path(self, key: str, folder: Path | None = None) -> Path:
        return Path(folder or root()) / f"{self.prefix}-{key}.lock"

    def pattern(self) -> str:
        return rf"{re.escape(self.prefix)}-[0-9a-f]{{{KEY_LENGTH}}}{re.escape(self.suffix)}"

    def published_path(self, key: str) -> Path:
        return published_dir() / f"{self.prefix}-{key}{self.suffix}"

    def where(self, key: str) -> Path | None:
        """The file that serves ``key``: the local entry if present, else the published one if listed, else ``None``.

        Only looks at names (no content check): for planning work, not for reading.
        """
        local = self.path(key)
        if local.is_file():
            return local
        published = self.published_path(key)
        if published.name in published_manifest() and published.is_file():
            return published
        return None

    # -- reading -------------------------------------------------------------
    def _load(self, path: Path):
        """``(arrays, meta)`` read eagerly; raises on a missing, truncated or corrupt file."""
        if self.suffix == ".npz":
            arrays = {}
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    if not member.endswith(".npy"):
                        raise BadEntry(f"unexpected member {member!r}")
                    # zf.read checks the member's CRC; np.load of the bytes parses it now, not later.
                    arrays[member[:-4]] = np.load(io.BytesIO(zf.read(member)), allow_pickle=False)
            if "meta" not in arrays:
                raise BadEntry("metadata record 'meta' is missing")
            meta = json.loads(str(arrays.pop("meta")))
        else:
            meta = json.loads(path.read_bytes().decode("utf-8"))
            arrays = {}
        if not isinstance(meta, dict):
            raise BadEntry("metadata is not a JSON object")
        return arrays, meta

    def _lookup(self, path: Path, key: str, decode, expect: dict | None):
        """``(value, None)`` on a hit, ``(_MISSING, None)`` if absent, ``(_MISSING, reason)`` if bad."""
        try:
            arrays, meta = self._load(path)
            if meta.get("key") != key:
                raise BadEntry(f"recorded key {meta.get('key')!r} is not the file's key {key!r}")
            for name, value in (expect or {}).items():
                if name not in meta:
                    raise BadEntry(f"metadata {name!r} is missing")
                if meta[name] != value:
                    raise BadEntry(f"recorded {name} differs from the requested one")
            return decode(arrays, meta), None
        except FileNotFoundError:
            return _MISSING, None
        except _READ_ERRORS as exc:
            return _MISSING, _reason(exc)

    def _lookup_published(self, key: str, decode, expect: dict | None):
        """Like :meth:`_lookup`, in the published entries; the file must also match the manifest's SHA-256."""
        folder = published_dir()
        name = self.path(key, folder).name
        record = published_manifest(folder).get(name)
        if record is None:
            return _MISSING, None
        path = folder / name
        try:
            if sha256_file(path) != record.get("sha256"):
                return _MISSING, "its SHA-256 differs from the manifest's (edited or damaged)"
        except FileNotFoundError:
            return _MISSING, "listed in the manifest but the file is missing"
        except OSError as exc:
            return _MISSING, _reason(exc)
        return self._lookup(path, key, decode, expect)

    def _find(self, key: str, decode, expect: dict | None, stacklevel: int):
        """The value from the local cache, else from the published entries; ``_MISSING`` if neither serves it.

        A bad published entry is reported (it is never moved or changed);
        a bad local one is left for the caller to set aside.
        """
        path = self.path(key)
        value, reason = self._lookup(path, key, decode, expect)
        if value is not _MISSING:
            note_read(self, key, "local")
            return value, None
        pvalue, preason = self._lookup_published(key, decode, expect)
        if pvalue is not _MISSING:
            note_read(self, key, "published")
            return pvalue, reason
        if preason is not None:
            warnings.warn(f"resnet-ode cache: unusable published entry {published_dir() / path.name}: {preason}; "
                          "computing it instead", CacheWarning, stacklevel=stacklevel + 1)
        return _MISSING, reason

    def read(self, key: str, decode, expect: dict | None = None, report: bool = True):
        """The value from the local cache or the published entries, or ``None`` (a bad entry is left in place, and
        reported unless ``report`` is false: a caller that computes it next leaves that to :meth:`get_or_compute`,
        which sets the entry aside and says so, so that the terminal shows one line for it)."""
        value, reason = self._find(key, decode, expect, stacklevel=3)
        if reason is not None and value is _MISSING and report:
            warnings.warn(f"resnet-ode cache: unusable entry {self.path(key)}: {reason}", CacheWarning, stacklevel=2)
        return None if value is _MISSING else value

    # -- writing -------------------------------------------------------------
    def _set_aside(self, path: Path, reason: str):
        # A second bad copy of the same entry never overwrites the first one set aside.
        dest = path.with_name(path.name + ".bad")
        n = 1
        while dest.exists() and n < 1000:
            dest, n = path.with_name(f"{path.name}.{n}.bad"), n + 1
        try:
            os.replace(path, dest)
            where = f"moved to {dest.name}"
        except FileNotFoundError:
            return
        except OSError as exc:
            where = f"could not be moved aside ({_reason(exc)})"
        warnings.warn(f"resnet-ode cache: unusable entry {path}: {reason}; {where}; computing it again",
                      CacheWarning, stacklevel=3)

    def _write(self, path: Path, key: str, value, encode, recipe: dict | None):
        arrays, meta = encode(value)
        meta = {"key": key, **meta, "provenance": provenance.record()}
        if recipe is not None:
            meta["recipe"] = recipe
        try:
            if self.suffix == ".npz":
                write_npz(path, arrays, meta)
            else:
                if arrays:
                    raise TypeError("a .json store holds no arrays")
                write_json(path, meta)
        except OSError as exc:
            warnings.warn(f"resnet-ode cache: could not store {path} ({_reason(exc)}); "
                          "the result is computed and returned, but not cached", CacheWarning, stacklevel=3)

    def get_or_compute(self, key: str, compute, encode, decode, expect: dict | None = None,
                       recipe: dict | None = None):
        """The entry ``key`` from the local cache or the published entries, else ``compute()``, stored and returned.

        Lookup order: the local cache, then the published entries
        (read-only, checked against the manifest's SHA-256), then compute.
        A computed value is stored in the local cache (when it is writable),
        with its ``recipe`` and provenance (:func:`resnet_ode.util.provenance.record`).

        Parameters
        ----------
        key : str
            From :func:`make_key`.
        compute : callable () -> value
        encode : callable value -> (dict of arrays, dict)
        decode : callable (dict of arrays, dict) -> value
            Checks the content against the settings; raises
            :class:`BadEntry` (or ``ValueError``/``KeyError``/``TypeError``).
        expect : dict, optional
            Metadata items the entry must have recorded (e.g. the settings).
        recipe : dict, optional
            What recomputes the entry from nothing (JSON-able), stored with it
            for ``resnet-ode verify``.
        """
        path = self.path(key)
        value, _ = self._find(key, decode, expect, stacklevel=3)
        if value is not _MISSING:
            return value  # a hit takes no lock and writes nothing
        with _entry_lock(self.lock_path(key)):
            # Another process may have stored it while this one waited for the lock.
            value, reason = self._find(key, decode, expect, stacklevel=3)
            if value is not _MISSING:
                return value
            if reason is not None:
                self._set_aside(path, reason)
            value = compute()
            note_read(self, key, "computed")
            self._write(path, key, value, encode, recipe)
        return value


RUNS = Store("runs", "run", ".npz")
SURFACES = Store("surfaces", "surface", ".npz")
HESSIANS = Store("hessians", "hessian", ".json")
ANALYSES = Store("analyses", "analysis", ".npz")
STORES = (RUNS, SURFACES, HESSIANS, ANALYSES)


def _prepare_root(folder: Path):
    """Create the cache root and its marker if missing (the only place a folder is created)."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.exists():
        marker.write_text(MARKER_TEXT)


@contextlib.contextmanager
def _entry_lock(path: Path):
    """The entry's lock; where the root or the lock cannot be written (read-only cache), no lock."""
    stack = contextlib.ExitStack()
    try:
        _prepare_root(path.parent)
        stack.enter_context(file_lock(path))
    except OSError:
        pass  # read-only: the caller computes, and its write reports that nothing could be stored
    with stack:
        yield


# ----------------------------------------------------------------------------
# info and clear
# ----------------------------------------------------------------------------


def _classify(folder: Path) -> dict:
    """Files of ``folder`` by kind: each store's name, "bad", "working" (locks, temporary files), "other"."""
    kinds = {s.name: [] for s in STORES} | {"bad": [], "working": [], "other": []}
    rules = []
    for s in STORES:
        p = s.pattern()
        lock = rf"{re.escape(s.prefix)}-[0-9a-f]{{{KEY_LENGTH}}}\.lock"
        rules += [(s.name, p), ("bad", p + r"(\.\d+)?\.bad"), ("working", lock), ("working", r"\." + p + r"\.\w+\.tmp")]
    for path in sorted(folder.iterdir()):
        if path.name == MARKER:
            continue
        kind = "other"
        if path.is_file() and not path.is_symlink():
            kind = next((k for k, rx in rules if re.fullmatch(rx, path.name)), "other")
        kinds[kind].append(path)
    return kinds


def _size(paths) -> int:
    return sum(p.stat().st_size for p in paths)


def info_text(folder: Path | None = None) -> str:
    """What the cache at ``folder`` holds, per store; :class:`NotACache` if the folder does not exist."""
    folder = Path(folder or root())
    if folder.exists() and not folder.is_dir():
        raise NotACache(f"no cache at {folder}: it is a file, not a folder (RESNET_ODE_CACHE names a folder)")
    if not folder.is_dir():
        raise NotACache(f"no cache at {folder}: the folder does not exist (nothing was cached there yet, "
                        "or RESNET_ODE_CACHE is mistyped); nothing was created")
    kinds = _classify(folder)
    lines = [f"cache {folder}"]
    for name in [s.name for s in STORES] + ["bad"]:
        files = kinds[name]
        label = "set aside (.bad)" if name == "bad" else name
        lines.append(f"  {label:<17} {len(files):5d} entries {_size(files) / 1e6:9.1f} MB")
    if kinds["working"]:
        lines.append(f"  {'locks, temporary':<17} {len(kinds['working']):5d} files")
    if kinds["other"]:
        lines.append(f"  {len(kinds['other'])} other files or folders the cache did not write (cache clear keeps them)")
    if not (folder / MARKER).exists():
        lines.append(f"  no marker {MARKER}: not created by resnet-ode, so `resnet-ode cache clear` refuses it")
    return "\n".join(lines)


def clear(folder: Path | None = None) -> dict:
    """Remove the files the cache wrote in ``folder``; leave every other file.

    Returns
    -------
    dict
        Kind -> list of removed paths, and ``"other"`` -> paths kept.

    Raises
    ------
    NotACache
        If ``folder`` does not exist or holds no :data:`MARKER` (then nothing is touched).
    """
    folder = Path(folder or root())
    if folder.exists() and not folder.is_dir():
        raise NotACache(f"no cache at {folder}: it is a file, not a folder; nothing removed")
    if not folder.is_dir():
        raise NotACache(f"no cache at {folder}: the folder does not exist; nothing removed")
    if not (folder / MARKER).is_file():
        raise NotACache(f"{folder} is not a resnet-ode cache (no {MARKER} marker file); refusing to remove "
                        "anything from it. Check RESNET_ODE_CACHE.")
    kinds = _classify(folder)
    for kind, files in kinds.items():
        if kind != "other":
            for path in files:
                path.unlink(missing_ok=True)
    return kinds
