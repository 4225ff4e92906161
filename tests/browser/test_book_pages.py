"""Open every page of the built book in headless Chromium and check what a reader sees.

Needs the built book (``ifl run --mode quick`` -> ``_build/html``) and Debian's ``chromium`` and
``chromium-driver`` (``bash tests/browser/ensure_chromium.sh`` installs them; ``make browser`` does
both). Selenium drives that system browser through an explicit chromedriver path: nothing is
downloaded at run time. The book is served from a local ``http.server`` on 127.0.0.1.

For every page of ``_toc.yml`` (one test each):

- every ``img`` has loaded (``complete`` and ``naturalWidth > 0``); no request of the page got a
  4xx/5xx from the server; no script, stylesheet or image comes from another host;
- MathJax finished typesetting, every ``.math`` element holds an ``mjx-container`` and no raw TeX
  (``$$``, ``\\(``, ``\\frac``, ...) is left in the text outside ``pre``/``code``;
- no error output: no ``.output.stderr`` / ``.output.traceback`` block, no docutils
  ``system-message``/``problematic`` node, and no output whose text shows a traceback, an
  ``...Error:`` or a ``...Warning:`` line;
- every internal link (and download link) resolves to a file of the built book, and its
  ``#fragment`` to an element of the target page; external links are recorded in the report;
- chapter pages (``book/executed/*``) show every figure output of their executed notebook, and at
  least one figure unless listed in NO_FIGURE_CHAPTERS, each rendered wider than 50 px;
- a full-page screenshot (1280 px wide) is saved to ``_build/screenshots/<page>.png``, and a
  summary of every page to ``_build/screenshots/report.json``.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import pagecheck
from chromium import chromium

ROOT = Path(__file__).resolve().parents[2]
# IFL_BOOK_HTML tests another copy of the built book (screenshots go next to it).
HTML = Path(os.environ.get("IFL_BOOK_HTML", ROOT / "_build" / "html")).resolve()
SHOTS = HTML.parent / "screenshots"
WIDTH = 1280
MAX_HEIGHT = 30000
MIN_FIGURE_WIDTH = 50

# Chapters that have no figure by design (tables); every other chapter must show one.
NO_FIGURE_CHAPTERS = {"book/executed/06_summary", "book/executed/09_execution"}

DOCNAMES = pagecheck.toc_docnames(ROOT / "_toc.yml")
BUILD_HINT = "build it first: `.venv/bin/ifl run --mode quick` (or `make test`)"


# --- fixtures --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def book() -> Path:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"the built book is missing ({HTML / 'index.html'} not found); {BUILD_HINT}")
    return HTML


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    failed: list[str]


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # quiet; failures are recorded instead
        pass

    def send_error(self, code, message=None, explain=None):
        self.server.failed.append(f"{code} {unquote(urlsplit(self.path).path)}")
        super().send_error(code, message, explain)


@pytest.fixture(scope="session")
def server(book):
    httpd = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(book)))
    httpd.failed = []
    thread = threading.Thread(target=httpd.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def origin(server) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


@pytest.fixture(scope="session")
def browser():
    with chromium(WIDTH, 900) as driver:
        yield driver


@pytest.fixture(scope="session")
def links(book, origin):
    return pagecheck.LinkChecker(book, local_origin=origin)


@pytest.fixture(scope="session")
def report(book):
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    pages: dict[str, dict] = {}
    yield pages
    (SHOTS / "report.json").write_text(json.dumps(pages, indent=2, sort_keys=True) + "\n")


# --- scripts run in the page -----------------------------------------------------------------------

WAIT_READY = """
const done = arguments[arguments.length - 1];
const limitS = arguments[0], limit = limitS * 1000, t0 = Date.now();
const hasMath = document.querySelector('.math') !== null;
const loadsMathJax = Array.from(document.scripts).some(s => /mathjax/i.test(s.src || ''));
const needsMath = hasMath || loadsMathJax;
function imagesDone() { return Array.from(document.images).every(i => i.complete); }
(function poll() {
  const late = Date.now() - t0 > limit;
  if (document.readyState === 'complete' && imagesDone()) {
    if (!needsMath) { done({mathjax: null}); return; }
    if (!loadsMathJax && !window.MathJax) { done({mathjax: 'the page has math but loads no MathJax'}); return; }
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(() => done({mathjax: 'typeset'}),
                              e => done({mathjax: 'error: ' + e}));
      return;
    }
  }
  if (late) {
    done({mathjax: needsMath ? 'MathJax did not start within ' + limitS + ' s' : null,
          timeout: true});
    return;
  }
  setTimeout(poll, 100);
})();
"""

INSPECT = r"""
const SKIP = 'pre, code, script, style, textarea, mjx-container, noscript, .highlight';
function describe(el) {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  if (el.className && typeof el.className === 'string') s += '.' + el.className.trim().split(/\s+/).join('.');
  const sec = el.closest('section[id]');
  if (sec) s += ' in section #' + sec.id;
  return s;
}
function text(el) { return (el.innerText || el.textContent || '').trim().slice(0, 300); }
const out = {};
out.images = Array.from(document.images).map(img => {
  const r = img.getBoundingClientRect();
  const src = img.getAttribute('src') || '';
  return {src: src.startsWith('data:') ? src.slice(0, 40) + '...' : src,
          ok: img.complete && img.naturalWidth > 0,
          width: r.width, height: r.height,
          figure: !!img.closest('.cell_output, figure, .figure'),
          where: describe(img.parentElement)};
});
// raw TeX: every visible-text node outside code, math output and scripts
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const chunks = [];
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const p = n.parentElement;
  if (!p || p.closest(SKIP)) continue;
  chunks.push(n.nodeValue);
}
out.text = chunks.join('');
out.math = Array.from(document.querySelectorAll('.math')).map(m => ({
  rendered: m.querySelector('mjx-container') !== null,
  merror: m.querySelector('mjx-merror, [data-mjx-error]') !== null,
  // a backslash left in rendered text (\texttt{a\_b}, an undefined macro shown in red) is TeX
  // that MathJax printed instead of interpreting; the assistive MathML holds the rendered text
  literal: Array.from(m.querySelectorAll('mjx-assistive-mml mtext'))
    .map(t => t.textContent).filter(t => t.includes('\\')),
  tex: (() => {     // the TeX source: MathJax keeps it on its math items once typeset
    try {
      const items = MathJax.startup.document.getMathItemsWithin(m);
      if (items.length) return items.map(i => i.math).join(' ');
    } catch (e) {}
    return m.textContent || '';
  })().trim().slice(0, 160),
  where: describe(m)}));
out.errors = Array.from(document.querySelectorAll(
  '.output.stderr, .output.traceback, .output.error, .nboutput .stderr, .cell_output .stderr,' +
  ' .system-message, .problematic, .sd-error')).map(e => ({where: describe(e), text: text(e)}));
out.outputs = Array.from(document.querySelectorAll('.cell_output .output, .cell_output > *'))
  .filter(e => !e.matches('.stderr, .traceback, .error'))     // already reported as error outputs
  .map(e => ({where: describe(e), text: e.textContent || ''}));
out.hrefs = Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
// scripts and stylesheets must exist too (images are checked by the browser itself)
out.resources = [].concat(
  Array.from(document.querySelectorAll('script[src]')).map(e => e.getAttribute('src')),
  Array.from(document.querySelectorAll('link[rel~="stylesheet"][href], link[rel~="preload"][href]'))
    .map(e => e.getAttribute('href')));
out.external_resources = [].concat(
  Array.from(document.querySelectorAll('script[src]')).map(e => e.src),
  Array.from(document.querySelectorAll('link[rel~="stylesheet"][href]')).map(e => e.href),
  Array.from(document.images).map(e => e.currentSrc || e.src || ''))
  .filter(u => /^https?:/i.test(u) && new URL(u).origin !== location.origin);
out.title = document.title;
return out;
"""


# The page's opening: the visible blocks after its title (h1) up to its first subsection, and any
# parameters cell left on the page.
OPENING = r"""
const h1 = document.querySelector('article h1') || document.querySelector('main h1');   // not the print-only copy
const section = h1 ? (h1.closest('section') || h1.parentElement) : null;
const blocks = [];
if (section) {
  for (const el of section.children) {
    if (el === h1 || el.contains(h1)) continue;
    if (el.matches('section')) break;                 // the first subsection ends the opening
    const r = el.getBoundingClientRect();
    if (r.height === 0 || getComputedStyle(el).display === 'none') continue;
    blocks.push({tag: el.tagName.toLowerCase(), classes: typeof el.className === 'string' ? el.className : '',
                 cell: el.matches('.cell, .cell_input, .cell_output'),
                 toggle: el.matches('details, .toggle') ||
                         el.querySelector('details, .toggle, button.toggle-button') !== null,
                 text: (el.innerText || '').trim().slice(0, 200)});
    if (blocks.length >= 50) break;
  }
}
return {blocks: blocks,
        parameter_cells: document.querySelectorAll('.tag_parameters, .tag_injected-parameters').length};
"""


def _screenshot(driver, path: Path) -> tuple[int, int]:
    """Full-page PNG, WIDTH px wide and at most MAX_HEIGHT px high; returns (width, height)."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    height = int(min(MAX_HEIGHT, max(900, size["height"])))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        time.sleep(0.3)   # let the theme re-lay out to the tall viewport
        # the new viewport may change the layout: measure again and fit once more
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {}).get("cssContentSize", size)
        if int(min(MAX_HEIGHT, max(900, size["height"]))) != height:
            height = int(min(MAX_HEIGHT, max(900, size["height"])))
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": WIDTH, "height": height, "deviceScaleFactor": 1,
                                    "mobile": False})
            time.sleep(0.3)
        path.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(path)), f"could not write {path}"
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return WIDTH, height


def _notebook_figures(docname: str) -> int | None:
    """Figure outputs of the chapter's executed notebook (the copy next to the sources, else the
    one the book offers for download); None when neither exists."""
    for ipynb in (ROOT / f"{docname}.ipynb", HTML / "_sources" / f"{docname}.ipynb"):
        if ipynb.is_file():
            return pagecheck.notebook_figures(ipynb)
    return None


# --- tests -----------------------------------------------------------------------------------------

def test_every_built_page_is_in_the_toc(book):
    """No content page outside _toc.yml (a stray or stale page), and no toc entry without its page."""
    expected = {f"{name}.html" for name in DOCNAMES}
    built = set(pagecheck.content_pages(book))
    missing = sorted(expected - built)
    assert not missing, f"pages of _toc.yml missing from {book}: {missing}; {BUILD_HINT}"
    stray = sorted(built - expected)
    assert not stray, (f"HTML pages under {book} that _toc.yml does not list: {stray} "
                       "(left over from an earlier build? `rm -rf _build` and rebuild)")


@pytest.mark.parametrize("docname", DOCNAMES)
def test_page(docname, book, server, origin, browser, links, report):
    page = f"{docname}.html"
    assert (book / page).is_file(), f"{page}: not built; {BUILD_HINT}"
    server.failed.clear()
    t0 = time.perf_counter()
    browser.get(f"{origin}/{page}")
    ready = browser.execute_async_script(WAIT_READY, 30)
    info = browser.execute_script(INSPECT)
    shot = SHOTS / f"{docname}.png"
    size = _screenshot(browser, shot)
    problems: list[str] = []

    # images
    for img in info["images"]:
        if not img["ok"]:
            problems.append(f"broken image {img['src']!r} in {img['where']}")
    for failed in server.failed:
        if not failed.endswith("/favicon.ico"):      # Chromium asks for it by itself
            problems.append(f"request failed: {failed}")
    for url in info["external_resources"]:
        problems.append(f"loads a resource from another host (the book must work offline): {url}")

    # math
    if ready.get("mathjax") not in (None, "typeset"):
        problems.append(f"math not typeset: {ready['mathjax']}")
    for m in info["math"]:
        if not m["rendered"]:
            problems.append(f"unrendered math in {m['where']}: {m['tex']!r}")
        elif m["merror"]:
            problems.append(f"MathJax error in {m['where']}: {m['tex']!r}")
        for literal in m.get("literal", []):
            problems.append(f"math in {m['where']} shows TeX as text {literal!r} (a macro MathJax did "
                            f"not interpret): {m['tex']!r}")
    for snippet in pagecheck.raw_tex(info["text"]):
        problems.append(f"raw TeX in the page text: {snippet}")

    # error outputs
    for err in info["errors"]:
        problems.append(f"error output {err['where']}: {err['text'][:200]!r}")
    for out in info["outputs"]:
        for line in pagecheck.error_text(out["text"]):
            problems.append(f"output {out['where']} shows an error or warning: {line!r}")

    # links (and resources) inside the book
    link_report = links.check(page, info["hrefs"] + [r for r in info["resources"] if r])
    for dead in dict.fromkeys(link_report.dead):
        problems.append(f"dead link {dead}")

    # chapter openings: prose first, no code toggle, no parameters cell (the runner removes them)
    if docname.startswith("book/executed/"):
        opening = browser.execute_script(OPENING)
        problem = pagecheck.opening_problem(opening["blocks"])
        if problem:
            problems.append(problem)
        if opening["parameter_cells"]:
            problems.append(f"{opening['parameter_cells']} parameters cell(s) shown on the page")

    # chapter figures: every figure output of the executed notebook is on the page, visibly
    figures = [img for img in info["images"] if img["figure"]]
    expected = None
    if docname.startswith("book/executed/"):
        expected = _notebook_figures(docname)
        if not figures and docname not in NO_FIGURE_CHAPTERS:
            problems.append("chapter page shows no figure image")
        if expected is not None and len(figures) < expected:
            problems.append(f"page shows {len(figures)} figure images, its notebook has {expected} "
                            "figure outputs")
        for img in figures:
            if img["width"] <= MIN_FIGURE_WIDTH:
                problems.append(f"figure {img['src']!r} in {img['where']} rendered {img['width']:.0f} px "
                                f"wide (needs > {MIN_FIGURE_WIDTH}): hidden or collapsed")

    problems = list(dict.fromkeys(problems))
    report[docname] = {
        "title": info["title"],
        "screenshot": os.path.relpath(shot, ROOT),
        "screenshot_size": list(size),
        "images": len(info["images"]),
        "figures": len(figures),
        "figures_in_notebook": expected,
        "math": len(info["math"]),
        "links_checked": len(info["hrefs"]),
        "external_links": sorted(set(link_report.external)),
        "seconds": round(time.perf_counter() - t0, 2),
        "problems": problems,
    }
    assert not problems, f"{page} ({len(problems)} problems):\n  " + "\n  ".join(problems)


def test_execution_report_page(book, server, origin, browser):
    """The execution report shows a measured row for every other chapter of the book, in the
    mode of this build, read from the runner's records (results/execution/<mode>/)."""
    import sys

    sys.path.insert(0, str(ROOT))
    from ifl_utils import execution
    from ifl_utils.execution_report import NOT_RUN

    page = "book/executed/09_execution.html"
    assert (book / page).is_file(), f"{page}: not built; {BUILD_HINT}"
    browser.get(f"{origin}/{page}")
    browser.execute_async_script(WAIT_READY, 30)
    rows = browser.execute_script("""
      return Array.from(document.querySelectorAll('.cell_output table')).slice(0, 1).flatMap(t =>
        Array.from(t.querySelectorAll('tbody tr')).map(tr =>
          Array.from(tr.querySelectorAll('th, td')).map(c => c.innerText.trim())));""")
    text = browser.execute_script("return document.body.innerText")
    mode = "quick" if "mode: quick" in text else "full" if "mode: full" in text else None
    assert mode, "the report does not say which mode it shows ('mode: quick' / 'mode: full')"
    others = [d.rsplit("/", 1)[1] for d in DOCNAMES
              if d.startswith("book/executed/") and not d.endswith("09_execution")]
    by_chapter = {r[0]: r for r in rows if r}
    assert sorted(by_chapter) == sorted(others), f"report rows {sorted(by_chapter)} != chapters {others}"
    records = execution.load_records(ROOT / "results", mode)
    for name in others:
        row = by_chapter[name]
        assert NOT_RUN not in row, f"{name}: no {mode}-mode record on the report"
        assert name in records, f"{name}: the page shows a record that results/ does not hold"
        # the page's numbers are the runner's (wall time, e.g. "55.6 s" or "3 min 12 s")
        from ifl_utils.execution_report import fmt_seconds
        assert fmt_seconds(records[name]["wall_s"]) in row, (name, row, records[name]["wall_s"])
