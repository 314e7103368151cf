"""Every page of the built book, opened in headless Chromium as a reader would see it.

Checked on each page of ``_build/html``, served from a local HTTP server on
127.0.0.1 inside this test:

* the equations are typeset: every ``.math`` element holds MathJax output, no
  MathJax error is shown, and no raw TeX (``\\(``, ``\\)``, ``\\[``, ``\\]``,
  ``$$``, ``\\begin{``) is left in the visible text outside code;
* every image has loaded (``complete`` and ``naturalWidth > 0``);
* no output cell shows a traceback or an error;
* every interactive figure (an element of class ``plotly-graph-div``) has been
  drawn: plotly loaded and ``Plotly.newPlot`` made its SVG;
* the page requests nothing from another host: every network request of the
  page (Chromium's DevTools ``Network`` events, read from ChromeDriver's
  performance log) and every resource the page references must be on
  127.0.0.1/localhost; a local request that fails (HTTP status >= 400 or a
  network error) is reported too, e.g. a missing MathJax font;
* no console error: every ``SEVERE`` entry of the browser console (ChromeDriver's
  ``browser`` log) is reported: uncaught JavaScript exceptions (such as the
  ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared`` of a script
  written twice), ``console.error`` calls of the page's scripts and any other
  source, except the console lines of failed network requests (source
  ``network``): those are the previous check's, which names the URL (the
  favicon too: the book ships one, so a first load requests no missing icon);
* every figure a cell shows has its smallest text at least 9 px high on screen at both
  widths: ``resnet_ode.studies.plotting.show`` records the smallest text's height in
  the PNG's pixels in a PNG text chunk, scaled here by the width the page gives the
  image over its natural width; an output image without that record is reported;
* a number glued into the prose (``span.pasted-text``) is not one unit of its last
  digit away from a number of a table in its own section without being in the page's
  tables as well: a number quoted from a table is rounded as the table rounds it;
* nothing is wider than the content column, at a window 1400 px and 800 px wide
  (the page is loaded afresh at each width). The column is the content box of
  ``article.bd-article``, the theme's main text column (on the search page, which
  has no article, of ``.bd-article-container``); a page with neither is reported.
  Counted, for elements the reader can see (``checkVisibility()``: not
  ``display: none``, not inside a closed ``<details>``):

  - an element whose right edge lies more than 1 px to the right of the column
    (only the outermost such element is reported, not its children; an element
    with ``visibility: hidden``, such as the theme's "#" links that appear on
    hover, is not counted itself, its children are looked at);
  - an element that clips its content horizontally (``overflow-x`` ``hidden`` or
    ``clip``) while what that content shows reaches more than 1 px beyond the
    element's padding box: a ``pre``, code block, output or inline formula whose
    end is cut off. "What it shows" is its text and the boxes of its visible
    elements, without elements hidden by ``clip``/``clip-path`` (MathJax's
    assistive MathML, which sticks out of every ``span.math`` although the formula
    shows whole, so that ``scrollWidth > clientWidth`` alone is no evidence);
  - the document scrolling horizontally (``scrollWidth > clientWidth`` of the
    root element), whatever causes it, inside the column or not.

  Not counted: content inside an element that scrolls horizontally itself
  (``overflow-x`` ``auto`` or ``scroll``, such as a wide table in the theme's
  scrolling wrapper, a ``pre`` with a scroll bar or a display equation): the
  reader can scroll to it, so only the scrolling element's own box has to fit
  the column. A clipping element is checked the same way (its own box, and
  whether it cuts off what it shows), its content is not walked further. Each
  offender is reported as tag and classes, its first 60 characters of text and
  by how many px it is too wide or cut off.

Moving through the book (:func:`navigation_problems`, at 1400 px): the Prev/Next
links of every page (the theme's ``a.left-prev``/``a.right-next`` and the
``<link rel="prev|next">`` tags) never lead to a run page; every run page links
back to its chapter (``a.run-page-chapter``), whose page links to the run page
in turn (its runs table), and links its own history CSV (``a.run-history``), a
file of the site; no run page's link is visible in the sidebar except on the run
pages of its own chapter (they stay collapsed under their chapter, on the
chapter's page too).

The other checks run at 1400 px; network requests and console entries are
collected over both loads. With ``RESNET_ODE_SCREENSHOTS=1`` (``make screenshots``), a
full-page screenshot of every chapter page (``book/chapter*/`` without the run pages under
``runs/``) and of the front page ``book/index.html`` (the root ``index.html`` only
redirects to it) is saved at both widths as
``_build/screenshots/<page path, / replaced by __>-<width>.png`` for review (screenshots of
pages no longer in the book are removed). They are for a reader's eyes, no check reads them,
and they cost about half the test's time (a page of the API is 155,000 px tall), so
``make test`` takes none. Saving them never fails a test unless it raises.

Driver: Selenium with Debian's ``/usr/bin/chromedriver`` and ``/usr/bin/chromium``
given explicitly, so Selenium Manager (which would download a driver) never
runs; ``SE_OFFLINE`` is set as well. ``tools/install-chromium.sh`` (run by
``make test``) installs both Debian packages; where they are missing the test
is skipped with a message naming what is missing.

The book must be built first (``make test`` does so).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# Headless, and nothing of Chromium's own that calls out: no background
# networking, component updates, sync, metrics, first-run or default-browser
# tasks, no QUIC, and no host name resolves except localhost.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-quic",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--window-size=1280,1000",
]

PAGE_TIMEOUT = 60  # seconds for a page, its images, fonts and MathJax
WIDTHS = (1400, 800)  # px, window width (headless: the viewport's width)
WINDOW_HEIGHT = 1000
SCREENSHOTS = ROOT / "_build" / "screenshots"
#: Screenshots are saved only when this environment variable is 1 (``make screenshots``).
SCREENSHOTS_ENV = "RESNET_ODE_SCREENSHOTS"

# A 1x1 PNG for the test page of the checks themselves.
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def book_pages() -> list[str]:
    """Paths of the built pages, relative to ``_build/html`` (``_static``/``_sources`` excluded)."""
    if not HTML.is_dir():
        return []
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not {"_static", "_sources", "_images"} & set(p.relative_to(HTML).parts)
    )


# ----------------------------------------------------------------------------
# the local server and the browser
# ----------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The browser closing a connection early (at quit) is not an error of the book.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LocalServer:
    """A static HTTP server for ``folder`` on 127.0.0.1 (a free port), in a thread."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def missing_browser() -> list[str]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not (p.is_file() and os.access(p, os.X_OK))]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the Python package selenium (requirements.txt)")
    return missing


def start_browser(user_data_dir: Path):
    """Chromium under ChromeDriver, both from Debian, with the network log switched on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager may never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT)
    driver.set_script_timeout(PAGE_TIMEOUT)
    return driver


# ----------------------------------------------------------------------------
# what is checked on a page
# ----------------------------------------------------------------------------

# Resolves once MathJax has typeset the page (if the page loads MathJax), every
# image has loaded or failed (lazy images are made eager first) and the fonts
# in use are ready.
_SETTLE_JS = """
const done = arguments[arguments.length - 1];
const mathjax = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
const images = Array.from(document.images).map(img => {
  img.loading = "eager";
  return img.complete ? null : new Promise(r => { img.addEventListener("load", r); img.addEventListener("error", r); });
});
Promise.all([mathjax.catch(() => null), ...images])
  .then(() => document.fonts.ready)
  .then(() => new Promise(r => setTimeout(r, 50)))
  .then(() => done(true), () => done(true));
"""

_INSPECT_JS = r"""
const skip = "pre, code, script, style, noscript, textarea, template, mjx-container";
const rawTex = [/\\\(/, /\\\)/, /\\\[/, /\\\]/, /\$\$/, /\\begin\{/, /\$[^$\s][^$]*\\[A-Za-z]+[^$]*\$/];
const out = {untypeset: [], mathErrors: [], rawTex: [], images: [], tracebacks: [], referenced: [],
             mathjaxScripts: 0};
const short = s => s.replace(/\s+/g, " ").trim().slice(0, 120);

const maths = Array.from(document.querySelectorAll(".math")).filter(e => !e.closest("mjx-container"));
for (const e of maths) if (!e.querySelector("mjx-container")) out.untypeset.push(short(e.textContent));
for (const e of document.querySelectorAll("mjx-merror"))
  out.mathErrors.push(short(e.getAttribute("data-mjx-error") || e.textContent));

const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const el = n.parentElement;
  if (!el || el.closest(skip) || !el.checkVisibility()) continue;
  for (const re of rawTex) if (re.test(n.textContent)) { out.rawTex.push(short(n.textContent)); break; }
}

for (const img of document.images)
  if (!(img.complete && img.naturalWidth > 0)) out.images.push(img.currentSrc || img.src || "(no src)");

for (const e of document.querySelectorAll(".traceback, .output.error, .output.traceback"))
  out.tracebacks.push(short(e.textContent));
for (const e of document.querySelectorAll(".cell_output"))
  if (/Traceback \(most recent call last\)|An Exception was encountered/.test(e.textContent))
    out.tracebacks.push(short(e.textContent));

for (const e of document.querySelectorAll("script[src], link[href], img[src], iframe[src], source[src], video[src], audio[src], embed[src], object[data]"))
  out.referenced.push(e.src || e.href || e.data);
out.mathjaxScripts = Array.from(document.scripts).filter(s => /tex-mml-chtml/.test(s.src)).length;

// Code a reader sees without opening anything: lines of visible cell inputs (collapsed ones are not).
// Interactive figures: Plotly.newPlot marks its element js-plotly-plot and draws into .main-svg.
out.interactive = [];
for (const e of document.querySelectorAll(".plotly-graph-div"))
  if (!(e.classList.contains("js-plotly-plot") && e.querySelector(".main-svg")))
    out.interactive.push(e.id || "(no id)");

out.visibleCode = 0;
for (const e of document.querySelectorAll(".cell_input, .cell .highlight-ipython3"))
  if (e.checkVisibility() && !e.parentElement.closest(".cell_input"))
    out.visibleCode += e.innerText.split("\n").filter(l => l.trim()).length;
return JSON.stringify(out);
"""


def _foreign(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "javascript", ""):
        return False
    return parts.hostname not in LOCAL_HOSTS


# Browser-internal pages (the new-tab page Chromium opens at start), never on the network.
_INTERNAL_SCHEMES = ("chrome", "chrome-untrusted", "devtools")


def network_events(driver) -> tuple[list[str], list[str]]:
    """Requested URLs and failed requests (``"url: reason"``) since the last call.

    A failure is reported only for a request seen starting since the last call.
    The favicon's request counts like any other: the book ships its icon.
    """
    requested, failed, urls = [], [], {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if urlsplit(url).scheme in _INTERNAL_SCHEMES:
                continue
            urls[params["requestId"]] = url
            requested.append(url)
        elif params.get("requestId") not in urls:
            continue
        elif method == "Network.responseReceived":
            status = params["response"].get("status", 0)
            if status >= 400:
                failed.append(f"{urls[params['requestId']]}: HTTP {status}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            failed.append(f"{urls[params['requestId']]}: {params.get('errorText')}")
    return requested, failed


# Wider than the content column, at the current window width (see the module docstring).
_OVERFLOW_JS = r"""
const TOLERANCE = 1;  // px: sub-pixel layout
const out = [];
const root = document.documentElement;
if (root.scrollWidth - root.clientWidth > 0)
  out.push(`document scrolls horizontally: ${root.scrollWidth - root.clientWidth} px wider than the window`);
// the article; the search page, which has none, has its results in the article's container
const column = document.querySelector("article.bd-article") || document.querySelector(".bd-article-container");
if (!column) {
  out.push("no content column (article.bd-article, .bd-article-container) on the page");
  return JSON.stringify(out);
}
const style = getComputedStyle(column);
const right = column.getBoundingClientRect().right - parseFloat(style.borderRightWidth)
              - parseFloat(style.paddingRight);
const name = e => e.tagName.toLowerCase() + Array.from(e.classList).slice(0, 4).map(c => "." + c).join("");
const text = e => JSON.stringify((e.textContent || "").replace(/\s+/g, " ").trim().slice(0, 60));

// Whether an element keeps its content inside its box horizontally (scrolls or clips it).
const contains = s => s.overflowX !== "visible";

// The right edge (viewport px) of what an element's content draws: its text, and the boxes of
// its visible elements; not what is hidden by visibility or by clip/clip-path (such as
// MathJax's assistive MathML, which makes a span.math's scrollWidth exceed its width although
// the formula shows whole), and of an element that scrolls or clips, only its own box.
function contentRight(e) {
  let r = -Infinity;
  for (const n of e.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) {
      if (!n.textContent.trim() || getComputedStyle(e).visibility !== "visible") continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      for (const b of range.getClientRects()) if (b.width > 0) r = Math.max(r, b.right);
    } else if (n.nodeType === Node.ELEMENT_NODE && n.checkVisibility()) {
      const s = getComputedStyle(n);
      if (((s.position === "absolute" || s.position === "fixed") && s.clip !== "auto") || s.clipPath !== "none")
        continue;
      const b = n.getBoundingClientRect();
      if (s.visibility === "visible" && b.width > 0 && b.height > 0) r = Math.max(r, b.right);
      if (!contains(s)) r = Math.max(r, contentRight(n));
    }
  }
  return r;
}

function visit(parent) {
  for (const e of parent.children) {
    if (!e.checkVisibility()) continue;  // display: none, closed <details>: its whole subtree
    const s = getComputedStyle(e);
    const beyond = e.getBoundingClientRect().right - right;
    // visibility: hidden (the theme's "#" links, shown on hover) is not seen; its children may be
    if (beyond > TOLERANCE && s.visibility === "visible") {
      out.push(`${name(e)} ${text(e)}: ${Math.round(beyond)} px beyond the column`);
      continue;  // the outermost offender only
    }
    if (contains(s)) {
      if ((s.overflowX === "hidden" || s.overflowX === "clip") && e.scrollWidth - e.clientWidth > TOLERANCE) {
        const cut = contentRight(e) - (e.getBoundingClientRect().left + e.clientLeft + e.clientWidth);
        if (cut > TOLERANCE) out.push(`${name(e)} ${text(e)}: cut off, ${Math.round(cut)} px of its content hidden`);
      }
      continue;  // its content scrolls or is clipped inside it
    }
    visit(e);
  }
}
visit(column);
return JSON.stringify(out);
"""


def console_errors(driver) -> list[str]:
    """``SEVERE`` browser console entries since the last call, failed requests excepted.

    A failed request (source ``network``) is reported by :func:`network_events`,
    which names the URL and knows Chromium's own ``/favicon.ico`` request.
    """
    return [f"{e.get('source')}: {e['message'][:300]}" for e in driver.get_log("browser")
            if e.get("level") == "SEVERE" and e.get("source") != "network"]


def load(driver, url: str, width: int) -> None:
    """Open ``url`` in a window ``width`` px wide and wait until the page has settled."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(width, WINDOW_HEIGHT)
    driver.get(url)
    if driver.execute_script("return !!document.querySelector('meta[http-equiv=Refresh i]')"):
        # a redirect page (the book's root index.html): check the page it leads to
        WebDriverWait(driver, PAGE_TIMEOUT).until(
            lambda d: d.current_url != url and d.execute_script("return document.readyState") == "complete")
    driver.execute_async_script(_SETTLE_JS)


def save_screenshot(driver, path: Path) -> None:
    """A PNG of the whole page, through DevTools: beyond the window's height, and its width if wider."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "optimizeForSpeed": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


# Every output image of a page (a figure a notebook cell shows): its address, the width the page
# gives it and its natural width.
_FIGURES_JS = """
return JSON.stringify([...document.querySelectorAll('article.bd-article .cell_output img')]
  .filter(img => img.checkVisibility())
  .map(img => ({src: img.currentSrc || img.src, shown: img.getBoundingClientRect().width, natural: img.naturalWidth})));
"""

#: Smallest text a figure may show on screen, px (resnet_ode.studies.plotting.MIN_TEXT_PX, to 0.05 px).
MIN_FIGURE_TEXT_PX = 9.0 - 0.05


def png_text(data: bytes) -> dict:
    """The text chunks (``tEXt``) of a PNG file's bytes, as a dict (empty for another format)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return {}
    chunks, pos = {}, 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"tEXt":
            key, _, value = data[pos + 8:pos + 8 + length].partition(b"\0")
            chunks[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return chunks


def small_figure_text(driver, width: int) -> list[str]:
    """Output images whose smallest text the page shows below the minimum, or whose size is not recorded.

    ``resnet_ode.studies.plotting.show`` records the height of a figure's smallest text
    in the PNG's own pixels (text chunk ``Smallest text px``); on the page it is that
    times the width the page gives the image over its natural width.
    """
    from urllib.request import urlopen

    found = []
    for image in json.loads(driver.execute_script(_FIGURES_JS)):
        src = image["src"]
        if src.startswith("data:image/png;base64,"):
            data = base64.b64decode(src.split(",", 1)[1])
        else:
            with urlopen(src, timeout=PAGE_TIMEOUT) as response:  # noqa: S310 (the local server)
                data = response.read()
        recorded = png_text(data).get("Smallest text px")
        name = src.rsplit("/", 1)[-1][:40]
        if recorded is None:
            found.append(f"{name}: no smallest text recorded (a figure not shown by plotting.show)")
            continue
        shown = float(recorded) * image["shown"] / image["natural"]
        if shown < MIN_FIGURE_TEXT_PX:
            found.append(f"{name}: smallest text {shown:.1f} px at {width} px")
    return found


# The numbers a page glues into its prose (span.pasted-text outside tables) and the numbers of its tables.
_NUMBERS_JS = """
const article = document.querySelector('article.bd-article');
if (!article) return JSON.stringify({pasted: [], tables: []});
const home = e => e.closest('section') || article;
const cells = t => [...t.querySelectorAll('td, th')].map(c => c.textContent.trim());
const tables = [...article.querySelectorAll('table')];
const pasted = [...article.querySelectorAll('span.pasted-text')].filter(s => !s.closest('table'))
  .map(s => ({text: s.textContent.trim(), beside: tables.filter(t => home(t) === home(s)).flatMap(cells)}));
return JSON.stringify({pasted, tables: tables.flatMap(cells)});
"""
_DECIMAL = re.compile(r"(?<![\w.])[-+−]?\d+\.(\d+)(?![\w.])")


def _decimals(cells: list[str]) -> dict:
    """The numbers of table cells with a decimal point, by their number of decimals, as rounded there."""
    found = {}
    for cell in cells:
        for m in _DECIMAL.finditer(cell):
            found.setdefault(len(m.group(1)), set()).add(round(float(m.group(0).replace("−", "-")), len(m.group(1))))
    return found


def prose_table_mismatches(pasted: list[dict], cells: list[str]) -> list[str]:
    """Glued prose numbers that differ from a number of a table beside them by one in their last digit.

    ``pasted`` holds each glued number of the prose (``text``) with the cells of the
    tables of its own section (``beside``: the tables whose innermost section is the
    number's); ``cells`` are those of every table of the page. A number the prose
    quotes from a table is rounded as the table rounds it, so it appears there as it
    is; one that appears only one unit of its last digit away in a table beside it
    (prose 0.329 beside a table's 0.328, from rounding another value) is reported,
    unless it appears as it is in a table of the page. Tables of other sections are
    not compared: a page's many numbers hold chance neighbours of other quantities
    (measured on the built book: a baseline 0.200 next to an accuracy 0.199 three
    sections away). Numbers with fewer than two decimals are not compared.
    """
    anywhere = _decimals(cells)
    found = []
    for glued in pasted:
        beside = _decimals(glued["beside"])
        for m in _DECIMAL.finditer(glued["text"]):
            digits = len(m.group(1))
            if digits < 2:
                continue
            value = round(float(m.group(0).replace("−", "-")), digits)
            step = 10.0 ** -digits
            near = [round(value + d, digits) for d in (-step, step) if round(value + d, digits) in beside.get(digits, ())]
            if value not in anywhere.get(digits, ()) and near:
                found.append(f"prose {m.group(0)} differs by one in the last digit from a table's "
                             f"{near[0]:.{digits}f}")
    return found


def inspect_page(driver, url: str, screenshot: str | None = None, page: str | None = None,
                 base: str | None = None) -> dict:
    """Load ``url`` at each width and return every problem found, by kind (empty lists when fine).

    With ``screenshot`` (a file name stem), a full-page screenshot is saved at
    each width under ``SCREENSHOTS``. With ``page`` (its path under the book)
    and ``base`` (the server's root URL), the links that move the reader on are
    checked too (:func:`navigation_problems`, at the widest width, where the
    sidebar shows).
    """
    network_events(driver)  # drop what earlier pages left in the logs
    driver.get_log("browser")
    report, requested, failed, console = {}, [], [], []
    for width in WIDTHS:
        load(driver, url, width)
        if width == WIDTHS[0]:
            found = json.loads(driver.execute_script(_INSPECT_JS))
            numbers = json.loads(driver.execute_script(_NUMBERS_JS))
            if page is not None:
                report["navigation"] = navigation_problems(page, json.loads(driver.execute_script(_NAVIGATION_JS)),
                                                           base)
        report[f"overflow at {width} px"] = json.loads(driver.execute_script(_OVERFLOW_JS))
        report[f"figure text too small at {width} px"] = small_figure_text(driver, width)
        if screenshot:
            save_screenshot(driver, SCREENSHOTS / f"{screenshot}-{width}.png")
        more_requested, more_failed = network_events(driver)
        requested += more_requested
        failed += more_failed
        console += console_errors(driver)
    return {
        "math not typeset": found["untypeset"],
        "MathJax errors": found["mathErrors"],
        "raw TeX in visible text": found["rawTex"],
        "MathJax loaded more than once": [f"{found['mathjaxScripts']} scripts"] if found["mathjaxScripts"] > 1 else [],
        "images not loaded": found["images"],
        "error outputs": found["tracebacks"],
        "requests to other hosts": sorted({u for u in requested if _foreign(u)}),
        "resources on other hosts": sorted({u for u in found["referenced"] if _foreign(u)}),
        "failed local requests": sorted(set(f for f in failed if not _foreign(f.split(": ")[0]))),
        "visible code lines": [found["visibleCode"]] if found["visibleCode"] else [],
        "interactive figures not drawn": found["interactive"],
        "console errors": list(dict.fromkeys(console)),
        "prose numbers that differ from a table": prose_table_mismatches(numbers["pasted"], numbers["tables"]),
        **report,
    }


# Links that move the reader on (absolute URLs, as the browser resolves them).
_NAVIGATION_JS = r"""
const hrefs = sel => Array.from(document.querySelectorAll(sel)).map(a => a.href);
const sidebar = Array.from(document.querySelectorAll(".bd-sidebar-primary a.reference"))
  .filter(a => a.checkVisibility()).map(a => a.href);
return JSON.stringify({prevNext: hrefs("a.left-prev, a.right-next, link[rel=prev], link[rel=next]"),
                       chapter: hrefs("a.run-page-chapter"), history: hrefs("a.run-history"), sidebar: sidebar});
"""


def is_run_page(page: str) -> bool:
    """A run page: a page in a ``runs/`` folder (:func:`resnet_ode.book.navigation.is_run_page`)."""
    return Path(page).parent.name == "runs"


def navigation_problems(page: str, found: dict, base: str, html: Path = HTML) -> list[str]:
    """What is wrong with the links of ``page`` that move the reader on (``found``: :data:`_NAVIGATION_JS`'s).

    ``base`` is the server's root URL; pages are paths relative to it (and to ``html``).
    """
    import posixpath

    def local(url):
        return url.split("#")[0].removeprefix(base) if url.startswith(base) else None

    out = [f"Prev/Next leads to the run page {local(u)}" for u in found["prevNext"] if is_run_page(local(u) or "")]
    run_chapter = None
    if is_run_page(page):
        chapters = [local(u) for u in found["chapter"]]
        if len(chapters) != 1 or chapters[0] is None or not (html / chapters[0]).is_file() or is_run_page(chapters[0]):
            out.append(f"no link back to its chapter (a.run-page-chapter): {chapters}")
        else:
            run_chapter = chapters[0]
            back = posixpath.relpath(page, posixpath.dirname(run_chapter))
            if f'href="{back}"' not in (html / run_chapter).read_text():
                out.append(f"its chapter {run_chapter} does not link to it ({back})")
        histories = [local(u) for u in found["history"]]
        if len(histories) != 1 or histories[0] is None or not (html / histories[0]).is_file():
            out.append(f"no link to its history CSV (a.run-history): {histories}")
    owner = run_chapter if is_run_page(page) else None   # on a run page, its chapter's run pages may show
    for url in found["sidebar"]:
        target = local(url)
        if target and is_run_page(target) and not (owner and _lists_run_page(html / owner, owner, target)):
            out.append(f"the sidebar shows the run page {target} of another chapter")
    return out


def _lists_run_page(chapter_file: Path, chapter: str, run: str) -> bool:
    """Whether the page ``chapter`` links ``run`` in its content (its runs table): it is that run's chapter."""
    import posixpath

    back = posixpath.relpath(run, posixpath.dirname(chapter))
    return chapter_file.is_file() and f'class="run-page-link" href="{back}"' in chapter_file.read_text()


def code_stays_collapsed(page: str) -> bool:
    """Chapter pages show no code until the reader opens it; run pages may show theirs."""
    return page.startswith("book/chapter") and "/runs/" not in page


def screenshot_name(page: str) -> str | None:
    """The screenshot stem of a chapter page or the front page; None for other pages."""
    if os.environ.get(SCREENSHOTS_ENV) != "1":
        return None
    if code_stays_collapsed(page) or page == "book/index.html":
        return page.replace("/", "__")
    return None


def problems(report: dict) -> dict:
    return {k: v for k, v in report.items() if v}


# ----------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    missing = missing_browser()
    if missing:
        pytest.skip(f"browser test skipped: {', '.join(missing)} not installed "
                    "(tools/install-chromium.sh installs Debian's chromium and chromium-driver as root)")
    profile = Path(tempfile.mkdtemp(prefix="resnet-ode-chromium-"))
    driver = start_browser(profile)
    try:
        driver.get("about:blank")
        network_events(driver)  # what Chromium did at start (its new-tab page) is not a page's
        driver.get_log("browser")
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def screenshots():
    """The screenshot folder, without the screenshots of pages no longer in the book.

    Not emptied: a run without screenshots keeps those of the last run that took them.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if os.environ.get(SCREENSHOTS_ENV) != "1":
        return SCREENSHOTS
    current = {screenshot_name(p) for p in ALL_PAGES} - {None}
    for old in SCREENSHOTS.glob("*.png"):
        if old.stem.rsplit("-", 1)[0] not in current:
            old.unlink(missing_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def book_server():
    server = LocalServer(HTML)
    try:
        yield server
    finally:
        server.close()


# ----------------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------------

ALL_PAGES = book_pages()


def is_code_page(page: str) -> bool:
    """A page of the API reference or of the package's highlighted source: ``tests/test_browser_code.py`` checks
    those, in a file of its own, so that two test workers share the pages (``--dist loadfile``)."""
    return page.startswith(("_modules/", "book/chapter5/api/"))


PAGES = [p for p in ALL_PAGES if not is_code_page(p)]
CODE_PAGES = [p for p in ALL_PAGES if is_code_page(p)]


def test_book_is_built():
    assert ALL_PAGES, f"no HTML pages under {HTML}: build the book first (make book)"
    assert "index.html" in PAGES and "book/chapter5/api/studies.html" in CODE_PAGES
    assert any(is_run_page(p) for p in PAGES), "no run pages were built"


def check_page(browser, book_server, page: str) -> None:
    """Every check of :func:`inspect_page` on one page of the book, its navigation included.

    Navigation: Prev/Next never enters a run page; every run page links back to its chapter
    and to its data; the sidebar shows no other chapter's run pages.
    """
    report = inspect_page(browser, book_server.url + page, screenshot=screenshot_name(page), page=page,
                          base=book_server.url)
    if not code_stays_collapsed(page):
        report["visible code lines"] = []
    bad = problems(report)
    assert not bad, f"{page}: " + "; ".join(
        f"{k}: {v[:8]}" + (f" (+{len(v) - 8} more)" if len(v) > 8 else "") for k, v in bad.items())


@pytest.mark.parametrize("page", PAGES)
def test_page(browser, book_server, screenshots, page):
    """:func:`check_page` on a page of the book (the pages of code: ``tests/test_browser_code.py``)."""
    check_page(browser, book_server, page)


def test_navigation_checks_catch_broken_links(tmp_path):
    """The navigation checks fail for real: a run page in the Prev/Next sequence, without its links."""
    base = "http://127.0.0.1:1/"
    (tmp_path / "c" / "runs").mkdir(parents=True)
    (tmp_path / "c" / "ch.html").write_text('<a class="run-page-link" href="runs/r.html">r</a>')
    (tmp_path / "c" / "other.html").write_text("no runs table")
    (tmp_path / "data.csv").write_text("a\n1\n")
    good = {"prevNext": [base + "c/ch.html", base + "c/other.html"], "chapter": [base + "c/ch.html"],
            "history": [base + "data.csv"], "sidebar": [base + "c/runs/r.html"]}
    assert navigation_problems("c/runs/r.html", good, base, tmp_path) == []
    assert navigation_problems("c/ch.html", {**good, "chapter": [], "history": [], "sidebar": []}, base, tmp_path) == []
    bad = {"prevNext": [base + "c/runs/q.html#top"], "chapter": [], "history": [base + "missing.csv"],
           "sidebar": []}
    found = navigation_problems("c/runs/r.html", bad, base, tmp_path)
    assert [f.split(":")[0].split(" (")[0] for f in found] == [
        "Prev/Next leads to the run page c/runs/q.html", "no link back to its chapter", "no link to its history CSV"]
    orphan = {**good, "chapter": [base + "c/other.html"], "sidebar": []}
    assert navigation_problems("c/runs/r.html", orphan, base, tmp_path) == [
        "its chapter c/other.html does not link to it (runs/r.html)"]
    for page in ("c/other.html", "c/ch.html"):        # collapsed on every page but the chapter's run pages
        assert navigation_problems(page, {**good, "chapter": [], "history": []}, base, tmp_path) == [
            "the sidebar shows the run page c/runs/r.html of another chapter"]


def test_checks_catch_a_broken_page(browser, tmp_path):
    """The checks fail for real: a page with each fault, served like the book.

    And wide content that a reader can scroll to, or does not see, is not
    reported (``scrolled.html``).
    """
    mathjax = HTML / "_static" / "mathjax"
    if not (mathjax / "tex-mml-chtml.js").is_file():
        pytest.fail(f"{mathjax} has no tex-mml-chtml.js: build the book first (make book)")
    shutil.copytree(mathjax, tmp_path / "mathjax")
    (tmp_path / "ok.png").write_bytes(base64.b64decode(PNG_1X1))
    # an icon, as the book ships one: Chromium requests /favicon.ico with the first page
    (tmp_path / "favicon.ico").write_bytes(base64.b64decode(PNG_1X1))
    # the book's MathJax set-up: only .math elements inside ignored sections are typeset
    head = ('<script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>'
            '<script defer src="mathjax/tex-mml-chtml.js"></script>')
    body = '<section class="tex2jax_ignore mathjax_ignore">{}</section>'

    def page(content: str, head: str = "", before: str = "") -> str:
        """A page with the theme's content column, ``article.bd-article`` (padded like the theme's)."""
        return (f'<html><head>{head}</head><body>{before}<article class="bd-article" style="padding: 0 32px">'
                f'{content}</article></body></html>')

    import plotly

    from resnet_ode.studies import interactive

    shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", tmp_path / "plotly.min.js")
    heat_map = interactive.matrix_heatmap(np.eye(2), [8, 16], [8, 16], "test-map", "a test map")._repr_html_()
    long_line = "x = [" + ", ".join(str(i) for i in range(200)) + "]"
    # figures as plotting.show writes them: one with 5 pt text, wide, so scaled down; one made legible
    import matplotlib.pyplot as plt

    from resnet_ode.studies import plotting

    for name, legible in (("small-text.png", False), ("legible.png", True)):
        fig, ax = plt.subplots(figsize=(20, 3))
        ax.set_title("five points", fontsize=5)
        ax.tick_params(labelsize=5)
        if legible:
            plotting.legible(fig)
        (tmp_path / name).write_bytes(plotting.png_bytes(fig))
        plt.close(fig)
    span_math = "display: inline-flex; max-width: 100%; overflow: hidden"
    pages = {
        # typeset fine, one good image: no problems
        "good.html": page(body.format('<p><span class="math">\\(x^2\\)</span></p><img src="ok.png">'), head),
        # math that MathJax never sees (no script), an image that does not exist
        "no-mathjax.html": page('<p><span class="math">\\(x^2\\)</span></p><img src="missing.png">'),
        # a TeX error, raw TeX outside the math elements, a traceback cell
        "faults.html": page(body.format(
            '<p><span class="math">\\(\\frac{1}\\)</span></p><p>Left raw: $$ a + b $$ and $\\alpha$.</p>'
            '<div class="cell_output"><div class="output traceback">Traceback (most recent call last)</div></div>'
        ), head),
        # a code cell shown open, and one collapsed (only the first counts)
        "code.html": page('<div class="cell"><div class="cell_input"><pre>x = 1\ny = 2</pre></div></div>'
                          '<details class="hide"><summary>Show code</summary><div class="cell_input"><pre>z = 3</pre>'
                          '</div></details>'),
        # a request to another host (127.0.0.2 is loopback: nothing leaves the machine)
        "foreign.html": page('<img src="http://127.0.0.2:9/pixel.png">'),
        # the THEBE_JS_URL fault: one name declared by two scripts; and a script's console.error
        "js-error.html": page('<p>Text.</p>', '<script>let declaredTwice = 1;</script>'
                              '<script>let declaredTwice = 2;</script>'
                              '<script>console.error("a script reports a failure")</script>'),
        # a pre as wide as the column that hides the end of its line; inline math (the theme's
        # span.math: inline-flex, overflow hidden, at most as wide as the column) too wide for it
        "cut-off.html": page(f'<pre class="clipped" style="overflow: hidden">{long_line}</pre>'
                             # (MathJax's glyphs are boxes, not text: here one box 3000 px wide)
                             f'<p>Inline <span class="formula" style="{span_math}"><span style="display: block">a long '
                             'formula<span style="display: inline-block; width: 3000px; height: 1em"></span></span>'
                             '</span> math.</p>'),
        # a fixed-width block: fits at 1400 px, not at 800 px (where the document scrolls too)
        "too-wide.html": page('<p>Text.</p><div class="fixed" style="width: 1000px">A fixed width</div>'),
        # something wide outside the column: only the document's scrolling shows it
        "wide-outside.html": page('<p>Text.</p>', before='<div style="width: 2000px">banner</div>'),
        # wide things a reader can scroll to or does not see: none of them counts
        "scrolled.html": page(
            '<div style="overflow-x: auto"><table style="width: 2000px"><tr><td>a wide table</td></tr></table></div>'
            f'<pre style="overflow-x: auto">{long_line}</pre>'
            '<details><summary>More</summary><div style="width: 3000px">closed</div></details>'
            '<div style="display: none; width: 3000px">not displayed</div>'
            # invisible until hovered, like the theme's "#" links: into the article's padding
            '<div style="visibility: hidden; margin-right: -20px">shown on hover</div>'
            # "overflow: hidden" on an inline box clips nothing
            '<p>Inline <span style="overflow: hidden"><span style="display: inline-block">x = 1</span></span>.</p>'
            # inline math as MathJax writes it: the formula fits, its assistive MathML (hidden by
            # clip) sticks out and makes the span's scrollWidth larger, but nothing shown is cut
            f'<p>Inline <span class="formula" style="{span_math}"><span style="display: inline-block; '
            'position: relative">x = 1<span style="position: absolute; clip: rect(1px, 1px, 1px, 1px); '
            'width: 3000px">x equals 1</span></span></span> math.</p>'),
        # output figures: text too small on screen, no size recorded (a bare PNG), and one legible
        # (max-width: the theme scales images down to the column)
        "figures.html": page('<div class="cell_output"><img src="small-text.png" style="max-width: 100%"></div>'
                             '<div class="cell_output"><img src="ok.png"></div>'),
        # a glued number that disagrees with its table in the last digit, one that agrees, and one in
        # another section next to a table number of another quantity (not compared)
        "numbers.html": page('<p>The rows reach <span class="pasted-text">0.329</span> and '
                             '<span class="pasted-text">0.512</span>.</p>'
                             '<table><tr><td>0.328</td><td>0.512</td><td>0.700</td></tr></table>'
                             '<section><p>A baseline of <span class="pasted-text">0.701</span>.</p></section>'),
        "legible-figure.html": page('<div class="cell_output"><img src="legible.png" style="max-width: 100%"></div>'),
        # no content column: the overflow check cannot measure, and says so
        "no-column.html": '<html><body><p>Text.</p></body></html>',
        # an interactive figure of the package with plotly's JavaScript served locally: drawn
        "interactive.html": page(heat_map, '<script src="plotly.min.js"></script>'),
        # the same figure without plotly: not drawn (and the page's script fails)
        "not-drawn.html": page(heat_map),
    }
    for name, text in pages.items():
        (tmp_path / name).write_text(text)
    server = LocalServer(tmp_path)
    try:
        found = {name: problems(inspect_page(browser, server.url + name)) for name in pages}
    finally:
        server.close()
    assert found["good.html"] == {}, found["good.html"]
    assert found["code.html"] == {"visible code lines": [2]}, found["code.html"]
    assert set(found["no-mathjax.html"]) >= {"math not typeset", "images not loaded", "failed local requests"}
    assert set(found["faults.html"]) >= {"MathJax errors", "raw TeX in visible text", "error outputs"}
    assert set(found["foreign.html"]) >= {"requests to other hosts", "resources on other hosts", "images not loaded"}
    # a failed request is the network check's, not a console error as well
    assert "console errors" not in found["no-mathjax.html"], found["no-mathjax.html"]

    errors = found["js-error.html"].pop("console errors", [])
    assert found["js-error.html"] == {}, found["js-error.html"]
    assert len(errors) == 2, errors
    assert "Identifier 'declaredTwice' has already been declared" in errors[0], errors
    assert "a script reports a failure" in errors[1], errors

    for width in WIDTHS:
        cut = found["cut-off.html"].get(f"overflow at {width} px", [])
        assert len(cut) == 2, cut
        assert cut[0].startswith('pre.clipped "x = [0, 1, 2') and ": cut off, " in cut[0], cut
        assert cut[1].startswith('span.formula "a long formula": cut off, '), cut
        assert cut[1].endswith(" px of its content hidden"), cut
    assert set(found["cut-off.html"]) == {f"overflow at {width} px" for width in WIDTHS}, found["cut-off.html"]

    wide = found["too-wide.html"]
    assert set(wide) == {"overflow at 800 px"}, wide
    assert len(wide["overflow at 800 px"]) == 2, wide
    assert wide["overflow at 800 px"][0].startswith("document scrolls horizontally"), wide
    assert wide["overflow at 800 px"][1].startswith('div.fixed "A fixed width": '), wide
    assert wide["overflow at 800 px"][1].endswith(" px beyond the column"), wide

    for width in WIDTHS:
        outside = found["wide-outside.html"].get(f"overflow at {width} px", [])
        assert len(outside) == 1 and outside[0].startswith("document scrolls horizontally"), outside
    assert found["scrolled.html"] == {}, found["scrolled.html"]
    no_column = ["no content column (article.bd-article, .bd-article-container) on the page"]
    assert found["no-column.html"] == {f"overflow at {w} px": no_column for w in WIDTHS}, found["no-column.html"]
    for width in WIDTHS:
        small = found["figures.html"][f"figure text too small at {width} px"]
        assert len(small) == 2, small
        assert small[0].startswith("small-text.png: smallest text ") and small[0].endswith(f" px at {width} px"), small
        assert small[1] == "ok.png: no smallest text recorded (a figure not shown by plotting.show)", small
    assert found["legible-figure.html"] == {}, found["legible-figure.html"]
    assert found["numbers.html"] == {"prose numbers that differ from a table": [
        "prose 0.329 differs by one in the last digit from a table's 0.328"]}, found["numbers.html"]
    assert found["interactive.html"] == {}, found["interactive.html"]
    assert found["not-drawn.html"].pop("interactive figures not drawn") == ["test-map"], found["not-drawn.html"]
    assert set(found["not-drawn.html"]) == {"console errors"}, found["not-drawn.html"]
    assert any("Plotly is not defined" in e for e in found["not-drawn.html"]["console errors"]), found["not-drawn.html"]
