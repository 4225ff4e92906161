"""Pure helpers of the browser test (tests/browser/test_book_pages.py): which pages the book has,
whether a link inside the book resolves, and whether visible text still holds raw TeX or an
exception. They need no browser, so tests/test_browser_checks.py checks them on small fixtures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urldefrag, urlsplit

import yaml

# Output folders Sphinx writes next to the pages; none of them holds a page of the book.
NON_CONTENT_DIRS = {"_static", "_sources", "_images", "_downloads", "_panels_static", "_sphinx_design_static"}
# Pages Sphinx generates that are not chapters of the book.
NON_CONTENT_PAGES = {"genindex.html", "search.html", "py-modindex.html"}


# --- which pages -------------------------------------------------------------------------------

def toc_docnames(toc_file: Path) -> list[str]:
    """Every document of a Jupyter Book ``_toc.yml``: the root, then each ``file:`` entry in order.

    Names are as written (no suffix), e.g. ``book/intro``, ``book/executed/01_dataset``.
    """
    toc = yaml.safe_load(Path(toc_file).read_text())
    names = [str(toc["root"])]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                names.append(str(node["file"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for key, value in toc.items():
        if key != "root":
            walk(value)
    seen: set[str] = set()
    unique = []
    for name in names:
        name = re.sub(r"\.(md|ipynb|rst|py)$", "", name).strip("/")
        if name not in seen:
            seen.add(name)
            unique.append(name)
    return unique


def content_pages(html_root: Path) -> list[str]:
    """Relative paths of the HTML pages under ``html_root`` that are content pages.

    Leaves out Sphinx's own pages (genindex, search), its asset folders (``_static``, ``_sources``,
    ...) and the root ``index.html``, which only redirects to the root document.
    """
    html_root = Path(html_root)
    pages = []
    for path in sorted(html_root.rglob("*.html")):
        rel = path.relative_to(html_root)
        if rel.parts[0] in NON_CONTENT_DIRS:
            continue
        if len(rel.parts) == 1 and rel.name in NON_CONTENT_PAGES | {"index.html"}:
            continue
        pages.append(rel.as_posix())
    return pages


# --- parsing pages on disk -----------------------------------------------------------------------

class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.anchors.add(a["id"])
        if tag == "a" and a.get("name"):
            self.anchors.add(a["name"])
        if tag == "a" and a.get("href") is not None:
            self.links.append(a["href"])


@dataclass
class ParsedPage:
    anchors: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)


def parse_page(path: Path) -> ParsedPage:
    """Ids (and ``<a name>``) and the ``a[href]`` values of one HTML file."""
    parser = _PageParser()
    parser.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return ParsedPage(anchors=parser.anchors, links=parser.links)


# --- links -----------------------------------------------------------------------------------------

@dataclass
class LinkReport:
    dead: list[str] = field(default_factory=list)       # "href: why" for each internal link that fails
    external: list[str] = field(default_factory=list)   # http(s) links to other hosts (recorded only)


class LinkChecker:
    """Resolves links found on pages of a built book against the files under ``html_root``.

    A link is internal when it is relative, root-relative, or absolute on ``local_origin`` (the
    test's own server). Its file must exist (a folder means its ``index.html``); when it carries a
    ``#fragment`` and points at an HTML page, an element with that id (or ``<a name>``) must exist
    in the target page. Target pages are parsed once and cached.
    """

    IGNORED_SCHEMES = {"mailto", "tel", "javascript", "data"}

    def __init__(self, html_root: Path, local_origin: str | None = None):
        self.html_root = Path(html_root).resolve()
        self.local_origin = local_origin.rstrip("/") if local_origin else None
        self._pages: dict[Path, ParsedPage] = {}

    def anchors(self, target: Path) -> set[str]:
        target = target.resolve()
        if target not in self._pages:
            self._pages[target] = parse_page(target)
        return self._pages[target].anchors

    def _target_path(self, page: str, url_path: str) -> PurePosixPath:
        if url_path.startswith("/"):
            joined = PurePosixPath(url_path.lstrip("/"))
        else:
            joined = PurePosixPath(page).parent / url_path
        parts: list[str] = []
        for part in joined.parts:
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise ValueError("leaves the book's folder")
                parts.pop()
            else:
                parts.append(part)
        return PurePosixPath(*parts) if parts else PurePosixPath(".")

    def check(self, page: str, hrefs: list[str]) -> LinkReport:
        """Check the raw ``href`` values found on ``page`` (a path relative to ``html_root``)."""
        report = LinkReport()
        for href in hrefs:
            problem = self.problem(page, href, report)
            if problem:
                report.dead.append(f"{href}: {problem}")
        return report

    def problem(self, page: str, href: str, report: LinkReport | None = None) -> str | None:
        """Why ``href`` on ``page`` is dead, or None when it resolves (or is not internal)."""
        href = href.strip()
        if not href:
            return None
        parts = urlsplit(href)
        scheme = parts.scheme.lower()
        if scheme in self.IGNORED_SCHEMES:
            return None
        if scheme or parts.netloc:
            origin = f"{scheme}://{parts.netloc}" if scheme else None
            if not (self.local_origin and origin == self.local_origin):
                if report is not None:
                    report.external.append(href)
                return None
        url, fragment = urldefrag(href)
        path = unquote(urlsplit(url).path)
        fragment = unquote(fragment)
        if not path:                       # "#id" or "?q": the page itself
            rel = PurePosixPath(page)
        else:
            try:
                rel = self._target_path(page, path)
            except ValueError as exc:
                return str(exc)
        target = self.html_root / rel
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return f"no file {target.relative_to(self.html_root).as_posix()} in the built book"
        if fragment and target.suffix == ".html" and fragment not in self.anchors(target):
            return f"no element with id {fragment!r} in {target.relative_to(self.html_root).as_posix()}"
        return None


# --- text checks -----------------------------------------------------------------------------------

# TeX that MathJax should have turned into rendered math; found in visible text it is unrendered.
_TEX_COMMANDS = (
    "frac", "dfrac", "tfrac", "sqrt", "sum", "prod", "int", "mathrm", "mathbf", "mathbb", "mathcal",
    "text", "textrm", "operatorname", "begin", "end", "left", "right", "cdot", "times", "leq", "geq",
    "le", "ge", "neq", "approx", "alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda",
    "mu", "sigma", "tau", "pi", "rho", "hat", "bar", "tilde", "log", "exp", "in", "infty", "partial",
    "mid", "top", "pm", "ldots", "dots",
)
RAW_TEX = re.compile(
    r"\$\$"                                   # display-math delimiters
    r"|\\\(|\\\)|\\\[|\\\]"                   # \( \) \[ \]
    r"|\\(?:" + "|".join(_TEX_COMMANDS) + r")(?![A-Za-z])"   # \frac, \alpha, ...
    r"|\$[^$\n]*[\\^_{][^$\n]*\$"             # $x_i$ left as text
)


def raw_tex(text: str, context: int = 30) -> list[str]:
    """Snippets of ``text`` that look like TeX MathJax left unrendered: each names what matched and
    shows it with ``context`` characters either side (nearby matches share one snippet)."""
    spans: list[list] = []          # [lo, hi, [matched, ...]]
    for m in RAW_TEX.finditer(text):
        lo, hi = max(0, m.start() - context), min(len(text), m.end() + context)
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = hi
            spans[-1][2].append(m.group())
        else:
            spans.append([lo, hi, [m.group()]])
    found = []
    for lo, hi, matched in spans:
        snippet = " ".join(text[lo:hi].split())
        found.append(f"{', '.join(dict.fromkeys(matched))} in ...{snippet}...")
    return found


ERROR_TEXT = re.compile(
    r"Traceback \(most recent call last\)"
    r"|^\s*(?:[A-Za-z_][\w.]*)?(?:Error|Exception): "      # ValueError: ..., KeyError: ...
    r"|\b[A-Z]\w*Warning: "                               # x.py:3: UserWarning: ...
    r"|^\s*Warning: "
    r"|^\s*warnings\.warn\(",
    re.MULTILINE,
)


def error_text(text: str) -> list[str]:
    """Lines of an output's text that show an exception, a traceback or a warning."""
    found = []
    for m in ERROR_TEXT.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        found.append(text[start:end if end != -1 else len(text)].strip()[:160])
    return found


def notebook_figures(ipynb: Path) -> int:
    """How many outputs of an executed notebook are figures (an ``image/*`` output, a figure glued
    with myst-nb, stored as ``application/papermill.record/image/*``, or HTML holding an
    ``<img>``); the chapter's page must show at least that many."""
    import json

    nb = json.loads(Path(ipynb).read_text(encoding="utf-8"))
    count = 0
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            html = data.get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            glued = any(key.startswith("application/papermill.record/image/") for key in data)
            if any(key.startswith("image/") for key in data) or glued or "<img" in html:
                count += 1
    return count


# --- chapter openings ------------------------------------------------------------------------------

def opening_problem(blocks: list[dict]) -> str | None:
    """Why a chapter page does not open with its prose, or None when it does.

    ``blocks`` are the visible blocks between the page's title and its first subsection, in order,
    each a dict with ``tag``, ``classes``, ``cell`` (a notebook cell: code input or output),
    ``toggle`` (holds a show/hide control, e.g. a hidden code cell's ``details``) and ``text``.
    The first block must be prose (neither a cell nor a toggle), and no block of the opening may
    be a code toggle (the parameters and setup cells used to sit there, folded).
    """
    if not blocks:
        return "nothing visible after the title"

    def name(block: dict) -> str:
        classes = ".".join(str(block.get("classes", "")).split())
        return f"{block.get('tag')}{'.' + classes if classes else ''}"

    first = blocks[0]
    if first.get("cell") or first.get("toggle"):
        what = "a code toggle" if first.get("toggle") else "a code cell"
        return f"opens with {what} ({name(first)}) instead of prose: {str(first.get('text', ''))[:120]!r}"
    toggles = [b for b in blocks[1:] if b.get("toggle")]
    if toggles:
        return (f"a code toggle in the opening, before the first section ({name(toggles[0])}): "
                f"{str(toggles[0].get('text', ''))[:120]!r}")
    return None
