"""The folder layout the loader reads (the released IFLLM layout), checks of a folder against it,
and summaries of a folder in it: for your own recordings made with the same study website.

A folder in the layout::

    <root>/
      query_logs_table.csv          one row per turn            (schema.QUERY_LOGS_FILE)
      task_table.csv                one row per assigned task   (schema.TASK_TABLE_FILE)
      record_info_table.csv         one row per worker          (schema.RECORD_INFO_FILE)
      user_behavior/<user_id>/<task_id>/
          abs_gaze.csv abs_mouse.csv + rel_gaze_one.csv rel_gaze_two.csv
                                       rel_mouse_left.csv rel_mouse_right.csv   (pairwise)
                                     + rel_gaze.csv rel_mouse.csv               (pointwise)

The root may also be ``dataset/`` inside the folder, or an archive (``.tar.xz``, ``.tar.gz``,
``.zip``) of either (:func:`ifl_utils.data.locate.resolve_root`). Column formats are in
:mod:`ifl_utils.data.schema`.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .extract import BEHAVIOUR_DIR, DATASET_TABLES
from .junk import listdir_clean
from .schema import (POINTWISE_STREAMS, PAIRWISE_STREAMS, QUERY_LOGS_FILE, RECORD_INFO_FILE,
                     STREAM_KINDS, TASK_TABLE_FILE)

#: Header columns each table must hold (by name; order free, extra columns ignored).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "query_logs_table.csv": tuple(c.name for c in QUERY_LOGS_FILE),
    "task_table.csv": tuple(c.name for c in TASK_TABLE_FILE),
    "record_info_table.csv": tuple(c.name for c in RECORD_INFO_FILE),
}
#: Stream file sets of a behaviour folder, by mode.
FOLDER_FILES: dict[str, tuple[str, ...]] = {
    "pairwise": tuple(f"{s}.csv" for s in PAIRWISE_STREAMS),
    "pointwise": tuple(f"{s}.csv" for s in POINTWISE_STREAMS),
}


@dataclass(frozen=True)
class LayoutEntry:
    """One path of the layout."""

    path: str
    required: bool
    holds: str
    fmt: str


#: The layout, one entry per path kind.
LAYOUT = (
    LayoutEntry("query_logs_table.csv", True, "one row per turn (question and its answer or answers)",
                "CSV (RFC 4180) with a header line, UTF-8"),
    LayoutEntry("task_table.csv", True, "one row per task assigned at login",
                "CSV (RFC 4180) with a header line, UTF-8"),
    LayoutEntry("record_info_table.csv", True, "one row per worker (consent, demographics)",
                "CSV (RFC 4180) with a header line, UTF-8"),
    LayoutEntry(f"{BEHAVIOUR_DIR}/<user_id>/<task_id>/", True,
                "one folder per conversation with behaviour; task_id in digits",
                "pairwise: " + " ".join(FOLDER_FILES["pairwise"]) + "; pointwise: "
                + " ".join(FOLDER_FILES["pointwise"])),
    LayoutEntry(f"{BEHAVIOUR_DIR}/<user_id>/<task_id>/<stream>.csv", True,
                "one line per WebGazer callback (the last partial batch of a page load is lost)",
                "no header; fields joined by ',' without escaping; UTF-8, LF line ends"),
)


def layout_frame() -> pd.DataFrame:
    """Return :data:`LAYOUT` as a table (path, required, holds, format).

    >>> layout_frame()["path"].tolist()[:3]
    ['query_logs_table.csv', 'task_table.csv', 'record_info_table.csv']
    """
    return pd.DataFrame([{"path": e.path, "required": e.required, "holds": e.holds, "format": e.fmt}
                         for e in LAYOUT])


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh), [])


def check_layout(root: str | os.PathLike[str]) -> list[str]:
    """Return every way the folder ``root`` departs from the layout (empty when it conforms).

    Checks paths and table headers only; the contents of the behaviour files are checked by the
    parser when the folder is loaded (:class:`ifl_utils.data.api.Dataset`).

    Parameters
    ----------
    root
        The dataset root: the folder holding the three tables and ``user_behavior/``. For an
        archive, pass ``resolve_root(archive, verify="none")`` (:mod:`ifl_utils.data.locate`).

    Returns
    -------
    list of str
        One message per problem, naming the path relative to ``root``.

    Examples
    --------
    >>> check_layout("no-such-folder")  # doctest: +NORMALIZE_WHITESPACE
    ['missing query_logs_table.csv', 'missing task_table.csv', 'missing record_info_table.csv',
     'missing user_behavior/']
    """
    base = Path(root)
    problems: list[str] = []
    for name in DATASET_TABLES:
        path = base / name
        if not path.is_file():
            problems.append(f"missing {name}")
            continue
        try:
            header = _header(path)
        except (UnicodeDecodeError, csv.Error) as err:
            problems.append(f"{name}: not a readable UTF-8 CSV file ({err})")
            continue
        missing = [c for c in TABLE_COLUMNS[name] if c not in header]
        if missing:
            problems.append(f"{name}: header lacks {', '.join(missing)}")
    beh = base / BEHAVIOUR_DIR
    if not beh.is_dir():
        problems.append(f"missing {BEHAVIOUR_DIR}/")
        return problems
    sets = {frozenset(v): k for k, v in FOLDER_FILES.items()}
    for wdir in listdir_clean(beh):
        rel_w = wdir.relative_to(base).as_posix()
        if not wdir.is_dir():
            problems.append(f"{rel_w}: a file where a worker folder was expected")
            continue
        for tdir in listdir_clean(wdir):
            rel_t = tdir.relative_to(base).as_posix()
            if not tdir.is_dir():
                problems.append(f"{rel_t}: a file where a task folder was expected")
                continue
            if not tdir.name.isdigit():
                problems.append(f"{rel_t}: folder name is not a task id (digits)")
            names = frozenset(p.name for p in listdir_clean(tdir))
            if names not in sets:
                problems.append(f"{rel_t}: files {sorted(names)} are neither the pairwise set "
                                f"{list(FOLDER_FILES['pairwise'])} nor the pointwise set "
                                f"{list(FOLDER_FILES['pointwise'])}")
    return problems


def file_tree(root: str | os.PathLike[str], max_workers: int = 1, name: str | None = None) -> str:
    """Return a text drawing of the folder in the layout, with paths relative to ``root``.

    Parameters
    ----------
    root
        The dataset root.
    max_workers
        Worker folders drawn in full (in sorted order); the rest are counted in one line.
    name
        Label of the root line (default: the folder's name).

    Returns
    -------
    str
        One line per table, per drawn worker and task folder (with its stream files) and one
        summary line for the workers not drawn.
    """
    base = Path(root)
    lines = [f"{name or base.name}/"]
    tables = sorted(p.name for p in base.iterdir() if p.is_file())
    for t in tables:
        lines.append(f"├── {t}")
    workers = sorted(p for p in (base / BEHAVIOUR_DIR).iterdir() if p.is_dir())
    lines.append(f"└── {BEHAVIOUR_DIR}/")
    shown = workers[:max_workers]
    rest = workers[max_workers:]
    for i, w in enumerate(shown):
        last_w = i == len(shown) - 1 and not rest
        lines.append(f"    {'└──' if last_w else '├──'} {w.name}/")
        tasks = sorted((p for p in w.iterdir() if p.is_dir()),
                       key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))
        for j, t in enumerate(tasks):
            stem = "    " if last_w else "│   "
            files = " ".join(sorted(p.name for p in t.iterdir() if p.is_file()))
            lines.append(f"    {stem}{'└──' if j == len(tasks) - 1 else '├──'} {t.name}/  {files}")
    if rest:
        n_folders = sum(1 for w in rest for p in w.iterdir() if p.is_dir())
        lines.append(f"    └── ... {len(rest)} more worker folder(s) with {n_folders} task folder(s)")
    return "\n".join(lines)


def stream_inventory(counts: Mapping[str, int], folders: pd.DataFrame) -> pd.DataFrame:
    """Return one row per behaviour stream kind: files, lines and rows, files per row format.

    Parameters
    ----------
    counts
        The build's counts (:meth:`ifl_utils.data.api.Dataset.counts`).
    folders
        One row per behaviour folder with ``mode`` and ``rel_format`` (``"6-col"`` / ``"7-col"``)
        (:meth:`ifl_utils.data.api.Dataset.folders`). A folder never mixes formats.

    Returns
    -------
    pandas.DataFrame
        Index ``stream`` (every kind of :data:`ifl_utils.data.schema.STREAM_KINDS`); columns
        ``modes``, ``files``, ``lines`` (as written), ``rows`` (after repairs: pairwise
        ``abs_gaze`` de-duplicated), ``files_6col`` and ``files_7col`` (``<NA>`` for abs streams).
    """
    n_fmt = folders.groupby(["mode", "rel_format"]).size()
    rows = []
    for s in STREAM_KINDS:
        lines = int(counts.get(f"lines_{s.name}", 0))
        row = {"stream": s.name, "modes": s.modes, "files": int(counts.get(f"files_{s.name}", 0)),
               "lines": lines,
               "rows": lines - int(counts.get("abs_gaze_duplicates", 0)) if s.name == "abs_gaze" else lines,
               "files_6col": pd.NA, "files_7col": pd.NA}
        if s.name.startswith("rel_"):
            mode = s.modes  # rel streams belong to exactly one mode
            row["files_6col"] = int(n_fmt.get((mode, "6-col"), 0))
            row["files_7col"] = int(n_fmt.get((mode, "7-col"), 0))
        rows.append(row)
    out = pd.DataFrame(rows).set_index("stream")
    for col in ("files_6col", "files_7col"):
        out[col] = out[col].astype("Int64")
    return out


def found_defects(report: pd.DataFrame, expected: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Return the rows of a quality report whose defect was found, with what was expected.

    Parameters
    ----------
    report
        :meth:`ifl_utils.data.api.Dataset.quality_report` (or the ``.quality.csv`` file written
        by ``ifl features``).
    expected
        Optional defect number -> description of what should be there (e.g.
        :data:`ifl_utils.data.synth.INJECTED_DEFECTS`); adds the column ``expected`` and keeps
        expected defects even when their count is 0, so a missed one shows.

    Returns
    -------
    pandas.DataFrame
        Columns ``#``, ``defect``, ``count``, ``unit``, ``detail`` (and ``expected``), one row per
        defect kind with a nonzero count (or expected), in report order. The report's
        ``reference`` column (the published release's counts) is left out: it does not apply to
        another folder.
    """
    keep = report["count"] > 0
    cols = ["#", "defect", "count", "unit", "detail"]
    if expected is not None:
        keep |= report["#"].isin(list(expected))
    out = report.loc[keep, cols].reset_index(drop=True)
    if expected is not None:
        out["expected"] = out["#"].map(lambda n: expected.get(int(n), "")).astype(str)
    return out
