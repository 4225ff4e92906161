"""Per-callback cursor state: when the cursor last moved, where the gaze is relative to it, and a
baseline cursor that cannot have trained the tracker.

What the data allow (ifllm-data.md §1.5, paper notes §5 item 23): the mouse position is sampled
once per WebGazer callback (about 13 Hz), so a *move* is a change of the recorded cursor position
between two consecutive callbacks of a page session; clicks are not recorded. Time is the callback's
``epoch`` (wall clock, ms), which keeps running while the tab is hidden.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns of ``Dataset.samples()`` that :func:`prepare` reads.
SAMPLE_COLUMNS = ["worker", "task_id", "session", "row", "query_id", "epoch", "gaze_x", "gaze_y",
                  "mouse_x", "mouse_y", "gaze1_x", "gaze1_in", "gaze1_pos", "gaze2_pos", "mouse1_pos",
                  "mouse2_pos"]

#: Gaze estimates are clipped to the cursor's range per worker widened by this margin (CSS px):
#: the viewport is not recorded, and WebGazer's off-screen estimates (up to 10^5 px) would
#: otherwise dominate every mean and correlation.
CLIP_MARGIN_PX = 200.0


def time_since_move(segment: np.ndarray, t_ms: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
    """Seconds since the cursor last moved, per callback (rows sorted by segment, then time).

    A move is a change of (``mx``, ``my``) from the previous callback of the same segment (page
    session); the callback that first shows the new position gets 0. NaN before the first
    observed move of a segment and where the cursor is unknown.

    >>> seg = np.zeros(5, int); t = np.array([0., 100, 200, 300, 400])
    >>> time_since_move(seg, t, np.array([1., 2, 2, 2, 3]), np.zeros(5)).tolist()
    [nan, 0.0, 0.1, 0.2, 0.0]
    """
    seg = np.asarray(segment)
    t = np.asarray(t_ms, dtype=float)
    x = np.asarray(mx, dtype=float)
    y = np.asarray(my, dtype=float)
    n = len(t)
    if n == 0:
        return np.zeros(0)
    same = np.r_[False, seg[1:] == seg[:-1]]
    known = np.isfinite(x) & np.isfinite(y)
    prev_known = np.r_[False, known[:-1]]
    with np.errstate(invalid="ignore"):
        changed = np.r_[False, (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
    moved = same & known & prev_known & changed
    # index of the last move at or before each row, not earlier than the row's segment start
    idx = np.arange(n)
    last = np.maximum.accumulate(np.where(moved, idx, -1))
    seg_start = np.maximum.accumulate(np.where(~same, idx, 0))
    ok = (last >= seg_start) & known
    out = np.full(n, np.nan)
    out[ok] = (t[ok] - t[last[ok]]) / 1000.0
    return out


def clip_gaze(df: pd.DataFrame, margin_px: float = CLIP_MARGIN_PX) -> tuple[np.ndarray, np.ndarray]:
    """Gaze x, y clipped per worker to the cursor's observed range widened by ``margin_px``."""
    codes, _ = pd.factorize(df["worker"])
    out = []
    for g, m in (("gaze_x", "mouse_x"), ("gaze_y", "mouse_y")):
        v = df[m].to_numpy(float)
        lo = pd.Series(v).groupby(codes).transform("min").to_numpy() - margin_px
        hi = pd.Series(v).groupby(codes).transform("max").to_numpy() + margin_px
        out.append(np.clip(df[g].to_numpy(float), lo, hi))
    return out[0], out[1]


def pane_width(df: pd.DataFrame, q: float = 0.99, by: str | list[str] = ("worker", "task_id")) -> pd.Series:
    """Width (CSS px) of the answer pane per folder (``by``: worker, task_id): the ``q`` quantile
    of the pane-relative x of in-pane gaze samples (webcam gaze scatters over the whole pane).
    Pane 1 (left or only pane) is used; the pairwise right pane has the same width."""
    by = [by] if isinstance(by, str) else list(by)
    inside = df["gaze1_in"].to_numpy(bool) & np.isfinite(df["gaze1_x"].to_numpy(float))
    d = df.loc[inside, by + ["gaze1_x"]]
    return d.groupby(by, observed=True)["gaze1_x"].quantile(q)


def prepare(samples: pd.DataFrame, margin_px: float = CLIP_MARGIN_PX, keep: np.ndarray | None = None) -> pd.DataFrame:
    """One row per callback with a known cursor, sorted by (worker, task, session, time).

    Adds ``segment`` (page session id), ``t_ms`` (epoch), ``since_move_s``
    (:func:`time_since_move`), ``moved`` (the cursor moved at this callback), clipped gaze
    ``gx``/``gy``, the gaze-cursor distance ``dist_px`` and as a share of the pane width
    ``dist_share`` (``pane_w``: :func:`pane_width`), and ``rel_t`` (0-1 position in the query's time span; NaN
    off-query), and ``wcode`` (integer code of the worker, for fast grouping). Keeps the pane
    columns of ``samples`` that exist. ``keep`` (boolean, row-aligned with ``samples``) selects rows
    without copying ``samples`` first.
    """
    need = [c for c in ("worker", "task_id", "session", "epoch", "gaze_x", "gaze_y", "mouse_x", "mouse_y")
            if c not in samples]
    if need:
        raise ValueError(f"prepare: samples lack column(s) {need}; load them with cursor.SAMPLE_COLUMNS")
    wcode = pd.factorize(samples["worker"], sort=True)[0]
    cols = [samples[c].to_numpy() for c in ("row", "epoch", "session", "task_id") if c in samples]
    order = np.lexsort(tuple(cols) + (wcode,))
    if keep is not None:
        order = order[np.asarray(keep, bool)[order]]
    df = samples.iloc[order].reset_index(drop=True)
    df["wcode"] = wcode[order]
    w, tk, ss = wcode[order], df["task_id"].to_numpy(), df["session"].to_numpy()
    new = np.r_[True, (w[1:] != w[:-1]) | (tk[1:] != tk[:-1]) | (ss[1:] != ss[:-1])]
    df["segment"] = np.cumsum(new) - 1
    df["t_ms"] = df["epoch"].to_numpy(float)
    df["since_move_s"] = time_since_move(df["segment"].to_numpy(), df["t_ms"].to_numpy(),
                                         df["mouse_x"].to_numpy(float), df["mouse_y"].to_numpy(float))
    df["moved"] = df["since_move_s"].to_numpy() == 0
    keep = np.isfinite(df["mouse_x"].to_numpy(float)) & np.isfinite(df["mouse_y"].to_numpy(float))
    df = df[keep].reset_index(drop=True)
    df["gx"], df["gy"] = clip_gaze(df, margin_px)
    df["dist_px"] = np.hypot(df["gx"] - df["mouse_x"], df["gy"] - df["mouse_y"])
    if "gaze1_x" in df and "gaze1_in" in df:
        folder = pd.factorize(pd.Series(wcode[order][keep] * 1_000_000 + df["task_id"].to_numpy(np.int64)))[0]
        width = pane_width(df.assign(_folder=folder), by="_folder").reindex(folder).to_numpy(float)
        df["pane_w"] = np.where(width > 0, width, np.nan)
    else:
        df["pane_w"] = np.nan
    df["dist_share"] = df["dist_px"] / df["pane_w"]
    q = df["query_id"].to_numpy() if "query_id" in df else np.full(len(df), -1)
    on = q >= 0
    t = df["t_ms"].to_numpy()
    rel = np.full(len(df), np.nan)
    if on.any():
        g = pd.Series(t[on]).groupby(q[on])
        t0 = g.transform("min").to_numpy()
        t1 = g.transform("max").to_numpy()
        rel[on] = np.where(t1 > t0, (t[on] - t0) / np.where(t1 > t0, t1 - t0, 1), 0.0)
    df["rel_t"] = rel
    return df


def partner_queries(df: pd.DataFrame, mode: pd.Series | None = None) -> dict[int, int]:
    """For each query of ``df``: another query of the same worker (and the same mode when ``mode``,
    query_id -> mode, is given), the next one in query-id order, cyclically. Queries that are alone
    in their (worker, mode) get no partner."""
    qs = df.loc[df["query_id"] >= 0, ["worker", "query_id"]].drop_duplicates().sort_values(["worker", "query_id"])
    if mode is not None:
        qs["mode"] = mode.reindex(qs["query_id"]).to_numpy()
    else:
        qs["mode"] = ""
    out: dict[int, int] = {}
    for _, g in qs.groupby(["worker", "mode"], sort=True):
        ids = g["query_id"].to_list()
        if len(ids) < 2:
            continue
        for i, q in enumerate(ids):
            out[int(q)] = int(ids[(i + 1) % len(ids)])
    return out


def baseline_cursor(df: pd.DataFrame, partners: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The cursor of each callback's partner query at the same relative time (last partner
    callback at or before it); NaN off-query or without partner."""
    bx = np.full(len(df), np.nan)
    by = np.full(len(df), np.nan)
    q = df["query_id"].to_numpy()
    rel = np.clip(df["rel_t"].to_numpy(float), 0.0, 1.0)
    mx, my = df["mouse_x"].to_numpy(float), df["mouse_y"].to_numpy(float)
    on = np.flatnonzero((q >= 0) & np.isfinite(rel))
    if len(on) == 0 or not partners:
        return bx, by
    uq, rank = np.unique(q[on], return_inverse=True)
    # one sorted key for every on-query callback: 2 * (query rank) + relative time
    key = 2.0 * rank + rel[on]
    order = np.argsort(key, kind="stable")
    key_sorted, rows_sorted = key[order], on[order]
    prank = np.searchsorted(uq, np.array([partners.get(int(x), -1) for x in uq]))
    has = np.array([int(x) in partners for x in uq]) & (prank < len(uq))
    has[has] &= uq[np.minimum(prank[has], len(uq) - 1)] == np.array([partners[int(x)] for x in uq[has]])
    ok = has[rank]
    target = 2.0 * prank[rank[ok]] + rel[on][ok]
    pos = np.searchsorted(key_sorted, target, side="right") - 1
    # before the partner's first callback: take its first one
    first = np.searchsorted(key_sorted, 2.0 * prank[rank[ok]], side="left")
    pos = np.maximum(pos, first)
    src = rows_sorted[pos]
    dst = on[ok]
    bx[dst], by[dst] = mx[src], my[src]
    return bx, by


def add_baseline(df: pd.DataFrame, mode: pd.Series | None = None) -> pd.DataFrame:
    """Add the baseline cursor (``base_x``, ``base_y``) and the gaze's distance to it
    (``base_dist_px``, ``base_dist_share``) to ``df`` in place (no copy of the large table) and
    return it."""
    out = df
    bx, by = baseline_cursor(out, partner_queries(out, mode))
    out["base_x"], out["base_y"] = bx, by
    out["base_dist_px"] = np.hypot(out["gx"] - bx, out["gy"] - by)
    out["base_dist_share"] = out["base_dist_px"] / out["pane_w"]
    return out
