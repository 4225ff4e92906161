"""Labels of the three prediction tasks, and the rows each one uses.

* pairwise: ``right_preferred`` (1 = the right pane, ``llm_response_2``, was preferred; 0 = left).
  The release's raw ``preference`` is 1 = left, 2 = right; the data layer maps it, and
  :func:`pairwise_label` checks that mapping on every row it returns.
* pointwise Likert: ``likert_1`` (1-5), regression.
* pointwise better-than-previous: ``better_than_previous`` (1 = this answer better than the previous
  turn's), classification. Never pooled with the pairwise codes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TASKS = ("pairwise", "likert", "better_than_previous")


def pairwise_label(preference) -> np.ndarray:
    """Map the release's ``preference`` (1 = left, 2 = right) to right-preferred (1) / left (0).

    >>> pairwise_label([1.0, 2.0, np.nan]).tolist()
    [0.0, 1.0, nan]
    """
    p = np.asarray(preference, dtype=float)
    out = np.where(p == 2, 1.0, np.where(p == 1, 0.0, np.nan))
    bad = ~np.isnan(p) & ~np.isin(p, (1.0, 2.0))
    if bad.any():
        raise ValueError(f"pairwise preference must be 1 (left) or 2 (right), got {np.unique(p[bad])}")
    return out


def task_rows(queries: pd.DataFrame, task: str, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows (query_id, worker, task_id, y) of ``task``: labelled, no LLM error, with behaviour data.

    ``features`` (per-query table with ``query_id`` and ``callbacks``) restricts to queries with at
    least one callback, so every model of a task sees the same rows.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    q = queries[~queries["llm_error"].astype(bool) & queries["has_folder"].astype(bool)]
    if task == "pairwise":
        q = q[q["mode"] == "pairwise"]
        y = q["right_preferred"]
    elif task == "likert":
        q = q[q["mode"] == "pointwise"]
        y = q["likert_1"]
    else:
        q = q[q["mode"] == "pointwise"]
        y = q["better_than_previous"]
    keep = y.notna().to_numpy()
    out = pd.DataFrame({"query_id": q["query_id"].to_numpy()[keep], "worker": q["worker"].astype(str).to_numpy()[keep],
                        "task_id": q["task_id"].to_numpy()[keep],
                        "y": y.to_numpy()[keep].astype(float)})
    if features is not None:
        ok = set(features.loc[features["callbacks"].fillna(0) > 0, "query_id"])
        out = out[out["query_id"].isin(ok)]
    return out.sort_values("query_id").reset_index(drop=True)
