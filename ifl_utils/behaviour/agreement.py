"""How reading curves agree: gaze with mouse on the same answer (F6), and clusters with workers,
modes, lengths and ratings.

Correlations between two interpolated 100-point curves are reported as effect sizes only: the 100
points are interpolated and autocorrelated, so a p-value over them (the release's "% significant",
paper.md §5 item 22) is meaningless.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import adjusted_mutual_info_score

from .trajectories import Curves


def rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair; NaN where a row is constant.

    >>> rowwise_pearson(np.array([[0., 1, 2], [1, 1, 1]]), np.array([[0., 2, 4], [0, 1, 2]])).tolist()
    [1.0, nan]
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    da = a - a.mean(axis=1, keepdims=True)
    db = b - b.mean(axis=1, keepdims=True)
    num = (da * db).sum(axis=1)
    den = np.sqrt((da ** 2).sum(axis=1) * (db ** 2).sum(axis=1))
    out = np.full(len(a), np.nan)
    ok = den > 1e-12
    out[ok] = num[ok] / den[ok]
    return out


def rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rho of each row pair (average ranks); NaN where a row is constant."""
    return rowwise_pearson(stats.rankdata(a, axis=1), stats.rankdata(b, axis=1))


def gaze_mouse_correlations(c: Curves) -> pd.DataFrame:
    """Per answer (query, pane) with both a gaze and a mouse curve: Pearson and Spearman r.

    Columns: query_id, pane, worker, side, tertile, pearson, spearman (constant curves give NaN and
    are dropped).
    """
    m = c.meta
    g = m[m["modality"] == "gaze"].set_index(["query_id", "pane"])["curve"]
    mo = m[m["modality"] == "mouse"].set_index(["query_id", "pane"])["curve"]
    both = g.index.intersection(mo.index).sort_values()
    gi, mi = g.loc[both].to_numpy(), mo.loc[both].to_numpy()
    out = m.loc[gi, ["query_id", "pane", "worker", "side", "tertile"]].reset_index(drop=True)
    out["pearson"] = rowwise_pearson(c.curves[gi], c.curves[mi])
    out["spearman"] = rowwise_spearman(c.curves[gi], c.curves[mi])
    return out.dropna(subset=["pearson", "spearman"]).reset_index(drop=True)


def ami_with_baseline(labels, groups, *, n_perm: int = 200, random_state: int = 0) -> dict:
    """Adjusted mutual information of ``labels`` with ``groups`` and a permutation baseline.

    The baseline shuffles ``groups`` ``n_perm`` times; ``p_perm`` is the share of shuffles at least
    as large as the observed AMI (with the usual +1 correction).
    """
    labels = np.asarray(labels)
    groups = pd.Series(np.asarray(groups)).astype(str).to_numpy()
    obs = adjusted_mutual_info_score(groups, labels)
    rng = np.random.default_rng(random_state)
    perm = np.array([adjusted_mutual_info_score(rng.permutation(groups), labels) for _ in range(n_perm)])
    return {"ami": float(obs), "perm_mean": float(perm.mean()), "perm_p95": float(np.quantile(perm, 0.95)),
            "p_perm": float((1 + (perm >= obs).sum()) / (1 + n_perm)), "n": int(len(labels)),
            "groups": int(len(np.unique(groups)))}


def cramers_v(a, b) -> float:
    """Cramér's V of two categorical arrays (bias-uncorrected)."""
    t = pd.crosstab(np.asarray(a), np.asarray(b)).to_numpy()
    if min(t.shape) < 2:
        return float("nan")
    chi2 = stats.chi2_contingency(t, correction=False)[0]
    return float(np.sqrt(chi2 / t.sum() / (min(t.shape) - 1)))


def epsilon_squared(values, groups) -> float:
    """Kruskal-Wallis epsilon squared: rank-based share of variance explained by ``groups``."""
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups)
    parts = [v[g == k] for k in np.unique(g)]
    parts = [p for p in parts if len(p)]
    if len(parts) < 2 or np.ptp(v) == 0:
        return float("nan")
    h = stats.kruskal(*parts).statistic
    return float(h / (len(v) - 1))


def _shuffle_within(values: np.ndarray, strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = values.copy()
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        out[idx] = values[rng.permutation(idx)]
    return out


def cluster_outcome_test(clusters, outcome, workers, *, kind: str, n_perm: int = 500,
                         random_state: int = 0) -> dict:
    """Does cluster membership relate to an outcome? Effect size and a within-worker permutation test.

    ``kind="nominal"`` (e.g. preference): Cramér's V; ``kind="ordinal"`` (Likert): Kruskal-Wallis
    epsilon squared. The null shuffles the outcome *within each worker*, so a worker who both reads
    in one style and rates high cannot make the association look significant on their own.
    """
    c = np.asarray(clusters)
    y = np.asarray(outcome, dtype=float)
    w = pd.Series(np.asarray(workers)).astype(str).to_numpy()
    ok = np.isfinite(y)
    c, y, w = c[ok], y[ok], w[ok]
    stat = cramers_v if kind == "nominal" else (lambda a, b: epsilon_squared(b, a))
    obs = stat(c, y)
    rng = np.random.default_rng(random_state)
    perm = np.array([stat(c, _shuffle_within(y, w, rng)) for _ in range(n_perm)])
    perm = perm[np.isfinite(perm)]
    return {"effect": float(obs), "effect_name": "Cramér's V" if kind == "nominal" else "epsilon²",
            "perm_mean": float(perm.mean()) if len(perm) else float("nan"),
            "p_perm": float((1 + (perm >= obs).sum()) / (1 + len(perm))),
            "n": int(len(y)), "workers": int(len(np.unique(w)))}


def per_worker_agreement(r: pd.DataFrame, min_answers: int = 5, threshold: float = 0.7) -> pd.DataFrame:
    """Per worker with at least ``min_answers`` answers: median Pearson r and whether it reaches ``threshold``
    (this worker's mouse follows the gaze: they read with the cursor)."""
    g = r.groupby("worker").agg(answers=("pearson", "size"), median_r=("pearson", "median"))
    g = g[g["answers"] >= min_answers].sort_values("median_r", ascending=False)
    g["with_cursor"] = g["median_r"] >= threshold
    return g
