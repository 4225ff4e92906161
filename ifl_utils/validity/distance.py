"""Item 1: gaze-cursor distance by time since the cursor last moved, and the idle threshold.

Each worker contributes the median distance of its callbacks in a bin (robust to WebGazer's wild
estimates); bins are summarised by the mean over workers with a bootstrap over workers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .boot import worker_ci

#: Edges (s) of the time-since-move bins: bin 0 is the callback at which the move was seen
#: (0 s), bin i >= 1 holds (EDGES[i-1], EDGES[i]], the last bin everything above 10 s.
EDGES = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
LABELS = ("0", "0-0.1", "0.1-0.25", "0.25-0.5", "0.5-1", "1-2", "2-5", "5-10", "10+")
#: Lower edge (s) of each bin of :data:`LABELS`.
LOWER = (0.0,) + EDGES
#: "Moving": the cursor moved within the last quarter second (bins 0, 0-0.1, 0.1-0.25).
MOVING_MAX_S = 0.25
#: "Idle" for the headline contrast: no move for at least 2 s (fixed before looking at the data;
#: WebGazer's mouse trail lasts 1 s, paper notes §5 item 23).
IDLE_MIN_S = 2.0


def since_bin(since_s) -> np.ndarray:
    """Bin index (0-8, see :data:`LABELS`) of each time since move; -1 when unknown.

    >>> since_bin([0.0, 0.05, 0.1, 0.3, 1.5, 12.0, np.nan]).tolist()
    [0, 1, 1, 3, 5, 8, -1]
    """
    s = np.asarray(since_s, dtype=float)
    b = np.searchsorted(np.asarray(EDGES), s, side="left")
    b[~np.isfinite(s)] = -1
    return b


def _worker_key(df: pd.DataFrame) -> np.ndarray:
    """Integer worker codes (``wcode`` of :func:`~ifl_utils.validity.cursor.prepare` when present)."""
    return df["wcode"].to_numpy() if "wcode" in df else pd.factorize(df["worker"], sort=True)[0]


def worker_bin_medians(df: pd.DataFrame, value: str, min_samples: int = 20) -> pd.DataFrame:
    """Workers x bins table of the median ``value``; cells with fewer than ``min_samples`` are NaN."""
    d = pd.DataFrame({"worker": _worker_key(df), "bin": since_bin(df["since_move_s"]),
                      "v": df[value].to_numpy(float)})
    d = d[(d["bin"] >= 0) & np.isfinite(d["v"])]
    g = d.groupby(["worker", "bin"])["v"]
    med = g.median().where(g.size() >= min_samples).unstack("bin")
    return med.reindex(columns=range(len(LABELS)))


def distance_tables(df: pd.DataFrame, values, *, n_resamples: int = 1000, seed: int = 0,
                    min_samples: int = 20) -> dict[str, pd.DataFrame]:
    """:func:`distance_by_bin` for several ``values`` with one pass over the table."""
    b = since_bin(df["since_move_s"])
    d = pd.DataFrame({"worker": _worker_key(df), "bin": b})
    for v in values:
        d[v] = df[v].to_numpy(float)
    d = d[d["bin"] >= 0]
    g = d.groupby(["worker", "bin"])
    med, cnt = g[list(values)].median(), g[list(values)].count()
    return {v: distance_by_bin(df, v, n_resamples=n_resamples, seed=seed, min_samples=min_samples,
                               medians=med[v].where(cnt[v] >= min_samples).unstack("bin")
                               .reindex(columns=range(len(LABELS))), bins=b)
            for v in values}


def distance_by_bin(df: pd.DataFrame, value: str = "dist_px", *, n_resamples: int = 1000, seed: int = 0,
                    min_samples: int = 20, medians: pd.DataFrame | None = None,
                    bins: np.ndarray | None = None) -> pd.DataFrame:
    """One row per time-since-move bin: mean over workers of the per-worker median ``value``,
    its 95 % worker-bootstrap CI, workers and callbacks (``medians`` / ``bins``: precomputed
    :func:`worker_bin_medians` / :func:`since_bin`)."""
    med = worker_bin_medians(df, value, min_samples) if medians is None else medians
    b = since_bin(df["since_move_s"]) if bins is None else bins
    counts = np.bincount(b[b >= 0], minlength=len(LABELS))
    rows = []
    for i, lab in enumerate(LABELS):
        est, (lo, hi), n = worker_ci(med[i].to_numpy(), n_resamples=n_resamples, seed=seed)
        rows.append({"bin": i, "label": lab, "lower_s": LOWER[i], "mean": est, "lo": lo, "hi": hi,
                     "workers": n, "callbacks": int(counts[i])})
    return pd.DataFrame(rows)


def idle_vs_moving(df: pd.DataFrame, value: str = "dist_px", *, idle_min_s: float = IDLE_MIN_S,
                   moving_max_s: float = MOVING_MAX_S, min_samples: int = 20) -> pd.DataFrame:
    """Per worker: median ``value`` while the cursor moves (moved less than ``moving_max_s`` ago)
    and while it rests (no move for ``idle_min_s``), and the difference idle - moving."""
    s = df["since_move_s"].to_numpy(float)
    state = np.where(s < moving_max_s, "moving", np.where(s >= idle_min_s, "idle", ""))
    codes = _worker_key(df)
    d = pd.DataFrame({"worker": codes, "state": state, "v": df[value].to_numpy(float)})
    d = d[(d["state"] != "") & np.isfinite(d["v"]) & np.isfinite(s)]
    g = d.groupby(["worker", "state"])["v"]
    t = g.median().where(g.size() >= min_samples).unstack("state").reindex(columns=["moving", "idle"])
    t["diff"] = t["idle"] - t["moving"]
    # name the rows by worker id
    first = pd.Series(np.arange(len(codes))).groupby(codes).first()
    t.index = pd.Index(df["worker"].astype(object).to_numpy()[first.reindex(t.index).to_numpy()], name="worker")
    return t.dropna()


def idle_threshold(table: pd.DataFrame, share: float = 0.9, fallback_s: float = 1.0) -> float:
    """The time since move (s) after which the cursor's pull has faded, read off a
    :func:`distance_by_bin` table.

    Rule (fixed in advance): with ``moving`` the mean of the bins below :data:`MOVING_MAX_S` and
    ``plateau`` the mean of the bins from :data:`IDLE_MIN_S` on, the threshold is the lower edge of
    the first bin from which every later bin lies at least ``share`` of the way from ``moving`` to
    ``plateau``. Without a rise (``plateau <= moving``) it is ``fallback_s`` (WebGazer's 1-s trail).

    >>> t = pd.DataFrame({"lower_s": LOWER, "mean": [100, 100, 100, 150, 250, 380, 395, 400, 400]})
    >>> idle_threshold(t)
    1.0
    """
    lower = table["lower_s"].to_numpy(float)
    m = table["mean"].to_numpy(float)
    moving = np.nanmean(m[lower < MOVING_MAX_S])
    plateau = np.nanmean(m[lower >= IDLE_MIN_S])
    if not np.isfinite(moving) or not np.isfinite(plateau) or plateau <= moving:
        return float(fallback_s)
    cut = moving + share * (plateau - moving)
    above = m >= cut
    for i in range(len(m)):
        if np.all(above[i:] | ~np.isfinite(m[i:])) and np.isfinite(m[i]):
            return float(lower[i])
    return float(fallback_s)
