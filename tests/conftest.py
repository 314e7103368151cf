"""Shared test settings.

Notebook checks (nbval): progress bars write to stderr and carry timings, so
stderr outputs are not compared; every other output is, after the sanitiser
in ``tests/nbval-sanitize.cfg`` (durations only).
"""

import os

import numpy as np
import pytest

os.environ.setdefault("RESNET_ODE_PROGRESS", "0")


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A run cache of its own for one test."""
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
