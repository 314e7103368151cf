"""Where a result was computed: the numeric code paths and the machine, recorded as provenance.

Training is chaotic in round-off: 40 Gauss-Newton iterations turn a
difference in the last bit of ``tanh`` into a difference in the second digit
of the final objective. Which bits come out depends on the SIMD code path
numpy dispatches to for each ufunc (AVX-512 on one machine, AVX2 on another)
and on the OpenBLAS kernels (``OPENBLAS_CORETYPE``). ``make`` pins both on
x86-64. These facts are recorded with every cache entry and in the manifest
of the published entries (:mod:`resnet_ode.training.cache`), not in the
keys: a reader on other hardware reads the book's published entries, and
``resnet-ode verify`` says whether a recomputation can be compared bit for
bit (same code paths) or only to within the verdicts' intervals.
"""

from __future__ import annotations

import json
import os
import platform
from functools import lru_cache

#: numpy ufuncs whose SIMD code path results depend on.
UFUNCS = "tanh|exp|log|add|subtract|multiply|divide|maximum|sqrt|square"


@lru_cache(maxsize=1)
def numerics() -> str:
    """The numeric code paths that decide a computation's last bits, as one JSON string (sorted keys).

    ``{"numpy": {"tanh/float64": "AVX2", ...}, "openblas_coretype": "Haswell"}``.
    """
    from numpy.lib.introspect import opt_func_info

    paths = opt_func_info(func_name=UFUNCS, signature="float64")
    current = {f"{name}/{sig}": info["current"] for name, sigs in sorted(paths.items())
               for sig, info in sorted(sigs.items())}
    blas = os.environ.get("OPENBLAS_CORETYPE", "auto")
    return json.dumps({"numpy": current, "openblas_coretype": blas}, sort_keys=True)


@lru_cache(maxsize=1)
def machine() -> dict:
    """The processor and system a result was computed on (no host name: it identifies a person's machine)."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {"system": platform.system(), "machine": platform.machine(), "processor": model or platform.processor(),
            "cores": os.cpu_count() or 1, "python": platform.python_version()}


def record() -> dict:
    """Provenance of an entry stored now: the numeric code paths and the machine."""
    return {"numerics": json.loads(numerics()), "machine": machine()}
