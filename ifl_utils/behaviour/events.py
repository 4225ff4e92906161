"""Sampling rates and reading events (fixations) from webcam gaze.

WebGazer delivers a gaze estimate whenever the browser lets it (median ~13 Hz here), with errors of
roughly 200 px and ~300 ms lag. Fixation detection needs a steady clock, so gaze is first resampled
to a fixed grid, and only page sessions whose median rate reaches :data:`MIN_RATE_HZ` are used.
Fixations are detected with pymovements' I-DT (dispersion threshold) — no detector of our own.

Thresholds (stated, chosen for webcam gaze rather than lab trackers):

- grid :data:`GRID_HZ` Hz (50 ms), linear interpolation, no interpolation across gaps longer than
  :data:`MAX_GAP_MS` (those grid points are NaN and split events);
- I-DT dispersion (x range + y range) <= :data:`DISPERSION_PX` px — about the WebGazer error, far
  above a lab tracker's ~1 degree (~40 px), since webcam noise alone spreads a true fixation that wide;
- minimum duration :data:`MIN_DURATION_MS` ms (4 grid steps, ~3 raw samples at 13 Hz).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

GRID_HZ = 20.0
MAX_GAP_MS = 200.0
DISPERSION_PX = 150.0
MIN_DURATION_MS = 200
MIN_RATE_HZ = 10.0
RATE_LEVELS = (5.0, 10.0, 15.0, 20.0)

SAMPLE_COLUMNS = ["worker", "task_id", "session", "query_id", "page_time", "epoch", "gaze_x", "gaze_y",
                  "gaze1_pos", "gaze2_pos"]


def _run_keys(s: pd.DataFrame) -> np.ndarray:
    w = s["worker"].astype("category").cat.codes.to_numpy().astype(np.int64)
    return (w * 1_000_000 + s["task_id"].to_numpy().astype(np.int64)) * 1000 + s["session"].to_numpy().astype(np.int64)


def callback_intervals(samples: pd.DataFrame) -> pd.DataFrame:
    """Interval (ms, by ``page_time``) from each callback to the next one of the same page session.

    Rows of ``Dataset.samples()`` are in time order within each session run. Returns worker,
    task_id, session, query_id (of the later callback) and ``interval_ms`` (repeated page_time
    while the tab was hidden gives 0 and is dropped).
    """
    key = _run_keys(samples)
    pt = samples["page_time"].to_numpy(dtype=float)
    same = key[1:] == key[:-1]
    d = np.diff(pt)
    ok = same & (d > 0)
    idx = np.flatnonzero(ok) + 1
    return pd.DataFrame({"worker": samples["worker"].astype(str).to_numpy()[idx],
                         "task_id": samples["task_id"].to_numpy()[idx],
                         "session": samples["session"].to_numpy()[idx],
                         "query_id": samples["query_id"].to_numpy()[idx],
                         "interval_ms": d[ok]})


def sampling_rates(samples: pd.DataFrame) -> dict[str, pd.Series]:
    """Median sampling rate (Hz = 1000 / median interval) per worker, per page session and per query."""
    iv = callback_intervals(samples)
    out = {"worker": 1000.0 / iv.groupby("worker")["interval_ms"].median(),
           "session": 1000.0 / iv.groupby(["worker", "task_id", "session"])["interval_ms"].median()}
    q = iv[iv["query_id"] >= 0]
    out["query"] = 1000.0 / q.groupby("query_id")["interval_ms"].median()
    out["all"] = pd.Series([1000.0 / iv["interval_ms"].median()])
    return out


def support_table(rates: dict[str, pd.Series], levels=RATE_LEVELS) -> pd.DataFrame:
    """Share of workers / page sessions / queries whose median rate reaches each level (Hz)."""
    rows = []
    for unit in ("worker", "session", "query"):
        r = rates[unit].dropna()
        rows.append({"unit": unit, "n": len(r), **{f">= {lv:g} Hz": float((r >= lv).mean()) for lv in levels}})
    return pd.DataFrame(rows)


def resample_gaze(t_ms: np.ndarray, x: np.ndarray, y: np.ndarray, *, grid_hz: float = GRID_HZ,
                  max_gap_ms: float = MAX_GAP_MS) -> tuple[np.ndarray, np.ndarray]:
    """Resample one session's gaze to a fixed grid; NaN where the raw gap exceeds ``max_gap_ms``.

    Returns ``grid`` (ms, int64) and ``positions`` (n, 2).

    >>> g, p = resample_gaze(np.array([0., 100., 500.]), np.array([0., 10., 10.]), np.zeros(3), grid_hz=20)
    >>> g.tolist()[:4], p[:3, 0].tolist(), bool(np.isnan(p[5, 0]))
    ([0, 50, 100, 150], [0.0, 5.0, 10.0], True)
    """
    t = np.asarray(t_ms, dtype=float)
    ok = np.isfinite(t) & np.isfinite(x) & np.isfinite(y)
    t, x, y = t[ok], np.asarray(x, dtype=float)[ok], np.asarray(y, dtype=float)[ok]
    t, first = np.unique(t, return_index=True)
    x, y = x[first], y[first]
    step = 1000.0 / grid_hz
    if len(t) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    grid = np.arange(t[0], t[-1] + 1e-9, step)
    px, py = np.interp(grid, t, x), np.interp(grid, t, y)
    j = np.clip(np.searchsorted(t, grid, side="right"), 1, len(t) - 1)
    gap = t[j] - t[j - 1]
    bad = (gap > max_gap_ms) & (grid > t[j - 1]) & (grid < t[j])
    px[bad] = np.nan
    py[bad] = np.nan
    return np.round(grid - t[0]).astype(np.int64), np.c_[px, py]


def detect_fixations(samples: pd.DataFrame, sessions: pd.DataFrame, *, grid_hz: float = GRID_HZ,
                     max_gap_ms: float = MAX_GAP_MS, dispersion_px: float = DISPERSION_PX,
                     min_duration_ms: int = MIN_DURATION_MS) -> pd.DataFrame:
    """Fixations (pymovements I-DT) in the given page sessions, mapped back to queries and answers.

    Parameters
    ----------
    samples
        ``Dataset.samples(columns=SAMPLE_COLUMNS)``.
    sessions
        Rows with worker, task_id, session: the sessions to process.

    Returns
    -------
    One row per fixation: worker, task_id, session, onset_ms (epoch), duration_ms, x, y (mean
    viewport px), query_id and pane/position of the raw callback nearest the fixation's middle
    (``pane`` 0 and ``pos`` NaN when that callback's gaze was not on an answer).
    """
    import warnings

    with warnings.catch_warnings():  # pymovements' tqdm import warns about ipywidgets in notebooks
        warnings.simplefilter("ignore")
        from pymovements.events.detection import idt

    key = _run_keys(samples)
    want = set(map(tuple, sessions[["worker", "task_id", "session"]].astype(str).to_numpy()))
    s_w = samples["worker"].astype(str).to_numpy()
    s_t = samples["task_id"].astype(str).to_numpy()
    s_s = samples["session"].astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)]
    out = []
    epoch = samples["epoch"].to_numpy(dtype=float)
    gx, gy = samples["gaze_x"].to_numpy(dtype=float), samples["gaze_y"].to_numpy(dtype=float)
    qid = samples["query_id"].to_numpy()
    pos1 = samples["gaze1_pos"].to_numpy(dtype=float, na_value=np.nan)
    pos2 = samples["gaze2_pos"].to_numpy(dtype=float, na_value=np.nan)
    for a, b in zip(starts, ends):
        if (s_w[a], s_t[a], s_s[a]) not in want or b - a < 10:
            continue
        t = epoch[a:b]
        grid, P = resample_gaze(t, gx[a:b], gy[a:b], grid_hz=grid_hz, max_gap_ms=max_gap_ms)
        if len(grid) < 5:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows inside gaps
            ev = idt(P, timesteps=grid, minimum_duration=min_duration_ms, dispersion_threshold=dispersion_px,
                     include_nan=False).frame
        if ev.height == 0:
            continue
        on = ev["onset"].to_numpy()
        off = ev["offset"].to_numpy()
        i0 = np.searchsorted(grid, on)
        i1 = np.searchsorted(grid, off, side="right")
        cx = np.array([np.nanmean(P[i:j, 0]) for i, j in zip(i0, i1)])
        cy = np.array([np.nanmean(P[i:j, 1]) for i, j in zip(i0, i1)])
        mid = t[0] + (on + off) / 2
        near = a + np.clip(np.searchsorted(t, mid), 0, b - a - 1)
        p1, p2 = pos1[near], pos2[near]
        on1 = np.isfinite(p1) & (p1 >= 0) & (p1 <= 1)
        on2 = np.isfinite(p2) & (p2 >= 0) & (p2 <= 1)
        pane = np.where(on1, 1, np.where(on2, 2, 0))
        out.append(pd.DataFrame({"worker": s_w[a], "task_id": int(s_t[a]), "session": int(s_s[a]),
                                 "onset_ms": t[0] + on, "duration_ms": off - on, "x": cx, "y": cy,
                                 "query_id": qid[near], "pane": pane,
                                 "pos": np.where(on1, p1, np.where(on2, p2, np.nan))}))
    if not out:
        return pd.DataFrame(columns=["worker", "task_id", "session", "onset_ms", "duration_ms", "x", "y",
                                     "query_id", "pane", "pos"])
    return pd.concat(out, ignore_index=True)


def fixation_summary(fix: pd.DataFrame, regression_threshold: float = 0.1) -> dict:
    """Headline fixation measures: count, median duration, share on answer text, and the share of
    consecutive on-text fixations (same query and pane) that jump back by more than
    ``regression_threshold`` of the answer."""
    on = fix[(fix["query_id"] >= 0) & (fix["pane"] > 0)].sort_values(["worker", "task_id", "session", "onset_ms"])
    same = (on["query_id"].to_numpy()[1:] == on["query_id"].to_numpy()[:-1]) & \
           (on["pane"].to_numpy()[1:] == on["pane"].to_numpy()[:-1])
    dpos = np.diff(on["pos"].to_numpy())[same]
    return {"fixations": int(len(fix)), "median_duration_ms": float(fix["duration_ms"].median()) if len(fix) else np.nan,
            "on_text_share": float(len(on) / len(fix)) if len(fix) else np.nan,
            "regression_share": float((dpos < -regression_threshold).mean()) if len(dpos) else np.nan,
            "transitions": int(len(dpos)), "sessions": int(fix.groupby(["worker", "task_id", "session"]).ngroups),
            "workers": int(fix["worker"].nunique())}
