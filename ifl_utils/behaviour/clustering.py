"""Clustering of reading curves: the paper's bisecting k-means (F5), a data-driven k beside it, and
shape families grouped from the cluster centres (no hand-set overrides).

Release (``NLP-Gazing/src/vis/gaze_mouse_kmeans.py``): ``BisectingKMeans(n_clusters=10,
bisecting_strategy='largest_cluster', n_init=10, random_state=42)`` on the 100-point gaze curves
of the pairwise left pane.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering, BisectingKMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from ..paper import PAPER

#: The release's number of clusters (``n_clusters=10``).
PAPER_K = int(PAPER["behaviour/f5/k"].value)
PAPER_PARAMS = {"bisecting_strategy": "largest_cluster", "n_init": 10, "random_state": 42}
#: Mean bootstrap ARI a k must reach to count as stable (a common rule of thumb for "good").
STABLE_ARI = 0.75


@dataclass
class Clustering:
    """A fitted clustering with labels renumbered by size (0 = largest)."""

    model: BisectingKMeans
    labels: np.ndarray
    centers: np.ndarray
    sizes: np.ndarray
    relabel: np.ndarray  # sklearn label -> our label

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Our label of each row of ``X`` (the bisection tree's assignment)."""
        return self.relabel[self.model.predict(np.asarray(X, dtype=float))]


def bisecting_kmeans(X: np.ndarray, k: int = PAPER_K, random_state: int = 42, n_init: int = 10) -> Clustering:
    """Fit the paper's bisecting k-means on ``X`` and renumber clusters by size (ties: sklearn order)."""
    X = np.asarray(X, dtype=float)
    model = BisectingKMeans(n_clusters=k, bisecting_strategy="largest_cluster", n_init=n_init,
                            random_state=random_state).fit(X)
    raw = model.labels_
    sizes = np.bincount(raw, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))  # largest first, stable
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(k)
    labels = relabel[raw]
    return Clustering(model, labels, model.cluster_centers_[order], sizes[order], relabel)


def choose_k(X: np.ndarray, ks=range(2, 11), *, n_boot: int = 20, random_state: int = 0,
             n_init: int = 10) -> pd.DataFrame:
    """Silhouette and bootstrap stability of bisecting k-means for each ``k``.

    Stability: refit on ``n_boot`` bootstrap resamples of the curves, assign all curves with the
    refit tree, and compare with the full-data labels (adjusted Rand index); report mean and 5th
    percentile. Returns one row per k.
    """
    X = np.asarray(X, dtype=float)
    rng = np.random.default_rng(random_state)
    boots = [rng.integers(0, len(X), len(X)) for _ in range(n_boot)]
    rows = []
    for k in ks:
        full = BisectingKMeans(n_clusters=k, bisecting_strategy="largest_cluster", n_init=n_init,
                               random_state=random_state).fit(X)
        sil = silhouette_score(X, full.labels_)
        aris = [adjusted_rand_score(full.labels_, BisectingKMeans(
            n_clusters=k, bisecting_strategy="largest_cluster", n_init=n_init,
            random_state=random_state + 1 + b).fit(X[idx]).predict(X)) for b, idx in enumerate(boots)]
        rows.append({"k": k, "silhouette": float(sil), "stability": float(np.mean(aris)) if aris else np.nan,
                     "stability_p5": float(np.quantile(aris, 0.05)) if aris else np.nan})
    return pd.DataFrame(rows)


def data_driven_k(table: pd.DataFrame, stable: float = STABLE_ARI) -> int:
    """The k with the best silhouette among the stable ones (mean ARI >= ``stable``); else the most stable k."""
    ok = table[table["stability"] >= stable]
    if len(ok):
        return int(ok.sort_values(["silhouette", "k"], ascending=[False, True])["k"].iloc[0])
    return int(table.sort_values(["stability", "k"], ascending=[False, True])["k"].iloc[0])


def shape_families(centers: np.ndarray, max_families: int = 4) -> np.ndarray:
    """Group cluster centres into shape families (Ward linkage; number of families by silhouette).

    Families are numbered by their mean position (0 = lowest: people who stay near the top).
    """
    C = np.asarray(centers, dtype=float)
    best, best_s = None, -np.inf
    for f in range(2, min(max_families, len(C) - 1) + 1):
        lab = AgglomerativeClustering(n_clusters=f, linkage="ward").fit_predict(C)
        s = silhouette_score(C, lab)
        if s > best_s + 1e-12:
            best, best_s = lab, s
    if best is None:
        return np.zeros(len(C), dtype=np.int64)
    means = np.array([C[best == f].mean() for f in range(best.max() + 1)])
    rank = np.empty(len(means), dtype=np.int64)
    rank[np.argsort(means, kind="stable")] = np.arange(len(means))
    return rank[best]


def describe_family(center: np.ndarray) -> str:
    """A short, computed description of a mean curve: where it is at mid-time and at the end."""
    c = np.asarray(center, dtype=float)
    mid, end = c[len(c) // 2], c[-1]
    return f"mid {mid:.0%}, end {end:.0%}"


def bisection_tree(clustering: Clustering) -> pd.DataFrame:
    """The bisection tree as a table: node, parent, depth, size, leaf label (our numbering) or -1.

    Reads scikit-learn's fitted tree (``BisectingKMeans._bisecting_tree``, a private attribute,
    stable across scikit-learn 1.1-1.9); leaves carry the labels.
    """
    root = getattr(clustering.model, "_bisecting_tree", None)
    if root is None:
        raise RuntimeError("this scikit-learn version does not expose the bisection tree")
    rows: list[dict] = []

    def walk(node, parent, depth) -> int:
        nid = len(rows)
        rows.append({"node": nid, "parent": parent, "depth": depth, "size": 0, "leaf": -1})
        if node.left is None:
            lab = int(clustering.relabel[node.label])
            rows[nid]["leaf"] = lab
            rows[nid]["size"] = int(clustering.sizes[lab])
        else:
            a = walk(node.left, nid, depth + 1)
            b = walk(node.right, nid, depth + 1)
            rows[nid]["size"] = rows[a]["size"] + rows[b]["size"]
        return nid

    walk(root, -1, 0)
    return pd.DataFrame(rows)


def example_members(labels: np.ndarray, n: int = 10, random_state: int = 42) -> dict[int, np.ndarray]:
    """Up to ``n`` member indices per cluster, drawn with a seeded generator (the release: 10, seed 42)."""
    rng = np.random.default_rng(random_state)
    out = {}
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        out[int(c)] = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
    return out
