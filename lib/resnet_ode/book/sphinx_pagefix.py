"""Sphinx extension of the book: every inline ``<script>`` once on each page.

Sphinx 7.4 (the last Sphinx Jupyter Book 1 accepts: it requires ``sphinx~=7.0``)
writes an inline script that an extension registers once the HTML builder exists
(``app.add_js_file(None, body=...)`` in a ``builder-inited`` or later handler)
into every page twice. ``Sphinx.add_js_file`` records it in the registry and hands
it to the builder with the file name ``None``; ``StandaloneHTMLBuilder.prepare_writing``
then adds everything in the registry again ("assets registered after
``Builder.init()``") with the file name ``''``, and the builder's check for a
script it already has compares ``None`` with ``''``: not equal, so the script is
added a second time. Jupyter Book always loads two extensions that do this:

* sphinx_thebe (``env-before-read-docs``): ``const THEBE_JS_URL = ...``. Declared
  twice, the second script throws ``SyntaxError: Identifier 'THEBE_JS_URL' has
  already been declared`` on every page (even with ``launch_buttons.thebe: false``,
  since the extension adds its configuration regardless);
* sphinx_togglebutton (``builder-inited``): ``var togglebuttonSelector = ...``
  (harmless twice, but doubled all the same).

This extension gives the builder ``''`` instead of ``None``, as Sphinx itself does
since sphinx-doc/sphinx pull request 13402 (merged 2025, after 7.4): it wraps the
HTML builder's ``add_js_file`` before any other ``builder-inited`` handler runs.
Listed in ``_config.yml`` under ``sphinx: extra_extensions``.
"""

from __future__ import annotations


def _inline_scripts_named_empty(app) -> None:
    builder = app.builder
    add_js_file = getattr(builder, "add_js_file", None)
    if add_js_file is None or getattr(add_js_file, "inline_name_fixed", False):
        return  # not an HTML builder, or already wrapped

    def add_js_file_once(filename, **kwargs):
        return add_js_file(filename or "", **kwargs)

    add_js_file_once.inline_name_fixed = True
    builder.add_js_file = add_js_file_once


def setup(app):
    # Priority 0: before sphinx_togglebutton's builder-inited handler (500) adds its script.
    app.connect("builder-inited", _inline_scripts_named_empty, priority=0)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
