"""Layer spectra of trained runs at samples of their training examples, stored and published like runs.

The eigenvalues of every layer Jacobian at thousands of examples
(:func:`resnet_ode.studies.stability.network_spectra`) take seconds per network,
and Chapter 3.2 needs them for dozens of networks. :func:`stored_spectra` keeps
their per-layer summaries (and, when asked, the per-example products) in the
cache's analyses store (:func:`resnet_ode.studies.memo.stored`), so they are
computed once, published with the book and verified by recomputing them. The
examples are named by how they are drawn (:func:`training_sample`), so a stored
entry can be recomputed from its recipe; the eigenvalues themselves, which the
figures need for one seed, are not stored.
"""

from __future__ import annotations

import numpy as np

from resnet_ode.studies import memo
from resnet_ode.studies.stability import LayerSpectra, network_spectra

#: The per-layer arrays of :class:`~resnet_ode.studies.stability.LayerSpectra` (one value per layer),
#: stored by :func:`stored_spectra`.
LAYER_FIELDS = ("times", "max_real", "min_max_real", "max_amp", "share_inside", "share_inside_rk4", "share_left",
                "share_stable_examples", "median_amp", "max_step_norm", "median_step_norm")

#: Its per-example arrays (one value per example), stored only when asked for.
EXAMPLE_FIELDS = ("log_norm_product", "log_radius_product")


def training_sample(X_train, n: int, highlight: int = 1, seed: int = 0):
    """All training examples, or a seeded sample of ``n`` that keeps the ``highlight``-th.

    Parameters
    ----------
    X_train : ndarray, shape (2, n_train)
    n : int
        Examples wanted; ``n >= n_train`` returns all.
    highlight : int
        Index of the example that must be in the sample (the thesis's example).
    seed : int
        Seed of the sample.

    Returns
    -------
    X : ndarray, shape (2, min(n, n_train))
    position : int
        Column of ``X`` holding the highlighted example.
    """
    X_train = np.asarray(X_train)
    n_train = X_train.shape[1]
    if n >= n_train:
        return X_train, int(highlight)
    idx = np.union1d([highlight], np.random.default_rng(seed).choice(n_train, n - 1, replace=False))
    return X_train[:, idx], int(np.searchsorted(idx, highlight))


def stored_spectra(run, sample: dict, initial: bool = False, per_example: bool = False) -> LayerSpectra:
    """The layer spectra of a trained run at a sample of its training examples, stored like a run.

    What :func:`~resnet_ode.studies.stability.network_spectra` computes, without the
    eigenvalues.

    The eigenvalues of thousands of small matrices per layer take seconds per
    network; their per-layer summaries (and, when asked, the per-example
    products) are kept in the cache's analyses store and published with the
    book (:func:`resnet_ode.studies.memo.stored`). The eigenvalues themselves
    are not kept.

    Parameters
    ----------
    run : RunResult
        A trained run (its settings identify it).
    sample : dict
        How the examples are drawn from the run's training set: the arguments
        ``n``, ``highlight`` and ``seed`` of :func:`training_sample`.
    initial : bool
        Evaluate the network at its initial weights instead of the trained ones.
    per_example : bool
        Keep ``log_norm_product`` and ``log_radius_product`` (one value per
        example); otherwise they are None and only their medians are kept
        (:meth:`~resnet_ode.studies.stability.LayerSpectra.median_products`).

    Returns
    -------
    LayerSpectra
        Without ``eigvals``; the run's own integrator's region.
    """
    sample = {"n": int(sample["n"]), "highlight": int(sample.get("highlight", 1)), "seed": int(sample.get("seed", 0))}
    out = memo.stored("layer_spectra", [run], **sample, initial=bool(initial), per_example=bool(per_example))
    return LayerSpectra(h=float(out["h"]), method=run.model.ode.method.name, n_samples=int(out["n_samples"]),
                        **{k: out[k] for k in LAYER_FIELDS},
                        **{k: (out[k] if per_example else None) for k in EXAMPLE_FIELDS},
                        medians=(float(out["median_prod_radius"]), float(out["median_prod_norm"])))


@memo.register("layer_spectra", ("studies/layer_spectra.py", "studies/stability.py"))
def _layer_spectra(results, n: int, highlight: int, seed: int, initial: bool, per_example: bool) -> dict:
    (run,) = results
    X, _ = training_sample(run.config.dataset().X_train, n, highlight, seed)
    theta = run.model.init_params(run.config.init_seed) if initial else run.theta
    sp = network_spectra(run.model, theta, X, keep=False)
    fields = LAYER_FIELDS + (EXAMPLE_FIELDS if per_example else ())
    radius, norm = sp.median_products()
    return {"h": np.array(sp.h), "n_samples": np.array(sp.n_samples), "median_prod_radius": np.array(radius),
            "median_prod_norm": np.array(norm), **{k: getattr(sp, k) for k in fields}}
