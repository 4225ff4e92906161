"""Item 4: how much of the gaze is the cursor? Per worker, the share of the variance of the gaze
position explained by the cursor position (R²), by the recent cursor trajectory, and by a cursor
that cannot have trained the tracker (another query's, at the same relative time).

R² is in-sample ordinary least squares with an intercept, x and y pooled:
R² = 1 - (SSR_x + SSR_y) / (SST_x + SST_y). With thousands of callbacks per worker and at most 13
coefficients, in-sample and cross-validated R² differ by far less than the differences reported.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Lags (s) of the cursor in the trajectory model: where it was 0, 0.1, ..., 2 s before.
TRAJECTORY_LAGS_S = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
MIN_CALLBACKS = 200


def lagged_cursor(df: pd.DataFrame, lag_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Cursor position ``lag_s`` before each callback (last callback of the same segment at or
    before that time; NaN before the segment's first callback). ``df`` sorted as by
    :func:`~ifl_utils.validity.cursor.prepare`."""
    seg = df["segment"].to_numpy(np.int64)
    t = df["t_ms"].to_numpy(float)
    mx, my = df["mouse_x"].to_numpy(float), df["mouse_y"].to_numpy(float)
    if lag_s == 0:
        return mx, my
    # a key that increases through the table: segment first, then time within it
    span = float(np.nanmax(t) - np.nanmin(t)) + 1e6 if len(t) else 1.0
    key = seg * span + (t - np.nanmin(t))
    target = seg * span + (t - lag_s * 1000 - np.nanmin(t))
    i = np.searchsorted(key, target, side="right") - 1
    ok = (i >= 0) & (seg[np.maximum(i, 0)] == seg)
    x = np.full(len(t), np.nan)
    y = np.full(len(t), np.nan)
    x[ok], y[ok] = mx[i[ok]], my[i[ok]]
    return x, y


def r2(target: np.ndarray, design: np.ndarray) -> float:
    """In-sample OLS R² of the columns of ``target`` (n x k) on ``design`` (n x p) plus an
    intercept, pooled over the target columns.

    >>> x = np.arange(10.0)
    >>> round(r2(np.c_[2 * x + 1], np.c_[x]), 6)
    1.0
    """
    Y = np.asarray(target, dtype=float)
    Y = Y - Y.mean(axis=0)
    X = np.asarray(design, dtype=float)
    X = X - X.mean(axis=0)
    sst = (Y ** 2).sum()
    if sst <= 0:
        return float("nan")
    # normal equations on centred data (the intercept): fast for 10^5 rows and a dozen columns
    xtx = X.T @ X
    beta = np.linalg.lstsq(xtx, X.T @ Y, rcond=None)[0]
    res = Y - X @ beta
    return float(1 - (res ** 2).sum() / sst)


def slope(target: np.ndarray, regressor: np.ndarray) -> float:
    """OLS slope of ``target`` on ``regressor`` (both 1-D or both n x 2, pooled over columns,
    each centred): the weight with which the gaze follows the cursor."""
    a = np.asarray(target, dtype=float).reshape(len(target), -1)
    b = np.asarray(regressor, dtype=float).reshape(len(regressor), -1)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    return float((a * b).sum() / (b * b).sum())


def per_worker_r2(df: pd.DataFrame, *, lags_s=TRAJECTORY_LAGS_S, min_callbacks: int = MIN_CALLBACKS,
                  idle_s: float | None = None) -> pd.DataFrame:
    """One row per worker (on-query callbacks with a known cursor): ``r2_cursor`` (gaze on the
    current cursor), ``r2_trajectory`` (on the cursor at every lag of ``lags_s``), ``r2_baseline``
    (on the baseline cursor of :func:`~ifl_utils.validity.cursor.add_baseline`, when present),
    ``slope`` (gaze on cursor), and with ``idle_s`` also ``r2_idle`` / ``r2_moving`` (current
    cursor, callbacks with no move for ``idle_s`` / with a move less than 0.25 s ago), and
    ``callbacks``."""
    lagged = [lagged_cursor(df, L) for L in lags_s]
    on = df["query_id"].to_numpy() >= 0
    G = np.c_[df["gx"].to_numpy(float), df["gy"].to_numpy(float)]
    C = np.c_[df["mouse_x"].to_numpy(float), df["mouse_y"].to_numpy(float)]
    T = np.column_stack([c for xy in lagged for c in xy])
    B = np.c_[df["base_x"].to_numpy(float), df["base_y"].to_numpy(float)] if "base_x" in df else None
    since = df["since_move_s"].to_numpy(float)
    codes, names = pd.factorize(df["worker"], sort=True)
    names = [str(x) for x in names]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    finite_g = np.isfinite(G).all(axis=1)
    rows = []
    for k, w in enumerate(names):
        idx = order[bounds[k]:bounds[k + 1]]
        m = idx[on[idx] & finite_g[idx]]
        if len(m) < min_callbacks:
            continue
        row = {"worker": w, "callbacks": int(len(m)), "r2_cursor": r2(G[m], C[m]), "slope": slope(G[m], C[m])}
        mt = m[np.isfinite(T[m]).all(axis=1)]
        row["r2_trajectory"] = r2(G[mt], T[mt]) if len(mt) >= min_callbacks else np.nan
        if B is not None:
            mb = m[np.isfinite(B[m]).all(axis=1)]
            row["r2_baseline"] = r2(G[mb], B[mb]) if len(mb) >= min_callbacks else np.nan
        if idle_s is not None:
            for name, mm in (("idle", m[since[m] >= idle_s]), ("moving", m[since[m] < 0.25])):
                row[f"r2_{name}"] = r2(G[mm], C[mm]) if len(mm) >= min_callbacks else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def per_worker_slope(df: pd.DataFrame, lag_s: float = 0.0, min_callbacks: int = MIN_CALLBACKS) -> pd.Series:
    """Per worker: OLS slope of the gaze (x and y pooled) on the cursor ``lag_s`` earlier, the
    weight with which the gaze estimate follows the cursor (1: it is the cursor; 0: unrelated).
    On-query callbacks only."""
    cx, cy = lagged_cursor(df, lag_s)
    G = np.c_[df["gx"].to_numpy(float), df["gy"].to_numpy(float)]
    C = np.c_[cx, cy]
    ok = (df["query_id"].to_numpy() >= 0) & np.isfinite(G).all(axis=1) & np.isfinite(C).all(axis=1)
    codes, names = pd.factorize(df["worker"], sort=True)
    out = {}
    for k, w in enumerate(names):
        m = ok & (codes == k)
        if m.sum() >= min_callbacks:
            out[str(w)] = slope(G[m], C[m])
    return pd.Series(out, name="slope", dtype=float)
