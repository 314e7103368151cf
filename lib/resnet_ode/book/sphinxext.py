"""Sphinx extension of the book: published data and a "Reproduce this chapter" box on every chapter page.

Listed in ``_config.yml`` (``sphinx: extra_extensions``). When the build starts it
collects every chapter's data with :func:`resnet_ode.book.sitedata.assemble` into
``_build/site-data`` and adds that folder to ``html_extra_path``, so the files land
under ``data/`` of the site. Two directives, used in a chapter page's Markdown::

    ```{reproduce} 3.1
    ```

    ```{chapter-data} 3.1
    ```

``reproduce`` shows the command that reruns the chapter, its parameters with their
defaults and what each allows, the source notebook and the measured times of the
last build; ``chapter-data`` links every published file of the chapter. Both emit
HTML only (the book is built as HTML); a chapter key that does not exist fails
the build with an error naming the allowed keys. One role, ``{thesis}``, marks a
number the thesis reports (:func:`thesis_role`).
"""

from __future__ import annotations

import html
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

from resnet_ode.book import sitedata



def _root_prefix(directive: Directive) -> str:
    """Relative URL from the page holding ``directive`` to the site root."""
    docname = directive.state.document.settings.env.docname
    return "../" * docname.count("/")


def _chapter(directive: Directive) -> sitedata.Chapter:
    try:
        return sitedata.chapter(directive.arguments[0].strip())
    except ValueError as exc:
        raise directive.error(f"{directive.name}: {exc}") from None


def _seconds(value: float) -> str:
    return f"{value / 60:.1f} min" if value >= 120 else f"{value:.0f} s"


def _code(text: str) -> str:
    return f'<div class="highlight-bash notranslate"><div class="highlight"><pre>{html.escape(text)}</pre></div></div>'


def _table(headers, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div style="overflow-x: auto;"><table class="table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


class ReproduceDirective(Directive):
    """``{reproduce} KEY``: how to rerun the chapter, its parameters and the last build's times."""

    required_arguments = 1
    has_content = False

    def run(self):
        ch = _chapter(self)
        from resnet_ode.book.experiments import SWEEPS, notebook_parameters
        from resnet_ode.util.paths import repo_root

        import nbformat

        nb = nbformat.read(repo_root() / ch.notebook, as_version=4)
        url = repository_url(self.state.document.settings.env.app)
        repository = f'<a href="{html.escape(url)}">the repository</a>' if url else "the repository"
        parts = ['<div class="admonition tip reproduce-box"><p class="admonition-title">Reproduce this chapter</p>',
                 f"<p>In a clone of {repository}, after <code>make venv</code> (it creates <code>.venv</code> "
                 "with the pinned packages; the front page says more):</p>"]
        if ch.sweep is not None:
            sweep = SWEEPS[ch.sweep]
            defaults = notebook_parameters(nb, tags=("parameters",))
            current = notebook_parameters(nb)
            parts.append(_code(f".venv/bin/resnet-ode rerun {ch.key} --defaults"))
            if "seeds" in defaults:
                changed = list(defaults["seeds"]) + [max(defaults["seeds"]) + 1, max(defaults["seeds"]) + 2]
                example = f".venv/bin/resnet-ode rerun {ch.key} --param 'seeds={changed}'"
            elif "table" in defaults:
                example = f'.venv/bin/resnet-ode rerun {ch.key} --param "table=\'_build/study/large/results.parquet\'"'
            else:
                example = None
            parts.append("<p>trains the runs of the chapter that are not cached, re-executes its run pages and this "
                         "page with the parameters below, and updates the table of contents; "
                         "<code>make html</code> then builds the book. Change a parameter with "
                         "<code>--param NAME=VALUE</code> (a Python literal)"
                         + (" and a setting of every run with <code>--set NAME=VALUE</code>" if "changes" in defaults
                            else "") + (", for example:</p>" if example else ".</p>"))
            if example:
                parts.append(_code(example))
            rows = []
            for name, check in sweep.parameters.items():
                shown = "" if current.get(name) == defaults.get(name) else \
                    f" (this build: <code>{html.escape(repr(current.get(name)))}</code>)"
                rows.append([f"<code>{html.escape(name)}</code>",
                             f"<code>{html.escape(repr(defaults.get(name)))}</code>{shown}",
                             html.escape(getattr(check, "allowed", ""))])
            parts.append(_table(["parameter", "default", "allowed"], rows))
            parts.append("<p>A value outside its range is refused with a message naming the parameter before "
                         "anything is computed.</p>")
        else:
            parts.append(_code(f".venv/bin/resnet-ode execute {ch.notebook}"))
            parts.append("<p>re-executes this page in place; it has no parameters.</p>")
        if ch.after:
            parts.append(f"<p>Needs {html.escape(ch.after)} to have run first.</p>")
        parts.append(self._times(ch))
        source = f"{_root_prefix(self)}_sources/{ch.notebook}"
        parts.append(f'<p>Source notebook: <a href="{html.escape(source)}" download>'
                     f"{html.escape(ch.notebook)}</a>.</p></div>")
        return [nodes.raw("", "".join(parts), format="html")]

    @staticmethod
    def _times(ch: sitedata.Chapter) -> str:
        seconds = sitedata.execution_seconds()
        text = []
        if ch.notebook in seconds:
            text.append(f"executing this page took {_seconds(seconds[ch.notebook])}")
        if ch.sweep is not None:
            from resnet_ode.book.experiments import SWEEPS

            sweep = SWEEPS[ch.sweep]
            pages = [sweep.output_path(c) for c in sweep.configs()]
            page_seconds = [seconds[p] for p in pages if p in seconds]
            if page_seconds:
                text.append(f"its {len(page_seconds)} run pages {_seconds(sum(page_seconds))} together")
            n_runs, n_cached, train = sitedata.training_seconds(ch)
            if n_cached:
                text.append(f"training its {n_runs} runs took {_seconds(train)} of computing in total "
                            f"({n_cached} of them found in the cache, timed when they were trained; "
                            f"<code>make</code> trains two at a time)")
        if not text:
            return "<p>No time of a build is recorded on this machine yet.</p>"
        return ("<p>Measured in the last build of this site (<code>make book</code>, two cores): "
                + "; ".join(text) + ".</p>")


class ChapterDataDirective(Directive):
    """``{chapter-data} KEY``: links to every published file of the chapter."""

    required_arguments = 1
    has_content = False

    def run(self):
        from resnet_ode.book.navigation import runs_table

        ch = _chapter(self)
        env = self.state.document.settings.env
        files = getattr(env.app, "resnet_ode_site_data", {}).get(ch.key, [])
        prefix = _root_prefix(self)
        parts = ['<div class="admonition note chapter-data"><p class="admonition-title">Data for this chapter</p>']
        parts.append(runs_table(env, ch.key, env.docname))
        if not files:
            parts.append("<p>No data files were published with this build.</p></div>")
            return [nodes.raw("", "".join(parts), format="html")]
        groups = {"": [], "tables": [], "runs": []}
        for path in files:
            kind = path.split("/")[2] if path.count("/") > 2 else ""
            groups.setdefault(kind, []).append(path)
        parts.append("<ul>")
        order = list(sitedata.DESCRIPTIONS)   # the chapter's own files first, then the data set in its order
        for path in sorted(groups[""], key=lambda p: order.index(p.rsplit("/", 1)[-1]) if p.rsplit("/", 1)[-1] in order
                           else len(order)):
            name = path.rsplit("/", 1)[-1]
            parts.append(f'<li><a href="{prefix}{html.escape(path)}" download>{html.escape(name)}</a>: '
                         f"{html.escape(sitedata.describe(path))}</li>")
        if groups["tables"]:
            links = ", ".join(f'<a href="{prefix}{html.escape(p)}">{html.escape(p.rsplit("/", 1)[-1])}</a>'
                              for p in groups["tables"])
            parts.append(f"<li>every result table of this page as CSV, in page order: {links}</li>")
        if groups["runs"]:
            histories = [p for p in groups["runs"] if not p.endswith("/index.csv")]
            index = [p for p in groups["runs"] if p.endswith("/index.csv")]
            text = f"the training history of each of its {len(histories)} runs (CSV, one row per iteration)"
            if index:
                text += (f'; <a href="{prefix}{html.escape(index[0])}">index.csv</a> gives the settings of each '
                         "and its file name")
            links = ", ".join(f'<a href="{prefix}{html.escape(p)}">{html.escape(p.rsplit("/", 1)[-1])}</a>'
                              for p in histories)
            parts.append(f"<li>{text}. <details><summary>The {len(histories)} files</summary>{links}</details></li>")
        parts.append(f'<li><a href="{prefix}data/README.txt">README.txt</a>: what every published file of the '
                     "book is, chapter by chapter</li>")
        parts.append("</ul></div>")
        return [nodes.raw("", "".join(parts), format="html")]


class CommandsDirective(Directive):
    """``{resnet-ode-commands}``: every ``resnet-ode`` subcommand with its help line.

    Read from :func:`resnet_ode.book.cli.build_parser`, so the list is the
    command line the book was built with; ``resnet-ode <command> --help`` gives
    each command's options.
    """

    required_arguments = 0
    has_content = False

    def run(self):
        import argparse

        from resnet_ode.book.cli import build_parser

        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        rows = [[f"<code>resnet-ode {html.escape(c.dest)}</code>", html.escape(c.help or "")]
                for c in sub._choices_actions]
        return [nodes.raw("", _table(["command", "what it does"], rows), format="html")]


#: plotly's JavaScript, copied from the installed (pinned) package to ``_static/`` of the site.
PLOTLY_JS = "plotly.min.js"

#: The book's own style sheet, written to ``_static/`` of the site.
CSS = "resnet-ode.css"
CSS_TEXT = """\
/* Sphinx's general index: long names wrap instead of widening the page past the column. */
table.indextable { table-layout: fixed; width: 100%; }
table.indextable td, table.indextable a { overflow-wrap: anywhere; }
/* Headings made of one long dotted name ("Source code for resnet_ode.studies.depth_stability_plots", the API
   pages' module titles) wrap rather than run out of the column at an 800 px window. */
article.bd-article h1, article.bd-article h2, article.bd-article h3 { overflow-wrap: anywhere; }
/* A module name in a heading fills its line exactly at 800 px; the code box's side padding would push it out. */
article.bd-article :is(h1, h2, h3) code { padding-left: 0; padding-right: 0; overflow-wrap: anywhere; }
"""


def _collect(app):
    """Assemble the published data and plotly's JavaScript; have Sphinx copy both into the site root."""
    import shutil
    from pathlib import Path

    out = sitedata.site_data_dir()
    app.resnet_ode_site_data = sitedata.assemble(out)
    try:
        import plotly
    except ImportError:  # no interactive figures can have been made either
        pass
    else:
        (out / "_static").mkdir(exist_ok=True)
        shutil.copyfile(Path(plotly.__file__).parent / "package_data" / PLOTLY_JS, out / "_static" / PLOTLY_JS)
    (out / "_static").mkdir(exist_ok=True)
    (out / "_static" / CSS).write_text(CSS_TEXT)
    if str(out) not in app.config.html_extra_path:
        app.config.html_extra_path.append(str(out))


def _plotly_where_needed(app, pagename, templatename, context, doctree):
    """Load plotly's JavaScript (4.5 MB) only on the pages that hold an interactive figure."""
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS)


def thesis_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{thesis}`97 %``: a number as the thesis reports it, not computed by the book.

    Rendered as its text with the class ``thesis-number``; the book's
    literal-number test (``tests/test_literal_numbers.py``) allows numbers only inside
    such a role, math, a glued value or a reference.
    """
    node = nodes.inline(rawtext, text, classes=["thesis-number"])
    return [node], []


def _repository_button(app, config):
    """Show the repository button exactly when ``_config.yml`` gives the repository's address (``repository: url``)."""
    options = dict(config.html_theme_options or {})
    if options.get("repository_url"):
        options["use_repository_button"] = True
        config.html_theme_options = options


def repository_url(app) -> str:
    """The repository's address from ``_config.yml`` (``repository: url``; empty while none is known)."""
    return (app.config.html_theme_options or {}).get("repository_url", "") or ""


#: The book's root ``index.html``: a redirect to the first page that names the book's icon, so that a first load
#: of the root does not ask for a ``/favicon.ico`` the book does not have (Chromium does, at random, while it
#: follows the redirect). Written before ``sphinx_external_toc`` would write its own redirect without the icon.
ROOT_REDIRECT = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                 '<meta http-equiv="Refresh" content="0; url={first_page}">'
                 '<link rel="icon" href="{icon}"><title>{title}</title></head>'
                 '<body><a href="{first_page}">{title}</a></body></html>\n')


def _root_redirect(app, exception):
    """Write the root ``index.html`` (:data:`ROOT_REDIRECT`) when the root page is not the top-level ``index``."""
    root = str(app.config.root_doc)
    if exception is not None or app.builder.format != "html" or root == "index" or not app.config.html_favicon:
        return
    icon = f"_static/{Path(app.config.html_favicon).name}"
    title = html.escape(str(app.config.html_title or app.config.project or root))
    text = ROOT_REDIRECT.format(first_page=f"{root}.html", icon=icon, title=title)
    Path(app.outdir, "index.html").write_text(text, encoding="utf-8")


def setup(app):
    app.add_role("thesis", thesis_role)
    app.connect("build-finished", _root_redirect, priority=400)
    app.connect("config-inited", _repository_button)
    app.add_directive("reproduce", ReproduceDirective)
    app.add_directive("chapter-data", ChapterDataDirective)
    app.add_directive("resnet-ode-commands", CommandsDirective)
    app.connect("builder-inited", _collect)
    app.connect("html-page-context", _plotly_where_needed)
    app.add_css_file(CSS)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
