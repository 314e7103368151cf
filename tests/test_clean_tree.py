"""A rerun with other parameters followed by a rerun with the defaults restores every tracked file (issue 10, item 2).

The test works in a copy of the repository's tracked files, so the checkout is
never touched. Its runs come from the checkout's run cache (``make test``
builds the book first, so the default runs are there; otherwise they are
trained, which takes a few minutes). It executes the whole Chapter 3.2 page
twice through the ``resnet-ode`` command, so it is marked ``slow`` and
``processes``: ``make faults`` runs it, ``make unit`` and ``make test`` do not
(the commands and modules it goes through have tests of their own there:
``test_cli.py``, ``test_faults_commands.py``, ``test_book_execution.py``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("resnet-ode")

pytestmark = [pytest.mark.slow, pytest.mark.processes]


def _tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


def _snapshot(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` outside ``_build``."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "_build" not in p.relative_to(root).parts}


def _cli(copy: Path, *args: str) -> subprocess.CompletedProcess:
    from resnet_ode.util.paths import cache_dir

    env = {**os.environ, "RESNET_ODE_ROOT": str(copy), "RESNET_ODE_CACHE": str(cache_dir()),
           "RESNET_ODE_PROGRESS": "0"}
    env.pop("RESNET_ODE_DURATION_SCALE", None)
    result = subprocess.run([str(CLI), *args], cwd=copy, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"resnet-ode {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def test_rerun_then_defaults_restores_every_tracked_file(tmp_path):
    copy = tmp_path / "repo"
    for rel in _tracked():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, copy / rel)
    before = _snapshot(copy)

    _cli(copy, "rerun", "3.2", "--param", "layers=[2, 3]", "--param", "seeds=[0]", "--param", "secondary_seeds=[0]",
         "--param", "n_samples=200", "--set", "max_iter=2")
    changed = _snapshot(copy)
    assert changed != before
    assert "book/chapter3/runs/stability-L002-seed0.ipynb" in changed
    assert "book/chapter3/runs/stability-L008-seed0.ipynb" not in changed
    assert changed["_toc.yml"] != before["_toc.yml"]

    _cli(copy, "rerun", "3.2", "--defaults")
    after = _snapshot(copy)
    assert sorted(after) == sorted(before), "files added or removed"
    differ = [p for p in before if after[p] != before[p]]
    assert not differ, f"not restored byte for byte: {differ}"
