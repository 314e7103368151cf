"""pytest settings for the unit tests and the notebook checks (nbval) alike.

Progress bars write to stderr and carry timings: they are switched off for
the kernels pytest starts, and stderr outputs are not compared. Every other
output is compared exactly, with no sanitiser, except those of cells tagged
``volatile`` (wall-clock times), which carry nbval's ``nbval-ignore-output``
tag (see ``resnet_ode.book.notebooks.clean_notebook``).
"""

import os

os.environ.setdefault("RESNET_ODE_PROGRESS", "0")
# The numeric code paths `make` pins (see the Makefile and resnet_ode.training.runs.numerics), for the
# kernels nbval starts also when pytest is called directly.
os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
