"""Result tables, the published data of the site and the chapter boxes of the Sphinx extension."""

from __future__ import annotations

import csv
import html
import io
import json
import types

import numpy as np
import pytest

from resnet_ode.book import sitedata
from resnet_ode.book.numbers import Tables
from resnet_ode.util.formatting import Table, format_table, in_words


# ----------------------------------------------------------------------------
# Table
# ----------------------------------------------------------------------------


def test_table_text_is_the_caption_then_the_aligned_table():
    rows = [[8, 0.98765, "a"], [16, np.float64(0.5), "bb"]]
    t = Table(["nY", "acc", "note"], rows, caption="Own accuracy", floatfmt="{:.3f}")
    assert str(t) == "Own accuracy\n" + format_table(["nY", "acc", "note"], rows, floatfmt="{:.3f}")
    assert repr(t) == str(t)


def test_table_html_has_caption_headers_cells_and_escapes_text():
    t = Table(["a<b", "value"], [["x & y", 1.5], ["0.982 [0.951, 0.995]", 2.0],
                                 ["32 layers, every one of the 5000 examples", 3.0], ["1.2e-03 s", 4.0]],
              caption="A <caption>", floatfmt=[None, "{:.1f}"])
    page = t._repr_html_()
    assert "<caption" in page and "A &lt;caption&gt;</caption>" in page
    assert "<th>a&lt;b</th>" in page and ">x &amp; y</td>" in page
    assert '<td style="text-align: right">1.5</td>' in page           # numbers right-aligned
    assert '<td style="text-align: left">x &amp; y</td>' in page       # text left-aligned
    assert '<td style="text-align: right">0.982 [0.951, 0.995]</td>' in page
    assert '<td style="text-align: right">1.2e-03 s</td>' in page       # a number with a unit
    assert '<td style="text-align: left">32 layers, every one of the 5000 examples</td>' in page   # prose
    assert "overflow-x: auto" in page                                 # a wide table scrolls in its own box


def test_a_long_table_scrolls_in_a_box_with_its_header_row_in_view():
    from resnet_ode.util.formatting import SCROLL_ROWS

    short = Table(["N", "x"], [[n, 0.5] for n in range(SCROLL_ROWS)], caption="Short.")._repr_html_()
    assert "overflow-y" not in short and "sticky" not in short and "rows, in a box" not in short
    t = Table(["N", "x"], [[n, 0.5] for n in range(SCROLL_ROWS + 1)], caption="Long.", label="Table 3.2.01.")
    page = t._repr_html_()
    assert "overflow-y: auto" in page and f"max-height: {2 * SCROLL_ROWS + 4}em" in page
    assert page.count("position: sticky") == 2                         # every header cell
    # the caption (with the number of rows) above the box, so that it does not scroll away
    assert page.startswith('<p class="result-table-caption"><span class="table-number">Table 3.2.01.</span> Long. '
                           f"{SCROLL_ROWS + 1} rows, in a box that scrolls.</p>")
    assert page.count("<tr>") == SCROLL_ROWS + 2                         # every row is there
    assert len(t.text.splitlines()) == SCROLL_ROWS + 3 and t.to_csv().count("\n") == SCROLL_ROWS + 2


def test_table_csv_keeps_full_precision_and_quotes_text():
    t = Table(["name", "x"], [["a, b", 1 / 3], ["c", 2]], caption="c")
    rows = list(csv.reader(io.StringIO(t.to_csv())))
    assert rows == [["name", "x"], ["a, b", repr(1 / 3)], ["c", "2"]]


@pytest.mark.parametrize("kwargs, message", [
    ({"rows": [[1, 2, 3]]}, "rows \\[0\\] do not have 2 cells"),
    ({"caption": " "}, "caption must be a non-empty string"),
    ({"floatfmt": ["{:.1f}"]}, "floatfmt must be one format or 2"),
])
def test_table_refuses_bad_input(kwargs, message):
    args = {"headers": ["a", "b"], "rows": [[1, 2]], "caption": "c", **kwargs}
    with pytest.raises(ValueError, match=message):
        Table(**args)


def test_tables_show_writes_one_csv_per_table_and_a_new_page_replaces_them(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_ODE_ROOT", str(tmp_path))
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    tables = Tables("9.9")
    tables.show("First table: accuracy [fraction]", ["a"], [[1.0]])
    tables.show("Second, with 2 rows", ["b"], [[1], [2]])
    folder = tmp_path / "_build" / "numbers" / "chapter-9.9"
    assert sorted(p.name for p in folder.iterdir()) == ["01-first-table-accuracy-fraction.csv", "02-second-with-2-rows.csv"]
    assert [t.caption for t in shown] == ["First table: accuracy [fraction]", "Second, with 2 rows"]
    Tables("9.9").show("Only one now", ["c"], [[3]])
    assert sorted(p.name for p in folder.iterdir()) == ["01-only-one-now.csv"]
    Tables(None).show("Shown only", ["d"], [[4]])      # a run page: nothing written
    assert len(shown) == 4 and sorted(p.name for p in folder.iterdir()) == ["01-only-one-now.csv"]


def test_a_chapter_table_is_numbered_as_its_csv_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_ODE_ROOT", str(tmp_path))
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    tables = Tables("3.4")
    prebuilt = Table(["a"], [[1]], caption="First")
    tables.show_table(prebuilt)
    tables.show("Second one", ["b"], [[2]])
    files = sorted(p.name for p in (tmp_path / "_build" / "numbers" / "chapter-3.4").iterdir())
    assert files == ["01-first.csv", "02-second-one.csv"]
    assert [str(t).splitlines()[0] for t in shown] == ["Table 3.4.01. First", "Table 3.4.02. Second one"]
    assert '<span class="table-number">Table 3.4.02.</span> Second one</caption>' in shown[1]._repr_html_()
    assert prebuilt.label == "" and str(prebuilt).startswith("First")   # the analysis's own table is unchanged
    Tables(None).show("On a run page", ["c"], [[3]])                       # not numbered: it has no CSV
    assert str(shown[-1]).startswith("On a run page")


# ----------------------------------------------------------------------------
# published data
# ----------------------------------------------------------------------------


def _fake_numbers(tmp_path, monkeypatch):
    numbers = tmp_path / "numbers"
    (numbers / "chapter-3.1").mkdir(parents=True)
    (numbers / "chapter-3.1.json").write_text('{"x": 1}')
    (numbers / "chapter-3.1" / "01-a.csv").write_text("a\n1\n")
    monkeypatch.setattr(sitedata, "numbers_dir", lambda: numbers)
    return numbers


def test_assemble_collects_numbers_tables_and_run_histories(tmp_path, monkeypatch):
    _fake_numbers(tmp_path, monkeypatch)
    history = {"iteration": np.array([0.0, 1.0]), "objective": np.array([2.0, 0.5])}
    config = types.SimpleNamespace(to_dict=lambda: {"nY": 8})
    monkeypatch.setattr("resnet_ode.book.experiments.SWEEPS", {
        "3.1": types.SimpleNamespace(all_runs=lambda: (config,))})
    monkeypatch.setattr("resnet_ode.training.runs.cached_result",
                        lambda c: types.SimpleNamespace(history=history, train_seconds=12.34))
    monkeypatch.setattr("resnet_ode.training.runs.RunConfig.fields", classmethod(lambda cls: ["nY"]))
    monkeypatch.setattr(sitedata, "run_file_name", lambda c: "run-8.csv")
    monkeypatch.setattr(sitedata, "CHAPTERS", {"3.1": sitedata.Chapter("3.1", "x.ipynb", sweep="3.1")})
    out = tmp_path / "site"
    written = sitedata.assemble(out)
    assert written == {"3.1": ["data/chapter-3.1/numbers.json", "data/chapter-3.1/runs/index.csv",
                               "data/chapter-3.1/runs/run-8.csv", "data/chapter-3.1/tables/01-a.csv"]}
    assert json.loads((out / "data/chapter-3.1/numbers.json").read_text()) == {"x": 1}
    assert (out / "data/chapter-3.1/runs/run-8.csv").read_text() == "iteration,objective\n0.0,2.0\n1.0,0.5\n"
    assert (out / "data/chapter-3.1/runs/index.csv").read_text() == "file,nY,train_seconds\nrun-8.csv,8,12.3\n"
    # a second build starts from an empty folder: a file the first left is gone
    (out / "data/chapter-3.1/stale.csv").write_text("old")
    sitedata.assemble(out)
    assert not (out / "data/chapter-3.1/stale.csv").exists()


def test_assemble_never_empties_a_folder_it_did_not_write(tmp_path, monkeypatch):
    _fake_numbers(tmp_path, monkeypatch)
    monkeypatch.setattr(sitedata, "CHAPTERS", {"2": sitedata.Chapter("2", "x.ipynb")})
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.pdf").write_text("precious")
    with pytest.raises(ValueError, match="was not written by resnet_ode.book.sitedata"):
        sitedata.assemble(mine)
    assert (mine / "thesis.pdf").read_text() == "precious"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert sitedata.assemble(empty) == {"2": []}


def test_chapter_keys_are_checked():
    with pytest.raises(ValueError, match="unknown chapter '3.9'; chapters: 2, 3.0, 3.1"):
        sitedata.chapter("3.9")
    for ch in sitedata.CHAPTERS.values():
        assert (sitedata.repo_root() / ch.notebook).is_file(), ch.notebook


def test_execution_times_are_recorded_only_for_the_book_s_notebooks(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_ODE_ROOT", str(tmp_path))
    (tmp_path / "book").mkdir()
    sitedata.record_execution({tmp_path / "elsewhere" / ".." / ".." / "outside.ipynb": 3.0})
    assert sitedata.execution_seconds() == {}
    sitedata.record_execution({tmp_path / "book" / "a.ipynb": 12.345, "/somewhere/else.ipynb": 1.0})
    assert sitedata.execution_seconds() == {"book/a.ipynb": 12.3}


def test_history_csv_has_one_row_per_iteration():
    result = types.SimpleNamespace(history={"iteration": np.arange(3.0), "objective": np.array([3.0, 2.0, 1.0])})
    rows = list(csv.reader(io.StringIO(sitedata.history_csv(result))))
    assert rows == [["iteration", "objective"], ["0.0", "3.0"], ["1.0", "2.0"], ["2.0", "1.0"]]


# ----------------------------------------------------------------------------
# the Sphinx extension, in a small Sphinx project
# ----------------------------------------------------------------------------


def _build(tmp_path, monkeypatch, body: str):
    from sphinx.application import Sphinx

    _fake_numbers(tmp_path, monkeypatch)
    monkeypatch.setattr(sitedata, "site_data_dir", lambda: tmp_path / "site")
    monkeypatch.setattr(sitedata, "_run_files", lambda ch, folder: 0)
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "conf.py").write_text("extensions = ['resnet_ode.book.sphinxext']\n")
    (src / "index.rst").write_text(".. toctree::\n\n   book/page\n")
    (src / "book" / "page.rst").write_text("Page\n====\n\n" + body)
    app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctree"), "html",
                 status=io.StringIO(), warning=io.StringIO(), freshenv=True)
    app.build()
    return app, (tmp_path / "out" / "book" / "page.html").read_text()


def test_reproduce_box_gives_the_command_every_parameter_and_the_source(tmp_path, monkeypatch):
    from resnet_ode.book.experiments import SWEEPS

    _, page = _build(tmp_path, monkeypatch, ".. reproduce:: 3.1\n\n.. chapter-data:: 3.1\n")
    assert "Reproduce this chapter" in page
    assert "resnet-ode rerun 3.1 --defaults" in page
    # The example adds two seeds to the chapter's twelve.
    assert "--set NAME=VALUE" in page and f"rerun 3.1 --param &#x27;seeds={list(range(14))}&#x27;" in page
    for name, check in SWEEPS["3.1"].parameters.items():
        assert f"<code>{name}</code>" in page and html.escape(check.allowed) in page
    assert 'href="../_sources/book/chapter3/state-layers.ipynb"' in page
    # the data box links the files copied into the site, relative to the page
    assert 'href="../data/chapter-3.1/numbers.json"' in page
    assert 'href="../data/chapter-3.1/tables/01-a.csv"' in page
    assert (tmp_path / "out" / "data" / "chapter-3.1" / "tables" / "01-a.csv").read_text() == "a\n1\n"


def test_a_chapter_without_runs_gets_its_execute_command(tmp_path, monkeypatch):
    _, page = _build(tmp_path, monkeypatch, ".. reproduce:: 2\n\n.. chapter-data:: 2\n")
    assert "resnet-ode execute book/chapter2/background.ipynb" in page
    assert "No data files were published with this build." in page


def test_an_unknown_chapter_is_a_build_error(tmp_path, monkeypatch):
    app, _ = _build(tmp_path, monkeypatch, ".. reproduce:: 7\n")
    assert "unknown chapter '7'" in app._warning.getvalue()


def test_chapter_6_s_box_shows_how_to_rebuild_it_from_another_table(tmp_path, monkeypatch):
    _, page = _build(tmp_path, monkeypatch, ".. reproduce:: 6\n")
    assert "resnet-ode rerun 6 --defaults" in page
    assert "rerun 6 --param &quot;table=&#x27;_build/study/large/results.parquet&#x27;&quot;" in page
    assert "--set NAME=VALUE" not in page            # the chapter takes no run settings
    assert "<code>study_file</code>" in page and "<code>table</code>" in page


def test_in_words_lists_items_as_a_sentence_does():
    assert in_words([8]) == "8"
    assert in_words([8, 20]) == "8 and 20"
    assert in_words(x for x in ("a", "b", "c")) == "a, b and c"
    with pytest.raises(ValueError, match="items"):
        in_words([])
