"""What nbval compares cannot depend on the machine (issue 10, item 1).

* Committed notebooks carry no outputs in ``volatile`` cells (wall-clock
  times), and every such cell is tagged for nbval to ignore.
* No other output prints a duration or a path inside the checkout, and no glued
  float carries more than six significant digits.
* Durations scaled through ``RESNET_ODE_DURATION_SCALE`` (so that they gain
  digits) leave the nbval check green when they sit in a volatile cell, and
  turn it red when they leak into a compared output: the check can fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from resnet_ode.util.formatting import duration_scale, fmt_seconds, fmt_small, round_significant
from resnet_ode.book.notebooks import NBVAL_IGNORE, VOLATILE, clean_notebook
from resnet_ode.book.numbers import _rounded

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
DURATION = re.compile(r"\b\d+(\.\d+)? s\b")
FLOAT = re.compile(r"\d+\.\d+")


def _significant_digits(number: str) -> int:
    return len(number.replace(".", "").lstrip("0"))


def _text(out) -> str:
    if "text" in out:
        return "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
    return "\n".join(str(v) for k, v in out.get("data", {}).items() if "text" in k)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_outputs_are_machine_independent(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        assert cell.execution_count is not None, f"cell {i} was not executed (commit notebooks executed)"
        if VOLATILE in tags:
            assert NBVAL_IGNORE in tags, f"cell {i}: volatile but compared by nbval"
            assert not cell.outputs, f"cell {i}: volatile outputs are committed"
            continue
        for out in cell.outputs:
            if out.get("name") == "stderr":
                continue
            text = _text(out)
            assert not DURATION.search(text), f"cell {i} prints a duration outside a volatile cell: {text[:200]!r}"
            # a path inside the checkout differs between clones (3.4's last cell once showed write_numbers' return
            # value, the path of the numbers file, and failed nbval in CI's clone)
            assert str(ROOT) not in text, f"cell {i} shows a path of this checkout: {text[:200]!r}"
            if "papermill.record" in " ".join(out.get("data", {})):
                longest = max((_significant_digits(m) for m in FLOAT.findall(text)), default=0)
                assert longest <= 6, f"cell {i} glues a float with {longest} significant digits: {text!r}"


def test_duration_scale(monkeypatch):
    monkeypatch.delenv("RESNET_ODE_DURATION_SCALE", raising=False)
    assert duration_scale() == 1.0 and fmt_seconds(6.84) == "6.8 s"
    monkeypatch.setenv("RESNET_ODE_DURATION_SCALE", "1000")
    assert fmt_seconds(6.84) == "6840.0 s"
    for bad in ("0", "-2", "nan", "inf", "fast"):
        monkeypatch.setenv("RESNET_ODE_DURATION_SCALE", bad)
        with pytest.raises(ValueError, match="RESNET_ODE_DURATION_SCALE"):
            fmt_seconds(1.0)


def test_bounds_and_rounding():
    assert fmt_small(2.5e-9, 1e-6) == "< 1e-06"
    assert fmt_small(-3e-7, 1e-6) == "< 1e-06"
    assert fmt_small(0.0123456, 1e-6) == "0.012"
    assert fmt_small(1.47e-12, 1e-10, 3) == "< 1e-10"
    with pytest.raises(ValueError, match="floor"):
        fmt_small(1.0, 0.0)
    # Rounding, not truncation: a value on a digit boundary goes to the nearest.
    assert round_significant(0.23499999999999988, 6) == 0.235
    assert round_significant(0.48987499999999995, 6) == 0.489875
    assert round_significant(21.209338856796045, 6) == 21.2093
    assert _rounded({"a": [0.1 + 0.2, 3], "b": "x", "c": True}) == {"a": [0.3, 3], "b": "x", "c": True}


def _notebook(tmp_path: Path, time_tagged: bool) -> Path:
    """A notebook printing a result and a measured duration, executed and cleaned as the book's are."""
    from nbclient import NotebookClient

    timed = new_code_cell(
        "import time\nfrom resnet_ode.util.formatting import fmt_seconds\n"
        "t0 = time.perf_counter(); sum(range(10**5))\n"
        "print('took', fmt_seconds(time.perf_counter() - t0 + 6.0))",
        metadata={"tags": [VOLATILE]} if time_tagged else {})
    nb = new_notebook(cells=[new_code_cell("print(round(0.1 + 0.2, 4))"), timed])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env = {k: v for k, v in os.environ.items() if k != "RESNET_ODE_DURATION_SCALE"}
    old = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    path = tmp_path / f"timed-{'volatile' if time_tagged else 'compared'}.ipynb"
    nbformat.write(clean_notebook(nb), path)
    return path


def _nbval(path: Path, scale: str, in_repo: bool = False) -> subprocess.CompletedProcess:
    """nbval on one notebook in a fresh pytest, with the repository's settings or (outside it) none."""
    env = {**os.environ, "RESNET_ODE_DURATION_SCALE": scale, "RESNET_ODE_PROGRESS": "0"}
    config = [] if in_repo else ["--rootdir", str(path.parent), "-c", os.devnull]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--nbval",
         "--nbval-current-env", *config, str(path)],
        cwd=ROOT if in_repo else path.parent, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.processes
def test_scaled_durations_pass_nbval_only_in_volatile_cells(tmp_path):
    volatile = _notebook(tmp_path, time_tagged=True)
    nb = nbformat.read(volatile, as_version=4)
    assert nb.cells[1].outputs == [] and NBVAL_IGNORE in nb.cells[1].metadata["tags"]
    # Durations 1000 times longer (four more digits) than when the notebook was committed.
    result = _nbval(volatile, "1000")
    assert result.returncode == 0, result.stdout[-3000:]

    # The same duration in a compared cell: committed as "6.0 s", re-executed as "6000.x s".
    compared = _notebook(tmp_path, time_tagged=False)
    assert DURATION.search(_text(nbformat.read(compared, as_version=4).cells[1].outputs[0]))
    result = _nbval(compared, "1000")
    assert result.returncode != 0, "nbval did not notice a duration in a compared output"
    assert "took" in result.stdout


@pytest.mark.processes
def test_a_run_page_passes_nbval_with_scaled_durations():
    """A real page (its run comes from the cache after ``make book``; else it trains, a few seconds)."""
    page = ROOT / "book" / "chapter3" / "runs" / "state-layers-nY008.ipynb"
    nb = nbformat.read(page, as_version=4)
    assert any(VOLATILE in c.metadata.get("tags", []) for c in nb.cells), "the run page has no volatile cell"
    result = _nbval(page, "1000", in_repo=True)
    assert result.returncode == 0, result.stdout[-3000:]


def _numerics(env_changes: dict) -> dict:
    env = {**os.environ, **env_changes}
    for key, value in env_changes.items():
        if value is None:
            env.pop(key)
    code = ("import json; from resnet_ode.training.runs import code_identity, source_hash; "
            "from resnet_ode.util.provenance import numerics; "
            "print(json.dumps([numerics(), source_hash(), code_identity()]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    import json

    (paths, digest, identity) = json.loads(out)
    return {"paths": json.loads(paths), "hash": digest, "identity": identity}


@pytest.mark.processes
def test_numeric_code_paths_are_provenance_not_part_of_the_cache_key():
    """Other SIMD paths or OpenBLAS kernels (results differ in round-off) keep the key, so such a machine reads the
    published runs; they change the identity a worker must share, and they are recorded with every entry."""
    pinned = _numerics({"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell"})
    assert pinned["paths"]["numpy"]["tanh/dd"] == "X86_V3", pinned  # the AVX2 path make pins
    assert pinned["paths"]["openblas_coretype"] == "Haswell"
    other_blas = _numerics({"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Zen"})
    assert other_blas["hash"] == pinned["hash"]
    assert other_blas["identity"] != pinned["identity"]
    baseline = _numerics({"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
                          "OPENBLAS_CORETYPE": "Haswell"})
    assert baseline["paths"]["numpy"]["tanh/dd"] != "X86_V3", baseline
    assert baseline["hash"] == pinned["hash"] and baseline["identity"] != pinned["identity"]
