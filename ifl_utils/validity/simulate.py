"""Item 6: synthetic sessions with a planted cursor pull, to check that the methods of this package
recover what was planted (and find nothing when nothing was planted).

One simulated worker reads ``queries`` answers. The **cursor** alternates between rests
(exponential, mean ``rest_s``) and moves (straight lines to a random target of the viewport,
mean ``move_s``). The **eyes** fixate random points of the viewport for 150-400 ms each,
independently of the cursor. Callbacks arrive at irregular intervals (gamma, mean
``1 / rate_hz``); each records the cursor at that moment and a gaze *estimate*

    gaze(t) = (1 - w(t)) * eye(t) + w(t) * cursor(t - lag) + noise,

with ``w(t) = weight`` (``pull="constant"``), ``w(t) = weight`` while the cursor moved less than
``fade_s`` before ``t - lag`` and 0 otherwise (``pull="moves"``, WebGazer's 1-s mouse trail), or
``w = 0`` (``pull="none"``: independent gaze). The output has the columns of
``Dataset.samples()`` that :mod:`ifl_utils.validity` reads; the answer pane is the whole viewport
and the position in the answer is the vertical position on it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PULLS = ("constant", "moves", "none")


def _cursor_path(rng: np.random.Generator, t_end: float, w: float, h: float, rest_s: float, move_s: float):
    """Knots (time s, x, y) of a piecewise-linear cursor path: rests and straight moves."""
    t, x, y = 0.0, rng.uniform(0, w), rng.uniform(0, h)
    ts, xs, ys, moving = [t], [x], [y], []
    while t < t_end:
        t += rng.exponential(rest_s)
        ts.append(t); xs.append(x); ys.append(y); moving.append(False)
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        t += max(0.15, rng.exponential(move_s))
        ts.append(t); xs.append(x); ys.append(y); moving.append(True)
    return np.array(ts), np.array(xs), np.array(ys), np.array(moving)


def _cursor_at(knots, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts, xs, ys, _ = knots
    tc = np.clip(t, ts[0], ts[-1])
    return np.interp(tc, ts, xs), np.interp(tc, ts, ys)


def _last_move_end(knots, t: np.ndarray) -> np.ndarray:
    """Seconds since the cursor last moved at times ``t`` (0 while it moves)."""
    ts, _, _, moving = knots
    seg = np.clip(np.searchsorted(ts, t, side="right") - 1, 0, len(moving) - 1)
    in_move = moving[seg]
    # a rest segment [ts[i], ts[i+1]) follows a move that ended at ts[i]
    since = np.where(in_move, 0.0, t - ts[seg])
    since[seg == 0] = np.inf  # before the first move
    return since


def simulate_worker(worker: str, *, pull: str = "constant", weight: float = 0.6, lag_s: float = 0.3,
                    fade_s: float = 1.0, queries: int = 3, seconds: float = 90.0, rate_hz: float = 13.0,
                    noise_px: float = 60.0, viewport=(1280.0, 800.0), rest_s: float = 2.5, move_s: float = 0.8,
                    seed: int = 0, first_query_id: int = 0) -> pd.DataFrame:
    """Callbacks of one simulated worker (see the module docstring), ``queries`` x ``seconds``."""
    if pull not in PULLS:
        raise ValueError(f"pull must be one of {PULLS}, got {pull!r}")
    rng = np.random.default_rng(seed)
    W, H = viewport
    parts = []
    for k in range(queries):
        knots = _cursor_path(rng, seconds + 5, W, H, rest_s, move_s)
        n = int(seconds * rate_hz * 1.3) + 10
        shape = 6.0
        dt = rng.gamma(shape, 1.0 / (rate_hz * shape), n)
        t = np.cumsum(dt)
        t = t[t < seconds]
        # eye: fixations at random points, 150-400 ms each
        fix_t = np.cumsum(rng.uniform(0.15, 0.4, int(seconds / 0.15) + 2))
        fx, fy = rng.uniform(0, W, len(fix_t)), rng.uniform(0, H, len(fix_t))
        j = np.searchsorted(fix_t, t)
        ex, ey = fx[j], fy[j]
        cx, cy = _cursor_at(knots, t)
        lx, ly = _cursor_at(knots, t - lag_s)
        if pull == "constant":
            w = np.full(len(t), weight)
        elif pull == "moves":
            w = np.where(_last_move_end(knots, t - lag_s) < fade_s, weight, 0.0)
        else:
            w = np.zeros(len(t))
        gx = (1 - w) * ex + w * lx + rng.normal(0, noise_px, len(t))
        gy = (1 - w) * ey + w * ly + rng.normal(0, noise_px, len(t))
        # the recorded cursor is an integer CSS pixel position
        mx, my = np.round(cx), np.round(cy)
        epoch = (1_700_000_000_000 + k * 10_000_000 + t * 1000).astype(np.int64)
        g_in = (gx >= 0) & (gx <= W) & (gy >= 0) & (gy <= H)
        m_in = (mx >= 0) & (mx <= W) & (my >= 0) & (my <= H)
        parts.append(pd.DataFrame({
            "worker": worker, "task_id": k + 1, "session": 0, "row": np.arange(len(t), dtype=np.int32),
            "query_id": first_query_id + k, "epoch": epoch, "page_time": t * 1000,
            "gaze_x": gx, "gaze_y": gy, "mouse_x": mx, "mouse_y": my,
            "gaze1_x": np.where(g_in, gx, np.nan), "gaze1_in": g_in, "gaze2_x": np.nan, "gaze2_in": False,
            "gaze1_pos": np.where(g_in, gy / H, np.nan), "gaze2_pos": np.nan,
            "mouse1_pos": np.where(m_in, my / H, np.nan), "mouse2_pos": np.nan}))
    return pd.concat(parts, ignore_index=True)


def simulate(workers: int = 12, *, seed: int = 0, **kwargs) -> pd.DataFrame:
    """``workers`` simulated workers (:func:`simulate_worker`, keyword arguments passed on), each
    with its own seed and query ids; ``worker`` is categorical like the real table."""
    parts = []
    qpw = kwargs.get("queries", 3)
    for i in range(workers):
        parts.append(simulate_worker(f"sim_{i:03d}", seed=seed * 10_000 + i, first_query_id=i * qpw, **kwargs))
    df = pd.concat(parts, ignore_index=True)
    df["worker"] = df["worker"].astype("category")
    return df
