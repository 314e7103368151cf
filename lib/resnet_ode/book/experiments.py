"""The book's experiments as data: which runs each chapter needs.

A chapter notebook declares its settings in a cell tagged ``parameters`` (for
Chapter 3.1: ``depths`` and ``changes``). A :class:`ChapterSweep` turns those
parameters into the training runs that get a page of their own: papermill
executes the run template once per run and writes the copies where the table
of contents lists them. The chapter notebook calls the same function with the
same parameters, so the runs a chapter analyses are the runs the build
executed, also after a rerun with other parameters (``resnet-ode rerun``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from resnet_ode.core.costs import equal_cost_states, step_evaluations
from resnet_ode.training.runs import RunConfig
from resnet_ode.book.parameters import (  # noqa: F401 - the checks, re-exported for the chapters and tests
    _allowing,
    checked_changes,
    float_list_param,
    float_param,
    int_list_param,
    int_param,
    run_changes_param,
)

#: Template executed by papermill once per run.
RUN_TEMPLATE = "book/templates/peaks-run.ipynb"

#: Initial-weight seeds of Chapters 3.3 and 3.4 (five networks per compared setting; the first get pages).
SEEDS = (0, 1, 2, 3, 4)

#: Initial-weight seeds of Chapter 3.1's book setting, twelve (the first get pages). With five, Chapter 4's power
#: calculation asked for twelve to decide 3.1-accuracy; the other settings of Chapter 3.1 keep five.
STATE_LAYER_SEEDS = tuple(range(12))

#: Five seeds, as in the other chapters, for Chapter 3.1's reference-CG and code-nt runs and Chapter 3.2's
#: reference-CG runs.
SECONDARY_SEEDS = SEEDS

#: Initial-weight seeds of Chapter 3.2's book setting, 24 (the first get pages). With five, Chapter 4's power
#: calculation asked for 24 to decide the reading of 3.2-depth that grades it (the share of eigenvalues inside
#: the stability region); the reference-CG setting keeps five.
STABILITY_SEEDS = tuple(range(24))

#: Five seeds, as in the other chapters, for Chapter 3.1's depth-against-time grid.
TIME_SEEDS = SEEDS

#: Numbers of state layers nY compared in Chapter 3.1 (thesis Section 3.1).
STATE_LAYER_DEPTHS = (8, 16, 32, 64, 128, 256)

#: Depth of the optimiser comparison in Chapter 3.1.
OPTIMIZER_COMPARISON_DEPTH = 32


# ----------------------------------------------------------------------------
# Run settings
# ----------------------------------------------------------------------------


def state_layers_config(nY: int, **changes) -> RunConfig:
    """Chapter 3.1 settings: T = 20, nt = 16 control layers, nc = 8, forward Euler."""
    return RunConfig(**{"nY": nY, "T": 20.0, "nt": 16, "nc": 8, **changes})


def state_layer_runs(depths=STATE_LAYER_DEPTHS, changes=None, seeds=(0,)) -> tuple:
    """The Chapter 3.1 runs: one per number of state layers and initial-weight seed, with ``changes`` applied to all.

    Ordered by seed, then by number of state layers.

    Raises
    ------
    ValueError, TypeError
        If fewer than four distinct depths are given (the chapter compares the
        two shallowest with the three deepest), no seed is given, or
        ``changes`` sets what the parameters decide (see :func:`~resnet_ode.book.parameters.checked_changes`).
    """
    changes = checked_changes(STATE_LAYER_PARAMETERS, {"nY": "depths", "init_seed": "seeds"}, changes,
                              depths=depths, seeds=seeds)
    return tuple(state_layers_config(n, init_seed=s, **changes)
                 for s in dict.fromkeys(seeds) for n in sorted(set(depths)))


def state_layer_pages(depths=STATE_LAYER_DEPTHS, changes=None, seeds=STATE_LAYER_SEEDS) -> tuple:
    """The Chapter 3.1 runs that get a page: those of the first seed only."""
    return state_layer_runs(depths, changes, list(seeds)[:1])


#: CG settings of the reference's (Meganet's) Gauss-Newton solve, relative tolerance 0.1 and at most 20 steps.
REFERENCE_CG = {"cg_tol": 0.1, "cg_max_iter": 20}


#: Final times of Chapter 3.1's depth-against-time grid, which grades the thesis's minimum number of state layers
#: for a given T.
TIME_GRID_T = (5.0, 10.0, 20.0, 40.0)
#: Numbers of state layers of that grid.
TIME_GRID_DEPTHS = (4, 8, 16, 32, 64)


def depth_time_runs(times=TIME_GRID_T, depths=TIME_GRID_DEPTHS, seeds=TIME_SEEDS, changes=None) -> tuple:
    """Chapter 3.1's depth-against-time grid: a network per final time, number of state layers and seed, Chapter
    3.1's settings otherwise. Bad parameters raise as :func:`~resnet_ode.book.parameters.checked_changes` does."""
    changes = checked_changes(STATE_LAYER_PARAMETERS, {"nY": "time_depths", "T": "time_T", "init_seed": "time_seeds"},
                              changes, time_T=list(times), time_depths=list(depths), seeds=list(seeds))
    return tuple(state_layers_config(n, T=float(t), init_seed=s, **changes) for s in dict.fromkeys(seeds)
                 for t in dict.fromkeys(times) for n in sorted(set(depths)))


def with_reference_cg(changes=None) -> dict:
    """``changes`` plus the reference's CG settings (:data:`REFERENCE_CG`), for the second training setting."""
    return {**(changes or {}), **REFERENCE_CG}


#: Control layers of the thesis's listed code (its text uses 16, the book's default).
CODE_NT = 8


def standard_resnet_config(n_layers: int, T: float, **changes) -> RunConfig:
    """A standard ResNet: ``n_layers`` forward-Euler steps of size ``T / n_layers``, one weight set each.

    In the notation of :class:`~resnet_ode.training.trainer.RunConfig` this is ``control="per_step"`` with
    ``nY = n_layers + 1`` state times.
    """
    return RunConfig(**{"nY": int(n_layers) + 1, "T": T, "nc": 8, "control": "per_step", **changes})


#: Numbers of layers of the standard ResNets of Chapter 3.2 (thesis Section 3.2, T = 10).
STABILITY_LAYERS = (8, 16, 32)


def stability_runs(layers=STABILITY_LAYERS, seeds=STABILITY_SEEDS, T: float = 10.0, changes=None) -> tuple:
    """The Chapter 3.2 runs: a standard ResNet per number of layers and initial-weight seed.

    Ordered by seed, then by number of layers. ``changes`` are applied to
    every run; the number of layers, the control grid and the seed are set
    by the chapter's parameters.

    Raises
    ------
    ValueError, TypeError
        If fewer than two distinct depths or no seed is given, or ``changes``
        sets what the parameters decide (see :func:`~resnet_ode.book.parameters.checked_changes`).
    """
    changes = checked_changes(STABILITY_PARAMETERS, {"nY": "layers", "nt": "layers", "control": None,
                                                     "init_seed": "seeds", "T": "T"}, changes,
                              layers=layers, seeds=seeds, T=T)
    return tuple(standard_resnet_config(n, T, init_seed=s, **changes)
                 for s in dict.fromkeys(seeds) for n in sorted(set(layers)))


def stability_pages(layers=STABILITY_LAYERS, seeds=STABILITY_SEEDS, T: float = 10.0, changes=None) -> tuple:
    """The Chapter 3.2 runs that get a page: those of the first seed only."""
    return stability_runs(layers, list(seeds)[:1], T, changes)


def reference_cg_configs(depths=STATE_LAYER_DEPTHS, changes=None, seeds=(0,)) -> tuple:
    """Chapter 3.1 runs with the reference's CG settings (tolerance 0.1, at most 20 steps)."""
    return state_layer_runs(depths, with_reference_cg(changes), seeds)


def code_nt_configs(depths=STATE_LAYER_DEPTHS, changes=None, seeds=(0,), nt: int = CODE_NT) -> tuple:
    """Chapter 3.1 runs with the thesis code's ``nt`` control layers instead of the text's 16."""
    return state_layer_runs(depths, {**(changes or {}), "nt": nt}, seeds)


def optimizer_comparison_configs(nY: int = OPTIMIZER_COMPARISON_DEPTH, changes=None) -> dict:
    """The optimisers compared in Chapter 3.1 on one network, by label.

    Gauss-Newton with the book's CG settings and with the reference's
    (tolerance 0.1, at most 20 steps), both on the variable-projection
    objective, against L-BFGS, Adam and steepest descent on the joint
    objective (network and classifier weights together, as a PyTorch user
    would train), given more iterations since theirs are cheaper.
    """
    base = state_layers_config(nY, **(changes or {}))
    return {
        "Gauss-Newton (book)": base,
        "Gauss-Newton (reference CG)": base.replace(cg_tol=0.1, cg_max_iter=20),
        "L-BFGS (joint)": base.replace(optimizer="lbfgs", objective="joint", max_iter=400),
        "Adam (joint)": base.replace(optimizer="adam", objective="joint", max_iter=400, learning_rate=0.01),
        "steepest descent (joint)": base.replace(optimizer="gd", objective="joint", max_iter=400),
    }


#: RK4 state times of Chapter 3.4, each paired with Euler of equal cost; with 16 the steps are the control intervals.
RUNGE_KUTTA_STATES = (5, 9, 16)


def runge_kutta_runs(rk4_states=RUNGE_KUTTA_STATES, seeds=SEEDS, max_iter: int = 40, changes=None) -> tuple:
    """The Chapter 3.4 runs: RK4 networks and forward-Euler networks with as many function evaluations.

    For every ``nY`` in ``rk4_states`` the classical RK4 network with ``nY``
    state times (``4 (nY - 1)`` evaluations of the dynamics per forward pass,
    four per step) is paired with the forward-Euler network with as many
    evaluations, ``4 (nY - 1) + 1`` state times
    (:func:`resnet_ode.core.costs.equal_cost_states`). Chapter 3.1 settings
    otherwise (T = 20, nt = 16, nc = 8), with ``max_iter`` Gauss-Newton
    iterations. Ordered by seed, then by ``nY``,
    RK4 before Euler.

    Raises
    ------
    ValueError, TypeError
        If no state count or seed is given, a state count is below 2, or
        ``changes`` sets what the parameters decide (see :func:`~resnet_ode.book.parameters.checked_changes`).
    """
    changes = checked_changes(RUNGE_KUTTA_PARAMETERS, {"nY": "rk4_states", "integrator": None, "init_seed": "seeds",
                                                       "max_iter": "max_iter"}, changes,
                              rk4_states=rk4_states, seeds=seeds, max_iter=max_iter)
    runs = []
    for s in dict.fromkeys(seeds):
        for n in sorted(set(rk4_states)):
            for integrator, nY in (("rk4", n), ("euler", equal_cost_states(n, step_evaluations("rk4")))):
                runs.append(state_layers_config(nY, integrator=integrator, init_seed=s, max_iter=max_iter, **changes))
    return tuple(runs)


def runge_kutta_pages(rk4_states=RUNGE_KUTTA_STATES, seeds=SEEDS, max_iter: int = 40, changes=None) -> tuple:
    """The Chapter 3.4 runs that get a page: those of the first seed only."""
    return runge_kutta_runs(rk4_states, list(seeds)[:1], max_iter, changes)


#: Numbers of layers of the standard ResNets of Chapter 3.3 (the thesis compared 8 and 20).
LANDSCAPE_DEPTHS = (4, 8, 20, 40)


def landscape_runs(depths=LANDSCAPE_DEPTHS, T=5.0, changes=None, seeds=SEEDS) -> tuple:
    """The Chapter 3.3 runs: standard ResNets with ``depths`` layers, final time ``T`` (thesis: 5) and nc = 8, one per
    depth and initial-weight seed (its random directions are drawn with its seed). Bad parameters raise a
    ``ValueError`` or ``TypeError`` (:func:`~resnet_ode.book.parameters.checked_changes`; a depth is an integer in [1, 1000])."""
    changes = checked_changes(LANDSCAPE_PARAMETERS, {"nY": "depths", "nt": "depths", "control": None, "T": "T",
                                                     "init_seed": "seeds"}, changes, depths=depths, T=T, seeds=seeds)
    return tuple(standard_resnet_config(d, T=T, init_seed=s, **changes) for s in dict.fromkeys(seeds)
                 for d in sorted(set(depths)))


def landscape_pages(depths=LANDSCAPE_DEPTHS, T=5.0, changes=None, seeds=SEEDS) -> tuple:
    """The Chapter 3.3 runs that get a page: those of the first seed."""
    return landscape_runs(depths, T, changes, list(seeds)[:1])


# ----------------------------------------------------------------------------
# Every run a chapter trains (its pages' runs and the others)
# ----------------------------------------------------------------------------


def state_layer_trains(depths=STATE_LAYER_DEPTHS, changes=None, seeds=STATE_LAYER_SEEDS, code_nt: int = CODE_NT,
                       secondary_seeds=SECONDARY_SEEDS, time_T=TIME_GRID_T, time_depths=TIME_GRID_DEPTHS,
                       time_seeds=TIME_SEEDS) -> tuple:
    """Every run Chapter 3.1 trains: for every seed the book's runs, for every secondary seed the reference-CG
    runs and the runs with the code's ``code_nt`` control layers; the optimiser comparison; the depth-against-time
    grid."""
    return (state_layer_runs(depths, changes, seeds) + reference_cg_configs(depths, changes, secondary_seeds)
            + code_nt_configs(depths, changes, secondary_seeds, code_nt)
            + depth_time_runs(time_T, time_depths, time_seeds, changes)
            + tuple(optimizer_comparison_configs(changes=changes).values()))


def stability_trains(layers=STABILITY_LAYERS, seeds=STABILITY_SEEDS, T: float = 10.0, changes=None,
                     state_layer_depths=STATE_LAYER_DEPTHS, secondary_seeds=SECONDARY_SEEDS) -> tuple:
    """Every run Chapter 3.2 trains: its standard ResNets for every seed under the book's setting and for every
    secondary seed under the reference's CG, and the Chapter 3.1 networks."""
    return (stability_runs(layers, seeds, T, changes)
            + stability_runs(layers, secondary_seeds, T, with_reference_cg(changes))
            + state_layer_runs(state_layer_depths))


def runge_kutta_trains(rk4_states=RUNGE_KUTTA_STATES, seeds=SEEDS, max_iter: int = 40, changes=None) -> tuple:
    """Every run Chapter 3.4 trains: its RK4 and Euler networks under both training settings."""
    return (runge_kutta_runs(rk4_states, seeds, max_iter, changes)
            + runge_kutta_runs(rk4_states, seeds, max_iter, with_reference_cg(changes)))


# ----------------------------------------------------------------------------
# Chapter parameters and sweeps
# ----------------------------------------------------------------------------


def _subsets_of_depths(params):
    depths = set(params.get("depths", LANDSCAPE_DEPTHS))
    for name in ("thesis_depths", "varpro_depths"):
        if name in params and not set(params[name]) <= depths:
            raise ValueError(f"{name} must list at least 2 of depths={sorted(depths)}, got {params[name]!r}")


def _secondary_within_seeds(params):
    seeds = list(params.get("seeds", STABILITY_SEEDS))
    secondary = list(params.get("secondary_seeds", SECONDARY_SEEDS))
    if not set(secondary) <= set(seeds):
        raise ValueError(f"secondary_seeds must be a subset of seeds={sorted(seeds)} (each reference-CG network is "
                         f"compared with the book's of the same seed), got {secondary!r}")


#: Parameter checks of every chapter with runs (name -> ``check(name, value)``), one per
#: entry of the chapter notebook's ``parameters`` cell. Bounds keep every value finite
#: and every computation to a size this machine finishes.
STATE_LAYER_PARAMETERS = {
    "depths": int_list_param(2, 100_000, min_distinct=4),
    "seeds": int_list_param(0),
    "secondary_seeds": int_list_param(0),
    "time_T": float_list_param(0.0, 1e4, min_distinct=2),
    "time_depths": int_list_param(2, 100_000, min_distinct=2),
    "time_seeds": int_list_param(0),
    "code_nt": int_param(2, 100_000),
    "changes": run_changes_param,
}
STABILITY_PARAMETERS = {
    "layers": int_list_param(1, 99_999, min_distinct=2),
    "seeds": int_list_param(0),
    "secondary_seeds": int_list_param(0),
    "T": float_param(0.0, 1e4, strict_min=True),
    "changes": run_changes_param,
    "n_samples": int_param(1, 1_000_000),
    "state_layer_depths": int_list_param(2, 100_000, min_distinct=4),
    "state_layer_samples": int_param(1, 1_000_000),
    "perturbation_eps": float_param(0.0, 1.0, strict_min=True),
}
LANDSCAPE_PARAMETERS = {
    "depths": int_list_param(1, 1000, min_distinct=2),
    "T": float_param(0.0, 1e4, strict_min=True),
    "changes": run_changes_param,
    "seeds": int_list_param(0),
    "thesis_depths": int_list_param(1, 1000, min_distinct=2),
    "varpro_depths": int_list_param(1, 1000, min_distinct=2),
    "points": int_param(3, 1001),
}
RUNGE_KUTTA_PARAMETERS = {
    "toy_seed": int_param(0),
    "rk4_steps": int_param(1, 10_000),
    "coarse_rk4_steps": int_param(1, 10_000),
    "ref_steps": int_param(1, 100_000),
    "rk4_states": int_list_param(2, 25_000),
    "seeds": int_list_param(0),
    "max_iter": int_param(0, 100_000),
    "changes": run_changes_param,
}


#: The default study of Chapter 6, small enough for the book's build on two cores.
BEYOND_STUDY = "book/chapter6/default-study.toml"


def _file_param(suffixes: tuple, may_be_empty: bool = False) -> Callable:
    """Check of a parameter naming a file of the repository (relative to its root) with one of ``suffixes``."""
    what = f"the path of an existing {' or '.join(suffixes)} file, relative to the repository root"
    what = what + (" (or empty)" if may_be_empty else "")

    def check(name, value):
        from resnet_ode.util.paths import repo_root

        if may_be_empty and value == "":
            return value
        if not isinstance(value, str) or not value.endswith(suffixes) or not (repo_root() / value).is_file():
            raise ValueError(f"{name} must be {what}, got {value!r}")
        return value

    return _allowing(check, what)


def beyond_runs(study_file: str = BEYOND_STUDY, table: str = "") -> tuple:
    """Every run of Chapter 6's study (none when the chapter shows the table of a study run elsewhere)."""
    if table:
        return ()
    from resnet_ode.studies.study import load_spec
    from resnet_ode.util.paths import repo_root

    return tuple(load_spec(repo_root() / study_file).configs())


def no_pages() -> tuple:
    """A chapter whose runs get no page of their own."""
    return ()


BEYOND_PARAMETERS = {
    "study_file": _file_param((".toml", ".yaml", ".yml", ".json")),
    "table": _file_param((".parquet",), may_be_empty=True),
}


def notebook_parameters(nb, tags=("parameters", "injected-parameters")) -> dict:
    """Parameters of a notebook (an ``nbformat`` node): its ``parameters`` cell, then any papermill-injected cell.

    Every statement of those cells must assign a Python literal to a name
    (``depths = [8, 16]``, ``changes = {"T": 10.0}``); later cells override
    earlier ones, as when the notebook runs.
    """
    params = {}
    for tag in tags:
        for cell in nb.cells:
            if cell.cell_type == "code" and tag in cell.metadata.get("tags", []):
                for stmt in ast.parse(cell.source).body:
                    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                        raise ValueError("parameter cells may only assign literals to names")
                    try:
                        params[stmt.targets[0].id] = ast.literal_eval(stmt.value)
                    except ValueError:
                        raise ValueError(f"parameter cells may only assign literals to names; "
                                         f"{stmt.targets[0].id} is not a literal") from None
    return params


def chapter_parameters(notebook) -> dict:
    """The current parameters of a chapter notebook file (defaults, then injected values)."""
    return notebook_parameters(nbformat.read(Path(notebook), as_version=4))


@dataclass(frozen=True)
class ChapterSweep:
    """The runs of one chapter that get a page each.

    Attributes
    ----------
    name : str
        Sweep name on the command line, e.g. ``"3.1"``.
    notebook : str
        The chapter notebook (relative to the repository root) whose
        parameters decide the runs.
    runs : callable
        ``runs(**parameters) -> tuple of RunConfig``; it receives the chapter
        parameters it names and ignores the others.
    output : str
        Output path pattern relative to the repository root, formatted with
        the fields of each run's config.
    title : str
        Page-title pattern for the table of contents, formatted likewise.
    template : str
        The parameterised run notebook.
    parameters : dict of str -> callable
        Every parameter of the chapter notebook with its check
        ``check(name, value)``, which raises ``TypeError`` or ``ValueError``
        naming the parameter, the value given and what is allowed.
    cross_check : callable, optional
        ``cross_check(params)`` for constraints between parameters.
    trains : callable, optional
        ``trains(**parameters) -> tuple of RunConfig``: every run the chapter
        notebook trains (default: ``runs``), so that a sweep can train them
        all in parallel before the notebook reads them from the cache.
    """

    name: str
    notebook: str
    runs: Callable
    output: str
    title: str
    template: str = RUN_TEMPLATE
    parameters: dict = field(default_factory=dict, hash=False)
    cross_check: Callable | None = None
    trains: Callable | None = None

    def validate(self, params: dict) -> tuple:
        """Check every chapter parameter in ``params``, then the runs they decide; return those runs.

        Nothing is computed or written: a command calls this before it
        trains or executes anything.

        Raises
        ------
        TypeError, ValueError
            ``"Chapter 3.4: rk4_steps must be an integer in [1, 10000], got -1"``:
            the chapter, the parameter, what it allows and the value given.
        """
        try:
            unknown = sorted(set(params) - set(self.parameters)) if self.parameters else []
            if unknown:
                raise ValueError(f"unknown parameter(s) {unknown}; its parameters: {', '.join(self.parameters)}")
            for name, value in params.items():
                if name in self.parameters:
                    self.parameters[name](name, value)
            if self.cross_check is not None:
                self.cross_check(params)
            return self.configs(params)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"Chapter {self.name}: {exc}") from None

    def configs(self, params: dict | None = None) -> tuple:
        """The runs for ``params`` (default: the chapter notebook's current parameters)."""
        from resnet_ode.util.paths import repo_root

        if params is None:
            params = chapter_parameters(repo_root() / self.notebook)
        names = self.runs.__code__.co_varnames[: self.runs.__code__.co_argcount]
        return tuple(self.runs(**{k: v for k, v in params.items() if k in names}))

    def all_runs(self, params: dict | None = None) -> tuple:
        """Every run the chapter notebook trains for ``params`` (pages' runs first), without repeats."""
        from resnet_ode.util.paths import repo_root

        if params is None:
            params = chapter_parameters(repo_root() / self.notebook)
        fn = self.trains or self.runs
        names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
        return tuple(dict.fromkeys(self.configs(params) + tuple(fn(**{k: v for k, v in params.items() if k in names}))))

    def output_path(self, config: RunConfig) -> str:
        return self.output.format(**config.to_dict())

    def page_title(self, config: RunConfig) -> str:
        return self.title.format(**config.to_dict())


#: Every chapter sweep of the book, by name.
#:
#: :meta hide-value:
SWEEPS = {
    "3.1": ChapterSweep(
        name="3.1",
        notebook="book/chapter3/state-layers.ipynb",
        runs=state_layer_pages,
        output="book/chapter3/runs/state-layers-nY{nY:03d}.ipynb",
        title="3.1 run: {nY} state layers, seed {init_seed}",
        parameters=STATE_LAYER_PARAMETERS,
        trains=state_layer_trains,
    ),
    "3.2": ChapterSweep(
        name="3.2",
        notebook="book/chapter3/stability.ipynb",
        runs=stability_pages,
        output="book/chapter3/runs/stability-L{nt:03d}-seed{init_seed}.ipynb",
        title="3.2 run: standard ResNet, {nt} layers, seed {init_seed}",
        parameters=STABILITY_PARAMETERS,
        cross_check=_secondary_within_seeds,
        trains=stability_trains,
    ),
    "3.4": ChapterSweep(
        name="3.4",
        notebook="book/chapter3/runge-kutta.ipynb",
        runs=runge_kutta_pages,
        output="book/chapter3/runs/runge-kutta-{integrator}-nY{nY:03d}-seed{init_seed}.ipynb",
        title="3.4 run: {integrator} with {nY} state times, seed {init_seed}",
        parameters=RUNGE_KUTTA_PARAMETERS,
        trains=runge_kutta_trains,
    ),
    "3.3": ChapterSweep(
        name="3.3",
        notebook="book/chapter3/landscape.ipynb",
        runs=landscape_pages,
        output="book/chapter3/runs/landscape-L{nt:03d}.ipynb",
        title="3.3 run: standard ResNet, {nt} layers, T = {T:g}, seed {init_seed}",
        parameters=LANDSCAPE_PARAMETERS,
        cross_check=_subsets_of_depths,
        trains=landscape_runs,
    ),
    "6": ChapterSweep(
        name="6",
        notebook="book/chapter6/beyond.ipynb",
        runs=no_pages,
        output="book/chapter6/runs/unused-{nY}.ipynb",
        title="{nY}",
        parameters=BEYOND_PARAMETERS,
        trains=beyond_runs,
    ),
}
