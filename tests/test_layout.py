"""The package's layers: each imports only from the layers below it, and no module is long.

Layers, lowest first (Chapter 5 draws them): ``util`` (validation, paths,
atomic files, progress bars, number formatting), ``core`` (the numerics),
``training`` (run settings, training, the cache), ``studies`` (the analyses
of Chapters 3 and 4) and ``book`` (the chapters' runs, notebooks, numbers and
the command line).
"""

from pathlib import Path

import pytest

from resnet_ode.util.codehash import imported_files as _imported_files, package_root as _package_root

LAYERS = ["util", "core", "training", "studies", "book"]
PKG = _package_root()
MODULES = sorted(p for p in PKG.rglob("*.py") if p.parent != PKG)
MAX_LINES = 600


def _layer(path: Path) -> str:
    return path.relative_to(PKG).parts[0]


def test_every_module_sits_in_a_layer():
    assert {_layer(p) for p in MODULES} == set(LAYERS)
    assert sorted(p.name for p in PKG.glob("*.py")) == ["__init__.py"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PKG).as_posix())
def test_imports_run_only_downwards(path):
    rank = LAYERS.index(_layer(path))
    upward = sorted({f.relative_to(PKG).as_posix() for f in _imported_files(path, PKG)
                     if LAYERS.index(_layer(f)) > rank})
    assert upward == [], f"{path.relative_to(PKG)} imports from a higher layer: {upward}"


def test_the_check_sees_an_upward_import(tmp_path):
    """A core module that imports from the book layer is caught (absolute and relative imports)."""
    pkg = tmp_path / "resnet_ode"
    for rel in ("core/blocks.py", "book/cli.py", "book/numbers.py"):
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text("")
    blocks = pkg / "core" / "blocks.py"
    blocks.write_text("from resnet_ode.book.cli import main\nfrom ..book import numbers\n")
    found = {f.relative_to(pkg).as_posix() for f in _imported_files(blocks, pkg)}
    assert {"book/cli.py", "book/numbers.py"} <= found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PKG).as_posix())
def test_no_module_is_longer_than_600_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PKG)} has {n} lines; split it by concern"
