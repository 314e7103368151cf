"""The HTML book is built again only when something it is built from changed (resnet_ode.book.htmlbuild)."""
import subprocess
import sys

import pytest

from resnet_ode.book import htmlbuild


@pytest.fixture
def repo(tmp_path):
    """A small git checkout with a page, an executed notebook in the execution cache and a fake build command."""
    root = tmp_path / "book-repo"
    (root / "book").mkdir(parents=True)
    (root / "book" / "page.md").write_text("# A page\n")
    (root / ".gitignore").write_text("_build/\n")
    cache = root / "_build" / ".jupyter_cache" / "executed"
    cache.mkdir(parents=True)
    (cache / "nb.ipynb").write_text("{}")
    (root / "_build" / ".jupyter_cache" / "global.db").write_bytes(b"read at 10:00")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


def _command(status=0):
    """A build command that writes index.html and counts its calls."""
    script = ("import pathlib, sys; p = pathlib.Path('_build/html'); p.mkdir(parents=True, exist_ok=True); "
              f"(p / 'index.html').write_text('built'); open('_build/calls', 'a').write('x'); sys.exit({status})")
    return [sys.executable, "-c", script]


def _calls(root):
    return len((root / "_build" / "calls").read_text()) if (root / "_build" / "calls").exists() else 0


def test_a_second_build_with_nothing_changed_builds_nothing(repo, capsys):
    assert htmlbuild.build(root=repo, command=_command()) is True
    assert htmlbuild.is_current(repo)
    assert htmlbuild.build(root=repo, command=_command()) is False
    assert _calls(repo) == 1 and "HTML book current" in capsys.readouterr().out
    assert htmlbuild.build(force=True, root=repo, command=_command()) is True and _calls(repo) == 2


@pytest.mark.parametrize("change", ["tracked page", "new untracked page", "executed notebook", "environment",
                                    "output removed"])
def test_a_change_to_anything_the_build_reads_builds_again(repo, change, monkeypatch):
    htmlbuild.build(root=repo, command=_command())
    calls = _calls(repo)
    if change == "tracked page":
        (repo / "book" / "page.md").write_text("# A page, edited\n")
    elif change == "new untracked page":
        (repo / "book" / "new.md").write_text("# New\n")
    elif change == "executed notebook":
        (repo / "_build" / ".jupyter_cache" / "executed" / "nb.ipynb").write_text('{"cells": []}')
    elif change == "environment":
        monkeypatch.setenv("OPENBLAS_CORETYPE", "SomethingElse")
    else:
        (repo / "_build" / "html" / "index.html").unlink()
    assert not htmlbuild.is_current(repo)
    assert htmlbuild.build(root=repo, command=_command()) is True and _calls(repo) == calls + 1


def test_what_the_build_does_not_read_changes_nothing(repo):
    htmlbuild.build(root=repo, command=_command())
    (repo / "_build" / ".jupyter_cache" / "global.db").write_bytes(b"read at 11:00")   # the cache's database
    (repo / "_build" / "screenshots").mkdir()
    (repo / "_build" / "screenshots" / "page.png").write_bytes(b"png")                 # an output of the tests
    (repo / "book" / "page.md").write_text("# A page\n")                               # the same bytes again
    assert htmlbuild.is_current(repo)


def test_a_failed_build_records_nothing_and_the_next_one_builds(repo):
    htmlbuild.build(root=repo, command=_command())
    (repo / "book" / "page.md").write_text("# changed\n")
    with pytest.raises(subprocess.CalledProcessError):
        htmlbuild.build(root=repo, command=_command(status=1))
    assert not (repo / htmlbuild.RECORD).exists() and not htmlbuild.is_current(repo)
    assert htmlbuild.build(root=repo, command=_command()) is True
