"""Stored layer spectra (resnet_ode.studies.layer_spectra): the same bits as computing them, computed once, verified."""
import dataclasses

import numpy as np
import pytest

from resnet_ode.studies import depth_stability as ds
from resnet_ode.studies import layer_spectra, verification
from resnet_ode.studies.stability import network_spectra
from resnet_ode.training import published
from resnet_ode.training.runs import RunConfig, get_run

TINY = dict(nY=4, T=2.0, nt=3, nc=4, n_train_per_class=20, n_val_per_class=4, max_iter=3, cg_max_iter=5)
SAMPLE = {"n": 30, "highlight": 1, "seed": 3}


@pytest.fixture
def run(tmp_cache):
    return get_run(RunConfig(**TINY))


@pytest.fixture
def calls(count_computations):
    """Counts the computations of the stored analysis."""
    return count_computations("layer_spectra")


@pytest.mark.parametrize("initial", [False, True])
def test_stored_spectra_are_the_computed_ones_bit_for_bit_and_computed_once(run, calls, initial):
    X, _ = layer_spectra.training_sample(run.config.dataset().X_train, **SAMPLE)
    assert X.shape == (2, 30)
    theta = run.model.init_params(run.config.init_seed) if initial else run.theta
    direct = network_spectra(run.model, theta, X, keep=False)
    stored = layer_spectra.stored_spectra(run, SAMPLE, initial=initial, per_example=True)
    assert len(calls) == 1
    for field in layer_spectra.LAYER_FIELDS + layer_spectra.EXAMPLE_FIELDS:
        assert np.array_equal(getattr(stored, field), getattr(direct, field)), field
    assert (stored.h, stored.method, stored.n_samples, stored.eigvals) == (direct.h, direct.method, 30, None)
    assert stored.overall() == direct.overall()
    again = layer_spectra.stored_spectra(run, SAMPLE, initial=initial, per_example=True)
    assert len(calls) == 1 and np.array_equal(again.max_amp, stored.max_amp)     # read from the cache
    summary = layer_spectra.stored_spectra(run, SAMPLE, initial=initial)      # another entry: no per-example arrays
    assert len(calls) == 2 and summary.log_norm_product is None and summary.log_radius_product is None
    assert summary.overall() == direct.overall()
    assert summary.median_products() == stored.median_products() == direct.median_products()


def test_a_stored_spectrum_is_published_and_verified_by_recomputing_it(run, calls, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.setenv("RESNET_ODE_ROOT", str(root))
    monkeypatch.setenv("RESNET_ODE_READ_LOG", str(published.log_path("test")))
    run = get_run(run.config)   # read again, so that the read log names the run too
    layer_spectra.stored_spectra(run, SAMPLE, per_example=True)
    report = published.publish(published.read_logs())
    assert sorted(name.split("-")[0] for name in report.added) == ["analysis", "run"]
    (record,) = [r for r in published.entries() if r["kind"] == "analyses"]
    assert record["recipe"]["analysis"] == "layer_spectra"
    assert record["recipe"]["module"] == "resnet_ode.studies.layer_spectra"
    assert record["recipe"]["params"] == {**SAMPLE, "initial": False, "per_example": True}
    result = verification.verify_task(record, verification.task_inputs(record))
    assert result["identical"], result
    assert len(calls) == 2  # the verification computed it afresh


def test_the_chapter_refuses_a_sample_that_does_not_describe_its_examples(run):
    X, _ = layer_spectra.training_sample(run.config.dataset().X_train, **SAMPLE)
    with pytest.raises(ValueError, match="does not describe the examples X"):
        ds.initial_spectra({(3, 0): run}, {}, X, sample={**SAMPLE, "seed": 4})


def test_spectra_without_products_or_their_medians_say_so(run):
    X, _ = layer_spectra.training_sample(run.config.dataset().X_train, **SAMPLE)
    bare = dataclasses.replace(network_spectra(run.model, run.theta, X, keep=False), log_norm_product=None)
    with pytest.raises(ValueError, match="neither the per-example products nor their medians"):
        bare.median_products()
