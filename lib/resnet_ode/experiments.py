"""The book's experiments as data: which runs each chapter needs.

A :class:`Sweep` names a parameterised notebook (the template), the runs to
execute it with, and where the executed copies go in the book. Chapter
notebooks read the same definitions, so the runs a chapter analyses are the
runs the build executed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .runs import RunConfig

#: Template executed by papermill once per run.
RUN_TEMPLATE = "book/templates/peaks-run.ipynb"

#: Depths of Chapter 3.1 (thesis Section 3.1): state layers nY.
STATE_LAYER_DEPTHS = (8, 16, 32, 64, 128, 256)


def state_layers_config(nY: int, **changes) -> RunConfig:
    """Chapter 3.1 settings: T = 20, nt = 16 control layers, nc = 8, forward Euler."""
    return RunConfig(**{"nY": nY, "T": 20.0, "nt": 16, "nc": 8, **changes})


#: Depth of the optimiser comparison in Chapter 3.1.
OPTIMIZER_COMPARISON_DEPTH = 32


def optimizer_comparison_configs(nY: int = OPTIMIZER_COMPARISON_DEPTH) -> dict:
    """The optimisers compared in Chapter 3.1 on one network, by label.

    Gauss-Newton with the book's CG settings and with the reference's
    (tolerance 0.1, at most 20 steps), both on the variable-projection
    objective, against L-BFGS, Adam and steepest descent on the joint
    objective (network and classifier weights together, as a PyTorch user
    would train), given more iterations since theirs are cheaper.
    """
    base = state_layers_config(nY)
    return {
        "Gauss-Newton (book)": base,
        "Gauss-Newton (reference CG)": base.replace(cg_tol=0.1, cg_max_iter=20),
        "L-BFGS (joint)": base.replace(optimizer="lbfgs", objective="joint", max_iter=400),
        "Adam (joint)": base.replace(optimizer="adam", objective="joint", max_iter=400, learning_rate=0.01),
        "steepest descent (joint)": base.replace(optimizer="gd", objective="joint", max_iter=400),
    }


@dataclass(frozen=True)
class Sweep:
    """Runs of one chapter.

    Attributes
    ----------
    name : str
        Sweep name (used on the command line).
    configs : tuple of RunConfig
    output : str
        Output path pattern relative to the repository root, formatted with
        the config's fields, e.g. ``book/chapter3/runs/state-layers-nY{nY:03d}.ipynb``.
    template : str
        Parameterised notebook, relative to the repository root.
    title : str
        Page title pattern for the table of contents.
    """

    name: str
    configs: tuple
    output: str
    title: str
    template: str = RUN_TEMPLATE

    def output_path(self, config: RunConfig) -> str:
        return self.output.format(**config.to_dict())

    def page_title(self, config: RunConfig) -> str:
        return self.title.format(**config.to_dict())


def reference_cg_configs(**changes) -> tuple:
    """Chapter 3.1 runs with the reference's CG settings (tolerance 0.1, at most 20 steps)."""
    return tuple(state_layers_config(n, cg_tol=0.1, cg_max_iter=20, **changes) for n in STATE_LAYER_DEPTHS)


def sweeps(**changes) -> dict:
    """All sweeps of the book, by name; ``changes`` override settings of every run."""
    return {
        "3.1": Sweep(
            name="3.1",
            configs=tuple(state_layers_config(n, **changes) for n in STATE_LAYER_DEPTHS),
            output="book/chapter3/runs/state-layers-nY{nY:03d}.ipynb",
            title="Run: {nY} state layers",
        ),
    }
