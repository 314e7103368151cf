"""The entries published with the book: which the book reads, the manifest, and the checks CI runs.

The expensive results the book reads (training runs, loss surfaces, Hessian
extremes) are committed as data in :func:`resnet_ode.util.paths.published_dir`
(``data/published/``), each file exactly as the cache wrote it, with
``manifest.json``: one record per entry (:func:`entry_record`). The cache
reads them after the local cache and before computing
(:mod:`resnet_ode.training.cache`), so a fresh clone computes nothing that is
published, on any hardware.

Which entries the book reads is learnt, not listed: every lookup appends a
line ``<store> <key> <where>`` to the file ``RESNET_ODE_READ_LOG`` names
(:func:`resnet_ode.training.cache.note_read`); ``make book`` collects them
under ``_build/reads/``. :func:`publish` copies every entry read into the
folder and removes those no longer read; :func:`check` (``resnet-ode publish
--check``, run by ``.ci/run``) fails when the book computed an entry or read
one that is not published, which is how a change to the training code that
was not published is caught. ``resnet-ode verify`` (:mod:`resnet_ode.studies.verification`)
recomputes published entries and compares them bit for bit.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from resnet_ode.training.cache import (
    MANIFEST,
    STORES,
    BadEntry,
    Store,
    _READ_ERRORS,
    published_manifest,
    sha256_file,
)
from resnet_ode.util.paths import cache_dir, published_dir, repo_root
from resnet_ode.util.storage import atomic_path

#: Version of the manifest's layout.
MANIFEST_FORMAT = 1
#: The command that publishes, named in every message that asks for it.
PUBLISH_COMMAND = "make publish"

_BY_NAME = {s.name: s for s in STORES}


def reads_dir() -> Path:
    """Folder of the read logs of the last build (``_build/reads``)."""
    return repo_root() / "_build" / "reads"


@dataclass
class Reads:
    """What a build read: ``(store name, key)`` -> the set of places it came from (local, published, computed)."""

    where: dict = field(default_factory=dict)

    def add(self, store: str, key: str, place: str):
        self.where.setdefault((store, key), set()).add(place)

    @property
    def keys(self) -> set:
        return set(self.where)


def read_logs(folder: Path | None = None) -> Reads:
    """The lines of every ``*.log`` in ``folder`` (default :func:`reads_dir`) and its subfolders.

    Malformed lines raise ``ValueError``.
    """
    folder = Path(folder or reads_dir())
    reads = Reads()
    for path in sorted(folder.rglob("*.log")) if folder.is_dir() else []:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            parts = line.split()
            if len(parts) != 3 or parts[0] not in _BY_NAME or parts[2] not in ("local", "published", "computed"):
                raise ValueError(f"{path}:{n}: not a read-log line: {line!r}")
            reads.add(*parts)
    return reads


def _load_meta(store: Store, path: Path) -> dict:
    _, meta = store._load(path)
    return meta


def _compute_seconds(store: Store, meta: dict) -> float | None:
    """The seconds the entry took to compute, as the entry records them."""
    if store.name == "runs":
        value = meta.get("train_seconds")
    elif store.name in ("surfaces", "analyses"):
        value = meta.get("seconds")
    else:
        value = (meta.get("result") or {}).get("seconds")
    return float(value) if isinstance(value, (int, float)) else None


def entry_record(store: Store, path: Path, training_code: str) -> dict:
    """The manifest record of the entry file ``path`` of ``store``.

    Fields: ``file``, ``kind`` (the store), ``key``, ``recipe`` (what
    recomputes it: a run's settings; a surface's or Hessian's run settings
    and own settings), ``training_code`` (the training-code hash its key
    covers), ``numerics`` and ``machine`` (where it was computed), ``sha256``,
    ``bytes`` and ``compute_seconds``.
    """
    meta = _load_meta(store, path)
    prov = meta.get("provenance")
    if not isinstance(prov, dict) or "recipe" not in meta:
        raise BadEntry(f"{path.name} records no provenance or recipe (written by an older version); "
                       "compute it again before publishing")
    return {
        "file": path.name,
        "kind": store.name,
        "key": meta["key"],
        "recipe": meta["recipe"],
        "training_code": training_code,
        "numerics": prov.get("numerics"),
        "machine": prov.get("machine"),
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "compute_seconds": _compute_seconds(store, meta),
    }


def write_manifest(folder: Path, records: list, training_code: str) -> Path:
    """Write ``manifest.json`` (records sorted by file name; no date, so publishing nothing new changes nothing)."""
    records = sorted(records, key=lambda r: r["file"])
    data = {
        "format": MANIFEST_FORMAT,
        "about": "Entries the book reads, computed once and published; see resnet_ode.training.published. "
                 "Recompute and compare them with `make reproduce` (all) or `resnet-ode verify --sample`.",
        "training_code": training_code,
        "entries": records,
        "total_bytes": sum(r["bytes"] for r in records),
        "total_compute_seconds": round(sum(r["compute_seconds"] or 0.0 for r in records), 1),
    }
    path = folder / MANIFEST
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


@dataclass
class PublishReport:
    added: list
    kept: list
    removed: list
    total_bytes: int

    def text(self) -> str:
        return (f"published {len(self.added) + len(self.kept)} entries ({self.total_bytes / 1e6:.1f} MB): "
                f"{len(self.added)} added or replaced, {len(self.kept)} unchanged, {len(self.removed)} removed")


def publish(reads: Reads, folder: Path | None = None, training_code: str | None = None) -> PublishReport:
    """Make ``folder`` hold exactly the entries in ``reads``, copied from the local cache where computed, and its manifest.

    Raises
    ------
    FileNotFoundError
        If an entry read is neither in the local cache nor published (nothing is changed then).
    """
    from resnet_ode.training.runs import source_hash

    folder = Path(folder or published_dir())
    training_code = training_code or source_hash()
    old = published_manifest(folder)
    plan = []
    for store_name, key in sorted(reads.keys):
        store = _BY_NAME[store_name]
        local = store.path(key)
        name = local.name
        if local.is_file():
            plan.append((store, local, name))
        elif name in old and (folder / name).is_file():
            plan.append((store, folder / name, name))
        else:
            raise FileNotFoundError(f"{name} was read by the build but is in neither the local cache "
                                    f"({cache_dir()}) nor {folder}: run `make book` first")
    # Every entry is checked (and its record made) before anything in the folder changes.
    records = [entry_record(store, source, training_code) for store, source, _ in plan]
    folder.mkdir(parents=True, exist_ok=True)
    added, kept = [], []
    for store, source, name in plan:
        dest = folder / name
        if source != dest and not (dest.is_file() and sha256_file(dest) == sha256_file(source)):
            with atomic_path(dest) as tmp:
                shutil.copyfile(source, tmp)
            added.append(name)
        else:
            kept.append(name)
    wanted = {name for _, _, name in plan}
    removed = []
    for path in sorted(folder.iterdir()):
        if path.name != MANIFEST and path.name not in wanted and any(
                path.name.startswith(s.prefix + "-") for s in STORES):
            path.unlink()
            removed.append(path.name)
    write_manifest(folder, records, training_code)
    return PublishReport(added, kept, removed, sum(r["bytes"] for r in records))


def check(reads: Reads, folder: Path | None = None) -> list[str]:
    """Problems that must stop CI, one line each (empty when the book read only published, valid entries).

    - an entry the build computed, or read from the local cache, that is not
      published (the training code changed, or new parameters, and nobody
      ran ``make publish``);
    - a published file whose SHA-256 differs from the manifest (edited by hand
      or damaged), or a manifest entry without its file;
    - a manifest whose training-code hash is not the current code's.
    """
    from resnet_ode.training.runs import source_hash

    folder = Path(folder or published_dir())
    manifest = published_manifest(folder)
    problems = []
    for (store_name, key), places in sorted(reads.where.items()):
        name = _BY_NAME[store_name].published_path(key).name
        if name not in manifest:
            how = "computed by this build" if "computed" in places else "read from the local cache"
            problems.append(f"{name} ({store_name}) was {how} but is not published: the current code's key is "
                            f"not in {folder / MANIFEST}; run `{PUBLISH_COMMAND}` and commit data/published")
    for name, record in sorted(manifest.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is listed in the manifest but missing from {folder}")
        elif sha256_file(path) != record.get("sha256"):
            problems.append(f"{name} differs from its manifest record (SHA-256): published data must not be "
                            f"edited; run `{PUBLISH_COMMAND}` to publish what the code computes")
    if manifest:
        data = json.loads((folder / MANIFEST).read_text())
        if data.get("training_code") != source_hash():
            problems.append(f"the manifest's training-code hash {str(data.get('training_code'))[:12]} is not the "
                            f"current code's {source_hash()[:12]}: run `{PUBLISH_COMMAND}`")
    return problems


def status(reads: Reads) -> str:
    """One line: how many entries the build read from each place, and those computed that are not published."""
    counts = {"local": 0, "published": 0, "computed": 0}
    for places in reads.where.values():
        for p in places:
            counts[p] += 1
    manifest = published_manifest()
    unpublished = sum(1 for (s, k) in reads.keys if _BY_NAME[s].published_path(k).name not in manifest)
    text = (f"entries read: {counts['published']} published, {counts['local']} from the local cache, "
            f"{counts['computed']} computed")
    if unpublished:
        text += f"; {unpublished} not published (run `{PUBLISH_COMMAND}` to publish them)"
    return text


def entries(folder: Path | None = None) -> list[dict]:
    """The manifest's records, sorted by file name."""
    return [r for _, r in sorted(published_manifest(folder).items())]


def store_of(record: dict) -> Store:
    return _BY_NAME[record["kind"]]


def load_published(record: dict, folder: Path | None = None):
    """``(arrays, meta)`` of a published entry, after checking its SHA-256 (``BadEntry`` otherwise)."""
    folder = Path(folder or published_dir())
    path = folder / record["file"]
    try:
        if sha256_file(path) != record["sha256"]:
            raise BadEntry(f"{record['file']}: SHA-256 differs from the manifest's")
        return store_of(record)._load(path)
    except _READ_ERRORS as exc:
        if isinstance(exc, BadEntry):
            raise
        raise BadEntry(f"{record['file']}: {type(exc).__name__}: {exc}") from None


def clear_reads(folder: Path | None = None):
    """Empty the read-log folder (the start of a build that publishes)."""
    folder = Path(folder or reads_dir())
    if folder.is_dir():
        for path in folder.rglob("*.log"):
            path.unlink()


def log_path(name: str) -> Path:
    """A read-log file for one step of a build (its folder created)."""
    folder = reads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.log"


def set_log(name: str) -> str:
    """Point ``RESNET_ODE_READ_LOG`` at the read log ``name`` unless it is set; return the path in force."""
    from resnet_ode.training.cache import READ_LOG_ENV

    if not os.environ.get(READ_LOG_ENV):
        os.environ[READ_LOG_ENV] = str(log_path(name))
    return os.environ[READ_LOG_ENV]
