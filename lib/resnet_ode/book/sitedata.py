"""The data the built book publishes, and what each chapter page says about reproducing it.

For every chapter the build collects, under ``data/chapter-<key>/`` of the site:

* ``numbers.json``: the chapter's key numbers (:func:`resnet_ode.book.numbers.write_numbers`);
* ``tables/*.csv``: every result table of the page (:class:`resnet_ode.book.numbers.Tables`);
* ``runs/*.csv``: the training history of every run the chapter trains (one row per
  optimiser iteration), with ``runs/index.csv`` giving each file's full run settings;
* the further files a chapter names (Chapter 6: its study's tidy table, Parquet and CSV);
* Chapter 3.0: the Peaks data set itself (:func:`write_peaks`), training and validation
  points and the labelled grid;

and ``data/README.txt`` says what every published file is (:func:`readme`, with
:func:`describe`).

:func:`assemble` writes them to a folder of ``_build`` that Sphinx copies into the
site (``html_extra_path``), after the notebooks have been executed (they write the
numbers and tables). :mod:`resnet_ode.book.sphinxext` lists them on each chapter page.

:func:`record_execution` keeps the seconds each notebook took in the last
``resnet-ode execute-book``, which the "Reproduce this chapter" box reports.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import shutil
from dataclasses import dataclass
from pathlib import Path

from resnet_ode.util.paths import numbers_dir, repo_root
from resnet_ode.util.storage import atomic_path, write_json


@dataclass(frozen=True)
class Chapter:
    """One chapter page of the book.

    Attributes
    ----------
    key : str
        Chapter key, e.g. ``"3.1"``; its data go to ``data/chapter-<key>/``.
    notebook : str
        The page's notebook, relative to the repository root.
    sweep : str or None
        The :data:`resnet_ode.book.experiments.SWEEPS` entry of a chapter with
        training runs and parameters (``resnet-ode rerun <key>``), else ``None``.
    after : str
        What must have run before this page can run on its own (empty: nothing).
    files : tuple of str
        More files the page writes (relative to the repository root), published as they are.
    dataset : bool
        The page publishes the Peaks data set (:func:`write_peaks`).
    """

    key: str
    notebook: str
    sweep: str | None = None
    after: str = ""
    files: tuple = ()
    dataset: bool = False


#: Every chapter page with data or a way to rerun it, by key.
CHAPTERS = {c.key: c for c in (
    Chapter("2", "book/chapter2/background.ipynb"),
    Chapter("3.0", "book/chapter3/peaks-data.ipynb", dataset=True),
    Chapter("3.1", "book/chapter3/state-layers.ipynb", sweep="3.1"),
    Chapter("3.2", "book/chapter3/stability.ipynb", sweep="3.2", after="Chapter 3.1's runs (it analyses them too)"),
    Chapter("3.3", "book/chapter3/landscape.ipynb", sweep="3.3"),
    Chapter("3.4", "book/chapter3/runge-kutta.ipynb", sweep="3.4"),
    Chapter("4", "book/chapter4/conclusions.ipynb", after="Chapters 3.1-3.4 (it reads the numbers they wrote)"),
    Chapter("6", "book/chapter6/beyond.ipynb", sweep="6", files=("_build/study/chapter-6/results.parquet",
                                                                   "_build/study/chapter-6/results.csv")),
)}

#: Marks a folder written by :func:`assemble`, the only kind it ever empties.
MARKER = ".resnet-ode-site-data"


def site_data_dir() -> Path:
    """``_build/site-data``: the folder Sphinx copies into the site root (``html_extra_path``)."""
    return repo_root() / "_build" / "site-data"


def chapter(key: str) -> Chapter:
    """The chapter of ``key``.

    Raises
    ------
    ValueError
        If ``key`` is not one of :data:`CHAPTERS`.
    """
    if key not in CHAPTERS:
        raise ValueError(f"unknown chapter {key!r}; chapters: {', '.join(CHAPTERS)}")
    return CHAPTERS[key]


def run_file_name(config) -> str:
    """File name of a run's history: readable settings, then 8 hex digits of its cache key (unique)."""
    from resnet_ode.training.runs import cache_key

    depth = f"L{config.nY - 1:03d}" if config.control == "per_step" else f"nY{config.nY:03d}-nt{config.nt}"
    return f"{config.integrator}-{depth}-T{config.T:g}-seed{config.init_seed}-{cache_key(config)[:8]}.csv"


def history_csv(result) -> str:
    """A run's history as CSV: one column per history key, one row per optimiser iteration."""
    keys = list(result.history)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(keys)
    for i in range(len(result.history[keys[0]])):
        writer.writerow([repr(float(result.history[k][i])) for k in keys])
    return out.getvalue()


def _write_text(path: Path, text: str):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _run_files(ch: Chapter, folder: Path) -> int:
    """Write the history of every cached run of ``ch`` and an index; return how many runs were missing."""
    from resnet_ode.book.experiments import SWEEPS
    from resnet_ode.training.runs import RunConfig, cached_result

    index, missing = [], 0
    for config in SWEEPS[ch.sweep].all_runs():
        result = cached_result(config)
        if result is None:
            missing += 1
            continue
        name = run_file_name(config)
        _write_text(folder / name, history_csv(result))
        index.append({"file": name, **config.to_dict(), "train_seconds": round(result.train_seconds, 1)})
    if index:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["file", *RunConfig.fields(), "train_seconds"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(index)
        _write_text(folder / "index.csv", out.getvalue())
    return missing


#: The Peaks data set's files (:func:`write_peaks`), by name: what each holds.
PEAKS_FILES = {
    "peaks-train.csv": "the training points of the Peaks data set: columns x1, x2 and class (0-4)",
    "peaks-validation.csv": "the validation points, in the same columns",
    "peaks-grid.csv": "the labelled 256 x 256 grid over [-3, 3]^2 the points are drawn from: x1, x2, the Peaks "
                      "function's value and the class",
}

#: What the published files of a chapter are, by file name (run histories and tables by folder, see :func:`describe`).
DESCRIPTIONS = {
    "numbers.json": "the chapter's key numbers (JSON)",
    "results.parquet": "the study's tidy table: one row per network and evaluation depth (Parquet)",
    "results.csv": "the same table as CSV",
    "index.csv": "settings of every training run, one row per history file",
    **PEAKS_FILES,
}


def describe(path: str) -> str:
    """What the published file ``path`` (``data/chapter-<key>/...``) is, in a phrase."""
    parts = path.split("/")
    name = parts[-1]
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    if len(parts) > 3 and parts[2] == "tables":
        return f"Table {parts[1].removeprefix('chapter-')}.{name[:2]} of the chapter page as CSV (values unrounded)"
    if len(parts) > 3 and parts[2] == "runs":
        return "the training history of one run (CSV, one row per optimiser iteration; index.csv gives its settings)"
    return "a file the chapter page writes"


def _csv_text(headers, columns) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(zip(*columns))
    return out.getvalue()


def write_peaks(folder: Path):
    """Write the Peaks data set as CSV to ``folder`` (:data:`PEAKS_FILES`).

    The points are those every run trains on with the default settings
    (``RunConfig().dataset()``: 1000 training and 40 validation points per
    class, seed 0); coordinates are written in full precision (``repr``).
    """
    from resnet_ode.core.data import peaks_grid
    from resnet_ode.training.runs import RunConfig

    data = RunConfig().dataset()
    folder.mkdir(parents=True, exist_ok=True)
    for name, X, y in (("peaks-train.csv", data.X_train, data.y_train), ("peaks-validation.csv", data.X_val, data.y_val)):
        _write_text(folder / name, _csv_text(["x1", "x2", "class"],
                                             [[repr(float(v)) for v in X[0]], [repr(float(v)) for v in X[1]], [int(c) for c in y]]))
    grid = peaks_grid()
    _write_text(folder / "peaks-grid.csv", _csv_text(
        ["x1", "x2", "value", "class"],
        [[repr(float(v)) for v in grid.x1.ravel()], [repr(float(v)) for v in grid.x2.ravel()],
         [repr(float(v)) for v in grid.values.ravel()], [int(c) for c in grid.labels.ravel()]]))


def readme(written: dict) -> str:
    """``data/README.txt``: every published file of :func:`assemble`'s ``written`` with what it is."""
    lines = ["Data published with the book \"ResNets as Differential Equations\"",
             "",
             "One folder per chapter page (data/chapter-<key>/), written when the book is built.",
             "Tables (tables/NN-<caption>.csv) hold the values of Table <key>.<NN> of the page, unrounded.",
             "Run histories (runs/*.csv) have one row per optimiser iteration; runs/index.csv gives the",
             "settings of each run and its file name. Licence: CC BY 4.0 (the book's text and figures).", ""]
    for key, files in written.items():
        if not files:
            continue
        lines.append(f"Chapter {key} ({CHAPTERS[key].notebook if key in CHAPTERS else key}):")
        histories = [f for f in files if f.split("/")[2:3] == ["runs"] and not f.endswith("/index.csv")]
        lines += [f"  {f.removeprefix('data/')}: {describe(f)}" for f in files if f not in histories]
        if histories:
            lines.append(f"  {posixpath.dirname(histories[0]).removeprefix('data/')}/, {len(histories)} files: "
                         f"{describe(histories[0])}:")
            lines += [f"    {posixpath.basename(f)}" for f in histories]
        lines.append("")
    return "\n".join(lines)


def assemble(out: Path | None = None) -> dict:
    """Collect the published data of every chapter under ``out/data`` (default :func:`site_data_dir`).

    ``out`` is emptied first, but only if it is missing, empty or marked as
    written by this function (:data:`MARKER`): a folder of something else is
    never removed.

    Returns
    -------
    dict of str -> list of str
        Per chapter key, the files written, relative to ``out`` (POSIX paths).

    Raises
    ------
    ValueError
        If ``out`` exists, is not empty and does not hold :data:`MARKER`.
    """
    out = Path(out) if out is not None else site_data_dir()
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file()):
            raise ValueError(f"{out} exists and was not written by resnet_ode.book.sitedata: remove it by hand")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by resnet_ode.book.sitedata.assemble; emptied by every book build\n")
    written = {}
    for ch in CHAPTERS.values():
        folder = out / "data" / f"chapter-{ch.key}"
        numbers = numbers_dir() / f"chapter-{ch.key}.json"
        if numbers.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(numbers, folder / "numbers.json")
        tables = numbers_dir() / f"chapter-{ch.key}"
        for csv_file in sorted(tables.glob("*.csv")) if tables.is_dir() else []:
            (folder / "tables").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(csv_file, folder / "tables" / csv_file.name)
        if ch.sweep is not None:
            _run_files(ch, folder / "runs")
        if ch.dataset:
            write_peaks(folder)
        for name in ch.files:
            if (repo_root() / name).is_file():
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(repo_root() / name, folder / Path(name).name)
        written[ch.key] = sorted(p.relative_to(out).as_posix() for p in folder.rglob("*") if p.is_file()) \
            if folder.is_dir() else []
    _write_text(out / "data" / "README.txt", readme(written))
    return written


# ----------------------------------------------------------------------------
# execution times of the last book build
# ----------------------------------------------------------------------------


def execution_record() -> Path:
    return numbers_dir() / "execution-seconds.json"


def record_execution(seconds: dict):
    """Store ``{notebook path relative to the repository: seconds}`` of the last ``execute-book``.

    Notebooks outside the repository (a test's) are left out; with none left, nothing is written.
    """
    root = repo_root()
    paths = {Path(p).resolve(): s for p, s in seconds.items()}
    record = {p.relative_to(root).as_posix(): round(float(s), 1) for p, s in paths.items() if p.is_relative_to(root)}
    if record:
        write_json(execution_record(), record)


def execution_seconds() -> dict:
    """What :func:`record_execution` stored (empty when no book was executed here)."""
    path = execution_record()
    return json.loads(path.read_text()) if path.is_file() else {}


def training_seconds(ch: Chapter) -> tuple[int, int, float]:
    """``(runs, cached runs, summed training seconds of the cached ones)`` for a chapter with runs."""
    from resnet_ode.book.experiments import SWEEPS
    from resnet_ode.training.runs import cached_result

    configs = SWEEPS[ch.sweep].all_runs()
    results = [r for r in (cached_result(c) for c in configs) if r is not None]
    return len(configs), len(results), sum(r.train_seconds for r in results)
