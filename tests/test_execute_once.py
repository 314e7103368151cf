"""Each notebook executed once per command (issue 21, items 7 and 8).

``execute-book`` executes only the notebooks whose stamp changed (their code
cells, the package code, the environment, the key numbers they read) and keeps
the executed copies; ``make test`` compares those copies with the committed
notebooks by nbval's rules (``--nbval-executed``, the repository's
``conftest.py``) instead of executing every notebook a second time. Speed is
measured by counting executions: every test notebook appends a line to a log
file when its kernel runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from resnet_ode.book import bookcache, cli, executors

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository root of its own (``RESNET_ODE_ROOT``): its notebooks, its ``_build/numbers``."""
    monkeypatch.setenv("RESNET_ODE_ROOT", str(tmp_path))
    monkeypatch.delenv("RESNET_ODE_TMPDIR", raising=False)
    (tmp_path / "book").mkdir()
    return tmp_path


def _notebook(path, *sources, outputs=None):
    """A notebook whose first cell logs its execution to ``executions.log`` in the repository."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    log = f"_ = open({str(path.parent.parent / 'executions.log')!r}, 'a').write({path.name!r} + '\\n')"
    nb.cells = [nbformat.v4.new_markdown_cell("# A page"), nbformat.v4.new_code_cell(log)]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
    for cell, outs in zip(nb.cells[2:], outputs or []):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in outs]
    for k, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = k + 1
    nbformat.write(nb, path)
    return path


def _executions(repo) -> list[str]:
    log = repo / "executions.log"
    lines = log.read_text().split() if log.is_file() else []
    log.unlink(missing_ok=True)
    return sorted(lines)


def _execute(repo, paths):
    return bookcache.execute_into_book_cache(paths, repo / "_build" / "cache", jobs=2)


def test_a_second_execution_with_nothing_changed_executes_nothing(repo):
    a = _notebook(repo / "book" / "a.ipynb", "print(6 * 7)")
    b = _notebook(repo / "book" / "b.ipynb", "print('b')")
    assert sorted(_execute(repo, [a, b])) == [a, b]
    assert _executions(repo) == ["a.ipynb", "b.ipynb"]
    assert _execute(repo, [a, b]) == [] and _executions(repo) == []
    # What Jupyter Book looks up is still there: the build renders these outputs.
    from jupyter_cache import get_cache

    cache = get_cache(str(repo / "_build" / "cache"))
    record = cache.match_cache_notebook(nbformat.read(a, as_version=4))
    assert cache.get_cache_bundle(record.pk).nb.cells[1].outputs[0]["text"] == "42\n"
    # The Markdown of a page is not executed: editing it executes nothing.
    nb = nbformat.read(b, as_version=4)
    nb.cells[0].source = "# Another heading"
    nbformat.write(nb, b)
    assert _execute(repo, [a, b]) == [] and _executions(repo) == []
    # --force executes every notebook.
    assert len(bookcache.execute_into_book_cache([a, b], repo / "_build" / "cache", jobs=1, force=True)) == 2
    assert _executions(repo) == ["a.ipynb", "b.ipynb"]


def test_a_changed_notebook_re_executes_exactly_that_notebook(repo):
    a = _notebook(repo / "book" / "a.ipynb", "print(6 * 7)")
    b = _notebook(repo / "book" / "b.ipynb", "print('b')")
    _execute(repo, [a, b])
    _executions(repo)
    nb = nbformat.read(a, as_version=4)
    nb.cells[2].source = "print(6 * 8)"
    nbformat.write(nb, a)
    assert _execute(repo, [a, b]) == [a] and _executions(repo) == ["a.ipynb"]
    copy, why = bookcache.executed_copy(a, repo / "_build" / "cache")
    assert why == "" and copy.cells[2].outputs[0]["text"] == "48\n"
    # A removed executed copy, or a Jupyter cache that lost the notebook, executes it again.
    bookcache._copy_path(bookcache.store_dir(repo / "_build" / "cache"), "book/b.ipynb").unlink()
    assert _execute(repo, [a, b]) == [b] and _executions(repo) == ["b.ipynb"]


def test_a_changed_package_re_executes_every_notebook(repo, monkeypatch):
    a = _notebook(repo / "book" / "a.ipynb", "print(1)")
    b = _notebook(repo / "book" / "b.ipynb", "print(2)")
    _execute(repo, [a, b])
    _executions(repo)
    digest = bookcache.code_digest
    monkeypatch.setattr(bookcache, "code_digest", lambda package=None: "other code")
    assert bookcache.executed_copy(a, repo / "_build" / "cache")[1].endswith("run `resnet-ode execute-book` "
                                                                             "(make book) again")
    assert sorted(_execute(repo, [a, b])) == [a, b] and _executions(repo) == ["a.ipynb", "b.ipynb"]
    # The digest covers every file of the package, docstrings and data included.
    pkg = repo / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "sub" / "m.py").write_text('"""Doc."""\nx = 1\n')
    before = digest(pkg)
    (pkg / "sub" / "m.py").write_text('"""Other doc."""\nx = 1\n')
    edited = digest(pkg)
    assert edited != before
    (pkg / "sub" / "__pycache__").mkdir()
    (pkg / "sub" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"compiled")
    assert digest(pkg) == edited                 # compiled files are not the code


def test_a_notebook_reading_numbers_runs_again_when_they_change(repo):
    numbers = repo / "_build" / "numbers"
    write = ("import json, pathlib\np = pathlib.Path({!r})\np.mkdir(parents=True, exist_ok=True)\n"
             "(p / 'chapter-9.json').write_text(json.dumps({{'x': {}}}))")
    a = _notebook(repo / "book" / "a.ipynb", write.format(str(numbers), 1))
    b = _notebook(repo / "book" / "b.ipynb", f"import json  # read_numbers( of chapter 9\n"
                                             f"print(json.load(open({str(numbers / 'chapter-9.json')!r}))['x'])")
    assert _execute(repo, [b, a]) == [a, b]                     # b reads what a wrote: it runs after a
    _executions(repo)
    nb = nbformat.read(a, as_version=4)
    nb.cells[2].source = write.format(str(numbers), 1) + "  # the same number"
    nbformat.write(nb, a)
    assert _execute(repo, [a, b]) == [a] and _executions(repo) == ["a.ipynb"]
    nb.cells[2].source = write.format(str(numbers), 2)
    nbformat.write(nb, a)
    assert _execute(repo, [a, b]) == [a, b] and _executions(repo) == ["a.ipynb", "b.ipynb"]
    assert bookcache.executed_copy(b, repo / "_build" / "cache")[0].cells[2].outputs[0]["text"] == "2\n"
    # Numbers edited or removed by hand: every notebook again, so that the skipped ones write theirs.
    (numbers / "chapter-9.json").unlink()
    assert _execute(repo, [a, b]) == [a, b]


def test_a_notebook_reading_numbers_and_writing_its_own_is_current_after_one_execution(repo):
    """Chapter 4 reads Chapter 3's numbers and writes its own: one build leaves its executed copy current."""
    numbers = repo / "_build" / "numbers"
    write = ("import json, pathlib\np = pathlib.Path({!r})\np.mkdir(parents=True, exist_ok=True)\n"
             "(p / 'chapter-{}.json').write_text(json.dumps({{'x': {}}}))")
    a = _notebook(repo / "book" / "a.ipynb", write.format(str(numbers), 9, 1))
    b = _notebook(repo / "book" / "b.ipynb", "# read_numbers(\ndef write_numbers(chapter, x): pass\n"
                                             "write_numbers('8', 0)\n" + write.format(str(numbers), 8, 5))
    assert bookcache.written_numbers(nbformat.read(b, as_version=4)) == {"8"}
    assert _execute(repo, [a, b]) == [a, b]
    copy, why = bookcache.executed_copy(b, repo / "_build" / "cache")
    assert why == "" and copy is not None
    assert _execute(repo, [a, b]) == []
    # What it reads still counts: a changed chapter 9 executes it again.
    nb = nbformat.read(a, as_version=4)
    nb.cells[2].source = write.format(str(numbers), 9, 2)
    nbformat.write(nb, a)
    assert _execute(repo, [a, b]) == [a, b]


def test_a_notebook_that_raises_fails_and_is_executed_again_next_time(repo):
    good = _notebook(repo / "book" / "good.ipynb", "x = 1")
    bad = _notebook(repo / "book" / "bad.ipynb", "raise ValueError('broken on purpose')")
    with pytest.raises(RuntimeError, match="bad.ipynb raised an exception:(.|\\n)*broken on purpose"):
        _execute(repo, [good, bad])
    _executions(repo)
    assert bookcache.executed_copy(bad, repo / "_build" / "cache")[0] is None
    with pytest.raises(RuntimeError, match="broken on purpose"):
        _execute(repo, [good, bad])
    assert "bad.ipynb" in _executions(repo)


# -- make test: nbval's comparison on the executed copies ------------------------------------------------------


def _compare(repo, *paths) -> subprocess.CompletedProcess:
    """pytest --nbval --nbval-executed over ``paths``, with the repository's conftest.py as a plugin."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "conftest",
         "--rootdir", str(repo), "-c", os.devnull, "--nbval", "--nbval-current-env",
         "--nbval-executed", str(repo / "_build" / "cache"), *map(str, paths)],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def test_compared_outputs_must_equal_the_committed_ones_without_executing_again(repo):
    same = _notebook(repo / "book" / "same.ipynb", "print(6 * 7)", "import sys; print('progress', file=sys.stderr)",
                     outputs=[["42\n"], []])
    differs = _notebook(repo / "book" / "differs.ipynb", "print(6 * 7)", outputs=[["41\n"]])
    volatile = _notebook(repo / "book" / "volatile.ipynb", "import time; print(time.time())", outputs=[[]])
    nb = nbformat.read(volatile, as_version=4)
    nb.cells[2].metadata["tags"] = ["volatile", "nbval-ignore-output"]
    nbformat.write(nb, volatile)
    _execute(repo, [same, differs, volatile])
    _executions(repo)

    ok = _compare(repo, same, volatile)
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert "5 passed" in ok.stdout                                   # every code cell is an item, as with nbval
    bad = _compare(repo, differs)
    assert bad.returncode == 1 and "Cell outputs differ" in bad.stdout and "41" in bad.stdout, bad.stdout[-3000:]
    assert _executions(repo) == []                                   # the comparison executed nothing

    # A notebook changed after its execution is not compared with stale outputs: it fails, naming the command.
    nb = nbformat.read(same, as_version=4)
    nb.cells[2].source = "print(6 * 7)  # changed"
    nbformat.write(nb, same)
    stale = _compare(repo, same)
    assert stale.returncode == 1 and "run `resnet-ode execute-book` (make book) again" in stale.stdout
    never = _notebook(repo / "book" / "never.ipynb", "print(1)", outputs=[["1\n"]])
    missing = _compare(repo, never)
    assert missing.returncode == 1 and "has no executed copy" in missing.stdout


# -- all cores by default ------------------------------------------------------------------------------------


def test_workers_per_job_fit_the_cores():
    assert executors.workers_per_job(2, cores=2) == 1
    assert executors.workers_per_job(4, cores=16) == 4
    assert executors.workers_per_job(16, cores=16) == 1
    assert executors.workers_per_job(3, cores=2) == 1           # at least one
    if hasattr(os, "sched_getaffinity"):
        assert executors.available_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("command, argv", [("cmd_train", ["train", "all"]), ("cmd_sweep", ["sweep", "all"]),
                                           ("cmd_study", ["study"]), ("cmd_rerun", ["rerun", "3.1"]),
                                           ("cmd_execute_book", ["execute-book"])])
def test_jobs_default_to_the_cores(command, argv, monkeypatch):
    monkeypatch.setattr(executors, "available_cores", lambda: 7)
    seen = []
    monkeypatch.setattr(cli, command, lambda args: seen.append(args.jobs))
    assert cli.main(argv) == 0 and seen == [7]
    assert cli.main([*argv, "--jobs", "3"]) == 0 and seen == [7, 3]


def test_state_file_is_json_with_a_stamp_per_notebook(repo):
    a = _notebook(repo / "book" / "a.ipynb", "print(1)")
    _execute(repo, [a])
    state = json.loads((bookcache.store_dir(repo / "_build" / "cache") / "stamps.json").read_text())
    assert set(state["notebooks"]) == {"book/a.ipynb"}
    assert state["notebooks"]["book/a.ipynb"]["stamp"] == bookcache.notebook_stamp(
        nbformat.read(a, as_version=4), bookcache.current_base())


def test_each_notebook_keeps_its_own_read_log_until_it_is_executed_again(repo, monkeypatch):
    """What the book reads is the union of the notebooks' last executions: a notebook not executed again keeps its
    log, one executed again replaces it (a build that executes nothing must not lose what the book reads)."""
    from resnet_ode.training import published

    logs = repo / "_build" / "reads" / "notebooks"
    monkeypatch.setenv(bookcache.READ_LOGS_ENV, str(logs))
    note = ("from resnet_ode.training.cache import RUNS, note_read\n"
            "note_read(RUNS, {key!r}, 'published')")
    a = _notebook(repo / "book" / "a.ipynb", note.format(key="a" * 32))
    b = _notebook(repo / "book" / "b.ipynb", note.format(key="b" * 32))
    assert sorted(_execute(repo, [a, b])) == [a, b]
    both = {("runs", "a" * 32), ("runs", "b" * 32)}
    assert published.read_logs(logs.parent).keys == both
    assert _execute(repo, [a, b]) == []
    assert published.read_logs(logs.parent).keys == both  # nothing executed, nothing lost
    _notebook(b, note.format(key="c" * 32))
    assert _execute(repo, [a, b]) == [b]
    assert published.read_logs(logs.parent).keys == {("runs", "a" * 32), ("runs", "c" * 32)}


def test_a_first_build_whose_only_notebook_raises_leaves_a_cache_the_next_build_accepts(repo):
    """Nothing stored before the error used to leave the folder without global.db: the next build refused it as
    'not a Jupyter Book execution cache' (and the test above failed whenever the bad notebook finished first)."""
    bad = _notebook(repo / "book" / "bad.ipynb", "raise ValueError('broken on purpose')")
    for _ in range(2):
        with pytest.raises(RuntimeError, match="broken on purpose"):
            _execute(repo, [bad])
