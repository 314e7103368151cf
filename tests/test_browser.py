"""Every page of the built book, opened in headless Chromium as a reader would see it.

Checked on each page of ``_build/html``, served from a local HTTP server on
127.0.0.1 inside this test:

* the equations are typeset: every ``.math`` element holds MathJax output, no
  MathJax error is shown, and no raw TeX (``\\(``, ``\\)``, ``\\[``, ``\\]``,
  ``$$``, ``\\begin{``) is left in the visible text outside code;
* every image has loaded (``complete`` and ``naturalWidth > 0``);
* no output cell shows a traceback or an error;
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
  ``network``): those are the previous check's, which names the URL and leaves
  out Chromium's own ``/favicon.ico`` request.

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
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

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
    Chromium's own request for ``/favicon.ico`` (the book has no icon) is not a
    request of the page and is left out.
    """
    requested, failed, urls = [], [], {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if urlsplit(url).scheme in _INTERNAL_SCHEMES or urlsplit(url).path == "/favicon.ico":
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


def console_errors(driver) -> list[str]:
    """``SEVERE`` browser console entries since the last call, failed requests excepted.

    A failed request (source ``network``) is reported by :func:`network_events`,
    which names the URL and knows Chromium's own ``/favicon.ico`` request.
    """
    return [f"{e.get('source')}: {e['message'][:300]}" for e in driver.get_log("browser")
            if e.get("level") == "SEVERE" and e.get("source") != "network"]


def inspect_page(driver, url: str) -> dict:
    """Load ``url`` and return every problem found, by kind (empty lists when the page is fine)."""
    from selenium.webdriver.support.ui import WebDriverWait

    network_events(driver)  # drop what earlier pages left in the logs
    driver.get_log("browser")
    driver.get(url)
    if driver.execute_script("return !!document.querySelector('meta[http-equiv=Refresh i]')"):
        # a redirect page (the book's root index.html): check the page it leads to
        WebDriverWait(driver, PAGE_TIMEOUT).until(
            lambda d: d.current_url != url and d.execute_script("return document.readyState") == "complete")
    driver.execute_async_script(_SETTLE_JS)
    found = json.loads(driver.execute_script(_INSPECT_JS))
    requested, failed = network_events(driver)
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
        "console errors": console_errors(driver),
    }


def code_stays_collapsed(page: str) -> bool:
    """Chapter pages show no code until the reader opens it; run pages may show theirs."""
    return page.startswith("book/chapter") and "/runs/" not in page


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
def book_server():
    server = LocalServer(HTML)
    try:
        yield server
    finally:
        server.close()


# ----------------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------------

PAGES = book_pages()


def test_book_is_built():
    assert PAGES, f"no HTML pages under {HTML}: build the book first (make book)"
    assert "index.html" in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_page(browser, book_server, page):
    report = inspect_page(browser, book_server.url + page)
    if not code_stays_collapsed(page):
        report["visible code lines"] = []
    bad = problems(report)
    assert not bad, f"{page}: " + "; ".join(f"{k}: {v[:5]}" for k, v in bad.items())


def test_checks_catch_a_broken_page(browser, tmp_path):
    """The checks fail for real: a page with each fault, served like the book."""
    mathjax = HTML / "_static" / "mathjax"
    if not (mathjax / "tex-mml-chtml.js").is_file():
        pytest.fail(f"{mathjax} has no tex-mml-chtml.js: build the book first (make book)")
    shutil.copytree(mathjax, tmp_path / "mathjax")
    (tmp_path / "ok.png").write_bytes(base64.b64decode(PNG_1X1))
    # the book's MathJax set-up: only .math elements inside ignored sections are typeset
    head = ('<script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>'
            '<script defer src="mathjax/tex-mml-chtml.js"></script>')
    body = '<section class="tex2jax_ignore mathjax_ignore">{}</section>'
    pages = {
        # typeset fine, one good image: no problems
        "good.html": f'<html><head>{head}</head><body>' + body.format(
            '<p><span class="math">\\(x^2\\)</span></p><img src="ok.png">') + '</body></html>',
        # math that MathJax never sees (no script), an image that does not exist
        "no-mathjax.html": '<html><body><p><span class="math">\\(x^2\\)</span></p>'
                           '<img src="missing.png"></body></html>',
        # a TeX error, raw TeX outside the math elements, a traceback cell
        "faults.html": f'<html><head>{head}</head><body>' + body.format(
            '<p><span class="math">\\(\\frac{1}\\)</span></p><p>Left raw: $$ a + b $$ and $\\alpha$.</p>'
            '<div class="cell_output"><div class="output traceback">Traceback (most recent call last)</div></div>'
        ) + '</body></html>',
        # a code cell shown open, and one collapsed (only the first counts)
        "code.html": '<html><body><div class="cell"><div class="cell_input"><pre>x = 1\ny = 2</pre></div></div>'
                     '<details class="hide"><summary>Show code</summary><div class="cell_input"><pre>z = 3</pre>'
                     '</div></details></body></html>',
        # a request to another host (127.0.0.2 is loopback: nothing leaves the machine)
        "foreign.html": '<html><body><img src="http://127.0.0.2:9/pixel.png"></body></html>',
        # the THEBE_JS_URL fault: one name declared by two scripts; and a script's console.error
        "js-error.html": '<html><head><script>let declaredTwice = 1;</script><script>let declaredTwice = 2;</script>'
                         '<script>console.error("a script reports a failure")</script></head>'
                         '<body><p>Text.</p></body></html>',
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
