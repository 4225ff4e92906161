"""Fast worker-bootstrap metrics of out-of-fold predictions: accuracy, per-fold AUC, paired differences.

Every interval resamples **workers** with replacement (all their pairs kept). A resample is a vector
of counts per worker, so each metric of a resample is a weighted sum and all resamples are computed
at once; metrics computed with the same ``seed`` use the same resamples (paired across models).

AUC is computed **within each fold and averaged** over folds (and seeds). Pooling out-of-fold scores
across folds mixes folds whose training positive rates differ; under worker-grouped folds the train
and test positive rates are anti-correlated, so even a constant predictor pools to an AUC below 0.5.
Within one fold a constant score ranks nothing, and its AUC is 0.5 by the definition (ties count
half); no special case is needed.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..stats import worker_resamples


def _ci(vals: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    v = vals[np.isfinite(vals)]
    if len(v) == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(v, a)), float(np.quantile(v, 1 - a))


def mean_ci(values, workers, n_resamples: int = 1000, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Mean of per-row ``values`` (e.g. correct 0/1, or a difference of two models' correctness)
    and its 95 % worker-bootstrap interval."""
    x = np.asarray(values, dtype=float)
    inv, counts = worker_resamples(workers, n_resamples, seed)
    s = np.bincount(inv, weights=x, minlength=counts.shape[1])
    n = np.bincount(inv, minlength=counts.shape[1]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = (counts @ s) / (counts @ n)
    return float(x.mean()), _ci(boots)


def weighted_auc(y, score, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC of ``score`` for binary ``y`` under row weights (one AUC per row of ``weights``).

    Ties count half (Mann-Whitney). ``weights`` has shape (k, n); a row without positive or
    negative weight gives NaN.
    """
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    u, k = np.unique(score, return_inverse=True)
    onehot = np.zeros((len(score), len(u)))
    onehot[np.arange(len(score)), k] = 1.0
    neg_by_score = (w * ~y) @ onehot                     # (r, K): negative weight at each score
    below = np.cumsum(neg_by_score, axis=1) - neg_by_score  # negative weight strictly below
    credit = below + 0.5 * neg_by_score                   # (r, K)
    num = ((w * y) * credit[:, k]).sum(axis=1)
    pos, neg = (w * y).sum(axis=1), (w * ~y).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((pos > 0) & (neg > 0), num / (pos * neg), np.nan)


def fold_auc(y, score, folds) -> float:
    """Mean over folds of the within-fold ROC-AUC (folds with one class only are skipped)."""
    y, score, folds = np.asarray(y), np.asarray(score, dtype=float), np.asarray(folds)
    vals = [weighted_auc(y[folds == f], score[folds == f], np.ones((1, int((folds == f).sum()))))[0]
            for f in np.unique(folds)]
    vals = [v for v in vals if np.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def pooled_auc(y, score) -> float:
    """ROC-AUC of all out-of-fold scores pooled (biased under grouped folds; for comparison only)."""
    y = np.asarray(y)
    return float(weighted_auc(y, score, np.ones((1, len(y))))[0])


def fold_auc_ci(y, score, folds, workers, n_resamples: int = 1000, seed: int = 0
                ) -> tuple[float, tuple[float, float]]:
    """Per-fold-mean AUC (``folds`` may encode seed and fold) with its worker-bootstrap interval."""
    y, score, folds = np.asarray(y), np.asarray(score, dtype=float), np.asarray(folds)
    inv, counts = worker_resamples(workers, n_resamples, seed)
    per = []
    for f in np.unique(folds):
        m = folds == f
        per.append(weighted_auc(y[m], score[m], counts[:, inv[m]]))
    with warnings.catch_warnings():  # a resample may leave a fold with one class: NaN, skipped
        warnings.simplefilter("ignore", RuntimeWarning)
        boots = np.nanmean(np.vstack(per), axis=0) if per else np.full(n_resamples, np.nan)
    return fold_auc(y, score, folds), _ci(boots)
