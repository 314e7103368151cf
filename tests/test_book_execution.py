"""Training every chapter's runs in one pool, and executing the book's notebooks in parallel for Jupyter Book."""

from pathlib import Path

import nbformat
import pytest

from resnet_ode.book import bookcache
from resnet_ode.book.executors import LocalPool
from resnet_ode.core.costs import run_cost
from resnet_ode.training.cache import RUNS
from resnet_ode.book.experiments import (CODE_NT, REFERENCE_CG, SEEDS, SWEEPS, state_layer_runs, state_layer_trains,
                                    stability_trains)
from resnet_ode.training.runs import RunConfig, cache_key, cached_result
from resnet_ode.training.tasks import train_runs

REPO = Path(__file__).resolve().parents[1]


# -- which runs a chapter trains ---------------------------------------------------------------------


def test_chapter_3_1_trains_every_seed_both_solves_and_the_codes_nt():
    depths, seeds = [8, 16, 32, 64], [0, 1, 2]
    runs = state_layer_trains(depths, {}, seeds, secondary_seeds=[0, 1])
    book = state_layer_runs(depths, {}, seeds)
    assert set(book) <= set(runs) and len(book) == 12
    assert [c.init_seed for c in book] == [0] * 4 + [1] * 4 + [2] * 4          # by seed, then by depth
    ref = [c for c in runs if c.cg_tol == REFERENCE_CG["cg_tol"] and c.cg_max_iter == REFERENCE_CG["cg_max_iter"]]
    assert sorted({c.init_seed for c in ref}) == [0, 1]
    code = [c for c in runs if c.nt == CODE_NT]
    assert sorted({c.nY for c in code}) == depths and sorted({c.init_seed for c in code}) == [0, 1]
    # By default the reference-CG and code-nt runs and the depth-against-T grid have five seeds.
    defaults = state_layer_trains(depths, {})
    for chosen in ([c for c in defaults if c.cg_tol == REFERENCE_CG["cg_tol"]], [c for c in defaults if c.nt == CODE_NT],
                   [c for c in defaults if c.T != 20.0]):
        assert chosen and sorted({c.init_seed for c in chosen}) == list(SEEDS) == [0, 1, 2, 3, 4]
    runs = state_layer_trains(depths, {}, seeds)
    # The pages are the first seed's runs; all_runs lists them first and has no repeats.
    sweep = SWEEPS["3.1"]
    params = {"depths": depths, "seeds": seeds, "code_nt": 8, "changes": {}}
    pages = sweep.configs(params)
    assert pages == state_layer_runs(depths, {}, [0])
    everything = sweep.all_runs(params)
    assert everything[: len(pages)] == pages and len(set(everything)) == len(everything)
    assert set(everything) == set(runs)


def test_chapter_3_2_trains_the_chapter_3_1_networks_it_analyses():
    runs = stability_trains(layers=[8, 16], seeds=[0, 1, 2], state_layer_depths=[8, 16, 32, 64],
                            secondary_seeds=[0, 1])
    assert set(state_layer_runs([8, 16, 32, 64])) <= set(runs)
    ref = [c for c in runs if c.cg_max_iter == REFERENCE_CG["cg_max_iter"] and c.T == 10.0]
    book = [c for c in runs if c.cg_max_iter != REFERENCE_CG["cg_max_iter"] and c.T == 10.0]
    assert len(ref) == 4 and sorted({c.init_seed for c in ref}) == [0, 1]
    assert len(book) == 6 and sorted({c.init_seed for c in book}) == [0, 1, 2]
    # By default: the book setting's 24 seeds, the reference CG's five.
    defaults = [c for c in stability_trains() if c.T == 10.0]
    assert sorted({c.init_seed for c in defaults if c.cg_max_iter == REFERENCE_CG["cg_max_iter"]}) == list(SEEDS)
    assert sorted({c.init_seed for c in defaults if c.cg_max_iter != REFERENCE_CG["cg_max_iter"]}) == list(range(24))


def test_seed_and_nt_are_chapter_parameters_not_changes():
    with pytest.raises(ValueError, match="init_seed is set by the chapter parameter seeds"):
        state_layer_runs([8, 16, 32, 64], {"init_seed": 3})
    with pytest.raises(ValueError, match="Chapter 3.1: code_nt must be an integer in \\[2, 100000\\], got 1"):
        SWEEPS["3.1"].validate({"depths": [8, 16, 32, 64], "seeds": [0], "code_nt": 1, "changes": {}})


# -- training in a pool ---------------------------------------------------------------------------------


def _tiny(**changes):
    return RunConfig(**{"nY": 3, "nt": 2, "T": 1.0, "max_iter": 1, "n_train_per_class": 4, "n_val_per_class": 2,
                        **changes})


def test_train_runs_trains_what_is_missing_in_parallel_and_caches_it(tmp_cache):
    configs = [_tiny(init_seed=s) for s in range(3)]
    assert train_runs(LocalPool(1), configs[:1]) == 1
    assert train_runs(LocalPool(2), configs + configs) == 2      # repeats once, the cached one not again
    assert all(cached_result(c) is not None for c in configs)
    assert train_runs(LocalPool(2), configs) == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_run_stops_no_other_is_named_and_caches_nothing(tmp_cache, jobs):
    bad = _tiny(init_seed=4)
    object.__setattr__(bad, "init_scale", 1e200)   # RunConfig refuses it; forced to reach the training-time check
    ok = [_tiny(init_seed=5), _tiny(init_seed=6)]
    with pytest.raises(FloatingPointError) as info:
        train_runs(LocalPool(jobs), [bad, *ok])
    assert not RUNS.path(cache_key(bad)).exists()
    assert all(cached_result(c) is not None for c in ok)   # the others ran to their end and were stored
    assert info.value.__notes__ == [f"training runs: call 1 of 3 ({bad.label()}) raised this; every other call ran "
                                    "to its end and its result was kept"]


def test_run_cost_orders_longest_first():
    assert run_cost(_tiny(nY=65)) > run_cost(_tiny(nY=9))
    assert run_cost(_tiny(nY=9, integrator="rk4")) == 4 * run_cost(_tiny(nY=9))


# -- executing the book's notebooks -------------------------------------------------------------------------


def test_toc_lists_every_notebook_and_conclusions_run_last():
    paths = bookcache.toc_notebooks()
    rel = [str(p.relative_to(REPO)) for p in paths]
    assert "book/chapter3/state-layers.ipynb" in rel and "book/chapter4/conclusions.ipynb" in rel
    assert all(p.suffix == ".ipynb" and p.is_file() for p in paths)
    stages = bookcache.execution_stages(paths)
    assert [p.name for p in stages[-1]] == ["conclusions.ipynb"]
    assert sum(len(s) for s in stages) == len(paths)


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, path)
    return path


@pytest.mark.processes
def test_execute_into_book_cache_stores_outputs_jupyter_book_matches(tmp_path):
    from jupyter_cache import get_cache

    a = _notebook(tmp_path / "a.ipynb", "from pathlib import Path\nPath('a.txt').write_text('1')\nprint(6 * 7)")
    b = _notebook(tmp_path / "b.ipynb", "print(open('a.txt').read())  # read_numbers( runs after a")
    done = bookcache.execute_into_book_cache([b, a], tmp_path / "cache", jobs=2)
    assert done == [a, b]                                        # b reads what a wrote, so it runs later
    cache = get_cache(str(tmp_path / "cache"))
    for path, text in ((a, "42\n"), (b, "1\n")):
        record = cache.match_cache_notebook(nbformat.read(path, as_version=4))   # as MyST-NB looks it up
        out = cache.get_cache_bundle(record.pk).nb.cells[0].outputs
        assert out[0]["text"] == text


@pytest.mark.processes
def test_execute_into_book_cache_names_the_notebook_that_raises(tmp_path):
    good = _notebook(tmp_path / "good.ipynb", "x = 1")
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('broken on purpose')")
    with pytest.raises(RuntimeError, match="bad.ipynb raised an exception:(.|\\n)*broken on purpose"):
        bookcache.execute_into_book_cache([good, bad], tmp_path / "cache", jobs=2)


@pytest.mark.processes
def test_execute_into_book_cache_never_empties_a_folder_it_did_not_write(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    nb = _notebook(tmp_path / "a.ipynb", "x = 1")
    with pytest.raises(ValueError, match="notes is not a Jupyter Book execution cache"):
        bookcache.execute_into_book_cache([nb], mine)
    assert (mine / "keep.txt").read_text() == "mine"
    # A real cache (or no folder yet) is emptied and refilled.
    bookcache.execute_into_book_cache([nb], tmp_path / "cache", jobs=1)
    bookcache.execute_into_book_cache([nb], tmp_path / "cache", jobs=1)
    assert (tmp_path / "cache" / "global.db").is_file()


@pytest.mark.processes
def test_execute_book_refuses_a_foreign_cache_folder_before_executing(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "index.md").write_text("# mine")
    env = dict(os.environ, RESNET_ODE_ROOT=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "resnet_ode.book.cli", "execute-book", "--cache", "book"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "error: --cache: " in done.stderr and "book is not a Jupyter Book execution cache" in done.stderr
    assert (tmp_path / "book" / "index.md").read_text() == "# mine"
