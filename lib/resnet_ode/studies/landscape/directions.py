"""Directions of a loss landscape: parameter groups, filter (and other) normalisation.

:func:`directions` draws two Gaussian vectors from an explicit seed and
normalises them (:func:`normalise_direction`) in one of four modes:
``"filter"`` (Li et al.: every row of a dense weight matrix, i.e. one
neuron's incoming weights, gets the norm of that row in ``theta*``),
``"layer"`` (every weight matrix gets the norm of its matrix), ``"none"``
and ``"thesis"`` (the thesis's code: each layer multiplied by the ratio of
the *signed means* of ``theta*`` and of the direction over that layer).
The bias ``b(t)`` of the ODE block is one scalar per layer, added outside
the activation; how its direction entry is set is an explicit rule
(:data:`BIAS_RULES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_ode.util.validate import check_choice, check_int

#: Direction normalisation modes.
NORMALISATIONS = ("filter", "layer", "none", "thesis")

#: Rules for the bias entries of a direction.
#:
#: ``"own"``
#:     every scalar bias ``b_k`` is a group of its own: with ``"filter"`` and
#:     ``"layer"`` its entry becomes ``sign(d_b) |b_k*|`` (the direction keeps a
#:     random sign and gets the size of the trained bias); with ``"thesis"`` the
#:     ratio of means of a single number gives ``b_k*`` itself; with
#:     ``"none"`` the Gaussian draw is kept.
#: ``"zero"``
#:     biases are not perturbed (the ``--xignore biasbn`` option of Li et al.'s
#:     code).
#: ``"layer"``
#:     the bias is normalised together with its layer's weight matrix (the 65
#:     numbers of a control layer): with ``"layer"`` it enters that layer's
#:     norm, with ``"thesis"`` its mean (the thesis's code). Not defined for
#:     ``"filter"`` (the bias belongs to no single row).
BIAS_RULES = ("own", "zero", "layer")

#: The bias rule used when none is given (the thesis's grouping for ``"thesis"``, ``"own"`` otherwise).
DEFAULT_BIAS = {"filter": "own", "layer": "own", "none": "own", "thesis": "layer"}


@dataclass(frozen=True)
class ParameterGroups:
    """How the network weights ``theta`` split into layers, filters and biases.

    Attributes
    ----------
    n : int
        Number of network weights.
    layer_weights : list of ndarray of int
        Per layer the indices of its weight matrix: the opening layer's
        ``K0`` (``nc * n_in`` entries), then every control layer's ``K_k``
        (``nc * nc`` entries).
    layer_bias : list of ndarray of int
        Per layer the indices of its bias (empty for the opening layer, one
        index for each control layer).
    filters : list of ndarray of int
        Rows of every weight matrix (one neuron's incoming weights), in the
        order of the layers.
    """

    n: int
    layer_weights: list
    layer_bias: list
    filters: list

    @property
    def biases(self) -> np.ndarray:
        """Indices of all bias entries, shape (n_biases,)."""
        parts = [b for b in self.layer_bias if b.size]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)

    def layers(self, with_bias: bool = True) -> list:
        """Index arrays of the layers (weight matrix plus, if ``with_bias``, the bias)."""
        if not with_bias:
            return list(self.layer_weights)
        return [np.concatenate([w, b]) for w, b in zip(self.layer_weights, self.layer_bias)]


def parameter_groups(model) -> ParameterGroups:
    """Layers, filters and biases of a :class:`resnet_ode.core.network.ResNetODE`'s weights.

    The thesis's "layers" are the opening layer's ``nc * n_in`` weights and
    then every control layer's ``nc * nc + 1`` weights (``K_k`` row-major,
    then ``b_k``).

    Parameters
    ----------
    model : ResNetODE
        Its opening layer and ODE block decide the layout of ``theta``,
        shape (n_params,).

    Returns
    -------
    ParameterGroups
    """
    op, ode = model.opening, model.ode
    w, n_in = op.width, op.n_in
    layer_weights = [np.arange(op.n_params)]
    layer_bias = [np.zeros(0, dtype=int)]
    filters = [np.arange(r * n_in, (r + 1) * n_in) for r in range(w)]
    for k in range(ode.n_controls):
        base = op.n_params + k * ode.n_per_control
        layer_weights.append(np.arange(base, base + ode.width * ode.width))
        layer_bias.append(np.array([base + ode.width * ode.width]))
        filters.extend(np.arange(base + r * ode.width, base + (r + 1) * ode.width) for r in range(ode.width))
    return ParameterGroups(model.n_params, layer_weights, layer_bias, filters)


def resolve_bias_rule(norm: str, bias: str | None) -> str:
    """The bias rule for ``norm``: ``bias`` checked, or the default of :data:`DEFAULT_BIAS`.

    Raises
    ------
    ValueError
        If ``norm`` or ``bias`` is unknown, or ``bias="layer"`` with ``norm="filter"``.
    """
    check_choice("norm", norm, NORMALISATIONS)
    if bias is None:
        return DEFAULT_BIAS[norm]
    check_choice("bias", bias, BIAS_RULES)
    if norm == "filter" and bias == "layer":
        raise ValueError("bias='layer' is not defined for norm='filter' (a bias belongs to no single row); "
                         "allowed values are ['own', 'zero']")
    return bias


def normalise_direction(d, theta, groups: ParameterGroups, norm: str = "filter", bias: str | None = None):
    """Scale a direction group by group to the size of the weights.

    Parameters
    ----------
    d : ndarray, shape (n,)
        Raw direction (e.g. a Gaussian draw).
    theta : ndarray, shape (n,)
        Weights the landscape is centred on.
    groups : ParameterGroups
    norm : {"filter", "layer", "none", "thesis"}
        ``"filter"``: every filter ``d_f <- d_f / ||d_f|| * ||theta_f||``;
        ``"layer"``: the same per weight matrix; ``"none"``: unchanged;
        ``"thesis"``: every layer ``d_L <- d_L * mean(theta_L) / mean(d_L)``
        with signed means (the thesis's code).
    bias : {"own", "zero", "layer"} or None
        Rule for the bias entries (see :data:`BIAS_RULES`); ``None`` takes
        :data:`DEFAULT_BIAS`.

    Returns
    -------
    ndarray, shape (n,)

    Notes
    -----
    A group whose direction is exactly zero stays zero (no division by
    zero); with ``"thesis"`` a layer whose direction has mean zero would be
    scaled without bound, which is the weakness of that variant (the chapter
    shows how far the scale factors spread).
    """
    bias = resolve_bias_rule(norm, bias)
    d = np.array(d, dtype=float)
    theta = np.asarray(theta, dtype=float)
    if d.shape != (groups.n,) or theta.shape != (groups.n,):
        raise ValueError(f"d and theta must have shape ({groups.n},), got {d.shape} and {theta.shape}")
    out = d.copy()

    def scale_norm(idx):
        dn = np.linalg.norm(d[idx])
        out[idx] = d[idx] * (np.linalg.norm(theta[idx]) / dn) if dn > 0 else 0.0

    def scale_mean(idx):
        dm = np.mean(d[idx])
        out[idx] = d[idx] * (np.mean(theta[idx]) / dm) if dm != 0 else 0.0

    if norm == "filter":
        for idx in groups.filters:
            scale_norm(idx)
    elif norm in ("layer", "thesis"):
        scale = scale_norm if norm == "layer" else scale_mean
        for idx in groups.layers(with_bias=(bias == "layer")):
            scale(idx)
    if groups.biases.size:
        bidx = groups.biases
        if bias == "zero":
            out[bidx] = 0.0
        elif bias == "own" and norm in ("filter", "layer"):
            out[bidx] = np.sign(d[bidx]) * np.abs(theta[bidx])
        elif bias == "own" and norm == "thesis":
            out[bidx] = np.where(d[bidx] != 0, theta[bidx], 0.0)
    return out


def directions(model, theta, seed: int, norm: str = "filter", bias: str | None = None):
    """Two normalised Gaussian directions from ``numpy.random.default_rng(seed)``.

    ``d1`` is the first ``n`` standard normal draws, ``d2`` the next ``n``;
    each is then normalised by :func:`normalise_direction`.

    Parameters
    ----------
    model : ResNetODE
    theta : ndarray, shape (n_params,)
        Weights the landscape is centred on.
    seed : int
    norm, bias
        See :func:`normalise_direction`.

    Returns
    -------
    d1, d2 : ndarray, shape (n_params,)
    """
    seed = check_int("seed", seed, min_value=0)
    resolve_bias_rule(norm, bias)
    groups = parameter_groups(model)
    rng = np.random.default_rng(seed)
    raw1 = rng.standard_normal(groups.n)
    raw2 = rng.standard_normal(groups.n)
    return (normalise_direction(raw1, theta, groups, norm, bias),
            normalise_direction(raw2, theta, groups, norm, bias))


def relative_layer_sizes(d, theta, groups: ParameterGroups) -> np.ndarray:
    """Per layer ``||d_L|| / ||theta_L||`` over its weight matrix: the step ``a = 1`` relative to the layer.

    Filter and layer normalisation make every entry 1; the thesis's
    variant does not.

    Parameters
    ----------
    d, theta : ndarray, shape (n_params,)
        Direction and centre.
    groups : ParameterGroups

    Returns
    -------
    ndarray, shape (n_layers,)
        Opening layer first, then the control layers.
    """
    return np.array([np.linalg.norm(d[i]) / np.linalg.norm(theta[i]) for i in groups.layer_weights])

