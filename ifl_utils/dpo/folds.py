"""Worker-grouped K-fold over all labelled pairs, with a cap on any one worker's share of a test fold.

Every pair is a test pair exactly once. A worker never appears on both sides of a fold. Heavy
workers are capped: each worker keeps at most ``c`` of its pairs (a seeded random subset), where
``c`` is the largest value for which a balanced assignment of workers to ``k`` folds (largest
worker first, into the fold with the fewest pairs so far; ties broken by a seeded order) leaves no
worker above ``max_share`` of its test fold. Dropped pairs are neither trained on nor tested.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def assign_folds(sizes: pd.Series, k: int, seed: int = 0) -> pd.Series:
    """Worker -> fold (0..k-1): largest worker first into the currently smallest fold.

    >>> assign_folds(pd.Series({"a": 5, "b": 3, "c": 3, "d": 1}), 2).to_dict()
    {'a': 0, 'b': 1, 'c': 1, 'd': 0}
    """
    rng = np.random.default_rng(seed)
    tiebreak = pd.Series(rng.permutation(len(sizes)), index=sizes.index)
    order = sorted(sizes.index, key=lambda w: (-int(sizes[w]), int(tiebreak[w])))
    load = np.zeros(k)
    out = {}
    for w in order:
        f = int(np.argmin(load))          # first smallest fold
        out[w] = f
        load[f] += sizes[w]
    return pd.Series(out, name="fold").reindex(sizes.index)


def max_share(sizes: pd.Series, folds: pd.Series) -> float:
    """Largest share of one worker's pairs in its test fold."""
    tot = sizes.groupby(folds).transform("sum")
    return float((sizes / tot).max())


@dataclass
class FoldPlan:
    """The folds of the chapter: ``pairs`` (with a ``fold`` column) and how the cap was chosen."""

    pairs: pd.DataFrame
    cap: int
    dropped: int
    max_share: float
    k: int

    def summary(self) -> pd.DataFrame:
        """Per fold: test pairs, test workers and the largest worker's share."""
        rows = []
        for f, d in self.pairs.groupby("fold"):
            s = d.groupby("worker").size()
            rows.append({"fold": int(f), "test pairs": len(d), "test workers": int(s.size),
                         "largest worker share": round(float(s.max() / len(d)), 3),
                         "train pairs": int((self.pairs["fold"] != f).sum())})
        return pd.DataFrame(rows).set_index("fold")


def plan_folds(pairs: pd.DataFrame, k: int = 5, max_worker_share: float = 0.25, seed: int = 0) -> FoldPlan:
    """Cap heavy workers and assign worker-grouped folds (see the module docstring).

    ``pairs`` needs ``query_id`` and ``worker``. Raises ``ValueError`` when no cap satisfies the rule.
    """
    if "worker" not in pairs or "query_id" not in pairs:
        raise ValueError("plan_folds: pairs need 'query_id' and 'worker' columns")
    p = pairs.sort_values("query_id").reset_index(drop=True)
    full = p.groupby(p["worker"].astype(str)).size()
    if full.size < k:
        raise ValueError(f"plan_folds: {full.size} workers cannot fill {k} folds")
    for cap in range(int(full.max()), 0, -1):
        sizes = full.clip(upper=cap)
        folds = assign_folds(sizes, k, seed)
        if max_share(sizes, folds) <= max_worker_share:
            break
    else:
        raise ValueError(f"plan_folds: no cap keeps every worker <= {max_worker_share} of a fold")
    rng = np.random.default_rng(seed + 1)
    keep = []
    for w, d in p.groupby(p["worker"].astype(str), sort=True):
        idx = d.index.to_numpy()
        keep.extend(idx if len(idx) <= cap else np.sort(rng.choice(idx, cap, replace=False)))
    out = p.loc[np.sort(np.asarray(keep, dtype=int))].copy()
    out["fold"] = out["worker"].astype(str).map(folds).astype(int).to_numpy()
    return FoldPlan(pairs=out.reset_index(drop=True), cap=int(cap), dropped=int(len(p) - len(out)),
                    max_share=max_share(sizes, folds), k=k)
