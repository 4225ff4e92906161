"""The browser test's rule for chapter openings (tests/browser/pagecheck.opening_problem)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))

import pagecheck  # noqa: E402

PROSE = {"tag": "p", "classes": "", "cell": False, "toggle": False, "text": "This chapter reads..."}
TOGGLE = {"tag": "div", "classes": "cell tag_hide-input docutils container", "cell": True,
          "toggle": True, "text": "Show code cell source"}
OUTPUT = {"tag": "div", "classes": "cell tag_remove-input docutils container", "cell": True,
          "toggle": False, "text": "count 87"}


def test_prose_then_results_passes():
    assert pagecheck.opening_problem([PROSE, PROSE, OUTPUT]) is None


def test_folded_cells_after_the_intro_fail():
    """The layout before the runner removed them: intro prose, then the folded parameters and
    setup cells, then the first section."""
    assert "code toggle in the opening" in pagecheck.opening_problem([PROSE, PROSE, TOGGLE, TOGGLE])


def test_code_toggle_or_cell_first_fails():
    assert "code toggle" in pagecheck.opening_problem([TOGGLE, PROSE])
    assert "code cell" in pagecheck.opening_problem([OUTPUT, PROSE])
    details = {"tag": "details", "classes": "", "cell": False, "toggle": True, "text": "Show"}
    assert "code toggle" in pagecheck.opening_problem([details])
    assert pagecheck.opening_problem([]) == "nothing visible after the title"
