"""Chapter parameters: every one has a check, the book's values pass, bad ones are refused naming the parameter."""

from pathlib import Path

import pytest

from resnet_ode.book.experiments import SWEEPS, chapter_parameters, notebook_parameters

REPO = Path(__file__).resolve().parents[1]


def _defaults(sweep):
    import nbformat

    return notebook_parameters(nbformat.read(REPO / sweep.notebook, as_version=4), tags=("parameters",))


@pytest.mark.parametrize("name", list(SWEEPS))
def test_every_parameter_of_every_chapter_is_checked_and_the_book_values_pass(name):
    sweep = SWEEPS[name]
    for params in (_defaults(sweep), chapter_parameters(REPO / sweep.notebook)):
        assert set(sweep.parameters) == set(params)
        assert sweep.validate(params) == sweep.configs(params)


@pytest.mark.parametrize("chapter, name, value, message", [
    ("3.4", "rk4_steps", -1, "Chapter 3.4: rk4_steps must be an integer in [1, 10000], got -1"),
    ("3.4", "rk4_steps", 2.5, "Chapter 3.4: rk4_steps must be an integer, got 2.5 (float)"),
    ("3.4", "coarse_rk4_steps", 0, "coarse_rk4_steps must be an integer in [1, 10000], got 0"),
    ("3.4", "ref_steps", 10**6, "ref_steps must be an integer in [1, 100000], got 1000000"),
    ("3.4", "toy_seed", -1, "toy_seed must be an integer >= 0, got -1"),
    ("3.4", "rk4_states", [1], "rk4_states must be a list of integers in [2, 25000]; 1 is not allowed"),
    ("3.4", "seeds", [], "seeds must be a list of integers >= 0, got []"),
    ("3.4", "max_iter", -5, "max_iter must be an integer in [0, 100000], got -5"),
    ("3.2", "n_samples", 0, "n_samples must be an integer in [1, 1000000], got 0"),
    ("3.2", "perturbation_eps", float("nan"), "perturbation_eps must be a finite real number in (0, 1], got nan"),
    ("3.2", "state_layer_depths", [8, 16], "state_layer_depths must be a list of at least 4 distinct integers"),
    ("3.2", "state_layer_samples", 10**9, "state_layer_samples must be an integer in [1, 1000000]"),
    ("3.2", "T", float("inf"), "T must be a finite real number in (0, 10000], got inf"),
    ("3.2", "layers", [8, 8], "layers must be a list of at least 2 distinct integers in [1, 99999], got [8, 8]"),
    ("3.2", "seeds", [0, 1], "secondary_seeds must be a subset of seeds=[0, 1] (each reference-CG network is "
                             "compared with the book's of the same seed), got [0, 1, 2, 3, 4]"),
    ("3.3", "points", 2, "points must be an integer in [3, 1001], got 2"),
    ("3.3", "thesis_depths", [8, 30], "thesis_depths must list at least 2 of depths=[4, 8, 20, 40], got [8, 30]"),
    ("3.3", "seeds", ["a"], "seeds must be a list of integers >= 0; 'a' is not allowed"),
    ("3.3", "depths", [4, 2000], "depths must be a list of at least 2 distinct integers in [1, 1000]; 2000"),
    ("3.1", "depths", "8, 16", "depths must be a list of at least 4 distinct integers in [2, 100000], got '8, 16'"),
    ("3.1", "changes", {"init_scale": 1e200}, "init_scale must be a finite real number in [0, 10], got 1e+200"),
    ("3.1", "changes", {"Tfinal": 3}, "changes: unknown run setting(s) ['Tfinal']"),
    ("3.1", "changes", [1], "changes must be a dict of run settings"),
    ("6", "study_file", "book/chapter6/none.toml", "study_file must be the path of an existing .toml or .yaml or "
                                                    ".yml or .json file, relative to the repository root"),
    ("6", "study_file", "README.md", "study_file must be the path of an existing .toml"),
    ("6", "table", "results.csv", "table must be the path of an existing .parquet file, relative to the repository "
                                  "root (or empty), got 'results.csv'"),
])
def test_bad_chapter_parameters_are_refused_naming_parameter_value_and_range(chapter, name, value, message):
    sweep = SWEEPS[chapter]
    params = {**_defaults(sweep), name: value}
    with pytest.raises((TypeError, ValueError)) as info:
        sweep.validate(params)
    assert message in str(info.value) and str(info.value).startswith(f"Chapter {chapter}: ")


def test_unknown_chapter_parameter_is_refused():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['rk4_step'\]"):
        SWEEPS["3.4"].validate({"rk4_step": 3})


def test_costs_follow_the_tableau_and_the_equal_cost_pairs_match():
    from resnet_ode.core.costs import equal_cost_states, evaluations, step_evaluations
    from resnet_ode.book.experiments import runge_kutta_runs
    from resnet_ode.core.integrators import METHODS
    from resnet_ode.core.costs import run_cost
    from resnet_ode.training.runs import RunConfig

    for name, method in METHODS.items():
        assert step_evaluations(name) == method.n_stages
        assert evaluations(RunConfig(nY=9, integrator=name)) == 8 * method.n_stages
    runs = runge_kutta_runs([5, 9], seeds=[0])
    for rk, eu in zip(runs[::2], runs[1::2]):
        assert (rk.integrator, eu.integrator) == ("rk4", "euler")
        assert evaluations(rk) == evaluations(eu) and eu.nY == equal_cost_states(rk.nY, step_evaluations("rk4"))
        assert run_cost(rk) == run_cost(eu)
    assert equal_cost_states(5, 2) == 9
    with pytest.raises(ValueError, match="nY"):
        equal_cost_states(1)


def test_changes_may_not_set_what_the_chapter_parameters_decide():
    from resnet_ode.book.experiments import landscape_runs, runge_kutta_runs, stability_runs, state_layer_runs

    for call, setting in [(lambda c: state_layer_runs([8, 16, 32, 64], c), "nY"),
                          (lambda c: stability_runs([8, 16], [0], 10.0, c), "control"),
                          (lambda c: runge_kutta_runs([5], [0], 3, c), "max_iter"),
                          (lambda c: landscape_runs([4, 8], 5.0, c), "T")]:
        assert call({"alpha": 1e-5})[0].alpha == 1e-5
        with pytest.raises(ValueError, match=f"changes: {setting} is"):
            call({setting: {"nY": 9, "control": "per_step", "max_iter": 2, "T": 3.0}[setting]})
        with pytest.raises(TypeError, match="changes must be a dict"):
            call([1])
        with pytest.raises(ValueError, match="unknown run setting"):
            call({"Tfinal": 3.0})


def test_chapter_6_trains_its_study_and_nothing_when_it_shows_another_table():
    from resnet_ode.studies.study import load_spec

    sweep = SWEEPS["6"]
    params = _defaults(sweep)
    runs = sweep.all_runs(params)
    assert sweep.configs(params) == ()                    # no run pages
    assert list(runs) == load_spec(REPO / params["study_file"]).configs()
    assert len(runs) == 36 and {r.max_iter for r in runs} == {20}
    from resnet_ode.book.experiments import beyond_runs

    assert beyond_runs(params["study_file"], table="_build/study/large/results.parquet") == ()


@pytest.mark.parametrize("name", list(SWEEPS))
def test_the_package_s_defaults_train_what_the_chapter_notebook_trains(name):
    """A chapter's training function called with no parameters gives the runs its notebook's defaults ask for (so
    the package and the notebook cannot drift apart, as when Chapter 3.1's book setting went to twelve seeds)."""
    sweep = SWEEPS[name]
    fn = sweep.trains or sweep.runs
    assert set(fn()) | set(sweep.configs(_defaults(sweep))) == set(sweep.all_runs(_defaults(sweep)))


def test_chapter_3_1_s_book_setting_has_the_twelve_seeds_the_power_calculation_asked_for():
    # (its other settings' five seeds: test_book_execution)
    from resnet_ode.book.experiments import STATE_LAYER_SEEDS

    assert _defaults(SWEEPS["3.1"])["seeds"] == list(STATE_LAYER_SEEDS) == list(range(12))
