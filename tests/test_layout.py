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


def _module_graph(pkg, modules):
    """Edges module -> modules of the same layer it imports (package ``__init__`` files left out: they only
    re-export their submodules)."""
    graph = {}
    for path in modules:
        if path.name == "__init__.py":
            continue
        graph[path] = {f for f in _imported_files(path, pkg)
                       if f.name != "__init__.py" and f != path and _layer(f) == _layer(path)}
    return graph


def _cycles(graph) -> list[list]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_inside_a_layer():
    """Two modules that import each other (directly or round a longer circle, also inside functions) are one idea
    cut in two, or two ideas tangled: either way the layer's picture lies."""
    cycles = _cycles(_module_graph(PKG, MODULES))
    names = [[p.relative_to(PKG).as_posix() for p in c] for c in cycles]
    assert names == [], f"import circles inside a layer: {names}"


def test_the_circle_check_sees_a_circle(tmp_path):
    pkg = tmp_path / "resnet_ode"
    (pkg / "book").mkdir(parents=True)
    (pkg / "book" / "a.py").write_text("from resnet_ode.book import b\n")
    (pkg / "book" / "b.py").write_text("def f():\n    from .c import g\n")
    (pkg / "book" / "c.py").write_text("from resnet_ode.book.a import x\n")
    (pkg / "book" / "d.py").write_text("from resnet_ode.book.a import x\n")
    mods = sorted(p for p in pkg.rglob("*.py"))
    cycles = _cycles({p: {f for f in _imported_files(p, pkg) if f.name != "__init__.py" and f != p}
                      for p in mods})
    assert [[p.name for p in c] for c in cycles] == [["a.py", "b.py", "c.py"]]
