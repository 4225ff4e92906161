"""Build the tidy tables of a release from its raw files (what the Parquet cache stores).

One pass: the three tables (:mod:`.tables`), every behaviour folder (:mod:`.folder`, two processes),
display-time repair, page sessions and turn assignment (:mod:`.timeline`), normalised positions.
The expensive text check of every windowed sample (§2 agreement, the quality rule's on-text share)
is a separate, lazily cached step (:func:`text_check_table`).
"""
from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .folder import parse_folder
from .schema import MODALITIES, PANES, SAMPLE_COLUMNS
from .tables import read_query_logs, read_record_info, read_task_table
from .timeline import assign_all, page_sessions, repair_display_times, text_checks

Key = tuple[str, int]


def folder_keys(root: Path) -> list[tuple[Key, Path]]:
    """Return ``((worker, task_id), folder)`` for every ``user_behavior/<worker>/<task_id>/``."""
    out = []
    base = Path(root) / "user_behavior"
    for wdir in sorted(p for p in base.iterdir() if p.is_dir()):
        for tdir in sorted((p for p in wdir.iterdir() if p.is_dir()), key=lambda p: int(p.name)
                           if p.name.isdigit() else -1):
            if not tdir.name.isdigit():
                from ..errors import IFLDataError

                raise IFLDataError(f"folder name {tdir.name!r} is not a task id (expected digits)",
                                   path=tdir.relative_to(root).as_posix())
            out.append(((wdir.name, int(tdir.name)), tdir))
    return out


def _parse_one(args: tuple[str, str]) -> tuple[pa.Table, Counter, str]:
    folder, rel = args
    cb, counts, mode = parse_folder(Path(folder), rel)
    # Arrow tables travel between processes as buffers and concatenate without copying
    return pa.Table.from_pandas(cb, preserve_index=False), counts, mode


class FolderTables(Mapping):
    """``(worker, task_id) -> callbacks`` of every parsed folder, kept as Arrow tables.

    Indexing returns the folder's callbacks as a pandas DataFrame (converted on demand and
    cached); :meth:`light` returns only the timing columns, which is all that page sessions and
    turn assignment read.
    """

    def __init__(self, tables: dict[Key, pa.Table]):
        self.tables = tables
        self._frames: dict[Key, pd.DataFrame] = {}

    def __getitem__(self, key: Key) -> pd.DataFrame:
        if key not in self._frames:
            self._frames[key] = self.tables[key].to_pandas()
        return self._frames[key]

    def __iter__(self):
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def light(self, key: Key) -> pd.DataFrame:
        """The folder's ``epoch``, ``page_time`` and ``file_row`` only."""
        t = self.tables[key]
        return pd.DataFrame({c: t.column(c).to_numpy() for c in ("epoch", "page_time", "file_row")})

    def spans(self) -> pd.DataFrame:
        """First and last callback epoch of every non-empty folder (``recording_spans`` layout)."""
        rows = [(w, t, pc.min(tab.column("epoch")).as_py(), pc.max(tab.column("epoch")).as_py())
                for (w, t), tab in self.tables.items() if tab.num_rows]
        return pd.DataFrame(rows, columns=["worker", "task_id", "start_ms", "end_ms"]).astype(
            {"worker": "string", "task_id": "int64", "start_ms": "int64", "end_ms": "int64"})


def parse_all(root: Path, workers: int | None = None, progress: bool = False
              ) -> tuple[FolderTables, dict[Key, str], Counter]:
    """Parse every behaviour folder of ``root`` (in ``workers`` processes; default 2).

    Returns
    -------
    folders, modes, counts
        :class:`FolderTables`, ``key -> 'pairwise' | 'pointwise'``, summed defect counts.
    """
    keys = folder_keys(root)
    jobs = [(str(path), path.relative_to(root).as_posix()) for _, path in keys]
    n = workers or min(2, os.cpu_count() or 1)
    if n > 1:
        with ProcessPoolExecutor(max_workers=n) as pool:
            parsed = list(pool.map(_parse_one, jobs, chunksize=8))
    else:
        parsed = [_parse_one(j) for j in jobs]
    tables, modes, counts = {}, {}, Counter()
    for (key, _), (tab, c, mode) in zip(keys, parsed):
        tables[key] = tab
        modes[key] = mode
        counts.update(c)
    if progress:
        print(f"parsed {len(keys)} behaviour folders", file=sys.stderr)
    return FolderTables(tables), modes, counts


def build_release(root: Path, progress: bool = False, workers: int | None = None
                  ) -> tuple[dict[str, pd.DataFrame | pa.Table], dict]:
    """Parse ``root`` into the tidy tables and the defect counts.

    Returns
    -------
    tables : dict
        ``queries`` (one row per turn, display times repaired), ``tasks``, ``workers``
        (record info), ``folders`` (one row per behaviour folder), ``samples`` (one row per
        callback, assigned to a query; an Arrow table), ``counts`` (defect/repair name -> count).
    meta : dict
        Row counts, for the cache's ``meta.json``.
    """
    root = Path(root)
    turns, qcounts = read_query_logs(root)
    folders, modes, pcounts = parse_all(root, workers=workers, progress=progress)
    # only the conversations whose timestamps need imputing are converted in full (text check)
    display, dcounts = repair_display_times(turns, folders, spans=folders.spans())
    turns = pd.concat([turns, display], axis=1)
    last = (turns.groupby(["worker", "task_id"], as_index=False)["display_ms"].max()
            .rename(columns={"display_ms": "last_display_ms"}))
    tasks, tcounts = read_task_table(root, last_display_ms=last)
    workers_t, rcounts = read_record_info(root)

    keys = list(folders)
    light = {k: folders.light(k) for k in keys}
    assigned = assign_all(turns, light)
    groups = {(str(w), int(t)) for w, t in zip(turns["worker"], turns["task_id"])}
    sizes = np.array([folders.tables[k].num_rows for k in keys], dtype=np.int64)
    sess, qid = [], []
    for k in keys:
        a = assigned.get(k)
        if a is None:  # a folder without turns (§3 #21): behaviour kept, turn unknown
            sess.append(page_sessions(light[k])[0])
            qid.append(np.full(len(light[k]), -1, dtype=np.int64))
        else:
            sess.append(a["session"].to_numpy())
            qid.append(a["turn"].to_numpy(dtype=np.int64))
    query_id = np.concatenate(qid)
    samples = pa.concat_tables([folders.tables[k] for k in keys], promote_options="default")
    names = sorted({k[0] for k in keys})
    codes = np.array([names.index(k[0]) for k in keys], dtype=np.int32)
    extra: dict[str, pa.Array] = {
        "worker": pa.DictionaryArray.from_arrays(pa.array(np.repeat(codes, sizes)), pa.array(names)),
        "task_id": pa.array(np.repeat(np.array([k[1] for k in keys], dtype=np.int32), sizes)),
        "row": pa.array((np.arange(len(query_id)) - np.repeat(np.cumsum(sizes) - sizes, sizes))
                        .astype(np.int32)),
        "session": pa.array(np.concatenate(sess).astype(np.int16)),
        "query_id": pa.array(query_id.astype(np.int32)),
    }
    # turn index and answer lengths of the assigned query, looked up once for all callbacks
    at = pd.Index(turns["query_id"].to_numpy(dtype=np.int64)).get_indexer(query_id)
    found = at >= 0
    turn_no = turns["turn"].to_numpy(dtype=np.int64)
    extra["turn"] = pa.array(np.where(found, turn_no[np.clip(at, 0, None)], -1).astype(np.int16))
    for p in PANES:
        lens = turns[f"len_utf16_{p}"].astype("float64").to_numpy(na_value=np.nan)
        length = np.where(found, lens[np.clip(at, 0, None)], np.nan)
        length[length <= 0] = np.nan
        for m in MODALITIES:
            char = samples.column(f"{m}{p}_char").to_numpy(zero_copy_only=False).astype("float64")
            extra[f"{m}{p}_pos"] = pa.array(char / length)
    for m in MODALITIES:
        for p in PANES:
            x = samples.column(f"{m}{p}_x").to_numpy(zero_copy_only=False)  # nulls become NaN
            extra[f"{m}{p}_in"] = pa.array(~np.isnan(x.astype("float64")))
    columns = {name: samples.column(name) for name in samples.column_names}
    columns.update(extra)
    samples = pa.table({c.name: columns[c.name] for c in SAMPLE_COLUMNS})
    # pandas metadata of the declared dtypes, so that reading back restores the nullable
    # integer columns (Int8/Int32/Int64) instead of turning them into floats
    empty = pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in SAMPLE_COLUMNS})
    samples = samples.replace_schema_metadata(pa.Schema.from_pandas(empty, preserve_index=False).metadata)

    n_sessions = [int(sess[i].max()) + 1 if sizes[i] else 0 for i in range(len(keys))]
    spans = folders.spans().set_index(["worker", "task_id"])
    folder_table = pd.DataFrame({
        "worker": [k[0] for k in keys], "task_id": [k[1] for k in keys],
        "mode": [modes[k] for k in keys], "callbacks": sizes, "sessions": n_sessions,
        "linked": [k in groups for k in keys],
        "rel_format": ["6-col" if folders.tables[k].num_rows
                       and folders.tables[k].column("valid").null_count == folders.tables[k].num_rows
                       else "7-col" for k in keys],
        "start_ms": [spans["start_ms"].get(k) for k in keys],
        "end_ms": [spans["end_ms"].get(k) for k in keys],
    })
    linked = np.repeat(folder_table["linked"].to_numpy(), sizes)

    has_folder = groups & set(keys)
    turns["has_folder"] = [(w, int(t)) in has_folder for w, t in zip(turns["worker"], turns["task_id"])]
    n_cb = pd.Series(query_id[query_id >= 0]).value_counts()
    turns["callbacks"] = turns["query_id"].map(n_cb).fillna(0).astype("int64")

    counts = Counter()
    # the readers use short names (``rows``, ``duplicate_rows``...): prefix them by source
    for prefix, c in (("", qcounts), ("", pcounts), ("display_", dcounts),
                      ("task_table_", tcounts), ("record_info_", rcounts)):
        counts.update({prefix + k: int(v) for k, v in c.items()})
    counts["callbacks_unassigned"] = int((query_id < 0).sum())
    counts["callbacks_linked"] = int(linked.sum())
    counts["callbacks_unassigned_linked"] = int((linked & (query_id < 0)).sum())
    counts["linked_turns_without_callbacks"] = int((turns["has_folder"] & (turns["callbacks"] == 0)).sum())
    counts["page_sessions"] = int(folder_table["sessions"].sum())
    counts["folders_with_two_sessions"] = int((folder_table["sessions"] > 1).sum())
    counts["folders_without_turns"] = int((~folder_table["linked"]).sum())
    counts["conversations_without_folder"] = len(groups - set(keys))
    count_table = pd.DataFrame(sorted(counts.items()), columns=["name", "count"])
    tables = {"queries": turns, "tasks": tasks, "workers": workers_t, "folders": folder_table,
              "samples": samples, "counts": count_table}
    meta = {name: int(df.num_rows if isinstance(df, pa.Table) else len(df)) for name, df in tables.items()}
    return tables, {"rows": meta}


def text_check_table(samples_by_folder: dict[Key, pd.DataFrame], turns: pd.DataFrame
                     ) -> pd.DataFrame:
    """Run the §2 text check on every windowed rel sample of every linked folder.

    Returns
    -------
    pandas.DataFrame
        :data:`ifl_utils.data.timeline.TEXT_CHECK_COLUMNS` plus ``worker``, ``task_id``, ``mode``.
    """
    groups = {(str(w), int(t)): g for (w, t), g in turns.groupby(["worker", "task_id"])}
    frames = []
    for key, cb in samples_by_folder.items():
        if key not in groups:
            continue
        conv = groups[key].sort_values("query_id")
        chk = text_checks(cb, conv)
        chk.insert(0, "worker", key[0])
        chk.insert(1, "task_id", np.int32(key[1]))
        chk["mode"] = conv["mode"].iloc[0]
        frames.append(chk)
    out = pd.concat(frames, ignore_index=True)
    out["worker"] = out["worker"].astype("category")
    return out
