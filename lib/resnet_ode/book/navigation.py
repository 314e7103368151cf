"""Moving through the book: run pages out of the Prev/Next sequence, each linked from and back to its chapter.

A run page (one executed copy of the run template, :func:`resnet_ode.book.sweeps.run_sweeps`)
lies in a ``runs/`` folder next to its chapter (every
:data:`resnet_ode.book.experiments.SWEEPS` output pattern does) and is listed under
its chapter in ``_toc.yml`` (:func:`resnet_ode.book.sweeps.update_toc`). This
Sphinx extension (listed in ``_config.yml``)

* sets the Prev/Next links of every page to the nearest pages that are not run
  pages (:func:`neighbours`), so a reader goes from 3.1 to 3.2 in one click;
  a run page leads back to its chapter and on to the next chapter;
* keeps a chapter's run pages collapsed under it in the sidebar, on its own
  page too (:func:`collapse_run_pages`); on a run page they stay open;
* adds the ``{run-page}`` directive, which the run template's first Markdown
  cell holds: a box linking the chapter the run belongs to and the run's
  training history (its CSV file, published by :mod:`resnet_ode.book.sitedata`);
* gives :mod:`resnet_ode.book.sphinxext`'s ``{chapter-data}`` box the table of
  a chapter's run pages (:func:`runs_table`).
"""

from __future__ import annotations

import html
import posixpath
from dataclasses import dataclass

from docutils import nodes
from docutils.parsers.rst import Directive

#: The folder name that marks a run page.
RUNS_FOLDER = "runs"


@dataclass(frozen=True)
class RunPage:
    """One run page of the book.

    Attributes
    ----------
    docname : str
        The page, relative to the repository root, without suffix
        (``"book/chapter3/runs/state-layers-nY008"``).
    chapter : str
        Key of the chapter it belongs to (``"3.1"``).
    chapter_doc : str
        The chapter page, without suffix (``"book/chapter3/state-layers"``).
    title : str
        The page's title (the sweep's ``page_title``, as in ``_toc.yml``).
    history : str
        Path of its published history CSV in the site (``"data/chapter-3.1/runs/<file>.csv"``).
    """

    docname: str
    chapter: str
    chapter_doc: str
    title: str
    history: str


def is_run_page(docname: str) -> bool:
    """Whether ``docname`` (a path without suffix) is a run page: it lies in a ``runs/`` folder."""
    return posixpath.basename(posixpath.dirname(docname)) == RUNS_FOLDER


def run_pages() -> dict:
    """Every run page the chapters' current parameters make, by docname (chapters in :data:`~resnet_ode.book.experiments.SWEEPS` order).

    Returns
    -------
    dict of str -> RunPage
    """
    from resnet_ode.book.experiments import SWEEPS
    from resnet_ode.book.sitedata import run_file_name

    pages = {}
    for key, sweep in SWEEPS.items():
        for config in sweep.configs():
            doc = sweep.output_path(config).rsplit(".", 1)[0]
            pages[doc] = RunPage(doc, key, sweep.notebook.rsplit(".", 1)[0], sweep.page_title(config),
                                 f"data/chapter-{key}/runs/{run_file_name(config)}")
    return pages


def neighbours(relations: dict, docname: str) -> tuple:
    """The previous and next pages of ``docname`` in reading order, skipping run pages.

    Parameters
    ----------
    relations : dict of str -> list
        Sphinx's ``env.collect_relations()``: ``docname -> [parent, previous, next]``.
    docname : str

    Returns
    -------
    (str or None, str or None)
        The nearest previous and next pages that are not run pages (``None`` at an end).
    """

    def walk(step):
        doc = relations.get(docname, [None, None, None])[step]
        seen = set()
        while doc is not None and is_run_page(doc) and doc not in seen:
            seen.add(doc)
            doc = relations.get(doc, [None, None, None])[step]
        return None if doc is not None and is_run_page(doc) else doc

    return walk(1), walk(2)


def relative_url(from_doc: str, to_path: str) -> str:
    """URL of ``to_path`` (a site path: ``"data/x.csv"`` or a docname + ``".html"``) from the page ``from_doc``."""
    return posixpath.relpath(to_path, posixpath.dirname(from_doc) or ".")


def _skip_run_pages(app, pagename, templatename, context, doctree):
    """``html-page-context``: Prev/Next (and the ``<link rel>`` tags) to the nearest pages that are not run pages."""
    if "prev" not in context and "next" not in context:
        return  # not a document page (search, genindex)
    builder = app.builder
    relations = getattr(builder, "relations", None) or app.env.collect_relations()
    for key, doc in zip(("prev", "next"), neighbours(relations, pagename)):
        context[key] = None if doc is None else {
            "link": builder.get_relative_uri(pagename, doc),
            "title": builder.render_partial(app.env.titles[doc])["title"],
        }


def collapse_run_pages(soup):
    """Close every sidebar list (``<details>``) that holds only run pages, in the theme's sidebar ``soup`` (in place)."""
    for details in soup.select("li > details[open]"):
        links = [a.get("href", "") for a in details.select("ul a")]
        if links and all(is_run_page(href.split("#")[0]) for href in links):
            del details["open"]
    return soup


def _collapsed_sidebar(app, pagename, templatename, context, doctree):
    """``html-page-context``, after the theme's: its sidebar with the run pages collapsed (except on a run page)."""
    generate = context.get("generate_toctree_html")
    if generate is None or is_run_page(pagename):
        return

    def generate_collapsed(*args, **kwargs):
        soup = generate(*args, **kwargs)
        return collapse_run_pages(soup) if hasattr(soup, "select") else soup

    context["generate_toctree_html"] = generate_collapsed


def _pages(env) -> dict:
    app = env.app
    if not hasattr(app, "resnet_ode_run_pages"):
        app.resnet_ode_run_pages = run_pages()
    return app.resnet_ode_run_pages


def _published(env, chapter: str) -> set:
    return set(getattr(env.app, "resnet_ode_site_data", {}).get(chapter, []))


class RunPageDirective(Directive):
    """``{run-page}``: on a run page, the chapter it belongs to and its published training history."""

    required_arguments = 0
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        page = _pages(env).get(env.docname)
        if page is None:
            raise self.error(f"run-page: {env.docname} is not a run page of the chapters' current parameters "
                             "(resnet-ode rerun <chapter> writes them and their table of contents)")
        chapter = html.escape(relative_url(env.docname, page.chapter_doc + ".html"))
        parts = ['<div class="admonition note run-page-box"><p class="admonition-title">This run</p>',
                 f'<p>One of the runs of <a class="run-page-chapter" href="{chapter}">Chapter {page.chapter}</a>; '
                 "its chapter page analyses it with the chapter's other runs and lists them all.</p>"]
        if page.history in _published(env, page.chapter):
            index = posixpath.join(posixpath.dirname(page.history), "index.csv")
            parts.append(f'<p>Its training history (CSV, one row per optimiser iteration): <a class="run-history" '
                         f'href="{html.escape(relative_url(env.docname, page.history))}" download>'
                         f"{html.escape(posixpath.basename(page.history))}</a>; the settings of every run of the "
                         f'chapter: <a href="{html.escape(relative_url(env.docname, index))}" download>index.csv</a>.</p>')
        else:
            parts.append("<p>Its training history was not published with this build (the run is not cached).</p>")
        parts.append("</div>")
        return [nodes.raw("", "".join(parts), format="html")]


def runs_table(env, chapter: str, from_doc: str) -> str:
    """HTML table of the run pages of ``chapter``, as seen from the page ``from_doc`` (empty: it has none)."""
    pages = [p for p in _pages(env).values() if p.chapter == chapter]
    if not pages:
        return ""
    published = _published(env, chapter)
    rows = []
    for p in pages:
        link = html.escape(relative_url(from_doc, p.docname + ".html"))
        history = (f'<a href="{html.escape(relative_url(from_doc, p.history))}" download>'
                   f"{html.escape(posixpath.basename(p.history))}</a>" if p.history in published else "not published")
        rows.append(f'<tr><td><a class="run-page-link" href="{link}">{html.escape(p.title)}</a></td>'
                    f"<td>{history}</td></tr>")
    return (f"<p>The {len(pages)} run pages of this chapter (one trained network each: its training "
            "history, classification map and confusion matrix):</p>"
            '<div style="overflow-x: auto;"><table class="table run-pages"><thead><tr><th>run page</th>'
            f"<th>training history</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def setup(app):
    app.add_directive("run-page", RunPageDirective)
    # After the theme's own handlers, so that its prev/next components read these values.
    app.connect("html-page-context", _skip_run_pages, priority=400)
    # After the theme's handler, which puts generate_toctree_html into the context.
    app.connect("html-page-context", _collapsed_sidebar, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
