"""The command line and the book-file machinery: validation first, atomic outputs, resumable sweeps."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from resnet_ode.book import cli, notebooks, sweeps
from resnet_ode.book.experiments import SWEEPS, chapter_parameters, notebook_parameters, state_layer_runs
from resnet_ode.book.bookcache import toc_entries
from resnet_ode.book.notebooks import execute_template, run_parameters
from resnet_ode.book.sweeps import update_toc
from resnet_ode.training.runs import RunConfig, cache_key

REPO = Path(__file__).resolve().parents[1]


def _forbid(monkeypatch, *names):
    def fail(*args, **kwargs):
        raise AssertionError("compute started")

    for name in names:
        monkeypatch.setattr(sweeps if hasattr(sweeps, name) else notebooks, name, fail)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["rerun", "3.1", "--set", "T=-1"], "T must be"),
        (["rerun", "3.1", "--set", "nY=1"], "depths"),
        (["run", "--set", "nY=1"], "nY must be"),
        (["rerun", "3.1", "--set", "integrator=rk5"], "integrator"),
        (["rerun", "3.1", "--set", "Tfinal=3"], "unknown parameter 'Tfinal'"),
        (["rerun", "3.1", "--param", "depths=[8, 16]"], "depths"),
        (["rerun", "3.1", "--param", "depth=[8, 16]"], "unknown parameter"),
        (["rerun", "3.9"], "unknown chapter"),
        (["run", "--set", "nt=1"], "nt must be"),
        (["run", "--set", "activation=sigmoid"], "activation"),
    ],
)
def test_bad_parameters_stop_before_any_compute(argv, needle, monkeypatch, capsys):
    _forbid(monkeypatch, "run_sweep", "execute_chapter", "execute_template")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err


def test_chapter_parameters_and_sweep_configs():
    params = chapter_parameters(os.path.join(os.path.dirname(__file__), "..", SWEEPS["3.1"].notebook))
    assert params["depths"] == [8, 16, 32, 64, 128, 256] and params["changes"] == {}
    configs = SWEEPS["3.1"].configs(params)
    assert [c.nY for c in configs] == params["depths"]
    assert configs == state_layer_runs()
    assert SWEEPS["3.1"].configs({"depths": [4, 8, 16, 32], "changes": {"T": 5.0}, "other": 1})[0].T == 5.0


def test_notebook_parameters_accept_only_literals():
    nb = new_notebook()
    cell = new_code_cell("a = 1\nb = [1, 2]  # comment")
    cell.metadata["tags"] = ["parameters"]
    inj = new_code_cell("a = 3")
    inj.metadata["tags"] = ["injected-parameters"]
    nb.cells = [cell, inj]
    assert notebook_parameters(nb) == {"a": 3, "b": [1, 2]}
    cell.source = "a = compute()"
    with pytest.raises(ValueError, match="literals"):
        notebook_parameters(nb)


def test_run_parameters_inject_only_differences():
    template = os.path.join(os.path.dirname(__file__), "..", "book", "templates", "peaks-run.ipynb")
    assert run_parameters(RunConfig(nY=8), template) == {"nY": 8}
    assert run_parameters(RunConfig(nY=8, T=10, cg_tol=0.1), template) == {"nY": 8, "T": 10.0, "options": {"cg_tol": 0.1}}


def test_update_toc_replaces_run_pages(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(textwrap.dedent("""\
        # a comment that must survive
        format: jb-book
        root: book/index
        parts:
          - caption: C
            chapters:
              - file: book/chapter3/state-layers
                title: "3.1"
                sections:
                  - file: book/chapter3/runs/state-layers-nY008
                  - file: book/chapter3/runs/state-layers-nY016
    """))
    configs = state_layer_runs([16, 32, 64, 128])
    stale = update_toc(SWEEPS["3.1"], configs, toc)
    assert stale == ["book/chapter3/runs/state-layers-nY008"]
    text = toc.read_text()
    assert text.startswith("# a comment that must survive")
    assert "state-layers-nY128" in text and "3.1 run: 128 state layers, seed 0" in text and "nY008" not in text
    # The same runs again: the file is unchanged (a rerun only touches its run entries).
    assert update_toc(SWEEPS["3.1"], configs, toc) == [] and toc.read_text() == text


def _notebook(path, code):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    params = new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# t"), params, new_code_cell(code)]
    nbformat.write(nb, path)


@pytest.mark.processes
def test_failed_execution_leaves_previous_output(tmp_path):
    template = tmp_path / "template.ipynb"
    out = tmp_path / "out.ipynb"
    _notebook(template, "print(x * 2)")
    execute_template(template, out, {"x": 21})
    assert "42" in out.read_text()
    _notebook(template, "raise RuntimeError('boom')")
    before = out.read_bytes()
    with pytest.raises(Exception, match="boom"):
        execute_template(template, out, {"x": 1})
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ipynb", "template.ipynb"]


TINY = dict(nY=5, T=2.0, nt=3, nc=4, n_train_per_class=200, n_val_per_class=4, optimizer="adam", objective="joint")


@pytest.mark.processes
def test_killed_run_leaves_no_entry_and_resume_redoes_only_it(tmp_cache):
    """A sweep killed in its second run: the first stays cached, nothing half-written, the rerun trains only the second."""
    # The first run is quick, the second long enough to be killed half-way.
    configs = [RunConfig(**TINY, max_iter=5), RunConfig(**TINY, max_iter=3000)]
    script = textwrap.dedent(f"""
        import sys
        from resnet_ode.training.runs import RunConfig, get_run
        configs = [RunConfig(**{TINY!r}, max_iter=m) for m in (5, 3000)]
        get_run(configs[0])
        print("first done", flush=True)
        get_run(configs[1])
    """)
    env = dict(os.environ, RESNET_ODE_CACHE=str(tmp_cache), RESNET_ODE_WORKERS="1")
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "first done"
    time.sleep(0.5)  # inside the second training run
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    entries = sorted(p.name for p in tmp_cache.glob("*.npz"))
    assert entries == [f"run-{cache_key(configs[0])}.npz"]
    assert not list(tmp_cache.glob(".*.tmp"))
    from resnet_ode.training import runs

    trained = []
    real_train = runs.train
    runs_train = lambda cfg, desc=None: trained.append(cfg) or real_train(cfg, desc)  # noqa: E731
    import unittest.mock

    with unittest.mock.patch.object(runs, "train", runs_train):
        results = runs.get_runs(configs)
    assert trained == [configs[1]]
    assert results[0].from_cache and not results[1].from_cache
    json.dumps(results[1].final())


def test_set_title_replaces_or_adds_the_page_heading():
    from resnet_ode.book.notebooks import set_title

    nb = new_notebook()
    nb.cells = [new_code_cell("x = 1"), new_markdown_cell("# Training run on Peaks\n\nSome text.")]
    set_title(nb, "3.1 run: 8 state layers, seed 0")
    assert nb.cells[1].source == "# 3.1 run: 8 state layers, seed 0\n\nSome text."
    nb.cells[1].source = "Text without a heading."
    set_title(nb, "A title")
    assert nb.cells[1].source == "# A title\n\nText without a heading."
    with pytest.raises(ValueError, match="title"):
        set_title(nb, "two\nlines")


def test_every_run_page_has_its_own_title_and_heading():
    """Prev/next links, tabs and search results name the run: titles differ, and each page's heading is its title."""
    pages = [(e["file"], e["title"]) for e in toc_entries(REPO / "_toc.yml")
             if e["file"].startswith("book/chapter3/runs/")]
    assert len(pages) >= 4
    titles = [t for _, t in pages]
    assert len(set(titles)) == len(titles), titles
    for file, title in pages:
        nb = nbformat.read(REPO / f"{file}.ipynb", as_version=4)
        heading = next(c for c in nb.cells if c.cell_type == "markdown").source.split("\n", 1)[0]
        assert heading == f"# {title}", file
        assert "seed" in title and title[:3] in ("3.1", "3.2", "3.3", "3.4"), title
