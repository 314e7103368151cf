"""Fixtures of the unit tests (notebook settings: the root conftest.py)."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A run cache of its own for one test."""
    monkeypatch.setenv("RESNET_ODE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
