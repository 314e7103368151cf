"""Studies: a grid over run settings, trained where missing, evaluated, written as one tidy table.

A study is a :class:`StudySpec`: fixed settings (``--set``) and a grid of
values per varied setting (``--grid``); its runs are every combination, in
the order of the grid (the last setting varies fastest). Every name is a
field of :class:`resnet_ode.training.trainer.RunConfig` and every run is
validated before any compute (:meth:`StudySpec.configs`).

:func:`run_study` trains the runs that are not in the run cache (so a study
that was interrupted resumes where it stopped), evaluates every network and
writes, atomically, into the output folder:

- ``results.parquet`` (and the same rows as ``results.csv``): one row per
  trained network **and** evaluation depth (*tidy*): every setting of the
  run (the setting ``objective`` is the objective's kind, "varpro" or "joint"), its cache key,
  ``final_objective`` and ``final_loss``, training and validation
  accuracy from its history, iterations, training time, then the evaluation:
  ``eval_nY`` (the number of state times the weights were evaluated with:
  the run's own, ``eval_own`` true, and every other ``nY`` of the study),
  ``eval_val_accuracy`` and ``eval_grid_accuracy`` (all 65,536 points of the
  labelled Peaks grid, :func:`resnet_ode.studies.evaluation.grid_accuracy`)
  with ``eval_grid_correct`` out of ``eval_grid_n``. Runs with
  ``control="per_step"`` (one weight set per step) are evaluated at their
  own depth only: their weights fit no other.
- ``study.json``: the study's settings and grid;
- ``summary.png``: validation and grid accuracy (own depth) against each varied setting;
- ``transfer.png`` (when the study has several ``nY``): the mean grid accuracy of the
  networks trained with each ``nY`` under each ``nY``
  (:func:`resnet_ode.studies.tidy.transfer_matrix`).

:mod:`resnet_ode.studies.tidy` reads such a table: each network's transfer to
the other depths, groups, and paired changes with their direction.

The work itself goes through an *executor* (anything with ``map(calls, desc,
on_result, names)``, e.g. :class:`resnet_ode.book.executors.LocalPool` or
:class:`resnet_ode.training.cluster.DaskExecutor`): each task trains (or takes
a cached run) and evaluates in the worker; this process checks the worker's
identity (:func:`resnet_ode.training.cluster.check_identity`), stores the run
in the cache (:func:`resnet_ode.training.tasks.store_run`) and builds the
table.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from resnet_ode.studies.evaluation import grid_accuracy
from resnet_ode.studies.tidy import EVAL_COLUMNS, RUN_COLUMNS, columns, transfer_matrix  # noqa: F401  (the table's schema)
from resnet_ode.training.cluster import check_identity, worker_identity
from resnet_ode.training.runs import RunConfig, RunResult, cache_key, cached_result, code_identity
from resnet_ode.training.tasks import store_run
from resnet_ode.util.storage import atomic_path, write_json

#: At most this many runs in one study (a typo such as ``init_seed=range(10**6)`` is refused).
MAX_RUNS = 100_000



# ----------------------------------------------------------------------------
# the grid
# ----------------------------------------------------------------------------


def parse_value(raw: str):
    """One setting value from text: a Python literal (``16``, ``2.5``, ``True``, ``nan``) or a bare word (``rk4``)."""
    import ast

    text = raw.strip()
    if not text:
        raise ValueError("an empty value")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_assignment(item: str, option: str, many: bool):
    """``NAME=VALUE`` (``many``: ``NAME=V1,V2,...`` or ``NAME=[V1, V2]``) as ``(name, value or list)``."""
    if "=" not in item:
        form = "NAME=V1,V2,..." if many else "NAME=VALUE"
        raise ValueError(f"{option} expects {form}, got {item!r}")
    name, raw = (s.strip() for s in item.split("=", 1))
    _check_name(name, option)
    if not many:
        if not raw:
            raise ValueError(f"{option} {name}: no value given (NAME=VALUE)")
        return name, parse_value(raw)
    if raw.startswith("["):
        values = parse_value(raw)
        if not isinstance(values, list):
            raise ValueError(f"{option} {name}: {raw!r} is not a list such as [8, 16]")
        return name, values
    try:
        return name, [parse_value(part) for part in raw.split(",")]
    except ValueError:
        raise ValueError(f"{option} {name}: an empty value in {raw!r} (give V1,V2,...)") from None


def _check_name(name: str, where: str):
    allowed = RunConfig.fields()
    if name not in allowed:
        raise ValueError(f"{where}: unknown setting {name!r}; allowed settings (fields of RunConfig): "
                         f"{', '.join(allowed)}")


@dataclass(frozen=True)
class StudySpec:
    """The settings of a study.

    Attributes
    ----------
    grid : dict of str -> list
        Varied settings and their values (each list non-empty, no repeats).
    fixed : dict of str -> value
        Settings shared by every run; the others keep the defaults of :class:`~resnet_ode.training.trainer.RunConfig`.
    """

    grid: dict = field(default_factory=dict)
    fixed: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in list(self.grid) + list(self.fixed):
            _check_name(name, "study")
        both = sorted(set(self.grid) & set(self.fixed))
        if both:
            raise ValueError(f"{', '.join(both)} given both as a fixed setting and as a grid; give each once")
        for name, values in self.grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise ValueError(f"grid {name}: needs a non-empty list of values, got {values!r}")
            if len({json.dumps(v) for v in values}) != len(values):
                raise ValueError(f"grid {name}: a value is repeated in {list(values)}")
        n = math.prod(len(v) for v in self.grid.values())
        if n > MAX_RUNS:
            raise ValueError(f"the grid has {n} runs; at most {MAX_RUNS} are allowed in one study")

    def configs(self) -> list[RunConfig]:
        """Every run of the study, validated (``TypeError``/``ValueError`` naming the setting and its range).

        Each value of the grid is checked alone first (with the fixed
        settings), so the message names the value at fault, then every
        combination.
        """
        base = _config(self.fixed, "fixed settings")
        for name, values in self.grid.items():
            for v in values:
                _config({**self.fixed, name: v}, f"grid {name}={v!r}")
        names = list(self.grid)
        configs, seen = [], {}
        for combo in itertools.product(*self.grid.values()):
            label = ", ".join(f"{k}={v!r}" for k, v in zip(names, combo))
            config = _config({**self.fixed, **dict(zip(names, combo))}, "run " + label)
            if config in seen:  # e.g. nt varied with control="per_step", where nt follows nY
                raise ValueError(f"the grid gives the same run twice ({seen[config]} and {label}): "
                                 "a varied setting has no effect there; leave it out of the grid")
            seen[config] = label
            configs.append(config)
        return configs if names else [base]

    def to_dict(self) -> dict:
        return {"grid": {k: list(v) for k, v in self.grid.items()}, "fixed": dict(self.fixed)}


def _config(settings: dict, where: str) -> RunConfig:
    try:
        return RunConfig(**settings)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def load_spec(path) -> StudySpec:
    """A study from a TOML, YAML or JSON file with tables ``grid`` (name -> list) and ``set`` (name -> value).

    Example (``study.toml``)::

        [grid]
        nY = [8, 16]
        T = [10.0, 20.0]
        init_seed = [0, 1, 2]

        [set]
        max_iter = 20
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--file {path}: a folder, not a file")
    if not path.is_file():
        raise ValueError(f"--file {path}: no such file")
    if path.suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ValueError(f"--file {path}: expected a .toml, .yaml, .yml or .json file")
    try:
        text = path.read_text()
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - a parser's error is the user's to fix
        # One line: a YAML parser's message spans several (where it stopped, the line, a caret under it).
        raise ValueError(f"--file {path} is not readable: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or set(data) - {"grid", "set"}:
        raise ValueError(f"--file {path}: expected only the tables 'grid' and 'set', got "
                         f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
    grid, fixed = data.get("grid") or {}, data.get("set") or {}
    if not isinstance(grid, dict) or not isinstance(fixed, dict):
        raise ValueError(f"--file {path}: 'grid' and 'set' must be tables of NAME = value(s)")
    return StudySpec({k: v if isinstance(v, list) else [v] for k, v in grid.items()}, fixed)


def build_spec(grid_items=(), set_items=(), file=None) -> StudySpec:
    """A study from ``--file`` (optional), then ``--grid`` and ``--set`` items, which replace the file's entries."""
    base = load_spec(file) if file else StudySpec()
    grid, fixed = dict(base.grid), dict(base.fixed)
    for item in grid_items or ():
        name, values = parse_assignment(item, "--grid", many=True)
        fixed.pop(name, None)
        grid[name] = values
    for item in set_items or ():
        name, value = parse_assignment(item, "--set", many=False)
        grid.pop(name, None)
        fixed[name] = value
    return StudySpec(grid, fixed)


def eval_depths(configs) -> list[int]:
    """The ``nY`` values every network is evaluated with: all of the study's, sorted."""
    return sorted({c.nY for c in configs})


# ----------------------------------------------------------------------------
# one network: train (or take the cached run) and evaluate, in a worker
# ----------------------------------------------------------------------------


def evaluate(result: RunResult, depths) -> list[dict]:
    """The evaluation rows of one trained network at its own depth and each of ``depths``.

    Parameters
    ----------
    result : RunResult
        Its ``theta`` has shape (n_params,), ``W`` shape (n_classifier_params,).
    depths : sequence of int
        ``nY`` values; a depth whose network the weights do not fit
        (``control="per_step"``) is left out.

    Returns
    -------
    list of dict
        The :data:`resnet_ode.studies.tidy.EVAL_COLUMNS` of each evaluation, own depth included, by ``eval_nY``.
    """
    config = result.config
    data = config.dataset()
    rows = []
    for nY in sorted(set(depths) | {config.nY}):
        own = nY == config.nY
        if not own and config.control == "per_step":
            continue
        model = config.replace(nY=nY).model(workers=1)
        grid = grid_accuracy(model, result.theta, result.W)
        rows.append({"eval_nY": int(nY), "eval_own": bool(own),
                     "eval_val_accuracy": float(model.accuracy(result.theta, result.W, data.X_val, data.y_val)),
                     "eval_grid_accuracy": float(grid.accuracy), "eval_grid_correct": int(grid.correct),
                     "eval_grid_n": int(grid.n)})
    return rows


def study_task(config: RunConfig, depths, cached: RunResult | None = None, workers: int = 1) -> dict:
    """Train ``config`` (unless ``cached`` is given) and evaluate it; what a worker runs.

    Returns
    -------
    dict
        ``result`` (trained here, or ``None`` when ``cached`` was given),
        ``rows`` (:func:`evaluate`) and the worker's
        :func:`~resnet_ode.training.cluster.worker_identity` (``source``,
        ``host``, ``pid``).
    """
    from resnet_ode.training.runs import train
    from resnet_ode.util.environ import environment

    with environment({"RESNET_ODE_WORKERS": int(workers)}):  # processes per run
        result = cached if cached is not None else train(config)
        rows = evaluate(result, depths)
    if cached is None:
        result._model = None
    return {"result": None if cached is not None else result, "rows": rows, **worker_identity()}


def _light(result: RunResult) -> RunResult:
    """``result`` without its network, to send to a worker."""
    return RunResult(result.config, result.theta, result.W, result.history, result.train_seconds, result.message,
                     result.from_cache, result.key)


# ----------------------------------------------------------------------------
# the study
# ----------------------------------------------------------------------------


def run_rows(result: RunResult, key: str) -> dict:
    """The settings and :data:`resnet_ode.studies.tidy.RUN_COLUMNS` of one trained network."""
    f = result.final()
    return {**result.config.to_dict(), "key": key, "final_objective": f["objective"], "final_loss": f["loss"],
            "train_accuracy": f["train_accuracy"], "val_accuracy": f["val_accuracy"],
            "iterations": f["iterations"], "train_seconds": float(result.train_seconds)}


def run_study(spec: StudySpec, output, executor, workers: int = 1) -> dict:
    """Train what is missing, evaluate every network, write the table, the CSV, the settings and the figure.

    Parameters
    ----------
    spec : StudySpec
    output : path
        Folder of the results (created if missing).
    executor : object with ``map(calls, desc, on_result, names)``
        Where the tasks run (:mod:`resnet_ode.book.executors`); a run a
        worker trained is stored here (:func:`resnet_ode.training.tasks.store_run`).
    workers : int
        Processes per run in the worker (``RESNET_ODE_WORKERS``).

    Returns
    -------
    dict
        ``runs`` (count), ``trained`` (count), ``rows`` (list of dict, the
        table) and the paths written (``parquet``, ``csv``, ``spec``, ``figure``).
    """
    configs = spec.configs()
    depths = eval_depths(configs)
    output = Path(output)
    calls, trained = [], 0
    for c in configs:
        cached = cached_result(c, report=False)   # an unusable entry is set aside, and reported, when it is trained
        trained += cached is None
        calls.append((study_task, (c, depths, None if cached is None else _light(cached), workers), {}))
    replies = [None] * len(configs)

    mine = code_identity()

    def keep(i, reply):
        check_identity(reply, "; its results were not used", mine=mine)  # its numbers are not this code's
        if reply["result"] is not None:  # trained in the worker: stored here, atomically, under the entry's lock
            reply["result"] = store_run(configs[i], reply)
        replies[i] = reply

    executor.map(calls, f"study ({trained} to train, {len(configs) - trained} cached)", on_result=keep,
                 names=[c.label() for c in configs])
    rows = []
    for c, (_, args, _), reply in zip(configs, calls, replies):
        result = reply["result"] or args[2]
        base = run_rows(result, cache_key(c))
        rows.extend({**base, **ev} for ev in reply["rows"])
    paths = write_results(rows, output)
    paths["spec"] = write_json(output / "study.json", {**spec.to_dict(), "eval_depths": depths,
                                                       "runs": len(configs)})
    paths["figure"] = summary_figure(rows, spec, output / "summary.png")
    if len(depths) > 1:
        paths["transfer"] = transfer_figure(rows, output / "transfer.png")
    return {"runs": len(configs), "trained": trained, "rows": rows, **paths}


# ----------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------


def to_table(rows):
    """The rows as a ``pyarrow.Table`` with :func:`resnet_ode.studies.tidy.columns` and types taken from the settings."""
    import pyarrow as pa

    names = columns()
    defaults = RunConfig().to_dict()
    types = {"key": pa.string(), "final_objective": pa.float64(), "final_loss": pa.float64(), "train_accuracy": pa.float64(),
             "val_accuracy": pa.float64(), "iterations": pa.int64(), "train_seconds": pa.float64(),
             "eval_nY": pa.int64(), "eval_own": pa.bool_(), "eval_val_accuracy": pa.float64(),
             "eval_grid_accuracy": pa.float64(), "eval_grid_correct": pa.int64(), "eval_grid_n": pa.int64()}
    for name, value in defaults.items():
        types[name] = {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string()}[type(value)]
    return pa.table({n: pa.array([r[n] for r in rows], type=types[n]) for n in names})


def write_results(rows, output: Path) -> dict:
    """``results.parquet`` and ``results.csv`` in ``output``, each written atomically (temp file, rename)."""
    import pyarrow.parquet as pq

    output.mkdir(parents=True, exist_ok=True)
    table = to_table(rows)
    parquet, csv_path = output / "results.parquet", output / "results.csv"
    with atomic_path(parquet) as tmp:
        pq.write_table(table, tmp)
    with atomic_path(csv_path) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(table.column_names)
            for r in rows:  # repr: every digit of a float, so the CSV holds what the Parquet file holds
                writer.writerow([repr(r[n]) if isinstance(r[n], float) else r[n] for n in table.column_names])
    return {"parquet": parquet, "csv": csv_path}


def summary_figure(rows, spec: StudySpec, path: Path) -> Path:
    """Validation and grid accuracy of each network (own depth) against each varied setting, as a PNG.

    One panel per setting of the grid (one panel against the run index if
    nothing varies): every network a dot, the mean over the other settings a line.
    """
    # A figure of its own (no pyplot): the caller's backend and figures are left alone (a notebook's inline one).
    from matplotlib.figure import Figure

    own = [r for r in rows if r["eval_own"]]
    varied = list(spec.grid) or [None]
    fig = Figure(figsize=(3.6 * len(varied) + 0.6, 3.8))
    axes = fig.subplots(1, len(varied), squeeze=False)
    for ax, name in zip(axes[0], varied):
        # The values as the runs hold them (T=5 on the command line is 5.0 in a run), in the grid's order.
        values = list(dict.fromkeys(r[name] for r in own)) if name else list(range(len(own)))
        pos = {json.dumps(v): k for k, v in enumerate(values)}
        for col, colour, label in (("eval_val_accuracy", "#0072B2", "validation"),
                                   ("eval_grid_accuracy", "#D55E00", "grid")):
            x = np.array([pos[json.dumps(r[name])] if name else k for k, r in enumerate(own)], dtype=float)
            y = np.array([r[col] for r in own])
            offset = -0.08 if col == "eval_val_accuracy" else 0.08
            ax.plot(x + offset, y, "o", color=colour, alpha=0.6, ms=4, label=f"{label} (each network)")
            means = [np.mean(y[x == k]) for k in range(len(values))]
            ax.plot(np.arange(len(values)), means, "-", color=colour, lw=1.5, label=f"{label} (mean)")
        ax.set_xticks(range(len(values)), [str(v) for v in values])
        ax.set_xlabel(name or "run")
        ax.set_ylabel("accuracy at the trained depth")
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=4, frameon=False)
    fig.suptitle(f"study: {len(own)} networks", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def transfer_figure(rows, path: Path) -> Path:
    """The :func:`~resnet_ode.studies.tidy.transfer_matrix` as an annotated image (PNG).

    It shows how well the weights carry over to other depths.
    """
    # A figure of its own (no pyplot): the caller's backend and figures are left alone (a notebook's inline one).
    from matplotlib.figure import Figure

    depths, mean, count = transfer_matrix(rows)
    k = len(depths)
    fig = Figure(figsize=(1.1 * k + 2.4, 1.0 * k + 1.6))
    ax = fig.subplots()
    image = ax.imshow(mean, vmin=0.0, vmax=1.0, cmap="viridis")
    for i in range(k):
        for j in range(k):
            if count[i, j]:
                ax.text(j, i, f"{mean[i, j]:.3f}", ha="center", va="center", fontsize=9,
                        color="black" if mean[i, j] > 0.6 else "white")
    ax.set_xticks(range(k), [str(d) for d in depths])
    ax.set_yticks(range(k), [str(d) for d in depths])
    ax.set_xlabel("nY the weights are evaluated with")
    ax.set_ylabel("nY trained with")
    ax.set_title("grid accuracy (mean over the other settings and seeds)", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path
