"""Item 2: lead-lag between gaze and cursor. Does the gaze estimate follow the cursor, precede it,
or neither?

Each query's callbacks are put on a regular grid (the cursor holds its last position; the gaze is
interpolated linearly, never across a gap longer than :data:`MAX_GAP_MS`). For every lag τ the
cross-correlation r(τ) = corr(gaze(t + τ), cursor(t)) is computed per query and axis; **τ > 0 means
the gaze follows the cursor**. A tracker pulled by mouse training predicts a peak at a small
positive lag.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .boot import curve_ci

STEP_MS = 50.0
MAX_LAG_S = 3.0
MAX_GAP_MS = 500.0
#: A lead-lag peak: a mean correlation of at least this whose worker-bootstrap CI excludes 0.
MIN_PEAK_R = 0.1


def lags_s(max_lag_s: float = MAX_LAG_S, step_ms: float = STEP_MS) -> np.ndarray:
    """The lags (s) of the cross-correlation, from -``max_lag_s`` to +``max_lag_s``."""
    k = int(round(max_lag_s * 1000 / step_ms))
    return np.arange(-k, k + 1) * step_ms / 1000


def to_grid(t_ms: np.ndarray, gaze: np.ndarray, cursor: np.ndarray, step_ms: float = STEP_MS,
            max_gap_ms: float = MAX_GAP_MS) -> tuple[np.ndarray, np.ndarray]:
    """Gaze (linear interpolation, NaN across long gaps) and cursor (last value) on a regular grid.

    >>> g, c = to_grid(np.array([0., 100, 200]), np.array([0., 10, 20]), np.array([1., 2, 3]), step_ms=50)
    >>> g.tolist(), c.tolist()
    ([0.0, 5.0, 10.0, 15.0, 20.0], [1.0, 1.0, 2.0, 2.0, 3.0])
    """
    t = np.asarray(t_ms, dtype=float)
    grid = np.arange(t[0], t[-1] + 1e-9, step_ms)
    i = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 1)
    c = np.asarray(cursor, dtype=float)[i]
    g = np.interp(grid, t, np.asarray(gaze, dtype=float))
    j = np.minimum(i + 1, len(t) - 1)
    gap = t[j] - t[i]
    g[(gap > max_gap_ms) & (grid > t[i])] = np.nan
    return g, c


def _xcorr(x: np.ndarray, y: np.ndarray, k: int, nfft: int) -> np.ndarray:
    """sum_i x[i + l] y[i] for l = -k..k (x, y zero-padded)."""
    c = np.fft.irfft(np.fft.rfft(x, nfft) * np.conj(np.fft.rfft(y, nfft)), nfft)
    return np.r_[c[nfft - k:], c[:k + 1]]


def lagged_correlation(a: np.ndarray, b: np.ndarray, max_lag: int, min_pairs: int = 50) -> np.ndarray:
    """r(l) = corr(a[i + l], b[i]) for l = -max_lag..max_lag over the pairs where both are finite.

    Means are taken over each series' finite values; variances over the overlapping pairs. NaN
    where fewer than ``min_pairs`` pairs overlap or a series is constant.

    >>> x = np.sin(np.arange(400) / 7.0)
    >>> r = lagged_correlation(np.r_[np.zeros(3), x[:-3]], x, 5)   # a lags b by 3 steps
    >>> int(np.nanargmax(r)) - 5
    3
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ma, mb = np.isfinite(a), np.isfinite(b)
    if ma.sum() < min_pairs or mb.sum() < min_pairs:
        return np.full(2 * max_lag + 1, np.nan)
    a0 = np.where(ma, a - a[ma].mean(), 0.0)
    b0 = np.where(mb, b - b[mb].mean(), 0.0)
    nfft = 1 << int(np.ceil(np.log2(len(a) + len(b) + max_lag)))
    num = _xcorr(a0, b0, max_lag, nfft)
    saa = _xcorr(a0 * a0, mb.astype(float), max_lag, nfft)
    sbb = _xcorr(ma.astype(float), b0 * b0, max_lag, nfft)
    n = _xcorr(ma.astype(float), mb.astype(float), max_lag, nfft)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / np.sqrt(saa * sbb)
    r[(np.round(n) < min_pairs) | ~(saa > 1e-9) | ~(sbb > 1e-9)] = np.nan
    return np.clip(r, -1, 1)


def query_cross_correlations(df: pd.DataFrame, *, kind: str = "position", max_lag_s: float = MAX_LAG_S,
                             step_ms: float = STEP_MS, min_seconds: float = 10.0) -> pd.DataFrame:
    """One row per query (and axis x / y) with the cross-correlation at every lag of :func:`lags_s`.

    ``df`` is a :func:`~ifl_utils.validity.cursor.prepare` table; ``kind`` is ``position`` (the
    positions themselves, mean removed per query) or ``velocity`` (their changes per grid step).
    Queries shorter than ``min_seconds`` or whose cursor never moves are skipped. Columns:
    ``query_id``, ``worker``, ``axis``, then one column per lag (float seconds).
    """
    if kind not in ("position", "velocity"):
        raise ValueError(f"kind must be 'position' or 'velocity', got {kind!r}")
    lags = lags_s(max_lag_s, step_ms)
    k = (len(lags) - 1) // 2
    d = df[df["query_id"].to_numpy() >= 0]
    q = d["query_id"].to_numpy()
    order = np.lexsort((d["t_ms"].to_numpy(), q))
    q = q[order]
    t = d["t_ms"].to_numpy(float)[order]
    w = d["worker"].astype(str).to_numpy()[order]
    cols = {a: (d[f"g{a}"].to_numpy(float)[order], d[f"mouse_{a}"].to_numpy(float)[order]) for a in ("x", "y")}
    bounds = np.flatnonzero(np.r_[True, q[1:] != q[:-1], True])
    rows, meta = [], []
    for s, e in zip(bounds[:-1], bounds[1:]):
        if e - s < 3 or t[e - 1] - t[s] < min_seconds * 1000:
            continue
        for axis, (g, c) in cols.items():
            if np.ptp(c[s:e]) == 0:
                continue
            gg, cc = to_grid(t[s:e], g[s:e], c[s:e], step_ms)
            if kind == "velocity":
                gg, cc = np.diff(gg), np.diff(cc)
            rows.append(lagged_correlation(gg, cc, k))
            meta.append((int(q[s]), w[s], axis))
    out = pd.DataFrame(meta, columns=["query_id", "worker", "axis"])
    mat = pd.DataFrame(np.array(rows).reshape(len(rows), len(lags)), columns=[float(x) for x in np.round(lags, 3)])
    return pd.concat([out, mat], axis=1)


def worker_curves(cc: pd.DataFrame) -> pd.DataFrame:
    """Per-worker mean cross-correlation curve (mean over the worker's queries and both axes)."""
    lag_cols = [c for c in cc.columns if isinstance(c, float)]
    return cc.groupby("worker")[lag_cols].mean()


def pooled_peak(cc: pd.DataFrame, *, n_resamples: int = 1000, seed: int = 0,
                min_peak_r: float = MIN_PEAK_R) -> dict:
    """Mean curve over workers with its CI band, the lag of its peak and the peak's CIs.

    Returns ``lags``, ``mean``, ``lo``, ``hi`` (arrays), ``peak_lag_s`` and ``peak_lag_ci`` (argmax
    of each bootstrapped mean curve), ``peak_r`` and ``peak_r_ci`` (the curve at the estimated
    peak lag), ``r0`` (at lag 0), ``has_peak`` (``peak_r >= min_peak_r`` and its CI excludes 0),
    ``workers`` and ``queries``.
    """
    wc = worker_curves(cc)
    lags = np.array(wc.columns, dtype=float)
    mean, lo, hi, boots = curve_ci(wc.to_numpy(), n_resamples=n_resamples, seed=seed)
    i = int(np.nanargmax(mean))
    with np.errstate(invalid="ignore"):
        arg = np.array([np.nanargmax(b) if np.isfinite(b).any() else -1 for b in boots])
    arg = arg[arg >= 0]
    peak_ci = (float(np.quantile(lags[arg], 0.025)), float(np.quantile(lags[arg], 0.975)))
    j0 = int(np.argmin(np.abs(lags)))
    # asymmetry: mean over 0 < tau <= 1 s of r(tau) - r(-tau); > 0 when the gaze follows the cursor
    pos = np.flatnonzero((lags > 0) & (lags <= 1.0 + 1e-9))
    neg = np.array([int(np.argmin(np.abs(lags + lags[i]))) for i in pos])
    asym = float(np.nanmean(mean[pos] - mean[neg])) if len(pos) else float("nan")
    asym_b = np.nanmean(boots[:, pos] - boots[:, neg], axis=1) if len(pos) else np.array([np.nan])
    return {"asymmetry": asym, "asymmetry_ci": (float(np.nanquantile(asym_b, 0.025)), float(np.nanquantile(asym_b, 0.975))),"lags": lags, "mean": mean, "lo": lo, "hi": hi, "peak_lag_s": float(lags[i]), "peak_lag_ci": peak_ci,
            "peak_r": float(mean[i]), "peak_r_ci": (float(lo[i]), float(hi[i])), "r0": float(mean[j0]),
            "r0_ci": (float(lo[j0]), float(hi[j0])),
            "has_peak": bool(mean[i] >= min_peak_r and lo[i] > 0), "workers": int(len(wc)),
            "queries": int(cc["query_id"].nunique())}
