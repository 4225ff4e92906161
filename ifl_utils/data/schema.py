"""Explicit schemas of every table the data layer produces: column, dtype, unit, meaning.

These definitions are the single source of truth: the parser and the cache enforce them, the
tests check them, and the dataset chapter renders them. Times are milliseconds, coordinates CSS
pixels, character offsets UTF-16 code units (as the browser counts them).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    name: str
    dtype: str
    unit: str
    meaning: str


# Behaviour stream kinds as written by the study website (file name without ``.csv``).
PAIRWISE_STREAMS = ("abs_gaze", "abs_mouse", "rel_gaze_one", "rel_gaze_two",
                    "rel_mouse_left", "rel_mouse_right")
POINTWISE_STREAMS = ("abs_gaze", "abs_mouse", "rel_gaze", "rel_mouse")
ABS_STREAMS = ("abs_gaze", "abs_mouse")
REL_STREAMS = ("rel_gaze", "rel_mouse", "rel_gaze_one", "rel_gaze_two",
               "rel_mouse_left", "rel_mouse_right")

#: rel stream -> (modality, pane). Pane 1 = left / only pane (``llm_response_1``), 2 = right.
REL_STREAM_PANE = {
    "rel_gaze": ("gaze", 1),
    "rel_mouse": ("mouse", 1),
    "rel_gaze_one": ("gaze", 1),
    "rel_gaze_two": ("gaze", 2),
    "rel_mouse_left": ("mouse", 1),
    "rel_mouse_right": ("mouse", 2),
}

#: One parsed ``abs_*`` file (one row per line, file order kept).
ABS_ROWS = (
    Column("x", "float64", "CSS px", "viewport x (gaze estimate, or last mouse position)"),
    Column("y", "float64", "CSS px", "viewport y"),
    Column("page_time", "float64", "ms", "performance.now() since page load, frozen while hidden"),
    Column("epoch", "int64", "ms", "Date.now(), client clock, UTC"),
    Column("line", "int32", "", "1-based line number in the file"),
)

#: One parsed ``rel_*`` file (one row per line, file order kept).
REL_ROWS = (
    Column("x", "float64", "CSS px", "offset from the pane's top-left corner incl. scroll; NaN when outside the pane (-1,-1 in the file)"),
    Column("y", "float64", "CSS px", "as x"),
    Column("window", "string", "text", "<=10 characters either side of the caret, enclosing quotes removed; NA when empty"),
    Column("char_idx", "Int32", "UTF-16 units", "caret offset into the pane's text; NA when no caret"),
    Column("page_time", "float64", "ms", "as in abs streams; identical for all streams of one callback"),
    Column("valid", "Int8", "0/1", "WebGazer face box green; NA in the 6-column format"),
    Column("epoch", "int64", "ms", "Date.now() read for this stream (differs per stream by up to ~0.5 s)"),
    Column("line", "int32", "", "1-based line number in the file"),
)

#: One row per WebGazer callback of a folder (the join of all streams of the folder).
CALLBACKS = (
    Column("page_time", "float64", "ms", "page timer of the callback (join key, with occ)"),
    Column("occ", "int32", "", "occurrence index of this page_time value in abs_mouse (repeats while the tab is hidden)"),
    Column("epoch", "int64", "ms", "abs_mouse epoch (UTC ms); use for timing, never for joining"),
    Column("file_row", "int32", "", "0-based row in abs_mouse (file order, which is not time order)"),
    Column("gaze_x", "float64", "CSS px", "gaze estimate in viewport coordinates (may lie far off-screen)"),
    Column("gaze_y", "float64", "CSS px", "as gaze_x"),
    Column("mouse_x", "float64", "CSS px", "last mouse position in viewport coordinates; NaN before the first move"),
    Column("mouse_y", "float64", "CSS px", "as mouse_x"),
    Column("valid", "Int8", "0/1", "face-valid flag (from the pane-1 gaze rel row); NA in 6-col files or without rel rows"),
    Column("has_rel", "bool", "", "False for the callbacks missing from the rel streams (defect #8)"),
    # per modality m in (gaze, mouse) and pane p in (1, 2); pane 2 is NA in pointwise folders
    Column("{m}{p}_x", "float64", "CSS px", "pane-relative x; NaN when outside the pane"),
    Column("{m}{p}_y", "float64", "CSS px", "pane-relative y; NaN when outside the pane"),
    Column("{m}{p}_char", "Int32", "UTF-16 units", "caret offset into the pane text; NA when none"),
    Column("{m}{p}_window", "string", "text", "text window around the caret; NA when none"),
    Column("{m}{p}_epoch", "Int64", "ms", "the rel row's own epoch"),
)

MODALITIES = ("gaze", "mouse")
PANES = (1, 2)


#: Columns of ``Dataset.samples()`` beyond the callback schema.
SAMPLE_EXTRA = (
    Column("worker", "category", "", "worker id"),
    Column("task_id", "int32", "", "topic id (with worker: the conversation)"),
    Column("row", "int32", "", "row of the callback within its folder (time order)"),
    Column("session", "int16", "", "page session within the folder (reloads start a new one)"),
    Column("query_id", "int32", "", "query (turn) on screen by the time rule; -1 before the first answer or after a reload"),
    Column("turn", "int16", "", "1-based turn index of query_id within the conversation; -1 as above"),
    Column("{m}{p}_pos", "float64", "0-1", "char_idx / UTF-16 length of the assigned answer on that pane; > 1 means not on that answer"),
    Column("{m}{p}_in", "bool", "", "the point lies inside the pane"),
)

def expand(columns: tuple[Column, ...]) -> list[Column]:
    """Return ``columns`` with the ``{m}{p}`` templates expanded for both modalities and panes."""
    out: list[Column] = []
    for c in columns:
        if "{m}" in c.name:
            for m in MODALITIES:
                for p in PANES:
                    out.append(Column(c.name.format(m=m, p=p), c.dtype, c.unit,
                                      c.meaning + f" ({m}, pane {p})"))
        else:
            out.append(c)
    return out


def as_frame(columns: tuple[Column, ...]) -> pd.DataFrame:
    """Return a schema as a table (column, dtype, unit, meaning) for documentation."""
    return pd.DataFrame([c.__dict__ for c in columns])


#: Every column of ``Dataset.samples()``, in table order.
SAMPLE_COLUMNS: list[Column] = expand(SAMPLE_EXTRA[:6]) + expand(CALLBACKS) + expand(SAMPLE_EXTRA[6:])
