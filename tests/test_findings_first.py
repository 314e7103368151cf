"""Answers first: every chapter page with results opens with one findings box, and has only that one."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_literal_numbers import PAGES as PROSE_PAGES

ROOT = Path(__file__).resolve().parents[1]

#: The pages whose findings a reader should meet first: the notebooks among the pages whose prose the
#: literal-number test reads, without Chapter 2 (background, no results).
PAGES = tuple(p for p in PROSE_PAGES if p.endswith(".ipynb") and not p.startswith("book/chapter2/"))

BOX = re.compile(r"^:{3,}\{admonition\} Findings\s*$", re.M)


def _markdown(path: str) -> list[str]:
    cells = json.loads((ROOT / path).read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("page", PAGES)
def test_one_findings_box_right_after_the_title(page):
    cells = _markdown(page)
    assert sum(len(BOX.findall(c)) for c in cells) == 1, f"{page}: not exactly one findings box"
    first = cells[0].lstrip()
    title, _, rest = first.partition("\n")
    assert title.startswith("# "), f"{page}: the first Markdown cell does not start with the title"
    assert BOX.match(rest.lstrip("\n")), f"{page}: something comes between the title and the findings box"
