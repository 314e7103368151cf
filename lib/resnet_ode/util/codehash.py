"""Digests of the package's own code: which modules a module imports, and their code without docstrings.

A cache key that covers "the code that computed this" hashes syntax trees,
not files: a docstring or a comment does not count, what the code does
does. :func:`package_imports` follows ``import`` statements (absolute
``resnet_ode.x.y`` and relative ones, also inside functions), so the set of
modules a digest covers follows the code without a list to maintain.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path


def package_root() -> Path:
    """The folder of the ``resnet_ode`` package."""
    return Path(__file__).resolve().parents[1]


def module_file(pkg: Path, parts) -> Path | None:
    """The file of module ``resnet_ode.<parts>`` (a module or a subpackage's ``__init__``), if any."""
    base = pkg.joinpath(*parts)
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if parts and cand.is_file():
            return cand
    return None


def imported_files(path: Path, pkg: Path) -> list[Path]:
    """Files of the package that the module at ``path`` imports (the modules and the packages they sit in)."""
    package = list(path.relative_to(pkg).parts[:-1])   # the subpackage the module sits in
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                mod = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "resnet_ode":
                mod = node.module.split(".")[1:]
            else:
                continue
            targets.append(mod)
            targets.extend(mod + [alias.name] for alias in node.names)   # "from pkg import module"
        elif isinstance(node, ast.Import):
            targets.extend(a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "resnet_ode")
        for mod in targets:
            for k in range(1, len(mod) + 1):   # the module and the packages it sits in
                f = module_file(pkg, mod[:k])
                if f is not None:
                    found.append(f)
    return found


def package_imports(start: Path, pkg: Path | None = None) -> list[Path]:
    """``start`` and every module of the package (at ``pkg``, default this one) it imports, transitively (sorted paths)."""
    pkg = Path(pkg) if pkg is not None else package_root()
    seen, todo = set(), [Path(start).resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(imported_files(path, pkg))
    return sorted(seen)


def code_without_docs(source: str) -> str:
    """The syntax tree of a module with docstrings removed (comments never enter it), as text."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False)


def code_digest(*paths: Path, extra: str = "") -> str:
    """SHA-256 over the docstring-free syntax trees of ``paths`` (named relative to the package) and ``extra``."""
    pkg = package_root()
    h = hashlib.sha256()
    for path in paths:
        path = Path(path).resolve()
        name = path.relative_to(pkg).as_posix() if path.is_relative_to(pkg) else path.name
        h.update(name.encode() + b"\0")
        h.update(code_without_docs(path.read_text()).encode() + b"\0")
    h.update(extra.encode())
    return h.hexdigest()
