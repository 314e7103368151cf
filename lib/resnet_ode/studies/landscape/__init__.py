"""Loss landscapes: random directions, their normalisation, surfaces and measures of non-convexity.

Around trained weights ``theta*`` the training objective is evaluated on the
plane spanned by two random directions (Li et al. 2018),

    f(a, b) = L(theta* + a d1 + b d2),

with ``L`` either

``"joint"``
    the joint objective ``F(theta, W*) = CE(W*, Y_T(theta)) + R(theta) + R_W(W*)``
    with the classifier held at its trained value ``W*``, or
``"varpro"``
    the variable-projection objective ``Phi(theta) = min_W [CE(W, Y_T(theta)) +
    R_W(W)] + R(theta)``: the classifier is re-solved at every point, from zero
    and to the tolerance of :data:`resnet_ode.core.objectives.EXACT_CLASSIFIER_SOLVER`,
    so that the value is a function of the point alone (no warm start);
    the iteration limit is raised to 100 (:data:`~resnet_ode.studies.landscape.batch.LANDSCAPE_SOLVER`).

The package is split by concern; everything public is importable from here
(``from resnet_ode import landscape; landscape.get_surface(...)``).

:mod:`~resnet_ode.studies.landscape.directions`
    :func:`~resnet_ode.studies.landscape.directions.directions` draws two Gaussian vectors from an explicit seed and
    normalises them (:func:`~resnet_ode.studies.landscape.directions.normalise_direction`): ``"filter"`` (Li et al.),
    ``"layer"``, ``"none"`` or ``"thesis"`` (the thesis's code), with an
    explicit rule for the biases (:data:`~resnet_ode.studies.landscape.directions.BIAS_RULES`).
:mod:`~resnet_ode.studies.landscape.batch`
    :class:`~resnet_ode.studies.landscape.batch.BatchObjective` evaluates either objective at many weight vectors
    at once, on the distinct training points only (the Peaks sample is drawn
    with replacement; repeated points are weighted by their count), with the
    training code's cross-entropy and classifier solver
    (:func:`resnet_ode.core.losses.cross_entropy`,
    :class:`resnet_ode.core.objectives.ClassifierSubproblem`) given those weights.
:mod:`~resnet_ode.studies.landscape.plane`
    :func:`~resnet_ode.studies.landscape.plane.evaluate_plane` evaluates a grid in batches, here or in worker
    processes (``concurrent.futures``), with a progress bar.
:mod:`~resnet_ode.studies.landscape.surfaces`
    Grids (:func:`~resnet_ode.studies.landscape.surfaces.li_grid`, :func:`~resnet_ode.studies.landscape.surfaces.thesis_grid`), :class:`~resnet_ode.studies.landscape.surfaces.SurfaceSpec`,
    :class:`~resnet_ode.studies.landscape.surfaces.Surface`; :func:`~resnet_ode.studies.landscape.surfaces.get_surface` computes a surface or loads it with
    its directions from the cache (:mod:`resnet_ode.training.cache`) when the same
    run, settings and landscape code produced it before.
:mod:`~resnet_ode.studies.landscape.measures`
    :func:`~resnet_ode.studies.landscape.measures.grid_hessian` (2-D Hessian of ``f`` by finite differences on the
    grid), :func:`~resnet_ode.studies.landscape.measures.curvature_measures`, :func:`~resnet_ode.studies.landscape.measures.local_minima`,
    :func:`~resnet_ode.studies.landscape.measures.slice_nonconvex_share`.
:mod:`~resnet_ode.studies.landscape.hessian`
    :func:`~resnet_ode.studies.landscape.hessian.hessian_extremes`: smallest and largest eigenvalue of the full
    Hessian at ``theta*`` by Lanczos iteration on finite differences of exact
    gradients; :func:`~resnet_ode.studies.landscape.hessian.get_hessian_extremes` stores them like the surfaces.

The figures (:func:`resnet_ode.studies.plotting.plot_contour`,
:func:`resnet_ode.studies.plotting.plot_surface_3d`) and the table of durations
(:func:`resnet_ode.util.formatting.format_timed_table`) live with the other
figures and formatters and are re-exported here.

References
----------
H. Li, Z. Xu, G. Taylor, C. Studer and T. Goldstein, "Visualizing the loss
landscape of neural nets", NeurIPS 2018.
"""

from __future__ import annotations

# The public names of the submodules, so that ``landscape.NAME`` works for all of them (the API chapter
# documents each submodule; this package's page is the overview above).
from .batch import LANDSCAPE_SOLVER, OBJECTIVES, BatchObjective
from .directions import (
    BIAS_RULES,
    DEFAULT_BIAS,
    NORMALISATIONS,
    ParameterGroups,
    directions,
    normalise_direction,
    parameter_groups,
    relative_layer_sizes,
    resolve_bias_rule,
)
from .hessian import HESSIAN_FIELDS, LANCZOS_NCV, get_hessian_extremes, hessian_extremes
from .measures import curvature_measures, grid_hessian, local_minima, slice_nonconvex_share
from .plane import PlaneTask, evaluate_plane
from . import version
from .surfaces import (
    SURFACE_FORMAT,
    VALUE_MODULES,
    Surface,
    SurfaceSpec,
    compute_surface,
    get_surface,
    landscapes_dir,
    li_grid,
    source_hash,
    surface_key,
    thesis_grid,
)
from resnet_ode.util.formatting import format_timed_table

#: Re-exported from :mod:`resnet_ode.studies.plotting` on first use (matplotlib is slow to import, and the
#: worker processes of :func:`~resnet_ode.studies.landscape.plane.evaluate_plane` need none).
_PLOTS = ("plot_contour", "plot_surface_3d")


def __getattr__(name: str):
    if name in _PLOTS:
        from resnet_ode.studies import plotting

        return getattr(plotting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
