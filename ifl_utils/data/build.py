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
from .timeline import (assign_all, normalised_positions, repair_display_times, text_checks)

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


def _turn_index(turns: pd.DataFrame) -> pd.Series:
    return pd.Series(turns["turn"].to_numpy(), index=turns["query_id"].to_numpy())


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
    turn_of = _turn_index(turns)
    groups = {(str(w), int(t)): g for (w, t), g in turns.groupby(["worker", "task_id"])}
    frames, folder_rows = [], []
    for key, cb in folders.items():
        w, t = key
        a = assigned.get(key)
        if a is None:  # a folder without turns (§3 #21): behaviour kept, turn unknown
            from .timeline import page_sessions

            s, o = page_sessions(cb)
            a = pd.DataFrame({"session": s, "origin_ms": o[s], "turn": np.full(len(cb), -1)},
                             index=cb.index)
            pos = pd.DataFrame({f"{m}{p}_pos": np.full(len(cb), np.nan)
                                for p in PANES for m in MODALITIES}, index=cb.index)
        else:
            pos = normalised_positions(cb, a["turn"].to_numpy(), groups[key])
        qid = a["turn"].to_numpy(dtype=np.int64)
        tix = turn_of.reindex(qid).to_numpy(dtype="float64")
        df = cb.copy()
        df.insert(0, "worker", w)
        df.insert(1, "task_id", np.int32(t))
        df.insert(2, "row", np.arange(len(cb), dtype=np.int32))
        df["session"] = a["session"].to_numpy(dtype=np.int16)
        df["query_id"] = qid.astype(np.int32)
        df["turn"] = np.where(np.isnan(tix), -1, tix).astype(np.int16)
        for col in pos.columns:
            df[col] = pos[col].to_numpy()
        for m in MODALITIES:
            for p in PANES:
                df[f"{m}{p}_in"] = df[f"{m}{p}_x"].notna().to_numpy()
        frames.append(df)
        folder_rows.append({"worker": w, "task_id": t, "mode": modes[key], "callbacks": len(cb),
                            "sessions": int(a["session"].max()) + 1 if len(cb) else 0,
                            "linked": key in groups,
                            "rel_format": "6-col" if len(cb) and cb["valid"].isna().all() else "7-col",
                            "start_ms": int(cb["epoch"].min()) if len(cb) else None,
                            "end_ms": int(cb["epoch"].max()) if len(cb) else None})
    samples = pd.concat(frames, ignore_index=True)[[c.name for c in SAMPLE_COLUMNS]]
    samples["worker"] = samples["worker"].astype("category")
    folder_table = pd.DataFrame(folder_rows)

    has_folder = set(groups) & set(folders)
    turns["has_folder"] = [(w, int(t)) in has_folder for w, t in zip(turns["worker"], turns["task_id"])]
    n_cb = samples.loc[samples["query_id"] >= 0].groupby("query_id").size()
    turns["callbacks"] = turns["query_id"].map(n_cb).fillna(0).astype("int64")

    counts = Counter()
    # the readers use short names (``rows``, ``duplicate_rows``...): prefix them by source
    for prefix, c in (("", qcounts), ("", pcounts), ("display_", dcounts),
                      ("task_table_", tcounts), ("record_info_", rcounts)):
        counts.update({prefix + k: int(v) for k, v in c.items()})
    counts["callbacks_unassigned"] = int((samples["query_id"] < 0).sum())
    linked = samples["worker"].astype(str).str.cat(samples["task_id"].astype(str), sep="/").isin(
        {f"{w}/{t}" for w, t in groups})
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
