"""Bootstrap over workers for statistics of one value per worker (fast: one index matrix).

Workers are the unit of independence; when every worker contributes one number (a per-worker
median, R², difference), resampling workers is resampling that vector.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def resample_index(n: int, n_resamples: int, seed: int = 0) -> np.ndarray:
    """Index matrix (``n_resamples`` x ``n``) of workers drawn with replacement."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def worker_ci(values, statistic: Callable[[np.ndarray], float] = np.mean, *, n_resamples: int = 1000,
              seed: int = 0, level: float = 0.95) -> tuple[float, tuple[float, float], int]:
    """Return ``statistic(values)``, its percentile CI over resampled workers, and n workers.

    ``values`` holds one number per worker (NaNs are dropped first).

    >>> est, (lo, hi), n = worker_ci([1.0, 2.0, 3.0, 4.0], n_resamples=200)
    >>> est, n, lo <= est <= hi
    (2.5, 4, True)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), (float("nan"), float("nan")), 0
    est = float(statistic(v))
    idx = resample_index(len(v), n_resamples, seed)
    if statistic is np.mean:
        boots = v[idx].mean(axis=1)
    elif statistic is np.median:
        boots = np.median(v[idx], axis=1)
    else:
        boots = np.array([statistic(v[i]) for i in idx])
    a = (1 - level) / 2
    return est, (float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))), int(len(v))


def curve_ci(curves: np.ndarray, *, n_resamples: int = 1000, seed: int = 0, level: float = 0.95):
    """Mean curve over workers (rows) and its pointwise CI band; also the bootstrapped means.

    Returns ``(mean, lo, hi, boots)`` with ``boots`` of shape (n_resamples, n_points); rows with
    NaNs are averaged with ``nanmean``.
    """
    c = np.asarray(curves, dtype=float)
    idx = resample_index(len(c), n_resamples, seed)
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(c, axis=0)
            boots = np.stack([np.nanmean(c[i], axis=0) for i in idx])
    a = (1 - level) / 2
    return mean, np.nanquantile(boots, a, axis=0), np.nanquantile(boots, 1 - a, axis=0), boots
