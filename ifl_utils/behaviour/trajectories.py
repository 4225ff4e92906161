"""Reading-position curves: where on an answer the gaze (or mouse) is, over the time it was there.

One *curve* per (query, pane, modality) — the worker and conversation follow from the query. Its
samples are the *on-answer* samples: callbacks assigned to the query (``query_id >= 0``) whose
point lies on that pane's answer text (``0 <= pos <= 1``; ``pos`` > 1 or missing means not on the
answer). As in the release's ``gaze_position_time_interp.py``:

- time is the callback's ``epoch`` (ms), normalised to ``(t - t_first) / (t_last - t_first)`` over
  the curve's samples; position is ``char_idx / answer length``, clipped to 1;
- samples sharing a timestamp are averaged; a curve with a single distinct timestamp is skipped;
- the curve is resampled to ``n_points`` (100) equally spaced times by linear interpolation
  (constant extrapolation, which never triggers because the grid spans exactly [0, 1]).

**Minimum-sample rule** (ours; the release keeps any curve with two timestamps): a curve needs at
least :data:`MIN_SAMPLES` on-answer samples — about 0.75 s of looking at the median 13 Hz — so that
a curve is not drawn from two or three stray samples. :func:`reading_curves` reports how many
curves each rule drops.

Everything is computed in one vectorised pass (sort once, ``reduceat`` per curve, one
``searchsorted`` for all interpolations); all curves of the release take well under a second.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..lengths import answer_tertiles

#: Points of the resampled curve (the release's 100).
N_POINTS = 100
#: Bins of the per-curve position histogram (the release's 100).
N_BINS = 100
#: Minimum on-answer samples of a curve (see the module docstring).
MIN_SAMPLES = 10
#: Gaps between consecutive on-answer samples longer than this count only this much dwell time
#: (ms; the release's ``INACTIVITY_THRESHOLD_MS``).
GAP_CAP_MS = 1000.0
#: A backward jump of the position larger than this share of the answer is a *regression*
#: (0.1 of a median 1,400-character answer is about two lines of a 60-80-character pane: larger
#: than the jitter of consecutive webcam samples on the same line, smaller than a re-read).
REGRESSION_THRESHOLD = 0.1

MODALITIES = ("gaze", "mouse")
PANES = (1, 2)
SIDES = ("pointwise", "pairwise left", "pairwise right")

#: Columns of ``Dataset.samples()`` that :func:`reading_curves` needs.
SAMPLE_COLUMNS = (["worker", "task_id", "session", "query_id", "epoch", "mouse_x", "mouse_y"]
                  + [f"{m}{p}_pos" for m in MODALITIES for p in PANES])

#: Columns of ``Curves.meta``.
META_COLUMNS = {
    "curve": "row index into ``curves`` / ``hist``",
    "query_id": "query (turn) id", "worker": "worker id", "task_id": "topic id (conversation with worker)",
    "mode": "pairwise | pointwise", "pane": "1 = left / only pane, 2 = right",
    "side": "pointwise | pairwise left | pairwise right", "modality": "gaze | mouse",
    "length": "answer length (UTF-16 units)", "tertile": "shared answer-length tertile",
    "n_samples": "on-answer samples", "n_times": "distinct timestamps",
    "span_s": "t_last - t_first (s)", "dwell_s": "sum of gaps between on-answer samples, each capped at GAP_CAP_MS (s)",
    "in_share": "on-answer samples / callbacks of the query (0-1)",
    "furthest": "largest position reached (0-1)", "mean_pos": "mean position (0-1)",
    "t_half_s": "time from the first on-answer sample to the first sample in the second half (s; NaN: never)",
    "regressions": "backward jumps larger than REGRESSION_THRESHOLD (count)",
    "regressions_per_min": "regressions per minute of dwell time",
    "speed_cps": "furthest character reached per second of dwell time (characters/s)",
    "mouse_active": "share of the curve's samples at which the mouse had moved since the previous callback",
    "likert": "Likert rating of this answer (1-5)", "preferred": "pairwise: this pane was preferred (0/1)",
}


@dataclass
class Curves:
    """All reading curves of a samples table.

    Attributes
    ----------
    meta
        One row per curve (:data:`META_COLUMNS`).
    curves
        ``(n, n_points)`` positions on the normalised time grid.
    hist
        ``(n, N_BINS)`` share of the curve's samples in each position bin (rows sum to 1).
    dropped
        Curves (or candidate curves) removed by each rule, in order of application.
    params
        The rules' parameters.
    """

    meta: pd.DataFrame
    curves: np.ndarray
    hist: np.ndarray
    dropped: dict[str, int] = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def select(self, mask) -> "Curves":
        """Return the curves where ``mask`` (boolean array over ``meta`` rows) holds."""
        m = np.asarray(mask, dtype=bool)
        meta = self.meta[m].reset_index(drop=True)
        meta["curve"] = np.arange(len(meta))
        return Curves(meta, self.curves[m], self.hist[m], dict(self.dropped), dict(self.params))

    def where(self, **eq) -> "Curves":
        """Return the curves whose ``meta`` columns equal the given values, e.g. ``where(modality="gaze")``."""
        m = np.ones(len(self.meta), dtype=bool)
        for k, v in eq.items():
            m &= (self.meta[k] == v).to_numpy()
        return self.select(m)

    def __len__(self) -> int:
        return len(self.meta)


def mouse_moved(samples: pd.DataFrame) -> np.ndarray:
    """Per callback: the mouse position differs from the previous callback of the same page session.

    Rows must be in time order within each (worker, task_id, session) run, as ``Dataset.samples()``
    returns them. The first callback of a run counts as not moved.
    """
    w = samples["worker"].astype("category").cat.codes.to_numpy().astype(np.int64)
    key = (w * 1_000_000 + samples["task_id"].to_numpy().astype(np.int64)) * 1000 \
        + samples["session"].to_numpy().astype(np.int64)
    x = samples["mouse_x"].to_numpy(dtype=float, na_value=np.nan)
    y = samples["mouse_y"].to_numpy(dtype=float, na_value=np.nan)
    moved = np.zeros(len(samples), dtype=bool)
    if len(samples) > 1:
        same = key[1:] == key[:-1]
        dx = np.abs(np.diff(x)) > 0
        dy = np.abs(np.diff(y)) > 0
        moved[1:] = same & (dx | dy) & np.isfinite(x[1:]) & np.isfinite(x[:-1])
    return moved


def _long_on_answer(samples: pd.DataFrame) -> pd.DataFrame:
    """Stack the on-answer samples of every (modality, pane) into one long table."""
    qid = samples["query_id"].to_numpy().astype(np.int64)
    epoch = samples["epoch"].to_numpy().astype(np.int64)
    moved = mouse_moved(samples) if {"mouse_x", "mouse_y"} <= set(samples.columns) \
        else np.zeros(len(samples), dtype=bool)
    parts = []
    for mi, m in enumerate(MODALITIES):
        for p in PANES:
            col = f"{m}{p}_pos"
            if col not in samples:
                continue
            pos = samples[col].to_numpy(dtype=float, na_value=np.nan)
            ok = (qid >= 0) & np.isfinite(pos) & (pos >= 0) & (pos <= 1)
            parts.append(pd.DataFrame({"query_id": qid[ok], "mp": np.int8(mi * 2 + (p - 1)),
                                       "epoch": epoch[ok], "pos": np.minimum(pos[ok], 1.0),
                                       "moved": moved[ok]}))
    if not parts:
        return pd.DataFrame({"query_id": [], "mp": [], "epoch": [], "pos": [], "moved": []})
    return pd.concat(parts, ignore_index=True)


def _starts(keys: np.ndarray) -> np.ndarray:
    """Indices where a run of equal ``keys`` starts (``keys`` sorted)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def interpolate_grid(u: np.ndarray, y: np.ndarray, starts: np.ndarray, n_points: int = N_POINTS) -> np.ndarray:
    """Resample many curves at once onto ``linspace(0, 1, n_points)``.

    Parameters
    ----------
    u
        Normalised times, increasing within each curve, each curve spanning exactly [0, 1] (strictly
        increasing; duplicates already averaged).
    y
        Values at ``u``.
    starts
        Index of each curve's first point (sorted); a curve runs to the next start.

    Returns
    -------
    ``(len(starts), n_points)`` array; linear interpolation, constant beyond the ends.

    >>> interpolate_grid(np.array([0., 1., 0., .5, 1.]), np.array([0., 1., 1., 0., 1.]), np.array([0, 2]), 3)
    array([[0. , 0.5, 1. ],
           [1. , 0. , 1. ]])
    """
    k = len(starts)
    if k == 0:
        return np.zeros((0, n_points))
    ends = np.r_[starts[1:], len(u)]
    cid = np.repeat(np.arange(k), ends - starts)
    x = cid * 2.0 + np.clip(u, 0.0, 1.0)  # curves laid end to end with a gap: one searchsorted
    grid = np.linspace(0.0, 1.0, n_points)
    tx = (np.arange(k)[:, None] * 2.0 + grid[None, :]).ravel()
    lo = np.repeat(starts, n_points)
    hi = np.repeat(ends - 1, n_points)
    i = np.searchsorted(x, tx, side="right") - 1
    i = np.clip(i, lo, np.maximum(hi - 1, lo))
    j = np.minimum(i + 1, hi)
    x0, x1 = x[i], x[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(x1 > x0, (tx - x0) / (x1 - x0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)  # constant extrapolation
    return (y[i] + frac * (y[j] - y[i])).reshape(k, n_points)


def reading_curves(samples: pd.DataFrame, queries: pd.DataFrame, *, min_samples: int = MIN_SAMPLES,
                   n_points: int = N_POINTS, gap_cap_ms: float = GAP_CAP_MS,
                   regression_threshold: float = REGRESSION_THRESHOLD) -> Curves:
    """Return every reading curve of ``samples`` with its histogram and summary measures.

    Parameters
    ----------
    samples
        ``Dataset.samples(columns=SAMPLE_COLUMNS)`` (any worker exclusion already applied).
    queries
        ``Dataset.queries()`` (all queries: the shared length tertiles are computed from them).
    min_samples
        Minimum on-answer samples of a curve (:data:`MIN_SAMPLES`).
    n_points
        Points of the resampled curve.
    gap_cap_ms
        Cap of each gap in the dwell time.
    regression_threshold
        Backward jump (share of the answer) counted as a regression.
    """
    long = _long_on_answer(samples)
    q = queries.set_index("query_id")
    # answers that are LLM error messages are not answers: drop their samples first
    err = np.zeros(len(long), dtype=bool)
    for p in PANES:
        bad = q.index[q[f"llm_error_{p}"].astype(bool).to_numpy()].to_numpy()
        err |= np.isin(long["query_id"].to_numpy(), bad) & (long["mp"].to_numpy() % 2 == p - 1)
    n_err = int(pd.Series(long["query_id"].to_numpy()[err] * 4 + long["mp"].to_numpy()[err]).nunique())
    long = long[~err]

    key = long["query_id"].to_numpy() * 4 + long["mp"].to_numpy().astype(np.int64)
    t = long["epoch"].to_numpy()
    order = np.lexsort((t, key))
    key, t = key[order], t[order]
    pos = long["pos"].to_numpy()[order]
    moved = long["moved"].to_numpy()[order]

    # raw-sample statistics per candidate curve
    cstart = _starts(key)
    ckey = key[cstart]
    n_samples = np.diff(np.r_[cstart, len(key)])

    # average duplicate timestamps
    tkey_change = np.r_[True, (key[1:] != key[:-1]) | (t[1:] != t[:-1])] if len(key) else np.zeros(0, bool)
    dstart = np.flatnonzero(tkey_change)
    dcount = np.diff(np.r_[dstart, len(key)])
    dkey, dt_ = key[dstart], t[dstart].astype(float)
    dpos = np.add.reduceat(pos, dstart) / dcount if len(dstart) else np.zeros(0)
    kstart = _starts(dkey)
    n_times = np.diff(np.r_[kstart, len(dkey)])

    single = n_times < 2
    few = ~single & (n_samples < min_samples)
    keep = ~single & ~few
    dropped = {"llm_error_answer": n_err, "single_timestamp": int(single.sum()),
               f"fewer_than_{min_samples}_samples": int(few.sum())}

    params = {"min_samples": min_samples, "n_points": n_points, "gap_cap_ms": gap_cap_ms,
              "regression_threshold": regression_threshold, "candidates": int(len(ckey)) + n_err}
    if not keep.any():
        meta = pd.DataFrame({c: pd.Series(dtype=float) for c in META_COLUMNS})
        return Curves(meta, np.zeros((0, n_points)), np.zeros((0, N_BINS)), dropped, params)

    # keep the curves that pass: restrict the de-duplicated arrays
    keep_pts = np.repeat(keep, n_times)
    dkey, dt_, dpos = dkey[keep_pts], dt_[keep_pts], dpos[keep_pts]
    kstart = _starts(dkey)
    kend = np.r_[kstart[1:], len(dkey)]
    t0 = dt_[kstart]
    span = dt_[kend - 1] - t0
    lens = kend - kstart
    rel = dt_ - np.repeat(t0, lens)
    u = rel / np.repeat(span, lens)
    curves = interpolate_grid(u, dpos, kstart, n_points)

    # dwell time with capped gaps; regressions; first time in the second half (all on de-duplicated points)
    gaps = np.r_[0.0, np.diff(dt_)]
    gaps[kstart] = 0.0
    dwell = np.add.reduceat(np.minimum(gaps, gap_cap_ms), kstart) / 1000.0
    dp = np.r_[0.0, np.diff(dpos)]
    dp[kstart] = 0.0
    regressions = np.add.reduceat((dp < -regression_threshold).astype(np.int64), kstart)
    t_half = np.minimum.reduceat(np.where(dpos >= 0.5, rel, np.inf), kstart) / 1000.0
    t_half[~np.isfinite(t_half)] = np.nan
    furthest = np.maximum.reduceat(dpos, kstart)

    # raw-sample statistics of the kept curves: histogram, mean position, mouse activity
    keep_raw = np.repeat(keep, n_samples)
    rkey, rpos, rmoved = key[keep_raw], pos[keep_raw], moved[keep_raw]
    rstart = _starts(rkey)
    rn = np.diff(np.r_[rstart, len(rkey)])
    cid = np.repeat(np.arange(len(rstart)), rn)
    b = np.minimum((rpos * N_BINS).astype(np.int64), N_BINS - 1)
    hist = np.bincount(cid * N_BINS + b, minlength=len(rstart) * N_BINS).reshape(-1, N_BINS) / rn[:, None]
    mean_pos = np.add.reduceat(rpos, rstart) / rn if len(rstart) else np.zeros(0)
    mouse_active = np.add.reduceat(rmoved.astype(float), rstart) / rn if len(rstart) else np.zeros(0)

    kk = ckey[keep]
    qid = kk // 4
    mp = kk % 4
    modality = np.where(mp // 2 == 0, "gaze", "mouse")
    pane = (mp % 2 + 1).astype(np.int8)
    per_query = pd.Series(samples["query_id"].to_numpy()).value_counts()
    callbacks = per_query.reindex(qid).to_numpy(dtype=float)

    qq = q.reindex(qid)
    length = np.where(pane == 1, qq["len_utf16_1"].to_numpy(dtype=float, na_value=np.nan),
                      qq["len_utf16_2"].to_numpy(dtype=float, na_value=np.nan))
    tert = answer_tertiles(queries).set_index(["query_id", "pane"])["tertile"]
    tertile = tert.reindex(pd.MultiIndex.from_arrays([qid, pane.astype(np.int64)])).to_numpy()
    mode = qq["mode"].astype(str).to_numpy()
    side = np.where(mode == "pointwise", "pointwise", np.where(pane == 1, "pairwise left", "pairwise right"))
    likert = np.where(pane == 1, qq["likert_1"].to_numpy(dtype=float, na_value=np.nan),
                      qq["likert_2"].to_numpy(dtype=float, na_value=np.nan))
    rp = qq["right_preferred"].to_numpy(dtype=float, na_value=np.nan)
    preferred = np.where(mode == "pairwise", np.where(pane == 2, rp, 1 - rp), np.nan)
    n_s = n_samples[keep]
    meta = pd.DataFrame({
        "curve": np.arange(len(kk)), "query_id": qid, "worker": qq["worker"].astype(str).to_numpy(),
        "task_id": qq["task_id"].to_numpy(), "mode": mode, "pane": pane, "side": side,
        "modality": modality, "length": length,
        "tertile": pd.Categorical(tertile, categories=["short", "medium", "long"], ordered=True),
        "n_samples": n_s, "n_times": n_times[keep], "span_s": span / 1000.0, "dwell_s": dwell,
        "in_share": n_s / callbacks, "furthest": furthest, "mean_pos": mean_pos, "t_half_s": t_half,
        "regressions": regressions,
        "regressions_per_min": np.where(dwell > 0, regressions / np.maximum(dwell, 1e-9) * 60, np.nan),
        "speed_cps": np.where(dwell > 0, furthest * length / np.maximum(dwell, 1e-9), np.nan),
        "mouse_active": mouse_active, "likert": likert, "preferred": preferred,
    })
    return Curves(meta, curves, hist, dropped, params)


def mean_curve_ci(curves: np.ndarray, workers, *, n_resamples: int = 1000, level: float = 0.95,
                  random_state: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of ``curves`` (equal weight per curve) and its pointwise bootstrap band over workers.

    Resamples whole workers with replacement (like :func:`ifl_utils.stats.bootstrap_ci`), in one
    matrix product per resample batch.

    Returns
    -------
    mean, lo, hi — each of shape ``(curves.shape[1],)``.

    >>> c = np.array([[0., 1.], [0., 1.], [1., 1.]])
    >>> m, lo, hi = mean_curve_ci(c, ["a", "a", "b"], n_resamples=50)
    >>> m.round(3).tolist(), bool((lo <= m).all() and (m <= hi).all())
    ([0.333, 1.0], True)
    """
    curves = np.asarray(curves, dtype=float)
    codes, uniq = pd.factorize(pd.Series(np.asarray(workers)).astype(str), sort=True)
    w = len(uniq)
    sums = np.zeros((w, curves.shape[1]))
    np.add.at(sums, codes, curves)
    counts = np.bincount(codes, minlength=w).astype(float)
    mean = curves.mean(axis=0)
    rng = np.random.default_rng(random_state)
    r = rng.multinomial(w, np.full(w, 1.0 / w), size=n_resamples).astype(float)
    boot = (r @ sums) / (r @ counts)[:, None]
    a = (1 - level) / 2
    return mean, np.quantile(boot, a, axis=0), np.quantile(boot, 1 - a, axis=0)


def mean_hist(hist: np.ndarray) -> np.ndarray:
    """Average of per-curve position histograms (equal weight per curve), as a probability."""
    h = np.asarray(hist, dtype=float)
    return h.mean(axis=0) if len(h) else np.zeros(N_BINS)


def counts_by(meta: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Curves and workers per group of ``meta``."""
    return (meta.groupby(by, observed=True).agg(curves=("curve", "size"), workers=("worker", "nunique"))
            .reset_index())
