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
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .folder import Masked, callbacks_arrow, parse_folder, parse_folder_columns
from .schema import MODALITIES, PANES, SAMPLE_COLUMNS
from .tables import read_query_logs, read_record_info, read_task_table
from .timeline import (assign_all, page_sessions, recording_spans, repair_display_times,
                       text_checks)

Key = tuple[str, int]


def folder_keys(root: Path) -> list[tuple[Key, Path]]:
    """Return ``((worker, task_id), folder)`` for every ``user_behavior/<worker>/<task_id>/``."""
    from .junk import listdir_clean

    out = []
    base = Path(root) / "user_behavior"
    for wdir in (p for p in listdir_clean(base) if p.is_dir()):
        for tdir in sorted((p for p in listdir_clean(wdir) if p.is_dir()), key=lambda p: int(p.name)
                           if p.name.isdigit() else -1):
            if not tdir.name.isdigit():
                from ..errors import IFLDataError

                raise IFLDataError(f"folder name {tdir.name!r} is not a task id (expected digits)",
                                   path=tdir.relative_to(root).as_posix())
            out.append(((wdir.name, int(tdir.name)), tdir))
    return out


#: Columns of the ``callbacks`` cache table (parsed streams, written by the parsing processes).
CALLBACK_TABLE = [c.name for c in SAMPLE_COLUMNS
                  if c.name not in ("worker", "task_id", "row", "session", "query_id", "turn")
                  and not c.name.endswith("_pos")]
#: Columns of the ``assignment`` cache table (depend on the query log; written by the parent).
ASSIGNMENT_TABLE = [c.name for c in SAMPLE_COLUMNS if c.name not in CALLBACK_TABLE]
#: Folders per parsing task (each task writes one Parquet part of the callbacks table).
CHUNK = 30
_LIGHT = ("epoch", "page_time", "file_row") + tuple(f"{m}{p}_char" for p in PANES for m in MODALITIES)


def _pandas_metadata(names: list[str]) -> dict:
    """Schema metadata that makes ``to_pandas`` restore the declared (nullable) dtypes."""
    declared = {c.name: c.dtype for c in SAMPLE_COLUMNS}
    empty = pd.DataFrame({n: pd.Series(dtype=declared[n]) for n in names})
    return pa.Schema.from_pandas(empty, preserve_index=False).metadata


def _light(cols: dict) -> dict[str, np.ndarray]:
    """The timing and caret columns (carets as float64 with NaN) of one folder's callbacks."""
    out = {}
    for c in _LIGHT:
        v = cols[c]
        if isinstance(v, Masked):
            v = np.where(v.mask, np.nan, v.values.astype(np.float64))
        out[c] = v
    return out


#: Parquet options of the callbacks parts: dictionary encoding only where values repeat (the
#: windows), no column statistics (nothing filters this table); zstd level 1. Measured on the
#: release: 0.57 s instead of 0.78 s to write, 64 MB instead of 70 MB.
_WRITE_OPTIONS = {"compression": "zstd", "compression_level": 1, "write_statistics": False,
                  "use_dictionary": [f"{m}{p}_window" for m in MODALITIES for p in PANES]}


def _parse_chunk(job: tuple[str, list[tuple[str, int, str]], str]) -> list[tuple]:
    """Parse a run of folders, write their callbacks as one Parquet part, return light columns.

    Runs in a worker process: the heavy columns never travel back to the parent, only the
    timing and caret columns that turn assignment and positions need. The Arrow table is built
    from the parsed arrays directly (no DataFrame; see :func:`~.folder.callbacks_arrow`).
    """
    root, folders, out = job
    tables, back = [], []
    for worker, task, rel in folders:
        cols, counts, mode = parse_folder_columns(Path(root) / rel, rel)
        for m in MODALITIES:
            for p in PANES:
                cols[f"{m}{p}_in"] = ~np.isnan(cols[f"{m}{p}_x"])
        tables.append(callbacks_arrow(cols, CALLBACK_TABLE))
        light = _light(cols)
        # page sessions depend on the folder alone: found here, in parallel (§1.7)
        light["session"], light["origin"] = page_sessions(
            pd.DataFrame({c: light[c] for c in ("epoch", "page_time", "file_row")}, copy=False))
        back.append(((worker, task), light, counts, mode, bool(cols["valid"].mask.all())))
    table = pa.concat_tables(tables)
    table = table.replace_schema_metadata(_pandas_metadata(CALLBACK_TABLE))
    pq.write_table(table, out, **_WRITE_OPTIONS)
    return back


#: Seconds between a worker's checks that its parent is still alive.
PARENT_POLL_S = 0.5


def _exit_with_parent(parent: int, interval: float = PARENT_POLL_S) -> None:
    """Pool initializer: end this worker process soon after ``parent`` dies.

    A daemon thread compares ``os.getppid()`` with ``parent`` every ``interval`` seconds; a parent
    killed outright (SIGKILL, out of memory) leaves its workers to ``init``, which changes their
    parent id, and the thread then ends the worker at once (``os._exit``). No ``prctl``: plain
    POSIX calls.
    """
    import threading
    import time

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(interval)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class FolderFrames(Mapping):
    """``(worker, task_id) -> callbacks`` parsed again on demand (used for the few conversations
    whose display time must be imputed from the text under the samples)."""

    def __init__(self, root: Path, keys: list[Key]):
        self.root = root
        self.keys = keys
        self._cache: dict[Key, pd.DataFrame] = {}

    def __getitem__(self, key: Key) -> pd.DataFrame:
        if key not in self._cache:
            rel = f"user_behavior/{key[0]}/{key[1]}"
            self._cache[key] = parse_folder(self.root / rel, rel)[0]
        return self._cache[key]

    def __iter__(self):
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)


def parse_to(root: Path, out_dir: Path, workers: int | None = None, progress: bool = False,
             meanwhile: Callable[[], object] | None = None
             ) -> tuple[list[Key], dict[Key, dict], dict[Key, str], Counter, dict[Key, bool], object]:
    """Parse every behaviour folder of ``root`` into ``out_dir/callbacks.parquet/part-*.parquet``.

    Folders are parsed in ``workers`` processes (default 2), :data:`CHUNK` folders per part, in
    key order, so the parts concatenate to the folders in order. ``meanwhile`` (if given) runs
    in this process while the workers parse (the small tables are read then).

    Returns
    -------
    keys, light, modes, counts, six_col, other
        Folder keys in table order; per folder its timing and caret columns; its mode; the summed
        defect counts; whether the folder is in the 6-column format; what ``meanwhile`` returned.
    """
    keys = [k for k, _ in folder_keys(root)]
    target = Path(out_dir) / "callbacks.parquet"
    target.mkdir(parents=True, exist_ok=True)
    jobs, sizes = [], []
    for i in range(0, len(keys), CHUNK):
        part = [(w, t, f"user_behavior/{w}/{t}") for w, t in keys[i:i + CHUNK]]
        jobs.append((str(root), part, str(target / f"part-{i // CHUNK:04d}.parquet")))
        sizes.append(sum(f.stat().st_size for _, _, rel in part for f in (root / rel).iterdir()))
    # largest chunks first, so that the workers finish together; the part names keep key order
    by_size = sorted(range(len(jobs)), key=lambda j: -sizes[j])
    n = workers or min(2, os.cpu_count() or 1)
    other = None
    if n > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=n, initializer=_exit_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures = {j: pool.submit(_parse_chunk, jobs[j]) for j in by_size}
            if meanwhile is not None:
                other = meanwhile()
            done = [futures[j].result() for j in range(len(jobs))]
    else:
        done = [_parse_chunk(j) for j in jobs]
        if meanwhile is not None:
            other = meanwhile()
    light, modes, counts, six_col = {}, {}, Counter(), {}
    for back in done:
        for key, cols, c, mode, six in back:
            light[key] = cols
            modes[key] = mode
            counts.update(c)
            six_col[key] = six
    if progress:
        print(f"parsed {len(keys)} behaviour folders", file=sys.stderr)
    return keys, light, modes, counts, six_col, other


def build_release(root: Path, out_dir: Path, progress: bool = False, workers: int | None = None
                  ) -> tuple[dict[str, pd.DataFrame | pa.Table], dict]:
    """Parse ``root`` into the tidy tables (written into or returned for ``out_dir``).

    The ``callbacks`` table (parsed streams) is written straight into ``out_dir`` by the parsing
    processes; the other tables are returned for the cache to write.

    Returns
    -------
    tables : dict
        ``queries`` (one row per turn, display times repaired), ``tasks``, ``workers``
        (record info), ``folders`` (one row per behaviour folder), ``assignment`` (per callback:
        worker, task, session, assigned query and turn, normalised positions; rows aligned with
        ``callbacks``), ``counts`` (defect/repair name -> count).
    meta : dict
        Row counts, and ``prewritten`` (the tables already in ``out_dir``).
    """
    import time

    root = Path(root)
    clock = [time.perf_counter()]

    def phase(name: str) -> None:
        now = time.perf_counter()
        if progress:
            print(f"  {name}: {now - clock[0]:.2f} s", file=sys.stderr)
        clock[0] = now

    def small_tables():
        return read_query_logs(root), read_record_info(root)

    keys, light, modes, pcounts, six_col, small = parse_to(root, out_dir, workers=workers,
                                                           progress=progress, meanwhile=small_tables)
    (turns, qcounts), (workers_t, rcounts) = small
    phase("behaviour files (query log and record info meanwhile)")
    frames = {k: pd.DataFrame({c: light[k][c] for c in ("epoch", "page_time", "file_row")})
              for k in keys}
    spans = recording_spans(frames)
    # only the conversations whose timestamps need imputing are parsed again in full (text check)
    display, dcounts = repair_display_times(turns, FolderFrames(root, keys), spans=spans)
    turns = pd.concat([turns, display], axis=1)
    last = (turns.groupby(["worker", "task_id"], as_index=False)["display_ms"].max()
            .rename(columns={"display_ms": "last_display_ms"}))
    tasks, tcounts = read_task_table(root, last_display_ms=last)
    phase("display times, task and record tables")

    assigned = assign_all(turns, frames,
                          sessions={k: (light[k]["session"], light[k]["origin"]) for k in keys})
    groups = {(str(w), int(t)) for w, t in zip(turns["worker"], turns["task_id"])}
    sizes = np.array([len(frames[k]) for k in keys], dtype=np.int64)
    sess, qid = [], []
    for k in keys:
        a = assigned.get(k)
        if a is None:  # a folder without turns (§3 #21): behaviour kept, turn unknown
            sess.append(light[k]["session"])
            qid.append(np.full(len(frames[k]), -1, dtype=np.int64))
        else:
            sess.append(a["session"].to_numpy())
            qid.append(a["turn"].to_numpy(dtype=np.int64))
    query_id = np.concatenate(qid)
    phase("page sessions and turn assignment")
    names = sorted({k[0] for k in keys})
    codes = np.array([names.index(k[0]) for k in keys], dtype=np.int32)
    cols: dict[str, pa.Array] = {
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
    cols["turn"] = pa.array(np.where(found, turn_no[np.clip(at, 0, None)], -1).astype(np.int16))
    for p in PANES:
        lens = turns[f"len_utf16_{p}"].astype("float64").to_numpy(na_value=np.nan)
        length = np.where(found, lens[np.clip(at, 0, None)], np.nan)
        length[length <= 0] = np.nan
        for m in MODALITIES:
            char = np.concatenate([light[k][f"{m}{p}_char"] for k in keys])
            cols[f"{m}{p}_pos"] = pa.array(char / length)
    assignment = pa.table({n: cols[n] for n in ASSIGNMENT_TABLE})
    assignment = assignment.replace_schema_metadata(_pandas_metadata(ASSIGNMENT_TABLE))

    n_sessions = [int(sess[i].max()) + 1 if sizes[i] else 0 for i in range(len(keys))]
    span_of = spans.set_index(["worker", "task_id"])
    folder_table = pd.DataFrame({
        "worker": [k[0] for k in keys], "task_id": [k[1] for k in keys],
        "mode": [modes[k] for k in keys], "callbacks": sizes, "sessions": n_sessions,
        "linked": [k in groups for k in keys],
        "rel_format": ["6-col" if sizes[i] and six_col[k] else "7-col" for i, k in enumerate(keys)],
        "start_ms": [span_of["start_ms"].get(k) for k in keys],
        "end_ms": [span_of["end_ms"].get(k) for k in keys],
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
    from .junk import junk_files

    counts["os_junk_files"] = len(junk_files(root))
    count_table = pd.DataFrame(sorted(counts.items()), columns=["name", "count"])
    tables = {"queries": turns, "tasks": tasks, "workers": workers_t, "folders": folder_table,
              "assignment": assignment, "counts": count_table}
    meta = {name: int(df.num_rows if isinstance(df, pa.Table) else len(df)) for name, df in tables.items()}
    meta["callbacks"] = int(sizes.sum())
    phase("tables")
    return tables, {"rows": meta, "prewritten": ["callbacks"]}


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
