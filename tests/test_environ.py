"""``resnet_ode.util.environ.environment``: variables set for a block, then restored or removed."""

import os

import pytest

from resnet_ode.util.environ import environment


def test_variables_are_set_in_the_block_and_restored_after_it(monkeypatch):
    monkeypatch.setenv("RESNET_ODE_TEST_KEPT", "before")
    monkeypatch.setenv("RESNET_ODE_TEST_UNTOUCHED", "same")
    monkeypatch.delenv("RESNET_ODE_TEST_NEW", raising=False)
    with environment({"RESNET_ODE_TEST_KEPT": 3, "RESNET_ODE_TEST_NEW": "x", "RESNET_ODE_TEST_UNTOUCHED": None}):
        assert os.environ["RESNET_ODE_TEST_KEPT"] == "3" and os.environ["RESNET_ODE_TEST_NEW"] == "x"
        assert os.environ["RESNET_ODE_TEST_UNTOUCHED"] == "same"  # None leaves a variable as it is
    assert os.environ["RESNET_ODE_TEST_KEPT"] == "before" and "RESNET_ODE_TEST_NEW" not in os.environ
    assert os.environ["RESNET_ODE_TEST_UNTOUCHED"] == "same"


def test_variables_are_restored_when_the_block_raises(monkeypatch):
    monkeypatch.delenv("RESNET_ODE_TEST_NEW", raising=False)
    with pytest.raises(KeyboardInterrupt):
        with environment({"RESNET_ODE_TEST_NEW": "x"}):
            raise KeyboardInterrupt
    assert "RESNET_ODE_TEST_NEW" not in os.environ
