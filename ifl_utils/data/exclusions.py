"""Which workers to leave out: the paper's hard-coded list, or a documented quality rule of ours.

``which`` is one of :data:`EXCLUSIONS`:

``"none"``
    keep everyone;
``"paper"``
    the 24 worker ids the released code removes before anything else (no rule is given);
``"quality"``
    our rule on the behaviour recordings (:func:`quality_exclusions`), computed from the data.

The quality rule (thresholds in :data:`QUALITY_THRESHOLDS`) flags a worker with behaviour data
when any of these holds:

``rate_hz < 5``
    WebGazer's median sampling rate is below 5 Hz: a reading fixation (~200-250 ms) is then
    sampled at most once, so reading measures (positions, dwell, regressions) are too coarse.
    Over the 79 workers with behaviour the per-worker median rate runs 2.9 ... 28.1 Hz with a
    gap between 4.3 and 5.7 Hz; 4 workers lie below it.
``valid_share < 0.5``
    WebGazer's face-feedback box was not green for most callbacks (face not found where the
    calibration expects it), so most gaze estimates are unreliable. Shares run 0.27 ... 1.00
    (median 0.98) with a gap between 0.43 and 0.52; 3 workers lie below. Workers recorded in the
    6-column format (no flag) are not judged on this criterion.
``gaze_text_share < 0.2``
    Of the callbacks made while an answer was on screen, fewer than 20 % put the gaze on the text
    of that answer (a gaze window matching the answer at ``char_idx``, §2). A worker reads
    answers for most of a turn, so a tracker that rarely lands on them is not measuring reading
    (poor calibration or drift). Shares run 0.12 ... 0.79 (median 0.44) with a gap between 0.19
    and 0.26; 8 workers lie below.

Calibration accuracy (``task_table.accuracy``) is not used: every worker passed the website's
70 % gate, and the recorded values (71-92 %, a single measurement before the task) show no gap.
Workers without behaviour data cannot be judged and are kept (their turns still carry text and
labels). The figures above are measured on the folders that have turns (456 folders, 79 workers);
adding the 6 folders without turns moves two rates (2.9 -> 2.5, 4.3 -> 4.2 Hz) and no decision. On
the release the rule flags 15 of these 79 workers (4 by rate, 3 by face-valid share, 8 by gaze on
text; no worker fails two criteria), 3 of them on the paper's list.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

#: The 24 workers excluded by the paper's code. Source: the release's
#: ``feature_creator/src/exclude_bad_workers.py`` (same list in
#: ``feature_creator/src/combined_output/create_base.py`` and
#: ``NLP-Gazing/src/vis/worker_filter.py``); no rule is given for it.
PAPER_EXCLUDED_WORKERS: tuple[str, ...] = (
    "worker_9683ed92", "worker_83c92f1d", "worker_030da562", "worker_8371812d",
    "worker_a0dc15c2", "worker_7bef026e", "worker_87c89391", "worker_fa234af6",
    "worker_b7c39547", "worker_efe70ff2", "worker_d20db140", "worker_dd6abc1c",
    "worker_891c885b", "worker_c07eb25b", "worker_f972316e", "worker_dc32691e",
    "worker_5f6ca345", "worker_29e7a1a6", "worker_6680f3d4", "worker_0ddfe023",
    "worker_327b4905", "worker_23415b2d", "worker_6ce6a3f8", "worker_cdd07ac1",
)

#: Accepted values of ``which``.
EXCLUSIONS = ("none", "paper", "quality")

#: Thresholds of the quality rule (see the module docstring for their justification).
QUALITY_THRESHOLDS: dict[str, float] = {
    "min_rate_hz": 5.0,
    "min_valid_share": 0.5,
    "min_gaze_text_share": 0.2,
}

#: Columns of :func:`worker_quality`.
QUALITY_COLUMNS = {
    "callbacks": "callbacks recorded (all folders passed in)",
    "sessions": "page sessions",
    "rate_hz": "1000 / median interval between consecutive callbacks of a session (by page_time)",
    "valid_share": "share of callbacks with the face-valid flag 1 (NaN when no callback has the flag)",
    "on_turn_callbacks": "callbacks assigned to a turn (not -1)",
    "gaze_text_share": "share of on_turn_callbacks whose gaze window matches the assigned answer",
    "callbacks_per_turn": "median callbacks per turn that has any",
}


def worker_quality(callbacks: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    """Return per-worker recording-quality measures.

    Parameters
    ----------
    callbacks
        Callbacks of the folders to judge, concatenated, with ``worker``, ``task_id``,
        ``session`` (:func:`~ifl_utils.data.timeline.page_sessions`), ``turn`` (the assigned
        turn, :func:`~ifl_utils.data.timeline.assign_turns`: a query id or a turn index,
        negative when none), ``page_time`` and ``valid``.
    checks
        :func:`~ifl_utils.data.timeline.text_checks` rows of the same folders, concatenated,
        with ``worker`` and ``task_id`` added (``row`` indexes the folder's callbacks in the
        same order as ``callbacks`` lists them within the folder).

    Returns
    -------
    pandas.DataFrame
        Indexed by worker, columns :data:`QUALITY_COLUMNS`.
    """
    need = {"worker", "task_id", "session", "turn", "page_time", "valid"}
    missing = need - set(callbacks.columns)
    if missing:
        raise ValueError(f"callbacks lack column(s) {sorted(missing)}")
    cb = callbacks[sorted(need)]
    worker = cb["worker"].astype(str)
    srt = cb.assign(worker=worker).sort_values(["worker", "task_id", "session", "page_time"],
                                               kind="stable")
    gap = srt.groupby(["worker", "task_id", "session"], sort=False)["page_time"].diff()
    median_gap = gap.groupby(srt["worker"]).median()
    valid = pd.to_numeric(cb["valid"], errors="coerce").astype("float64")
    on_turn = cb["turn"].to_numpy() >= 0

    chk = checks[(checks["modality"] == "gaze") & (checks["turn"] >= 0) & checks["agree"]]
    gaze_on = chk[["worker", "task_id", "row"]].astype({"worker": str}).drop_duplicates()
    per_turn = cb[on_turn].groupby([worker[on_turn], cb["task_id"][on_turn],
                                    cb["turn"][on_turn]]).size()

    out = pd.DataFrame({
        "callbacks": worker.value_counts(),
        "sessions": srt[["worker", "task_id", "session"]].drop_duplicates()
        .groupby("worker").size(),
        "rate_hz": 1000.0 / median_gap,
        "valid_share": valid.groupby(worker).mean(),
        "on_turn_callbacks": pd.Series(on_turn).groupby(worker.to_numpy()).sum(),
        "gaze_text_share": np.nan,
        "callbacks_per_turn": per_turn.groupby(level=0).median(),
    })
    out["gaze_text_share"] = (gaze_on.groupby("worker").size()
                              .reindex(out.index, fill_value=0) / out["on_turn_callbacks"])
    out.index.name = "worker"
    return out.sort_index()


def quality_exclusions(metrics: pd.DataFrame, *,
                       min_rate_hz: float = QUALITY_THRESHOLDS["min_rate_hz"],
                       min_valid_share: float = QUALITY_THRESHOLDS["min_valid_share"],
                       min_gaze_text_share: float = QUALITY_THRESHOLDS["min_gaze_text_share"],
                       ) -> pd.DataFrame:
    """Return the workers our quality rule excludes and why.

    Parameters
    ----------
    metrics
        From :func:`worker_quality`.
    min_rate_hz, min_valid_share, min_gaze_text_share
        Thresholds (defaults :data:`QUALITY_THRESHOLDS`); a NaN measure never excludes.

    Returns
    -------
    pandas.DataFrame
        One row per excluded worker, indexed by ``worker`` (sorted): ``reasons`` (``; ``-joined,
        e.g. ``"rate_hz 3.1 < 5"``) and the three measures.

    Examples
    --------
    >>> m = pd.DataFrame({"rate_hz": [12.0, 3.0], "valid_share": [0.9, np.nan],
    ...                   "gaze_text_share": [0.1, 0.5]}, index=["w_a", "w_b"])
    >>> quality_exclusions(m)["reasons"].to_dict()
    {'w_a': 'gaze_text_share 0.10 < 0.2', 'w_b': 'rate_hz 3.0 < 5'}
    """
    rules = [("rate_hz", min_rate_hz, "{:.1f}"), ("valid_share", min_valid_share, "{:.2f}"),
             ("gaze_text_share", min_gaze_text_share, "{:.2f}")]
    reasons: dict[str, list[str]] = {}
    for col, lim, fmt in rules:
        vals = pd.to_numeric(metrics[col], errors="coerce")
        for w, v in vals[vals < lim].items():
            reasons.setdefault(str(w), []).append(f"{col} {fmt.format(v)} < {lim:g}")
    rows = [{"worker": w, "reasons": "; ".join(r),
             "rate_hz": metrics.at[w, "rate_hz"], "valid_share": metrics.at[w, "valid_share"],
             "gaze_text_share": metrics.at[w, "gaze_text_share"]}
            for w, r in sorted(reasons.items())]
    out = pd.DataFrame(rows, columns=["worker", "reasons", "rate_hz", "valid_share",
                                      "gaze_text_share"])
    return out.set_index("worker")


def excluded_workers(which: str, quality: pd.DataFrame | Iterable[str] | None = None
                     ) -> frozenset[str]:
    """Return the worker ids excluded under ``which`` (one of :data:`EXCLUSIONS`).

    ``quality`` (the output of :func:`quality_exclusions`, or worker ids) is required for
    ``"quality"``.
    """
    if which == "none":
        return frozenset()
    if which == "paper":
        return frozenset(PAPER_EXCLUDED_WORKERS)
    if which == "quality":
        if quality is None:
            raise ValueError("which='quality' needs the quality exclusions "
                             "(quality_exclusions(worker_quality(...)))")
        if isinstance(quality, pd.DataFrame):
            ids = quality["worker"] if "worker" in quality.columns else quality.index
            return frozenset(pd.Index(ids).astype(str))
        return frozenset(str(w) for w in quality)
    raise ValueError(f"unknown exclusion {which!r}; expected one of {EXCLUSIONS}")


def apply_exclusion(df: pd.DataFrame, which: str,
                    quality: pd.DataFrame | Iterable[str] | None = None, *,
                    worker_column: str = "worker") -> pd.DataFrame:
    """Return the rows of ``df`` whose worker is not excluded under ``which``.

    Parameters
    ----------
    df
        Any table with a worker column.
    which
        ``"none"``, ``"paper"`` or ``"quality"``.
    quality
        For ``"quality"``: :func:`quality_exclusions` output or an iterable of worker ids.
    worker_column
        Name of the worker column (``user_id`` is accepted as a fallback).

    Examples
    --------
    >>> df = pd.DataFrame({"worker": ["worker_9683ed92", "worker_00000000"]})
    >>> apply_exclusion(df, "paper")["worker"].tolist()
    ['worker_00000000']
    """
    drop = excluded_workers(which, quality)
    col = worker_column
    if col not in df.columns and "user_id" in df.columns:
        col = "user_id"
    if col not in df.columns:
        raise ValueError(f"table has no worker column {worker_column!r}")
    return df[~df[col].astype(str).isin(drop).to_numpy()]
