"""The browser test's pure helpers (tests/browser/pagecheck.py), on small books built in code.

The browser test itself (tests/browser/, run by ``make browser``) needs Chromium and the built book;
these checks need neither.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))

import pagecheck  # noqa: E402


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"


def _book(tmp_path: Path) -> Path:
    html = tmp_path / "html"
    _write(html / "index.html", _page('<meta http-equiv="refresh" content="0; url=book/intro.html">'))
    _write(html / "book" / "intro.html", _page(
        '<section id="top"><h1 id="title">Intro</h1><a name="legacy"></a>'
        '<a href="executed/01_a.html">ch1</a></section>'))
    _write(html / "book" / "executed" / "01_a.html", _page('<section id="figures">x</section>'))
    _write(html / "_downloads" / "abc" / "data.json", "{}")
    _write(html / "_sources" / "book" / "intro.md", "# Intro")
    _write(html / "_static" / "page.html", _page(""))
    _write(html / "genindex.html", _page(""))
    _write(html / "search.html", _page(""))
    return html


def test_good_links_resolve(tmp_path):
    html = _book(tmp_path)
    checker = pagecheck.LinkChecker(html, local_origin="http://127.0.0.1:8000")
    good = [
        "executed/01_a.html",                       # relative page
        "executed/01_a.html#figures",               # relative page and anchor
        "#title", "#legacy", "#", "",               # same page: id, <a name>, bare fragments
        "intro.html?highlight=x#top",               # query string ignored
        "../_downloads/abc/data.json",              # download link
        "../_sources/book/intro.md",
        "/book/intro.html#top",                     # root-relative
        "http://127.0.0.1:8000/book/executed/01_a.html#figures",   # absolute on the test server
        "../",                                      # folder -> index.html
        "../_static/page.html?v=3",
    ]
    report = checker.check("book/intro.html", good)
    assert report.dead == []


def test_dead_link_and_dead_anchor_are_reported(tmp_path):
    html = _book(tmp_path)
    checker = pagecheck.LinkChecker(html)
    report = checker.check("book/intro.html", [
        "executed/02_missing.html",
        "executed/01_a.html#no-such-anchor",
        "#nowhere",
        "../_downloads/abc/missing.ipynb",
        "../../../etc/passwd",
        "executed/01_a.html#figures",
    ])
    assert len(report.dead) == 5, report.dead
    dead = "\n".join(report.dead)
    assert "executed/02_missing.html: no file book/executed/02_missing.html" in dead
    assert "executed/01_a.html#no-such-anchor: no element with id 'no-such-anchor' in book/executed/01_a.html" in dead
    assert "#nowhere: no element with id 'nowhere' in book/intro.html" in dead
    assert "missing.ipynb: no file _downloads/abc/missing.ipynb" in dead
    assert "../../../etc/passwd: leaves the book's folder" in dead
    assert "#figures" not in dead


def test_external_links_are_recorded_not_checked(tmp_path):
    html = _book(tmp_path)
    checker = pagecheck.LinkChecker(html, local_origin="http://127.0.0.1:8000")
    report = checker.check("book/intro.html", [
        "https://arxiv.org/abs/1", "http://127.0.0.1:9999/x.html", "mailto:a@b.c", "//cdn.example/x.js",
        "data:image/png;base64,AAAA", "javascript:void(0)",
    ])
    assert report.dead == []
    assert report.external == ["https://arxiv.org/abs/1", "http://127.0.0.1:9999/x.html", "//cdn.example/x.js"]


def test_content_pages_leave_out_sphinx_pages_and_assets(tmp_path):
    html = _book(tmp_path)
    assert pagecheck.content_pages(html) == ["book/executed/01_a.html", "book/intro.html"]


def test_toc_docnames_lists_root_and_every_file(tmp_path):
    toc = _write(tmp_path / "_toc.yml", """
format: jb-book
root: book/intro
parts:
  - caption: Chapters
    chapters:
      - file: book/executed/01_a
        sections:
          - file: book/executed/01b.ipynb
      - file: book/executed/02_b
  - caption: Reference
    chapters:
      - file: book/references.md
      - url: https://example.org
        title: elsewhere
""")
    assert pagecheck.toc_docnames(toc) == [
        "book/intro", "book/executed/01_a", "book/executed/01b", "book/executed/02_b", "book/references"]


def test_raw_tex_is_found_and_prose_is_not():
    assert pagecheck.raw_tex("Plain prose with 55 % and a cost of $5 and $10.") == []
    for text in ("where $$x = 1$$ holds", r"the ratio \(a/b\)", r"so \frac{a}{b} is", r"display \[x\]",
                 r"with \alpha = 0.05", "inline $x_i$ left"):
        assert pagecheck.raw_tex(text), text
    assert pagecheck.raw_tex(r"\leftarrow") == []          # \left is a command, \leftarrow not listed
    # nearby matches share one snippet that names them all
    assert pagecheck.raw_tex("text  raw \\(x^2\\) and\n $$y$$ end", context=5) == [
        "\\(, \\), $$ in ...raw \\(x^2\\) and $$y$$ end..."]


def test_error_text_finds_tracebacks_errors_and_warnings():
    assert pagecheck.error_text("accuracy 0.64 (n = 1,336)\nno Error here: it is prose? ") == []
    found = pagecheck.error_text(
        "Traceback (most recent call last):\n  File x\nValueError: bad value\n"
        "/x.py:3: FutureWarning: will change\nnumbers 1 2 3\n")
    assert found == ["Traceback (most recent call last):", "ValueError: bad value",
                     "/x.py:3: FutureWarning: will change"]
    assert pagecheck.error_text("Warning: the fit did not converge") == ["Warning: the fit did not converge"]


def test_notebook_figures_counts_image_and_html_img_outputs(tmp_path):
    nb = {"cells": [
        {"cell_type": "code", "outputs": [
            {"output_type": "display_data", "data": {"image/png": "AAAA", "text/plain": "<Figure>"}},
            {"output_type": "stream", "name": "stdout", "text": "hello"}]},
        {"cell_type": "code", "outputs": [
            {"output_type": "display_data", "data": {"text/html": ["<div>", "<img src='data:'/>", "</div>"]}},
            {"output_type": "execute_result", "data": {"text/html": "<table></table>"}}]},
        {"cell_type": "code", "outputs": [   # a figure glued by Chapter.figure (myst-nb glue)
            {"output_type": "display_data", "metadata": {"scrapbook": {"name": "fig.x"}},
             "data": {"application/papermill.record/image/png": "AAAA",
                      "application/papermill.record/text/plain": "<Figure>"}},
            {"output_type": "display_data", "data": {"application/papermill.record/text/plain": "0.5"}}]},
        {"cell_type": "markdown", "source": "x"},
    ]}
    path = _write(tmp_path / "c.ipynb", json.dumps(nb))
    assert pagecheck.notebook_figures(path) == 3
