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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .folder import parse_folder
from .schema import MODALITIES, PANES, SAMPLE_COLUMNS
from .tables import read_query_logs, read_record_info, read_task_table
from .timeline import assign_all, repair_display_times, text_checks

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


def _parse_one(args: tuple[str, str]) -> tuple[pd.DataFrame, Counter, str]:
    folder, rel = args
    return parse_folder(Path(folder), rel)


def parse_all(root: Path, workers: int | None = None, progress: bool = False
              ) -> tuple[dict[Key, pd.DataFrame], dict[Key, str], Counter]:
    """Parse every behaviour folder of ``root`` (in ``workers`` processes; default 2).

    Returns
    -------
    folders, modes, counts
        ``key -> callbacks``, ``key -> 'pairwise' | 'pointwise'``, summed defect counts.
    """
    keys = folder_keys(root)
    jobs = [(str(path), path.relative_to(root).as_posix()) for _, path in keys]
    n = workers or min(2, os.cpu_count() or 1)
    if n > 1:
        with ProcessPoolExecutor(max_workers=n) as pool:
            parsed = list(pool.map(_parse_one, jobs, chunksize=8))
    else:
        parsed = [_parse_one(j) for j in jobs]
    folders, modes, counts = {}, {}, Counter()
    for (key, _), (cb, c, mode) in zip(keys, parsed):
        folders[key] = cb
        modes[key] = mode
        counts.update(c)
    if progress:
        print(f"parsed {len(keys)} behaviour folders", file=sys.stderr)
    return folders, modes, counts


def build_release(root: Path, progress: bool = False, workers: int | None = None
                  ) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse ``root`` into the tidy tables and the defect counts.

    Returns
    -------
    tables : dict
        ``queries`` (one row per turn, display times repaired), ``tasks``, ``workers``
        (record info), ``folders`` (one row per behaviour folder), ``samples`` (one row per
        callback, assigned to a query), ``counts`` (defect/repair name -> count).
    meta : dict
        Row counts, for the cache's ``meta.json``.
    """
    root = Path(root)
    turns, qcounts = read_query_logs(root)
    folders, modes, pcounts = parse_all(root, workers=workers, progress=progress)
    display, dcounts = repair_display_times(turns, folders)
    turns = pd.concat([turns, display], axis=1)
    last = (turns.groupby(["worker", "task_id"], as_index=False)["display_ms"].max()
            .rename(columns={"display_ms": "last_display_ms"}))
    tasks, tcounts = read_task_table(root, last_display_ms=last)
    workers_t, rcounts = read_record_info(root)

    assigned = assign_all(turns, folders)
    groups = {(str(w), int(t)) for w, t in zip(turns["worker"], turns["task_id"])}
    keys = list(folders)
    sizes = np.array([len(folders[k]) for k in keys], dtype=np.int64)
    # one concat of the parsed frames, then whole-release vectorised columns
    samples = pd.concat([folders[k] for k in keys], ignore_index=True)
    sess, qid = [], []
    for k in keys:
        a = assigned.get(k)
        if a is None:  # a folder without turns (§3 #21): behaviour kept, turn unknown
            from .timeline import page_sessions

            sess.append(page_sessions(folders[k])[0])
            qid.append(np.full(len(folders[k]), -1, dtype=np.int64))
        else:
            sess.append(a["session"].to_numpy())
            qid.append(a["turn"].to_numpy(dtype=np.int64))
    session = np.concatenate(sess).astype(np.int16)
    query_id = np.concatenate(qid)
    names = sorted({k[0] for k in keys})
    codes = np.array([names.index(k[0]) for k in keys], dtype=np.int32)
    samples["worker"] = pd.Categorical.from_codes(np.repeat(codes, sizes), categories=names)
    samples["task_id"] = np.repeat(np.array([k[1] for k in keys], dtype=np.int32), sizes)
    samples["row"] = (np.arange(len(samples)) - np.repeat(np.cumsum(sizes) - sizes, sizes)).astype(np.int32)
    samples["session"] = session
    samples["query_id"] = query_id.astype(np.int32)
    # turn index and answer lengths of the assigned query, looked up once for all callbacks
    ids = pd.Index(turns["query_id"].to_numpy(dtype=np.int64))
    at = ids.get_indexer(query_id)
    found = at >= 0
    turn_no = turns["turn"].to_numpy(dtype=np.int64)
    samples["turn"] = np.where(found, turn_no[np.clip(at, 0, None)], -1).astype(np.int16)
    for p in PANES:
        lens = turns[f"len_utf16_{p}"].astype("float64").to_numpy(na_value=np.nan)
        length = np.where(found, lens[np.clip(at, 0, None)], np.nan)
        length[length <= 0] = np.nan
        for m in MODALITIES:
            char = samples[f"{m}{p}_char"].astype("float64").to_numpy(na_value=np.nan)
            samples[f"{m}{p}_pos"] = char / length
    for m in MODALITIES:
        for p in PANES:
            samples[f"{m}{p}_in"] = samples[f"{m}{p}_x"].notna().to_numpy()
    samples = samples[[c.name for c in SAMPLE_COLUMNS]]

    n_sessions = [int(sess[i].max()) + 1 if sizes[i] else 0 for i in range(len(keys))]
    folder_table = pd.DataFrame({
        "worker": [k[0] for k in keys], "task_id": [k[1] for k in keys],
        "mode": [modes[k] for k in keys], "callbacks": sizes, "sessions": n_sessions,
        "linked": [k in groups for k in keys],
        "rel_format": ["6-col" if len(folders[k]) and folders[k]["valid"].isna().all() else "7-col"
                       for k in keys],
        "start_ms": [int(folders[k]["epoch"].min()) if len(folders[k]) else None for k in keys],
        "end_ms": [int(folders[k]["epoch"].max()) if len(folders[k]) else None for k in keys],
    })
    linked = np.repeat(folder_table["linked"].to_numpy(), sizes)

    has_folder = groups & set(folders)
    turns["has_folder"] = [(w, int(t)) in has_folder for w, t in zip(turns["worker"], turns["task_id"])]
    n_cb = pd.Series(query_id[query_id >= 0]).value_counts()
    turns["callbacks"] = turns["query_id"].map(n_cb).fillna(0).astype("int64")

    counts = Counter()
    # the readers use short names (``rows``, ``duplicate_rows``...): prefix them by source
    for prefix, c in (("", qcounts), ("", pcounts), ("display_", dcounts),
                      ("task_table_", tcounts), ("record_info_", rcounts)):
        counts.update({prefix + k: int(v) for k, v in c.items()})
    counts["callbacks_unassigned"] = int((samples["query_id"] < 0).sum())
    counts["callbacks_linked"] = int(linked.sum())
    counts["callbacks_unassigned_linked"] = int((linked & (samples["query_id"] < 0)).sum())
    counts["linked_turns_without_callbacks"] = int((turns["has_folder"] & (turns["callbacks"] == 0)).sum())
    counts["page_sessions"] = int(folder_table["sessions"].sum())
    counts["folders_with_two_sessions"] = int((folder_table["sessions"] > 1).sum())
    counts["folders_without_turns"] = int((~folder_table["linked"]).sum())
    conv_keys = set(groups)
    counts["conversations_without_folder"] = len(conv_keys - set(folders))
    count_table = pd.DataFrame(sorted(counts.items()), columns=["name", "count"])
    tables = {"queries": turns, "tasks": tasks, "workers": workers_t, "folders": folder_table,
              "samples": samples, "counts": count_table}
    meta = {name: int(len(df)) for name, df in tables.items()}
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
