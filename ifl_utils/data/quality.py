"""The quality report: one row per known defect of the release, with its count and its handling.

Counts come from the build (:meth:`ifl_utils.data.api.Dataset.counts`), never from the reference
document; the reference count is shown beside ours so a reader sees that the parser reproduces it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

Counts = Mapping[str, int]


@dataclass(frozen=True)
class Defect:
    """One defect kind of the data reference (§3)."""

    number: int
    name: str
    count: Callable[[Counts], int]
    unit: str
    detail: Callable[[Counts], str]
    handling: str
    reference: int | None


def _c(key: str) -> Callable[[Counts], int]:
    return lambda c: int(c.get(key, 0))


def _none(c: Counts) -> str:
    return ""


DEFECTS: tuple[Defect, ...] = (
    Defect(1, "behaviour files have no header", _c("files"), "files", _none,
           "own line parser; never pandas' default header", 2362),
    Defect(2, "window not CSV-escaped (inner quotes / commas)", _c("window_comma"), "lines with a comma",
           lambda c: f"{c.get('window_quote', 0):,} lines with an inner quote",
           "split 2 fields from the left and 3-4 from the right; window = the rest", 210935),
    Defect(3, "window ending in a quote (a naive reader merges lines)", _c("window_quote_end"), "lines",
           _none, "line-based parser", None),
    Defect(4, "two row formats (6 and 7 columns)", _c("rel_files_6col"), "6-column rel files",
           lambda c: f"{c.get('rel_files_7col', 0):,} 7-column files; {c.get('folders_6col', 0)} / "
                     f"{c.get('folders_7col', 0)} folders",
           "format detected per file; valid = NA in the 6-column format", 200),
    Defect(5, "window written without its quotes", _c("window_unquoted"), "lines", _none,
           "middle text taken as is", 579),
    Defect(6, "files passed through a CSV writer", _c("csv_rewritten_files"), "files",
           lambda c: f"{c.get('csv_doubled_quotes', 0)} doubled quotes, "
                     f"{c.get('csv_trailing_quote', 0)} trailing quotes",
           "undouble quotes, drop the trailing quote; trust char_idx", 3),
    Defect(7, "pairwise abs_gaze holds every batch twice", _c("abs_gaze_duplicates"), "duplicate rows",
           _none, "second copy dropped", 1103719),
    Defect(8, "callbacks missing from the rel streams", _c("callbacks_without_rel"), "callbacks",
           lambda c: f"in {c.get('folders_without_rel', 0)} folders",
           "join on (page_time, occurrence); rel columns NA", 12),
    Defect(9, "batches out of order", _c("backward_steps"), "backward steps",
           lambda c: f"in {c.get('folders_backward_steps', 0)} folders",
           "sorted by epoch; file order never trusted", 49),
    Defect(10, "several page sessions per folder", _c("folders_with_two_sessions"), "folders with 2",
           lambda c: f"{c.get('page_sessions', 0)} sessions in all",
           "session id kept; turn reset to -1 after a reload", 4),
    Defect(11, "repeated page_time (tab hidden)", _c("repeated_page_time"), "callbacks",
           lambda c: f"in {c.get('folders_repeated_page_time', 0)} folders",
           "occurrence index in the join key; epoch for timing", 102),
    Defect(12, "epoch differs across streams of a callback", _c("rel_epoch_mismatch"), "rel rows > 1 ms",
           _none, "never joined on epoch", 49059),
    Defect(13, "query_timestamp shifted by +4 h", _c("display_shifted_conversations"), "conversations",
           lambda c: f"{c.get('display_shifted_turns', 0)} turns",
           "4 h subtracted where that brings the turns inside the recording", 44),
    Defect(14, "invalid query_timestamp", _c("display_invalid_timestamps"), "turns",
           lambda c: f"{c.get('display_imputed', 0)} imputed, {c.get('display_unresolved', 0)} unresolved",
           "imputed from the first exclusive text match - 1 s", 2),
    Defect(15, "spurious \\r\\n inside answers", _c("answers_crlf"), "answers", _none,
           "deleted", 28),
    Defect(16, "model-name variant with whitespace", _c("model_name_whitespace"), "values", _none,
           "whitespace removed", 1),
    Defect(17, "char_idx counts UTF-16 units (non-BMP characters)", _c("answers_non_bmp"), "answers",
           _none, "texts indexed in UTF-16 units", 33),
    Defect(18, "LLM error message instead of an answer", _c("llm_error_turns"), "turns", _none,
           "flagged; excluded from text/preference modelling", 14),
    Defect(19, "repeated submission of a question", _c("repeated_submissions"), "turns",
           lambda c: f"in {c.get('repeated_submission_conversations', 0)} conversations; earlier copy "
                     f"unrated in {c.get('repeated_earlier_unrated', 0)}",
           "both kept for behaviour; labels from the rated copy", 33),
    Defect(20, "unrated turns", _c("unrated"), "turns", _none, "no label; behaviour kept", 46),
    Defect(21, "conversations without a folder", _c("conversations_without_folder"), "conversations",
           lambda c: f"{c.get('folders_without_turns', 0)} folders without turns",
           "no behaviour / no turn assignment", 56),
    Defect(22, "pointwise conversations with an odd task_id", _c("pointwise_odd_task_conversations"),
           "conversations", _none, "mode from llm_response_2, never from parity", 2),
    Defect(23, "conversations shorter than 3 turns", _c("short_conversations"), "conversations",
           _none, "kept; flagged", 3),
    Defect(24, "duplicate rows", lambda c: int(c.get("task_table_duplicate_rows", 0))
           + int(c.get("record_info_duplicate_rows", 0)), "rows",
           lambda c: f"task_table {c.get('task_table_duplicate_rows', 0)}, record_info "
                     f"{c.get('record_info_duplicate_rows', 0)}",
           "one kept (task_table: the row consistent with the turns)", 2),
    Defect(25, "HTML entities in copied text", lambda c: sum(int(v) for k, v in c.items()
                                                             if k.startswith("task_table_html_entities")),
           "cells", _none, "html.unescape", 7),
    Defect(26, "off-screen gaze estimates", _c("gaze_x_offscreen"), "callbacks with x < 0",
           lambda c: f"{c.get('gaze_y_offscreen', 0):,} with y < 0", "kept; flag/clip in analyses", 62129),
    Defect(27, "mouse position before the first move", _c("mouse_before_move"), "callbacks", _none,
           "missing value (NaN)", 4132),
    Defect(28, "camera flag 0 or absent", _c("valid_zero"), "callbacks with valid = 0",
           lambda c: f"{c.get('valid_absent', 0):,} without the flag (6-column format)",
           "kept; filter or weight where needed", 119184),
    Defect(29, "final partial batch never written", _c("linked_turns_without_callbacks"),
           "linked turns without any callback", _none, "nothing to repair", 8),
    Defect(30, "question with leading/trailing whitespace", _c("question_whitespace"), "turns", _none,
           "stripped", 71),
)


#: Shown only when the folder holds any (the published release holds none).
JUNK = Defect(31, "operating-system files (.DS_Store, Thumbs.db, desktop.ini, __MACOSX/, ._*)",
              _c("os_junk_files"), "files or folders", _none,
              "ignored by the manifest check, the layout check and the parser", None)


def quality_report(counts: Counts) -> pd.DataFrame:
    """Return one row per defect kind: number, defect, count, unit, detail, handling, reference.

    Parameters
    ----------
    counts
        The build's counts (``Dataset.counts()``).

    Returns
    -------
    pandas.DataFrame
        Columns ``#``, ``defect``, ``count``, ``unit``, ``detail``, ``handling``,
        ``reference`` (the data reference's count, NA where it gives none) and ``matches``.
        Operating-system clutter (:data:`JUNK`) adds a row only when the folder holds any.
    """
    rows = []
    extra = (JUNK,) if JUNK.count(counts) else ()
    for d in (*DEFECTS, *extra):
        n = d.count(counts)
        rows.append({"#": d.number, "defect": d.name, "count": n, "unit": d.unit,
                     "detail": d.detail(counts), "handling": d.handling,
                     "reference": d.reference,
                     "matches": None if d.reference is None else n == d.reference})
    df = pd.DataFrame(rows)
    df["reference"] = df["reference"].astype("Int64")
    return df
