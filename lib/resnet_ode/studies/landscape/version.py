"""Which code decides the values the landscape stores (surfaces, Hessian extremes), as one hash.

:data:`VALUE_MODULES` names the modules of this package whose code decides
the stored values; :func:`source_hash` digests them (docstrings and comments
left out) together with the training code's hash, and enters the key of every
surface and Hessian entry. :func:`code_identity` adds the numeric code paths:
what a process that computes planes for this one (a local worker or a Dask
worker) must share with it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from resnet_ode.util.codehash import code_digest

#: The modules of this package whose code decides the stored values (surfaces and Hessian extremes).
#: The others (the measures, this module, the package's ``__init__``) do not.
VALUE_MODULES = ("batch", "directions", "hessian", "plane", "surfaces")


def source_hash() -> str:
    """SHA-256 over the code of :data:`VALUE_MODULES` without docstrings and the training code's hash.

    The training code's hash is :func:`resnet_ode.training.runs.source_hash` (it covers
    the objectives, losses and classifier solver the landscapes evaluate).
    """
    from resnet_ode.training.runs import source_hash as training_hash

    here = Path(__file__).resolve().parent
    return code_digest(*(here / f"{name}.py" for name in sorted(VALUE_MODULES)), extra=training_hash())


def code_identity() -> str:
    """:func:`source_hash` with the numeric code paths: a plane's worker must compute with both equal."""
    from resnet_ode.util.provenance import numerics

    return hashlib.sha256((source_hash() + numerics()).encode()).hexdigest()
