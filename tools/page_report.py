"""Where each chapter page puts its findings, how much prose it has and how small its figure text gets.

Reads the built book (``_build/html``) in headless Chromium, as ``tests/test_browser.py``
does, at a 1400 and an 800 px window, and the pages' Markdown from git:

    .venv/bin/python tools/page_report.py [--before REV]

Prints one row per page: the page's height and the top of its first findings box
(``Findings`` or ``Key results``) in px at 1400 px, the words of prose of its
Markdown now and at ``--before`` (math, roles and directives counted as one word,
code not counted), and the smallest figure text on screen at both widths (from the
``Smallest text px`` record that ``resnet_ode.studies.plotting.show`` writes into
each PNG). Needs the browser of ``make chromium``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_browser as tb  # noqa: E402  (its browser, server and figure-text reading)

PAGES = ["book/index.md", "book/chapter1/introduction.md", "book/chapter3/peaks-data.ipynb",
         "book/chapter3/state-layers.ipynb", "book/chapter3/stability.ipynb", "book/chapter3/landscape.ipynb",
         "book/chapter3/runge-kutta.ipynb", "book/chapter4/conclusions.ipynb", "book/chapter6/beyond.ipynb"]

_FINDINGS_JS = """
const box = [...document.querySelectorAll('article.bd-article .admonition')]
  .find(a => /^(Findings|Key results)/.test((a.querySelector('.admonition-title') || {}).textContent || ''));
return JSON.stringify({height: document.documentElement.scrollHeight,
                       top: box ? box.getBoundingClientRect().top + window.scrollY : null});
"""


def prose_words(text: str) -> int:
    """Words of a page's Markdown: fenced blocks dropped, math, roles and directive lines one word each."""
    text = re.sub(r"```.*?```", " x ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " x ", text, flags=re.S)
    text = re.sub(r"\{[a-z:-]+\}`[^`]*`", " x ", text)
    text = re.sub(r"^:::.*$|^\(.*\)=$", " ", text, flags=re.M)
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", text))


def page_words(page: str, rev: str | None) -> int | None:
    """Prose words of ``page`` in the working tree (``rev`` None) or at a git revision (None if absent there)."""
    if rev is None:
        text = (ROOT / page).read_text()
    else:
        done = subprocess.run(["git", "show", f"{rev}:{page}"], cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            return None
        text = done.stdout
    if page.endswith(".ipynb"):
        text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
    return prose_words(text)


def smallest_text(driver) -> float | None:
    """Smallest figure text on the loaded page, px on screen (None without recorded figures)."""
    import base64
    from urllib.request import urlopen

    sizes = []
    for image in json.loads(driver.execute_script(tb._FIGURES_JS)):
        src = image["src"]
        if src.startswith("data:image/png;base64,"):
            data = base64.b64decode(src.split(",", 1)[1])
        else:
            with urlopen(src, timeout=tb.PAGE_TIMEOUT) as response:  # noqa: S310 (the local server)
                data = response.read()
        recorded = tb.png_text(data).get("Smallest text px")
        if recorded is not None and image["natural"]:
            sizes.append(float(recorded) * image["shown"] / image["natural"])
    return min(sizes) if sizes else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="c02fafc", help="git revision the word counts are compared with")
    args = parser.parse_args(argv)
    if not (tb.HTML / "index.html").exists():
        sys.exit("error: no built book in _build/html (run `make html` first)")
    missing = tb.missing_browser()
    if missing:
        sys.exit(f"error: {', '.join(missing)} not installed (make chromium)")
    profile = Path(tempfile.mkdtemp(prefix="page-report-"))
    server, driver = tb.LocalServer(tb.HTML), tb.start_browser(profile)
    try:
        print(f"{'page':34s} {'height':>7s} {'findings at':>11s} {'words':>6s} {'before':>6s} "
              f"{'text 1400':>9s} {'text 800':>8s}")
        for page in PAGES:
            url = server.url + str(Path(page).with_suffix(".html"))
            row = {}
            for width in tb.WIDTHS:
                tb.load(driver, url, width)
                row[width] = smallest_text(driver)
                if width == 1400:
                    row.update(json.loads(driver.execute_script(_FINDINGS_JS)))
            before = page_words(page, args.before)
            fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
            top = "-" if row["top"] is None else f"{row['top']:.0f}"
            print(f"{page:34s} {row['height']:7d} {top:>11s} {page_words(page, None):6d} "
                  f"{('-' if before is None else before):>6} {fmt(row[1400]):>9s} {fmt(row[800]):>8s}")
    finally:
        driver.quit()
        server.close()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
