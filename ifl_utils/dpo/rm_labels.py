"""Reward-model labels for DPO, fitted inside each outer fold on that fold's training workers only.

For outer fold f, the training workers' labelled rows are split into ``inner`` worker-grouped folds;
each reward model is fitted on the other inner folds and predicts the held-out inner fold, so every
training pair gets an out-of-fold label from a model that saw neither that pair nor any test worker
of fold f. Models come from the reward package's public API (:func:`ifl_utils.reward.models.model_zoo`):
``text_rm`` = ``text_embed`` (frozen MiniLM + logistic regression), ``if_rm`` = ``if_rf`` (the release's
random forest on the top-50 implicit-feedback features, selected inside each fit).

The flip rate is eps = clip(1 - max(p, 1 - p), 0, 0.45) of the predicted label (paper.md §5 item 7).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from .data import eps_from_probability
from .folds import assign_folds

#: DPO label source -> reward-model name in ``model_zoo()``.
RM_SOURCES = {"text_rm": "text_embed", "if_rm": "if_rf"}


def inner_oof(model, X: pd.DataFrame, y: np.ndarray, workers: pd.Series, inner: int = 5,
              seed: int = 0) -> np.ndarray:
    """Out-of-fold P(right preferred) over worker-grouped inner folds (balanced by pair count)."""
    w = workers.astype(str).reset_index(drop=True)
    folds = w.map(assign_folds(w.value_counts(), min(inner, w.nunique()), seed)).to_numpy()
    p = np.full(len(y), np.nan)
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        m = clone(model)
        if "random_state" in m.get_params():
            m.set_params(random_state=seed)
        m.fit(X.loc[tr].reset_index(drop=True), y[tr])
        p[te] = m.predict_proba(X.loc[te].reset_index(drop=True))[:, 1]
    return p


def fold_labels(rows: pd.DataFrame, X: pd.DataFrame, train_workers, models: dict, inner: int = 5,
                seed: int = 0) -> pd.DataFrame:
    """Labels of the training workers' pairs for each reward-model source.

    Parameters
    ----------
    rows, X
        ``ifl_utils.reward.pipeline.design(...)`` output for the pairwise task (same row order).
    train_workers
        The outer fold's training workers; no other row is used.
    models
        Source name -> unfitted estimator with ``predict_proba`` (e.g. ``model_zoo()[...]``).

    Returns
    -------
    One row per (source, training query): source, query_id, label (1 = right preferred), p, eps.
    """
    keep = rows["worker"].astype(str).isin(set(map(str, train_workers))).to_numpy()
    r, Xt = rows.loc[keep].reset_index(drop=True), X.loc[keep].reset_index(drop=True)
    y = r["y"].astype(int).to_numpy()
    out = []
    for source, model in models.items():
        p = inner_oof(model, Xt, y, r["worker"], inner=inner, seed=seed)
        lab = (p > 0.5).astype(int)
        out.append(pd.DataFrame({"source": source, "query_id": r["query_id"].astype("int64").to_numpy(),
                                 "label": lab, "p": p, "eps": eps_from_probability(p)}))
    return pd.concat(out, ignore_index=True)
