"""Stored toy landscapes of Chapter 3.4 (resnet_ode.studies.toy_landscapes.toy_landscape_grids): the computed bits, once, verified."""
import dataclasses

import numpy as np
import pytest

from resnet_ode.studies import memo, rkstudy, rktoy, toy_landscapes, verification
from resnet_ode.training import published

PARAMS = {"rk4_steps": 5, "ref_steps": 40, "n_grid": 11}


@pytest.fixture
def data():
    return rkstudy.make_toy_data(n_examples=4, seed=3)


@pytest.fixture
def calls(count_computations):
    """Counts the computations of the stored analysis."""
    return count_computations("toy_landscapes")


def test_stored_grids_are_the_computed_ones_bit_for_bit_and_computed_once(tmp_cache, data, calls):
    direct = toy_landscapes._landscape_grids(data, **PARAMS)
    stored = toy_landscapes.toy_landscape_grids(data, **PARAMS)
    assert len(calls) == 1 and calls[0]["data"] == data.recipe()
    assert set(stored) == set(direct) == {"t", "ref_train", "ref_test", "ref_check", "eff_train",
                                          *(f"{m}_{s}" for m in toy_landscapes.LANDSCAPE_METHODS for s in ("train", "test"))}
    for name, value in direct.items():
        assert np.array_equal(stored[name], value), name
    assert stored["ref_train"].shape == (11, 11) and stored["t"].shape == (11,)
    again = toy_landscapes.toy_landscape_grids(data, **PARAMS)
    assert len(calls) == 1 and np.array_equal(again["rk4_train"], stored["rk4_train"])    # read from the cache
    toy_landscapes.toy_landscape_grids(data, **{**PARAMS, "n_grid": 12})                         # another grid: another entry
    assert len(calls) == 2


def test_the_chapter_analysis_reads_the_same_numbers_from_the_cache(tmp_cache, data, calls):
    first = rktoy.equal_cost_landscapes(data, **PARAMS)
    second = rktoy.equal_cost_landscapes(data, **PARAMS)
    assert len(calls) == 1
    assert first.numbers["record"] == second.numbers["record"] and first.numbers["ref_check"] > 0
    for name in toy_landscapes.LANDSCAPE_METHODS:
        assert all(np.array_equal(a, b) for a, b in zip(first.arrays["land"][name], second.arrays["land"][name]))


def test_data_not_drawn_by_their_recipe_are_computed_and_not_stored(tmp_cache, data, calls):
    assert data.drawn_by_recipe()
    changed = dataclasses.replace(data, C=data.C + 1e-3)
    assert not changed.drawn_by_recipe()
    grids = toy_landscapes.toy_landscape_grids(changed, **PARAMS)
    assert calls == [] and not np.array_equal(grids["ref_train"], toy_landscapes._landscape_grids(data, **PARAMS)["ref_train"])
    with pytest.raises(ValueError, match="no trained runs"):
        toy_landscapes._toy_landscapes([object()], data.recipe(), **PARAMS)


def test_stored_grids_are_published_and_verified_by_recomputing_them(tmp_cache, data, calls, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.setenv("RESNET_ODE_ROOT", str(root))
    monkeypatch.setenv("RESNET_ODE_READ_LOG", str(published.log_path("test")))
    toy_landscapes.toy_landscape_grids(data, **PARAMS)
    report = published.publish(published.read_logs())
    assert [name.split("-")[0] for name in report.added] == ["analysis"]
    (record,) = published.entries()
    assert record["recipe"]["analysis"] == "toy_landscapes" and record["recipe"]["runs"] == []
    assert record["recipe"]["module"] == "resnet_ode.studies.toy_landscapes"
    assert record["recipe"]["params"] == {"data": data.recipe(), **PARAMS}
    result = verification.verify_task(record, verification.task_inputs(record))
    assert result["identical"], result
    assert len(calls) == 2  # the verification computed it afresh


def test_the_key_follows_the_code_that_computes_the_grids_not_the_tables_built_from_them():
    modules = memo.ANALYSES["toy_landscapes"].modules
    assert "studies/toy_landscapes.py" in modules and "studies/rkstudy.py" in modules
    assert not {"studies/rktoy.py", "studies/rkfigures.py"} & set(modules)
