"""Chapter 5.1 documents every public module of the package.

The API pages list their modules by hand, one page per layer
(``book/chapter5/api/<layer>.md``), so a new module must be added to its layer's
page; this test says which one is missing.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lib" / "resnet_ode"


def _public_modules():
    found = set()
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(PKG).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and not any(x.startswith("_") for x in parts):
            found.add(".".join(parts))
    return found


def test_every_public_module_is_in_the_api_chapter():
    package = _public_modules()
    pages = sorted((ROOT / "book" / "chapter5" / "api").glob("*.md"))
    documented = {}
    for page in pages:
        for name in re.findall(r"^\.\. automodule:: resnet_ode\.([\w.]+)\s*$", page.read_text(), flags=re.M):
            assert name not in documented, f"{name} is documented twice: {documented[name]} and {page.name}"
            documented[name] = page.name
    for name, page in documented.items():   # each module on its layer's page
        assert page == f"{name.split('.')[0]}.md", f"resnet_ode.{name} belongs on api/{name.split('.')[0]}.md, not {page}"
    documented = set(documented)
    assert not package - documented, f"add to book/chapter5/api/<layer>.md: {sorted(package - documented)}"
    assert not documented - package, f"no such module: {sorted(documented - package)}"
