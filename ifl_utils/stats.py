"""Statistics shared by the chapters: bootstrap confidence intervals over workers.

Workers are the unit of independence in IFLLM (a few workers contribute most of the data), so every
interval resamples workers with replacement, not rows.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def bootstrap_ci(df: pd.DataFrame, statistic: Callable[[pd.DataFrame], float], *,
                 group: str = "worker", n_resamples: int = 1000, level: float = 0.95,
                 random_state: int = 0) -> tuple[float, tuple[float, float]]:
    """Return ``statistic(df)`` and its percentile bootstrap CI, resampling whole ``group``\\ s.

    Parameters
    ----------
    df
        Rows to summarise, with a ``group`` column.
    statistic
        Function of a DataFrame returning a float (NaN allowed for degenerate resamples).
    group
        Column whose values are resampled with replacement (default: workers).
    n_resamples
        Bootstrap resamples.
    level
        Coverage of the interval.
    random_state
        Seed.

    Returns
    -------
    estimate, (lo, hi)

    Examples
    --------
    >>> d = pd.DataFrame({"worker": list("aabbcc"), "y": [1, 1, 0, 0, 1, 0]})
    >>> est, (lo, hi) = bootstrap_ci(d, lambda x: x["y"].mean(), n_resamples=200)
    >>> round(est, 3), lo <= est <= hi
    (0.5, True)
    """
    if group not in df:
        raise ValueError(f"bootstrap_ci needs a {group!r} column")
    est = float(statistic(df))
    keys = df[group].astype(str).to_numpy()
    uniq, inverse = np.unique(keys, return_inverse=True)
    rows_of = [np.flatnonzero(inverse == i) for i in range(len(uniq))]
    rng = np.random.default_rng(random_state)
    vals = np.empty(n_resamples)
    for b in range(n_resamples):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([rows_of[i] for i in pick])
        vals[b] = statistic(df.iloc[idx])
    vals = vals[np.isfinite(vals)]
    if len(vals) == 0:
        return est, (float("nan"), float("nan"))
    a = (1 - level) / 2
    return est, (float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a)))


def gini(values: np.ndarray | pd.Series) -> float:
    """Gini coefficient of non-negative ``values`` (0 = all equal, -> 1 = one holds everything).

    >>> gini([1, 1, 1, 1])
    0.0
    >>> round(gini([0, 0, 0, 4]), 2)
    0.75
    """
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() == 0:
        return 0.0
    n = len(x)
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum / cum[-1]).sum()) / n)


def top_share(values: pd.Series, k: int = 5) -> float:
    """Share of the total held by the ``k`` largest values."""
    v = pd.Series(values, dtype=float)
    return float(v.nlargest(k).sum() / v.sum()) if v.sum() else float("nan")


def worker_resamples(workers, n_resamples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Worker index per row and a (n_resamples, n_workers) matrix of bootstrap counts.

    The counts depend only on the sorted set of workers and ``seed``, so two calls on the same
    workers give the same resamples.
    """
    uniq, inv = np.unique(np.asarray(workers).astype(str), return_inverse=True)
    rng = np.random.default_rng(seed)
    w = len(uniq)
    draws = rng.integers(0, w, size=(n_resamples, w))
    counts = np.zeros((n_resamples, w))
    np.add.at(counts, (np.repeat(np.arange(n_resamples), w), draws.ravel()), 1.0)
    return inv, counts
