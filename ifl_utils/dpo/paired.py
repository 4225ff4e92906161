"""Held-out accuracies of several DPO policies on the same pairs, and their paired differences with
worker-cluster bootstrap intervals.

Accuracy of a source = share of held-out pairs whose implicit-reward margin favours the answer the
worker preferred (ties count half). A paired difference compares two sources on the same pairs; the
bootstrap resamples workers (all of a drawn worker's pairs, every source together), so the interval
keeps the pairing and the clustering.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import worker_resamples


def wide(margins: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per pair: query_id, worker, fold and ``correct`` per source (columns = sources).

    Raises ``ValueError`` when the sources were not evaluated on the same pairs.
    """
    names = list(margins)
    base = margins[names[0]][["query_id", "worker", "fold"]].reset_index(drop=True)
    out = base.copy()
    for s in names:
        m = margins[s].reset_index(drop=True)
        if not np.array_equal(m["query_id"].to_numpy(), base["query_id"].to_numpy()):
            raise ValueError(f"source {s!r} was evaluated on other pairs than {names[0]!r}")
        out[s] = m["correct"].to_numpy(float)
    return out


def bootstrap_accuracies(table: pd.DataFrame, sources, n_resamples: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Point accuracies (n_sources,) and worker-bootstrap replicates (n_resamples, n_sources)."""
    inv, cnt = worker_resamples(table["worker"].astype(str).to_numpy(), n_resamples, seed)
    n_w = np.bincount(inv, minlength=cnt.shape[1]).astype(float)
    S = np.stack([np.bincount(inv, weights=table[s].to_numpy(float), minlength=cnt.shape[1]) for s in sources], 1)
    point = S.sum(0) / n_w.sum()
    reps = (cnt @ S) / (cnt @ n_w)[:, None]
    return point, reps


def summarise(table: pd.DataFrame, sources, contrasts: dict[str, tuple[str, str]], n_resamples: int = 2000,
              seed: int = 0, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy per source and the paired differences ``contrasts`` (name -> (a, b): a - b).

    Returns two tables with estimate, percentile CI, pairs and workers.
    """
    sources = list(sources)
    point, reps = bootstrap_accuracies(table, sources, n_resamples, seed)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    n, m = len(table), table["worker"].nunique()
    acc = pd.DataFrame({"accuracy": point, "ci_lo": np.percentile(reps, q[0], axis=0),
                        "ci_hi": np.percentile(reps, q[1], axis=0), "pairs": n, "workers": m}, index=sources)
    rows = {}
    for name, (a, b) in contrasts.items():
        i, j = sources.index(a), sources.index(b)
        d = reps[:, i] - reps[:, j]
        rows[name] = {"difference": point[i] - point[j], "ci_lo": np.percentile(d, q[0]),
                      "ci_hi": np.percentile(d, q[1]), "pairs": n, "workers": m}
    return acc, pd.DataFrame(rows).T


def cluster_se_difference(a: np.ndarray, b: np.ndarray, workers: np.ndarray) -> tuple[float, float]:
    """Paired difference of means ``mean(a - b)`` and its cluster-robust (worker) standard error.

    >>> d, se = cluster_se_difference(np.array([1., 1, 0, 0]), np.zeros(4), np.array(["x", "x", "y", "y"]))
    >>> d, round(se, 3)
    (0.5, 0.5)
    """
    diff = np.asarray(a, float) - np.asarray(b, float)
    _, inv = np.unique(np.asarray(workers).astype(str), return_inverse=True)
    n, g = len(diff), inv.max() + 1
    est = diff.mean()
    r = np.bincount(inv, weights=diff - est, minlength=g)
    se = np.sqrt((r ** 2).sum() * g / max(g - 1, 1)) / n
    return float(est), float(se)
