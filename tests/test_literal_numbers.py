"""No hand-typed results: every number in a chapter's prose comes from the computation.

A number in a chapter's Markdown (the Markdown cells of its notebook, or its ``.md``
page) is allowed only if it is

* inside math (``$...$``, ``$$...$$``, a ``{math}`` block): an equation;
* inside a role (``{glue:text}``, ``{numref}``, ``{cite}``, ``{doc}`` ...), inline code or
  a code block: glued from the computation, a reference or code;
* marked as the thesis's own number with the ``{thesis}`` role;
* a section, chapter, figure, table or equation number (after "Section", "Chapter",
  "Figure", "Fig.", "Table", "equation" ..., in a heading's number, or in parentheses
  like "(2.11)");
* a parameter of the experiment: a value the package declares as a constant or default
  (``RunConfig``'s fields, the module constants of ``core``, ``studies`` and
  ``book.experiments``, the defaults of the experiment functions, the chapter's
  parameters cell, Chapter 6's study file), or that constant as a percentage;
* in :data:`ALLOWED_WORDS` (words that contain digits: RK4, 3-D, float64 ...).

Anything else is a number typed by hand, which can silently disagree with the table
beside it; the test names the page, the number and the sentence around it.
"""
from __future__ import annotations

import ast
import json
import math
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "resnet_ode"

#: The pages whose prose must not carry hand-typed results: the front page and Chapters
#: 1-4 and 6 (Chapter 5 documents the code; its measured timings are dated records of
#: benchmark runs, stated as such).
PAGES = (
    "book/index.md",
    "book/chapter1/introduction.md",
    "book/chapter2/background.ipynb",
    "book/chapter3/index.md",
    "book/chapter3/peaks-data.ipynb",
    "book/chapter3/state-layers.ipynb",
    "book/chapter3/stability.ipynb",
    "book/chapter3/landscape.ipynb",
    "book/chapter3/runge-kutta.ipynb",
    "book/chapter4/conclusions.ipynb",
    "book/chapter6/beyond.ipynb",
)

#: Sources whose numeric constants and defaults are the experiment's parameters.
PARAMETER_SOURCES = (
    "core/data.py", "core/integrators.py", "core/rungekutta.py", "training/trainer.py",
    "book/experiments.py", "book/parameters.py",
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "studies").rglob("*.py")),
)

#: Words that contain digits but are not numbers.
ALLOWED_WORDS = re.compile(
    r"\b(?:RK\d|L\d|float\d+|int\d+|x86-64|x86|ARM64|SHA-256|UTF-8|AVX\d*(?:-\d+)?|X86_V\d|"
    r"[123]-D|Python 3(?:\.\d+)?|MathJax 3|Jupyter Book [12]|CFF 1\.2\.0|CC BY 4\.0|"
    r"tanh|sech\d?|ℝ\d?)\b"
)

#: Words after which a number is a section, figure, table or equation number.
REFERENCE_WORDS = (r"(?:Sections?|§|Chapters?|Figures?|Figs?\.|Tables?|[Ee]quations?|Eqs?\.|Algorithms?|"
                   r"Listings?|Appendix|Part|page|pages|p\.|pp\.)")
NUMBER = r"[-−+]?\d[\d,]*(?:\.\d+)?(?:[eE][-−+]?\d+)?"
REFERENCE = re.compile(REFERENCE_WORDS + r"\s+(?:" + NUMBER + r"(?:[a-z])?(?:\s*(?:,|and|or|to|–|-)\s*)?)+")
PAREN_EQUATION = re.compile(r"\(\d+\.\d+\)")
HEADING_NUMBER = re.compile(r"^(#+\s*)(?:\d+(?:\.\d+)*\.?)", re.M)
#: A claim's label, a section number with its subject: "3.1-accuracy", "**3.2, depth**".
CLAIM_LABEL = re.compile(r"(?<![\w.])[1-6]\.\d(?=(?:,|-)\s?[A-Za-z])")
#: A year (the 2018 reference code, a citation's year).
YEAR = re.compile(r"(?<![\w.])(?:19|20)\d\d(?![\w.])")
NUMBER_TOKEN = re.compile(r"(?<![\w.])" + NUMBER + r"(?![\w])")


def _constants(tree) -> set:
    """Every numeric literal in module constants, class field defaults and function defaults of ``tree``."""
    found = set()

    def numbers(node):
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, (int, float)) and not isinstance(sub.value, bool):
                found.add(float(sub.value))
            if isinstance(sub, ast.BinOp):
                try:
                    found.add(float(eval(compile(ast.Expression(sub), "<const>", "eval"), {})))  # noqa: S307 (literals only)
                except Exception:
                    pass

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
            numbers(node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            numbers(node.value)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                numbers(default)
    return found


def _notebook(path: Path) -> dict:
    return json.loads(path.read_text())


def parameter_values(page: str) -> set:
    """The experiment's parameters a page may state as literals (floats), with percentages of shares."""
    values = set()
    for rel in PARAMETER_SOURCES:
        values |= _constants(ast.parse((PACKAGE / rel).read_text()))
    # the experiments' definitions: every number in them is a setting of an experiment
    for node in ast.walk(ast.parse((PACKAGE / "book" / "experiments.py").read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            values.add(float(node.value))
    path = ROOT / page
    if path.suffix == ".ipynb":
        for cell in _notebook(path)["cells"]:
            if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
                values |= _constants(ast.parse("".join(cell["source"])))
                for node in ast.walk(ast.parse("".join(cell["source"]))):
                    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
                        values.add(float(node.value))
    study = tomllib.loads((ROOT / "book/chapter6/default-study.toml").read_text())

    def walk(obj):
        if isinstance(obj, dict):
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)
        elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
            values.add(float(obj))

    walk(study)
    values |= {round(100 * v, 10) for v in list(values) if 0 < v <= 1}
    values |= {0.0, 1.0}
    return values


def markdown_of(page: str) -> str:
    """The page's Markdown: its ``.md`` text, or its notebook's Markdown cells and figure captions."""
    path = ROOT / page
    if path.suffix == ".ipynb":
        parts = []
        for cell in _notebook(path)["cells"]:
            if cell["cell_type"] == "markdown":
                parts.append("".join(cell["source"]))
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if figure.get("caption"):  # a figure's caption, set in its cell's metadata
                parts.append(figure["caption"])
        return "\n\n".join(parts)
    return path.read_text()


def prose(markdown: str) -> str:
    """``markdown`` without what may carry numbers: math, code, roles, targets, directive options, link URLs."""
    text = markdown
    # fenced blocks: code and math removed whole; other directives keep their body, lose their options
    def fence(match):
        info, body = match.group(2).strip(), match.group(3)
        if not info.startswith("{") or info.split("}")[0] in ("{math", "{code-cell", "{code", "{code-block", "{eval-rst",
                                                                "{list-table", "{raw"):
            return "\n"
        return "\n" + re.sub(r"^:[\w-]+:.*$", "", body, flags=re.M) + "\n"
    for _ in range(3):  # nested directives (a figure in an admonition)
        text = re.sub(r"^(`{3,}|:{3,})([^\n]*)\n(.*?)^\1\s*$", fence, text, flags=re.M | re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$(?:[^$\n]|\n(?!\s*\n))+?(?<!\\)\$", " ", text)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)           # roles: glue, numref, doc, cite, thesis ...
    text = re.sub(r"`[^`]*`", " ", text)                       # inline code
    text = re.sub(r"^\([\w-]+\)=\s*$", " ", text, flags=re.M)  # targets
    text = re.sub(r"\]\([^)]*\)", "]", text)                   # link URLs
    text = re.sub(r"<[^>]+>", " ", text)                       # HTML tags
    text = HEADING_NUMBER.sub(r"\1", text)
    text = REFERENCE.sub(" ", text)
    text = PAREN_EQUATION.sub(" ", text)
    text = CLAIM_LABEL.sub(" ", text)
    text = ALLOWED_WORDS.sub(" ", text)
    text = YEAR.sub(" ", text)
    return text


def _value(token: str) -> float:
    return float(token.replace(",", "").replace("−", "-"))


def literal_numbers_in(markdown: str, allowed: set) -> list:
    """``(number, context)`` for every number in the prose of ``markdown`` that is not in ``allowed``."""
    found = []
    text = prose(markdown)
    for match in NUMBER_TOKEN.finditer(text):
        token = match.group(0)
        try:
            value = _value(token)
        except ValueError:
            continue
        if any(math.isclose(abs(value), a, rel_tol=1e-12, abs_tol=1e-12) for a in allowed):
            continue
        context = " ".join(text[max(0, match.start() - 60): match.end() + 40].split())
        found.append((token, context))
    return found


def literal_numbers(page: str) -> list:
    """``(number, context)`` for every hand-typed number in the page's prose that is not a parameter."""
    return literal_numbers_in(markdown_of(page), parameter_values(page))


@pytest.mark.parametrize("page", PAGES)
def test_no_hand_typed_numbers(page):
    found = literal_numbers(page)
    assert not found, (f"{page}: numbers typed into the prose (glue them from the computation, or mark the thesis's own "
                       "with {thesis}`...`):\n" + "\n".join(f"  {n!r} in: ...{c}..." for n, c in found))


def test_the_check_catches_a_typed_number():
    markdown = ("# 3.1 A page\n\nThe shallow rows reach 0.329, see Figure 3.3 and {glue:text}`x:.3f`.\n\n"
                "With $h = 2.86$ and 40 Gauss-Newton iterations on 3-D views, the thesis reports {thesis}`97 %`.\n\n"
                "```{math}\nY_1 = 0.5\n```\n\n:::{note}\n:class: tip\nA spread of 1.4e-04 here.\n:::\n")
    found = literal_numbers_in(markdown, parameter_values("book/chapter3/state-layers.ipynb"))
    assert [n for n, _ in found] == ["0.329", "1.4e-04"]
