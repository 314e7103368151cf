"""Moving through the book: Prev/Next past the run pages, run pages linked both ways, licence, citation, favicon."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import yaml

from resnet_ode.book import navigation, sitedata, sphinxext
from resnet_ode.book.bookcache import toc_entries
from resnet_ode.book.navigation import RunPage, is_run_page, neighbours, relative_url

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_page_is_a_page_in_a_runs_folder():
    assert is_run_page("book/chapter3/runs/state-layers-nY008")
    assert not is_run_page("book/chapter3/state-layers")
    assert not is_run_page("book/chapter5/api/runs-overview")
    assert not is_run_page("runs")


def test_every_sweep_writes_its_pages_into_a_runs_folder():
    from resnet_ode.book.experiments import SWEEPS

    for sweep in SWEEPS.values():
        assert Path(sweep.output).parent.name == navigation.RUNS_FOLDER, sweep.name


# The reading order of a small book: 3.1 with two runs, 3.2 with one, then 4.
_ORDER = ["index", "c31", "c31/runs/a", "c31/runs/b", "c32", "c32/runs/c", "c4"]


def _relations(order=_ORDER):
    return {d: [None, order[i - 1] if i else None, order[i + 1] if i + 1 < len(order) else None]
            for i, d in enumerate(order)}


@pytest.mark.parametrize("page, expected", [
    ("index", (None, "c31")),
    ("c31", ("index", "c32")),          # 3.1 leads to 3.2, past its two run pages
    ("c32", ("c31", "c4")),             # and 3.2 back to 3.1
    ("c31/runs/a", ("c31", "c32")),     # a run page leads back to its chapter and on to the next
    ("c31/runs/b", ("c31", "c32")),
    ("c4", ("c32", None)),
])
def test_prev_next_skip_run_pages(page, expected):
    assert neighbours(_relations(), page) == expected
    assert not any(d is not None and is_run_page(d) for d in neighbours(_relations(), page))


def test_prev_next_at_the_ends_of_a_book_of_run_pages_only():
    order = ["x/runs/a", "x/runs/b"]
    assert neighbours(_relations(order), "x/runs/a") == (None, None)
    assert neighbours({}, "missing") == (None, None)


def test_sidebar_lists_of_run_pages_are_closed_and_others_stay_open():
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(
        '<ul><li><a href="state-layers.html">3.1</a><details open="open"><summary></summary><ul>'
        '<li><a href="runs/a.html">a</a></li><li><a href="runs/b.html">b</a></li></ul></details></li>'
        '<li><a href="index.html">3</a><details open="open"><summary></summary><ul>'
        '<li><a href="state-layers.html">3.1</a></li><li><a href="runs/c.html">c</a></li></ul></details></li></ul>',
        "html.parser")
    navigation.collapse_run_pages(soup)
    assert [d.has_attr("open") for d in soup.select("details")] == [False, True]


def test_relative_urls_between_pages_and_data():
    assert relative_url("book/chapter3/runs/r", "book/chapter3/state-layers.html") == "../state-layers.html"
    assert relative_url("book/chapter3/runs/r", "data/chapter-3.1/runs/x.csv") == "../../../data/chapter-3.1/runs/x.csv"
    assert relative_url("index", "data/README.txt") == "data/README.txt"


def _toc_run_pages():
    return [e["file"] for e in toc_entries(ROOT / "_toc.yml") if is_run_page(e["file"])]


def test_run_pages_are_the_pages_the_table_of_contents_lists_under_their_chapter():
    pages = navigation.run_pages()
    assert sorted(pages) == sorted(_toc_run_pages())
    for doc, page in pages.items():
        assert page.docname == doc and (ROOT / f"{doc}.ipynb").is_file()
        assert (ROOT / f"{page.chapter_doc}.ipynb").is_file()
        assert page.history.startswith(f"data/chapter-{page.chapter}/runs/") and page.history.endswith(".csv")
        assert page.title.startswith(f"{page.chapter} run:")


def _env(pages, published):
    app = types.SimpleNamespace(resnet_ode_run_pages=pages, resnet_ode_site_data=published)
    return types.SimpleNamespace(app=app)


_PAGES = {
    "book/chapter3/runs/a": RunPage("book/chapter3/runs/a", "3.1", "book/chapter3/state-layers", "3.1 run: <a>",
                                    "data/chapter-3.1/runs/a.csv"),
    "book/chapter3/runs/b": RunPage("book/chapter3/runs/b", "3.1", "book/chapter3/state-layers", "3.1 run: b",
                                    "data/chapter-3.1/runs/b.csv"),
    "book/chapter3/runs/c": RunPage("book/chapter3/runs/c", "3.2", "book/chapter3/stability", "3.2 run: c",
                                    "data/chapter-3.2/runs/c.csv"),
}


def test_runs_table_links_each_run_page_of_the_chapter_and_its_history():
    env = _env(_PAGES, {"3.1": ["data/chapter-3.1/runs/a.csv"]})
    table = navigation.runs_table(env, "3.1", "book/chapter3/state-layers")
    assert table.count('class="run-page-link"') == 2 and "3.2 run" not in table
    assert 'href="runs/a.html">3.1 run: &lt;a&gt;</a>' in table
    assert 'href="../../data/chapter-3.1/runs/a.csv" download>a.csv</a>' in table
    assert "not published" in table                                   # b's history is not in this build
    assert navigation.runs_table(env, "4", "book/chapter4/conclusions") == ""


def _directive(docname, env):
    env.docname = docname
    state = types.SimpleNamespace(document=types.SimpleNamespace(settings=types.SimpleNamespace(env=env)))
    machine = types.SimpleNamespace(reporter=None)
    directive = navigation.RunPageDirective("run-page", [], {}, [], 1, 0, "", state, machine)
    return directive


def test_run_page_box_links_back_to_its_chapter_and_to_its_history():
    env = _env(_PAGES, {"3.1": ["data/chapter-3.1/runs/a.csv", "data/chapter-3.1/runs/index.csv"]})
    (node,) = _directive("book/chapter3/runs/a", env).run()
    box = node.astext()
    assert '<a class="run-page-chapter" href="../state-layers.html">Chapter 3.1</a>' in box
    assert 'class="run-history" href="../../../data/chapter-3.1/runs/a.csv" download>a.csv</a>' in box
    assert 'href="../../../data/chapter-3.1/runs/index.csv"' in box
    (node,) = _directive("book/chapter3/runs/b", env).run()
    assert "was not published with this build" in node.astext() and "run-page-chapter" in node.astext()


def test_run_page_box_refuses_a_page_that_is_not_a_run_page():
    env = _env(_PAGES, {})
    directive = _directive("book/chapter3/stale", env)
    directive.error = lambda message: ValueError(message)
    with pytest.raises(ValueError, match="is not a run page"):
        directive.run()


# ----------------------------------------------------------------------------
# the Peaks data set and the README of the published data
# ----------------------------------------------------------------------------


def test_peaks_files_hold_the_training_data_and_the_labelled_grid(tmp_path):
    import numpy as np

    from resnet_ode.core.data import peaks_grid
    from resnet_ode.training.runs import RunConfig

    sitedata.write_peaks(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(sitedata.PEAKS_FILES)
    data = RunConfig().dataset()
    train = np.loadtxt(tmp_path / "peaks-train.csv", delimiter=",", skiprows=1)
    assert (tmp_path / "peaks-train.csv").read_text().startswith("x1,x2,class\n")
    np.testing.assert_array_equal(train[:, :2].T, data.X_train)       # full precision: the same points
    np.testing.assert_array_equal(train[:, 2], data.y_train)
    val = np.loadtxt(tmp_path / "peaks-validation.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(val[:, :2].T, data.X_val)
    np.testing.assert_array_equal(val[:, 2], data.y_val)
    grid = np.loadtxt(tmp_path / "peaks-grid.csv", delimiter=",", skiprows=1)
    reference = peaks_grid()
    assert grid.shape == (reference.labels.size, 4)
    np.testing.assert_array_equal(np.bincount(grid[:, 3].astype(int)), reference.class_counts())
    np.testing.assert_array_equal(grid[:, 2], reference.values.ravel())


def test_every_published_file_is_described_in_the_readme():
    written = {"3.0": ["data/chapter-3.0/numbers.json", "data/chapter-3.0/peaks-train.csv"],
               "3.1": ["data/chapter-3.1/runs/index.csv", "data/chapter-3.1/runs/x-1234.csv",
                       "data/chapter-3.1/tables/02-own-accuracy.csv"],
               "4": []}
    text = sitedata.readme(written)
    history = "data/chapter-3.1/runs/x-1234.csv"
    for files in written.values():
        for f in files:
            if f != history:
                assert f"  {f.removeprefix('data/')}: {sitedata.describe(f)}" in text
    assert f"  chapter-3.1/runs/, 1 files: {sitedata.describe(history)}:\n    x-1234.csv\n" in text
    assert sitedata.describe("data/chapter-3.1/tables/02-own-accuracy.csv").startswith("Table 3.1.02 ")
    assert "training history of one run" in sitedata.describe("data/chapter-3.1/runs/x-1234.csv")
    assert "Chapter 4" not in text                                    # nothing published, not listed


# ----------------------------------------------------------------------------
# commands, repository link, licence, citation, favicon
# ----------------------------------------------------------------------------


def test_the_commands_table_lists_every_subcommand():
    import argparse

    from resnet_ode.book.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    names = [c.dest for c in sub._choices_actions]
    assert {"rerun", "sweep", "run", "study", "execute-book"} <= set(names)
    assert set(names) == set(sub.choices)             # each has a help line, so each is listed


@pytest.mark.parametrize("url, button", [("", None), ("https://example.org/repo", True)])
def test_the_repository_button_follows_the_one_setting(url, button):
    config = types.SimpleNamespace(html_theme_options={"repository_url": url, "use_repository_button": None})
    sphinxext._repository_button(None, config)
    assert config.html_theme_options["use_repository_button"] is button
    app = types.SimpleNamespace(config=config)
    assert sphinxext.repository_url(app) == url


def test_licence_citation_and_favicon_ship_with_the_book():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == ""                        # no invented address
    favicon = ROOT / config["html"]["favicon"]
    assert favicon.is_file() and favicon.read_text().lstrip().startswith("<svg")
    assert "MIT License" in (ROOT / "LICENSE").read_text() and "CC BY 4.0" in (ROOT / "LICENSE").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(cff)              # the keys CFF 1.2.0 requires
    assert cff["authors"] == [{"name": "The resnet-ode book contributors"}]
    assert not {"url", "repository-code", "doi", "identifiers"} & set(cff)
    import tomllib

    assert cff["version"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    about = (ROOT / "book" / "about.md").read_text()
    assert "CC BY 4.0" in about and "How to cite" in about and "CITATION.cff" in about
    readme = (ROOT / "README.md").read_text()
    assert "CC BY 4.0" in readme and "MIT" in readme


def test_the_root_redirect_names_the_books_icon(tmp_path):
    """The root index.html leads to the first page and names the icon: a first load asks for no /favicon.ico (it did,
    at random, while Chromium followed the redirect jupyter-book writes, which names none)."""
    config = types.SimpleNamespace(root_doc="book/index", html_favicon="book/favicon.svg", html_title="A <book>",
                                   project="p")
    app = types.SimpleNamespace(config=config, builder=types.SimpleNamespace(format="html"), outdir=str(tmp_path))
    sphinxext._root_redirect(app, None)
    text = (tmp_path / "index.html").read_text()
    assert 'http-equiv="Refresh" content="0; url=book/index.html"' in text
    assert '<link rel="icon" href="_static/favicon.svg">' in text and "A &lt;book&gt;" in text
    (tmp_path / "index.html").unlink()
    sphinxext._root_redirect(app, RuntimeError("build failed"))        # nothing written after a failed build
    config.root_doc = "index"                                           # the root page is the top-level index
    sphinxext._root_redirect(app, None)
    assert not (tmp_path / "index.html").exists()
    built = ROOT / "_build" / "html" / "index.html"
    if built.is_file() and (ROOT / "_build" / "html" / "_static" / "favicon.svg").is_file():
        assert 'rel="icon" href="_static/favicon.svg"' in built.read_text()
