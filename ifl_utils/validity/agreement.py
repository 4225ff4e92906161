"""Item 3: gaze-mouse agreement when the mouse rests.

The behaviour chapter's F6 correlates the gaze and mouse reading curves (position in the answer)
of each answer. Here each answer's time is cut into windows of :data:`WINDOW_S`; in each window
the mean position in the answer of the gaze and of the mouse (samples on that pane's text) are
taken, and the window is *moving* (the cursor moved in it) or *idle* (no move in it nor in the
``idle_s`` before it). Pearson r between gaze and mouse positions over an answer's idle windows,
and over its moving windows, says whether the eyes still agree with the cursor when the tracker
cannot be training on it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

WINDOW_S = 1.0
MIN_WINDOWS = 5


def window_table(df: pd.DataFrame, idle_s: float, window_s: float = WINDOW_S) -> pd.DataFrame:
    """One row per (query, pane, window) with gaze and mouse on that pane's text: mean positions
    ``g``, ``m`` and ``state`` (``moving``, ``idle`` or ``between``)."""
    d = df[df["query_id"].to_numpy() >= 0]
    q = d["query_id"].to_numpy()
    t = d["t_ms"].to_numpy(float)
    t0 = pd.Series(t).groupby(q).transform("min").to_numpy()
    win = ((t - t0) // (window_s * 1000)).astype(np.int64)
    moved = d["moved"].to_numpy(bool)
    since = d["since_move_s"].to_numpy(float)
    worker = d["worker"].astype(str).to_numpy()
    # one integer key per (query, window); aggregate with bincount (the table has ~10^6 rows)
    ukey, first, inv = np.unique(q.astype(np.int64) * 1_000_000 + win, return_index=True, return_inverse=True)
    inv = inv.ravel()
    uk = np.c_[ukey // 1_000_000, ukey % 1_000_000]
    nk = len(uk)
    moved_any = np.bincount(inv, weights=moved.astype(float), minlength=nk) > 0
    since_min = pd.Series(np.where(np.isfinite(since), since, np.inf)).groupby(inv).min().to_numpy().copy()
    since_min[~np.isfinite(since_min)] = np.nan
    state = np.where(moved_any, "moving", np.where(since_min >= idle_s, "idle", "between"))
    parts = []
    for p in (1, 2):
        gp = d[f"gaze{p}_pos"].to_numpy(float)
        mp = d[f"mouse{p}_pos"].to_numpy(float)
        g_ok = (gp >= 0) & (gp <= 1)
        m_ok = (mp >= 0) & (mp <= 1)
        ng = np.bincount(inv, weights=g_ok.astype(float), minlength=nk)
        nm = np.bincount(inv, weights=m_ok.astype(float), minlength=nk)
        with np.errstate(invalid="ignore", divide="ignore"):
            g = np.bincount(inv, weights=np.where(g_ok, gp, 0.0), minlength=nk) / ng
            m = np.bincount(inv, weights=np.where(m_ok, mp, 0.0), minlength=nk) / nm
        ok = (ng > 0) & (nm > 0)
        parts.append(pd.DataFrame({"query_id": uk[ok, 0], "pane": p, "window": uk[ok, 1],
                                   "worker": worker[first[ok]], "g": g[ok], "m": m[ok],
                                   "moved": moved_any[ok], "since_min": since_min[ok], "state": state[ok]}))
    return pd.concat(parts, ignore_index=True).sort_values(["query_id", "pane", "window"]).reset_index(drop=True)


def _pearson_by(df: pd.DataFrame, keys: list[str], min_n: int) -> pd.DataFrame:
    g, m = df["g"].to_numpy(float), df["m"].to_numpy(float)
    s = df[keys].assign(n=1.0, sg=g, sm=m, sgg=g * g, smm=m * m, sgm=g * m).groupby(keys).sum()
    cov = s["sgm"] - s["sg"] * s["sm"] / s["n"]
    vg = s["sgg"] - s["sg"] ** 2 / s["n"]
    vm = s["smm"] - s["sm"] ** 2 / s["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vg * vm)
    ok = (s["n"] >= min_n) & (vg > 1e-12) & (vm > 1e-12)
    return pd.DataFrame({"r": r.where(ok), "n": s["n"]})


def answer_agreement(windows: pd.DataFrame, min_windows: int = MIN_WINDOWS) -> pd.DataFrame:
    """Per answer (query, pane): Pearson r of gaze and mouse positions over all, idle and moving
    windows (``r_all``, ``r_idle``, ``r_moving``; NaN with fewer than ``min_windows``) and window
    counts."""
    keys = ["query_id", "pane"]
    base = windows.groupby(keys).agg(worker=("worker", "first"))
    out = base.join(_pearson_by(windows, keys, min_windows).rename(columns={"r": "r_all", "n": "n_all"}))
    for st in ("idle", "moving"):
        sub = windows[windows["state"] == st]
        out = out.join(_pearson_by(sub, keys, min_windows).rename(columns={"r": f"r_{st}", "n": f"n_{st}"}))
    return out.reset_index()


def per_worker(ans: pd.DataFrame, min_answers: int = 3) -> pd.DataFrame:
    """Per worker with at least ``min_answers`` answers that have both an idle and a moving r:
    median r idle, median r moving, mean paired difference (idle - moving)."""
    both = ans.dropna(subset=["r_idle", "r_moving"]).assign(diff=lambda x: x["r_idle"] - x["r_moving"])
    g = both.groupby("worker").agg(answers=("diff", "size"), r_idle=("r_idle", "median"),
                                   r_moving=("r_moving", "median"), diff=("diff", "mean"))
    return g[g["answers"] >= min_answers]
