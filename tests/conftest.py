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


def pytest_configure(config):
    # Registered here rather than in pyproject.toml, whose change would make `make` reinstall .venv.
    config.addinivalue_line("markers", "slow: end to end over a whole chapter page with the book's runs; "
                                       "`make test` runs it, `make unit` skips it")
