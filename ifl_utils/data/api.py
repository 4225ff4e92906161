"""The tidy API of the IFLLM release: ``Dataset(source).queries()``, ``.samples()`` and friends.

>>> ds = Dataset()                      # $IFLLM_DATA, or the pinned download  # doctest: +SKIP
>>> ds.queries(exclude="paper")         # one row per query                    # doctest: +SKIP
>>> ds.samples(columns=["worker", "query_id", "gaze1_pos"])                    # doctest: +SKIP

The first call parses the release into the Parquet cache (about 10 s); later calls read only the
columns asked for. Tables and their columns:

``queries()``
    one row per query (turn): :data:`ifl_utils.data.tables.QUERY_LOG_COLUMNS` plus the repaired
    display time (``display_ms``, ``shifted``, ``invalid``, ``imputed``), ``has_folder`` and
    ``callbacks`` (callbacks assigned to the query).
``conversations()``
    one row per (worker, task_id) with mode, turns, labels, folder and callbacks.
``workers()``
    one row per worker: demographics and consent (``record_info_table.csv``), turns, callbacks.
``samples()``
    one row per tracker callback: :data:`SAMPLE_COLUMNS`.
``quality_report()``
    one row per defect kind of the data reference with its count and handling.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import IFLCacheError
from ..io import file_lock
from . import cache
from .exclusions import (EXCLUSIONS, PAPER_EXCLUDED_WORKERS, excluded_workers, quality_exclusions,
                         worker_quality)
from .locate import cache_root, manifest_hash, resolve_root
from .schema import MODALITIES, PANES, SAMPLE_COLUMNS

#: The columns analyses load (no text windows, no per-stream epochs): what the warm-load target is for.
ANALYSIS_COLUMNS: list[str] = (
    ["worker", "task_id", "session", "query_id", "turn", "page_time", "epoch", "gaze_x", "gaze_y",
     "mouse_x", "mouse_y", "valid"]
    + [f"{m}{p}_{k}" for m in MODALITIES for p in PANES for k in ("char", "pos", "in")]
)


def folder_fingerprint(root: Path) -> str:
    """Cache key of a folder that is not the published release: a hash of every file's relative
    path, size and **content** (:func:`ifl_utils.data.digest.content_fingerprint`; modification
    times play no part, so two inputs differing in one byte never share a cache entry)."""
    from .digest import content_fingerprint

    return content_fingerprint(root)


def release_key(root: Path) -> str:
    """Cache key of a folder checked against the shipped manifest: the manifest hash, combined with
    the list of operating-system clutter files in the folder when there is any (the build counts
    them, :mod:`ifl_utils.data.junk`)."""
    import hashlib

    from .junk import junk_files

    key = manifest_hash()
    junk = junk_files(root)
    if junk:
        key = hashlib.sha256("\n".join([key, *junk]).encode()).hexdigest()
    return key


class Dataset:
    """The IFLLM release, parsed and cached.

    Parameters
    ----------
    source
        Release folder or archive; ``None`` uses ``$IFLLM_DATA``, else the pinned download.
    verify
        Manifest check of the source: ``"fast"`` (default; sizes once fully verified), ``"full"``
        or ``"none"`` (for a folder that is not the published release, e.g. your own
        recordings in the same layout; its cache is keyed by a hash of its files' contents).
    progress
        Messages and progress bars on stderr.
    """

    def __init__(self, source: str | os.PathLike[str] | None = None, *, verify: str = "fast",
                 progress: bool = True):
        self.source = source
        self.verify = verify
        self.progress = progress
        self._root: Path | None = None
        self._entry: Path | None = None

    # -- cache ------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The dataset root folder (checked against the manifest on first use)."""
        if self._root is None:
            self._root = resolve_root(self.source, verify=self.verify, progress=self.progress)
        return self._root

    def ensure(self) -> Path:
        """Build the Parquet cache if needed and return its folder."""
        if self._entry is None:
            from .build import build_release

            root = self.root
            # a release checked against the shipped manifest is keyed by it; any other folder
            # (your own recordings, verify="none") by a fingerprint of its files' contents
            key = release_key(root) if self.verify != "none" else folder_fingerprint(root)
            entry = cache.entry_dir(cache_root(), key)
            self._entry = cache.ensure_entry(
                entry, lambda tmp: build_release(root, tmp, progress=self.progress))
        return self._entry

    def meta(self) -> dict:
        """The cache entry's ``meta.json`` (row counts, build seconds, versions)."""
        return cache.read_meta(self.ensure())

    def _read(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        entry = self.ensure()
        try:
            return cache.read_table(entry, name, columns=columns)
        except IFLCacheError as err:
            if "no column" in str(err):
                raise
            cache.invalidate(entry)  # a damaged entry: rebuild once
            self._entry = None
            return cache.read_table(self.ensure(), name, columns=columns)

    # -- tables -----------------------------------------------------------------------------
    def queries(self, exclude: str = "none", columns: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per query (see the module docstring); ``exclude`` in ``none|paper|quality``."""
        df = self._read("queries", columns=None if columns is None else
                        sorted(set(columns) | {"worker"}))
        df = self._exclude(df, exclude)
        return df if columns is None else df[list(columns)]

    def samples(self, columns: Sequence[str] | None = None, exclude: str = "none") -> pd.DataFrame:
        """One row per tracker callback (:data:`SAMPLE_COLUMNS`), only ``columns`` when given."""
        from .build import ASSIGNMENT_TABLE

        want = [c.name for c in SAMPLE_COLUMNS] if columns is None else list(dict.fromkeys(
            [*columns, "worker"] if exclude != "none" else columns))
        unknown = [c for c in want if c not in {s.name for s in SAMPLE_COLUMNS}]
        if unknown:
            raise IFLCacheError(f"samples have no column(s) {unknown}; see ifl_utils.data.schema.SAMPLE_COLUMNS")
        # the parsed streams and the query assignment are stored as two row-aligned tables
        left = [c for c in want if c in ASSIGNMENT_TABLE]
        right = [c for c in want if c not in ASSIGNMENT_TABLE]
        parts = []
        if left:
            parts.append(self._read("assignment", columns=left))
        if right:
            parts.append(self._read("callbacks", columns=right))
        df = pd.concat(parts, axis=1)[want] if len(parts) > 1 else parts[0]
        if exclude != "none":
            df = self._exclude(df, exclude)
            if columns is not None and "worker" not in columns:
                df = df.drop(columns="worker")
        return df

    def tasks(self) -> pd.DataFrame:
        """``task_table.csv``, one row per (worker, task_id), entities decoded, duplicate dropped."""
        return self._read("tasks")

    def folders(self) -> pd.DataFrame:
        """One row per behaviour folder: mode, callbacks, sessions, linked, rel format, time span."""
        return self._read("folders")

    def counts(self) -> dict[str, int]:
        """Every repair/defect count of the build (name -> count)."""
        df = self._read("counts")
        return dict(zip(df["name"], df["count"].astype(int)))

    def conversations(self, exclude: str = "none") -> pd.DataFrame:
        """One row per conversation (worker, task_id): mode, turns, labels, behaviour."""
        q = self.queries(exclude=exclude)
        g = q.groupby(["worker", "task_id"], sort=True)
        conv = g.agg(mode=("mode", "first"), turns=("query_id", "size"),
                     first_query_id=("query_id", "min"), rated=("unrated", lambda s: int((~s).sum())),
                     has_folder=("has_folder", "first"), callbacks=("callbacks", "sum"),
                     shifted=("shifted", "first"), short=("short_conversation", "first")).reset_index()
        tasks = self.tasks()[["worker", "task_id", "domain", "accuracy", "understand_before",
                              "understand_after", "finished_ms"]]
        return conv.merge(tasks, on=["worker", "task_id"], how="left")

    def workers(self, exclude: str = "none") -> pd.DataFrame:
        """One row per worker of ``record_info_table.csv`` with their turns and callbacks."""
        w = self._read("workers")
        q = self.queries()
        per = q.groupby("worker").agg(queries=("query_id", "size"), callbacks=("callbacks", "sum"),
                                      conversations=("task_id", "nunique"))
        w = w.merge(per, left_on="worker", right_index=True, how="left")
        w[["queries", "callbacks", "conversations"]] = w[["queries", "callbacks", "conversations"]].fillna(0).astype("int64")
        w["paper_excluded"] = w["worker"].isin(PAPER_EXCLUDED_WORKERS)
        return self._exclude(w, exclude)

    def quality_report(self) -> pd.DataFrame:
        """One row per defect kind of the release with its count and handling (computed)."""
        from .quality import quality_report

        return quality_report(self.counts())

    def summary(self) -> dict:
        """Counts of the parsed release as a JSON-ready dict (what ``ifl data summary --json`` prints).

        Keys: ``workers`` (with turns), ``conversations``, ``queries``, ``queries_by_mode``,
        ``folders`` (``total``, ``pairwise``, ``pointwise``), ``callbacks``,
        ``callbacks_by_stream`` (rows per stream kind after de-duplication; abs_gaze and
        abs_mouse hold one row per callback), ``raw_lines_by_stream``, ``page_sessions``,
        ``recorded_hours`` (page time, tab visible), ``quality`` (defect kind -> count),
        ``exclusions`` (``paper``: workers with turns it removes).
        """
        c = self.counts()
        q = self.queries(columns=["worker", "task_id", "mode"])
        f = self.folders()
        streams = ("abs_gaze", "abs_mouse", "rel_gaze", "rel_mouse", "rel_gaze_one", "rel_gaze_two",
                   "rel_mouse_left", "rel_mouse_right")
        by_stream = {s: int(c.get(f"lines_{s}", 0)) for s in streams}
        by_stream["abs_gaze"] -= int(c.get("abs_gaze_duplicates", 0))
        rep = self.quality_report()
        hours = self.recorded_hours()
        paper_gone = set(PAPER_EXCLUDED_WORKERS) & set(q["worker"].astype(str))
        return {
            "workers": int(q["worker"].nunique()),
            "conversations": int(q.groupby(["worker", "task_id"]).ngroups),
            "queries": int(len(q)),
            "queries_by_mode": {k: int(v) for k, v in q["mode"].value_counts().sort_index().items()},
            "folders": {"total": int(len(f)),
                        **{k: int(v) for k, v in f["mode"].value_counts().sort_index().items()}},
            "callbacks": int(c.get("callbacks", 0)),
            "callbacks_by_stream": by_stream,
            "raw_lines_by_stream": {s: int(c.get(f"lines_{s}", 0)) for s in streams},
            "page_sessions": int(c.get("page_sessions", 0)),
            "recorded_hours": round(hours, 2),
            "quality": {f"{r['#']:02d} {r['defect']}": int(r["count"]) for _, r in rep.iterrows()},
            "exclusions": {"paper": {"workers_with_turns": len(paper_gone)}},
        }

    def recorded_hours(self) -> float:
        """Hours of recording: summed page-time span of every page session (tab visible)."""
        s = self.samples(columns=["worker", "task_id", "session", "page_time"])
        span = s.groupby(["worker", "task_id", "session"], observed=True)["page_time"].agg(["min", "max"])
        return float((span["max"] - span["min"]).sum() / 3_600_000)

    # -- text checks, quality rule, exclusions ----------------------------------------------
    def text_checks(self) -> pd.DataFrame:
        """The §2 text check of every windowed rel sample (computed once, then cached)."""
        entry = self.ensure()
        path = entry / "text_checks.parquet"
        if not path.is_file():
            with file_lock(entry.parent / f"{entry.name}.checks.lock"):
                if not path.is_file():
                    from .build import text_check_table

                    if self.progress:
                        import sys

                        print("text-checking every windowed sample (once; about a minute)",
                              file=sys.stderr)
                    s = self.samples()
                    by = {(str(w), int(t)): g.reset_index(drop=True)
                          for (w, t), g in s.groupby(["worker", "task_id"], observed=True)}
                    table = text_check_table(by, self.queries())
                    from ..io import atomic_path

                    # published and recorded under the entry's lock: a load meanwhile waits for
                    # meta.json to list the file rather than take it for damage
                    with file_lock(entry.parent / f"{entry.name}.lock"):
                        with atomic_path(path) as tmp:
                            table.to_parquet(tmp, compression="zstd", index=False)
                        cache.add_file(entry, path.name)  # checked on every later load
        return pd.read_parquet(path)

    def worker_quality(self) -> pd.DataFrame:
        """Per-worker recording quality measures (:data:`ifl_utils.data.exclusions.QUALITY_COLUMNS`)."""
        cols = ["worker", "task_id", "session", "page_time", "valid", "query_id"]
        # the rule groups callbacks per query: its ``turn`` is the query id (-1 off-turn)
        cb = self.samples(columns=cols).rename(columns={"query_id": "turn"})
        return worker_quality(cb, self.text_checks())

    def quality_exclusions(self) -> pd.DataFrame:
        """The workers our quality rule excludes, with the reasons and the measures."""
        return quality_exclusions(self.worker_quality())

    def excluded(self, which: str) -> set[str]:
        """The workers an exclusion removes: ``none``, ``paper`` (24 ids) or ``quality`` (our rule)."""
        if which not in EXCLUSIONS:
            raise ValueError(f"exclude must be one of {EXCLUSIONS}, got {which!r}")
        if which == "none":
            return set()
        if which == "paper":
            return set(PAPER_EXCLUDED_WORKERS)
        return set(excluded_workers("quality", self.quality_exclusions()))

    def _exclude(self, df: pd.DataFrame, which: str) -> pd.DataFrame:
        gone = self.excluded(which)
        if not gone:
            return df
        return df[~df["worker"].astype(str).isin(gone)].reset_index(drop=True)
