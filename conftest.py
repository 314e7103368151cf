"""pytest settings for the unit tests and the notebook checks (nbval) alike.

Progress bars write to stderr and carry timings: they are switched off for
the kernels pytest starts, and stderr outputs are not compared. Every other
output is, after the sanitisers in ``tests/nbval-sanitize.cfg`` (durations
and float noise only).
"""

import os

os.environ.setdefault("RESNET_ODE_PROGRESS", "0")


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
