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


# --------------------------------------------------------------------------------------------
# Input files: what the study website writes (the released layout, and any new study run with it)
#
# The tables are RFC-4180 CSV with a header line; the reader picks columns by name, so their order
# is free and extra columns are ignored. The behaviour files have no header: one line per WebGazer
# callback, fields in the order below joined by ',' without any escaping (ifllm-data.md §1.5).

#: ``query_logs_table.csv``: one row per turn (question and its answer or answers).
QUERY_LOGS_FILE = (
    Column("query_ID", "int", "", "database id; unique; increasing in time within a conversation"),
    Column("user_id", "text", "", "anonymised worker id (worker_xxxxxxxx)"),
    Column("task_id", "int", "", "topic id; (user_id, task_id) is the conversation and names its folder user_behavior/<user_id>/<task_id>/"),
    Column("user_query", "text", "", "question as typed"),
    Column("llm_response_1", "text", "", "answer in the left pane (pairwise) or the only pane (pointwise), as displayed"),
    Column("llm_response_2", "text / empty", "", "answer in the right pane; empty in pointwise turns (this decides the mode, never the task_id parity)"),
    Column("llm_name_1", "text", "", "model id of pane 1"),
    Column("llm_name_2", "text / empty", "", "model id of pane 2; empty in pointwise turns"),
    Column("likert_1", "float / empty", "1-5", "rating of pane 1 (1 very dissatisfied ... 5 very satisfied); empty when unrated"),
    Column("likert_2", "float / empty", "1-5", "rating of pane 2; empty in pointwise or unrated turns"),
    Column("preference", "float / empty", "code", "pairwise: 1 left preferred, 2 right preferred; pointwise: 1 better than the previous turn's answer, 0 worse; empty when not asked"),
    Column("adjustment", "int", "0/1", "1 if ' respond using bullet points' was appended to the question sent to the models"),
    Column("query_timestamp", "datetime text", "YYYY-MM-DD HH:MM:SS, UTC", "client clock right after the answer(s) appeared, truncated to the second"),
)

#: ``task_table.csv``: one row per task assigned at login (also tasks never started).
TASK_TABLE_FILE = (
    Column("user_id", "text", "", "worker id"),
    Column("task_id", "int", "", "topic id"),
    Column("copy_sentence", "text", "", "sentence the worker copied from an answer (attention check); HTML entities allowed"),
    Column("summary", "text", "", "free-text summary written after the task"),
    Column("feedback", "text / empty", "", "optional free-text feedback"),
    Column("understand_before", "float", "1-5", "self-rated understanding of the topic before the task"),
    Column("understand_after", "float", "1-5", "self-rated understanding after the task"),
    Column("query_copy", "text", "", "one question of the conversation (reservoir sample); HTML entities allowed"),
    Column("llm_response_copy", "text", "", "its left / only answer; HTML entities allowed"),
    Column("accuracy", "float", "%", "WebGazer calibration precision, stored at the first question"),
    Column("finished", "datetime text / empty", "YYYY-MM-DD HH:MM:SS, UTC", "time the worker pressed Finish; empty if never"),
    Column("domain", "text / empty", "", "topic label chosen at login"),
)

#: ``record_info_table.csv``: one row per worker.
RECORD_INFO_FILE = (
    Column("user_id", "text", "", "worker id"),
    Column("consent", "int", "0/1", "1 consented, 0 declined"),
    Column("age", "int / empty", "years", "age"),
    Column("location", "text / empty", "", "free text"),
    Column("education", "text / empty", "", "highest education"),
    Column("race", "text / empty", "", "multi-select, joined by ','"),
    Column("gender", "text / empty", "", "gender"),
    Column("inserted_at", "datetime text", "YYYY-MM-DD HH:MM:SS", "row creation time (database default; time zone not documented)"),
)

#: ``abs_gaze.csv`` (no header), fields in this order.
ABS_GAZE_FILE = (
    Column("x", "float", "CSS px", "WebGazer gaze estimate, viewport x (clientX); may lie far outside the viewport"),
    Column("y", "float", "CSS px", "gaze estimate, viewport y (clientY)"),
    Column("page_time", "float", "ms", "performance.now() since page load minus time the tab was hidden; identical in all streams of one callback"),
    Column("epoch", "int", "ms", "Date.now(), client clock, UTC; read separately for each stream"),
)

#: ``abs_mouse.csv`` (no header), fields in this order.
ABS_MOUSE_FILE = (
    Column("x", "int", "CSS px", "viewport x of the last mousemove; -1 until the first move"),
    Column("y", "int", "CSS px", "viewport y of the last mousemove; -1 until the first move"),
    ABS_GAZE_FILE[2],
    ABS_GAZE_FILE[3],
)

#: ``rel_*.csv`` in the 7-column format (no header), fields in this order.
REL_FILE_7COL = (
    Column("x", "float", "CSS px", "offset from the pane's top-left corner with page scroll added (fixed to the laid-out text); -1 when outside the pane"),
    Column("y", "float", "CSS px", "as x; x and y are both -1 or both >= 0"),
    Column("window", "text / empty", "text", "<=10 characters either side of the caret on the same rendered line, trimmed, wrapped in '\"'; empty when outside the pane or no caret; not escaped (may hold commas and quotes)"),
    Column("char_idx", "int / empty", "UTF-16 units", "caret offset into the pane's text (caretPositionFromPoint); empty exactly when window is empty"),
    Column("page_time", "float", "ms", "as in abs_gaze (the join key with the abs streams, with its occurrence index)"),
    Column("valid", "int", "0/1", "1 when WebGazer's face box was green"),
    Column("epoch", "int", "ms", "Date.now() read for this stream (differs from the abs streams' by up to ~0.5 s)"),
)

#: ``rel_*.csv`` in the older 6-column format: the 7-column format without ``valid``.
REL_FILE_6COL = tuple(c for c in REL_FILE_7COL if c.name != "valid")


@dataclass(frozen=True)
class StreamKind:
    """One behaviour stream file of a folder: ``user_behavior/<user_id>/<task_id>/<name>.csv``."""

    name: str
    modes: str
    modality: str
    pane: str
    fmt: str
    meaning: str


#: Every behaviour stream kind, in the order the website writes them.
STREAM_KINDS = (
    StreamKind("abs_gaze", "pairwise, pointwise", "gaze", "-", "abs_gaze",
               "gaze estimate in viewport coordinates; in pairwise folders every batch is written twice"),
    StreamKind("abs_mouse", "pairwise, pointwise", "mouse", "-", "abs_mouse",
               "last mouse position in viewport coordinates, sampled on the gaze clock"),
    StreamKind("rel_gaze_one", "pairwise", "gaze", "1 (left)", "rel (6 or 7 columns)",
               "gaze relative to the left answer (llm_response_1) and the text under it"),
    StreamKind("rel_gaze_two", "pairwise", "gaze", "2 (right)", "rel (6 or 7 columns)",
               "gaze relative to the right answer (llm_response_2)"),
    StreamKind("rel_mouse_left", "pairwise", "mouse", "1 (left)", "rel (6 or 7 columns)",
               "mouse relative to the left answer"),
    StreamKind("rel_mouse_right", "pairwise", "mouse", "2 (right)", "rel (6 or 7 columns)",
               "mouse relative to the right answer"),
    StreamKind("rel_gaze", "pointwise", "gaze", "1 (only)", "rel (6 or 7 columns)",
               "gaze relative to the only answer (llm_response_1)"),
    StreamKind("rel_mouse", "pointwise", "mouse", "1 (only)", "rel (6 or 7 columns)",
               "mouse relative to the only answer"),
)

#: Documented input files: title -> (columns, has a header line).
INPUT_FILES: dict[str, tuple[tuple[Column, ...], bool]] = {
    "query_logs_table.csv": (QUERY_LOGS_FILE, True),
    "task_table.csv": (TASK_TABLE_FILE, True),
    "record_info_table.csv": (RECORD_INFO_FILE, True),
    "abs_gaze.csv": (ABS_GAZE_FILE, False),
    "abs_mouse.csv": (ABS_MOUSE_FILE, False),
    "rel_*.csv, 7-column format": (REL_FILE_7COL, False),
    "rel_*.csv, 6-column format": (REL_FILE_6COL, False),
}


def stream_kinds_frame() -> pd.DataFrame:
    """Return :data:`STREAM_KINDS` as a table (stream, modes, modality, pane, format, meaning).

    >>> stream_kinds_frame()["stream"].tolist()[:2]
    ['abs_gaze', 'abs_mouse']
    """
    return pd.DataFrame([{"stream": s.name, "modes": s.modes, "modality": s.modality,
                          "pane": s.pane, "format": s.fmt, "meaning": s.meaning}
                         for s in STREAM_KINDS])


def format_tables() -> dict[str, pd.DataFrame]:
    """Return the documentation table of every input file kind, keyed by its title.

    Returns
    -------
    dict of str to pandas.DataFrame
        One entry per key of :data:`INPUT_FILES`, in that order. Tables with a header line have
        the columns ``column``, ``type``, ``unit``, ``meaning``; behaviour files (no header) have
        ``field`` (1-based position on the line) first.

    Examples
    --------
    >>> tables = format_tables()
    >>> list(tables)[:3]
    ['query_logs_table.csv', 'task_table.csv', 'record_info_table.csv']
    >>> tables["rel_*.csv, 6-column format"]["column"].tolist()
    ['x', 'y', 'window', 'char_idx', 'page_time', 'epoch']
    """
    out: dict[str, pd.DataFrame] = {}
    for title, (columns, header) in INPUT_FILES.items():
        df = as_frame(columns).rename(columns={"name": "column", "dtype": "type"})
        if not header:
            df.insert(0, "field", range(1, len(df) + 1))
        out[title] = df
    return out
