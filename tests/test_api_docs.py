"""Chapter 5.1 documents every public module of the package.

The API page lists its modules by hand (grouped by layer), so a new module must
be added there; this test says which one is missing.
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
    text = (ROOT / "book" / "chapter5" / "api.md").read_text()
    documented = set(re.findall(r"^\.\. automodule:: resnet_ode\.([\w.]+)\s*$", text, flags=re.M))
    assert not package - documented, f"add to book/chapter5/api.md: {sorted(package - documented)}"
    assert not documented - package, f"no such module: {sorted(documented - package)}"
