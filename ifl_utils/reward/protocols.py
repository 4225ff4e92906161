"""The two evaluation protocols, out-of-fold predictions, calibration and worker-bootstrap metrics.

``paper``
    the release's protocol: ``KFold(5, shuffle=True, random_state=49)`` over rows, top-50 features
    selected **once on all rows** (RF importance), the 24-worker exclusion. Kept to show how much
    it inflates accuracy (paper notes §5 items 1, 2).
``grouped``
    folds grouped by worker (``StratifiedGroupKFold`` for classes, ``GroupKFold`` for Likert), feature
    selection inside each training fold (a pipeline step), several seeds, exclusion by the quality
    rule. No worker is ever in both the training and the test fold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sstats
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold

from .models import TopKImportance, with_columns

PAPER_SEED = 49
N_SPLITS = 5


def paper_folds(n: int, n_splits: int = N_SPLITS, seed: int = PAPER_SEED) -> np.ndarray:
    """Fold index per row of the release's ``KFold(5, shuffle=True, random_state=49)``."""
    fold = np.empty(n, int)
    for i, (_, te) in enumerate(KFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(n))):
        fold[te] = i
    return fold


def grouped_folds(y, groups, seed: int = 0, n_splits: int = N_SPLITS, stratify: bool = True) -> np.ndarray:
    """Fold index per row with whole groups (workers) in one fold; stratified by ``y`` when asked."""
    y = np.asarray(y)
    groups = np.asarray(groups)
    n_splits = min(n_splits, len(np.unique(groups)))
    split = (StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed) if stratify
             else GroupKFold(n_splits, shuffle=True, random_state=seed))
    fold = np.empty(len(y), int)
    for i, (_, te) in enumerate(split.split(np.zeros(len(y)), y if stratify else None, groups)):
        fold[te] = i
    return fold


def paper_selection(model, X: pd.DataFrame, y, k: int = 50, seed: int = PAPER_SEED) -> list[str]:
    """The paper protocol's selection: top-``k`` of the model's candidate columns by RF importance on ALL rows."""
    cols = clone(model)._cols(X)
    sel = TopKImportance(k, task=model.task, random_state=seed).fit(
        X[cols].fillna(X[cols].median()).fillna(0).to_numpy(float), np.asarray(y))
    return [cols[i] for i in sel.support_]


def _score(fitted, X, task: str) -> np.ndarray:
    if task == "classification":
        proba = fitted.predict_proba(X)
        classes = list(fitted.classes_)
        return proba[:, classes.index(1.0)] if 1.0 in classes else np.zeros(len(X))
    return fitted.predict(X)


def oof_scores(model, X: pd.DataFrame, y, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold score per row (P(y = 1) for classification, the prediction for regression)."""
    y = np.asarray(y)
    out = np.full(len(y), np.nan)
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        m = clone(model).fit(X.iloc[np.flatnonzero(tr)], y[tr])
        out[te] = _score(m, X.iloc[np.flatnonzero(te)], model.task)
    return out


def calibrate_oof(score: np.ndarray, y, folds: np.ndarray) -> np.ndarray:
    """Cross-fitted Platt scaling: each fold's scores are calibrated on the other folds' OOF scores."""
    y = np.asarray(y)
    z = np.log(np.clip(score, 1e-6, 1 - 1e-6) / (1 - np.clip(score, 1e-6, 1 - 1e-6)))
    out = np.empty(len(y))
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        if len(np.unique(y[tr])) < 2 or np.ptp(z[tr]) == 0:
            out[te] = y[tr].mean() if np.ptp(z[tr]) == 0 else score[te]
            continue
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(z[tr, None], y[tr])
        out[te] = lr.predict_proba(z[te, None])[:, 1]
    return out


@dataclass
class Run:
    """OOF results of one protocol: a long table of (row, model, seed) with fold and score."""

    rows: pd.DataFrame        # query_id, worker, y
    oof: pd.DataFrame         # query_id, model, seed, fold, score
    task: str
    protocol: str
    selected: dict            # paper protocol: model -> selected columns


def run_protocol(models: dict, X: pd.DataFrame, rows: pd.DataFrame, protocol: str, seeds=(0,),
                 task: str = "classification", k: int = 50) -> Run:
    """Out-of-fold scores of every model on the same rows and folds under ``protocol``.

    ``X`` is indexed like ``rows`` (same order); ``rows`` has ``query_id``, ``worker``, ``y``.
    """
    y = rows["y"].to_numpy(float)
    recs = []
    selected = {}
    seeds = (PAPER_SEED,) if protocol == "paper" else tuple(seeds)
    for seed in seeds:
        if protocol == "paper":
            folds = paper_folds(len(y), seed=PAPER_SEED)
        elif protocol == "grouped":
            folds = grouped_folds(y, rows["worker"], seed=seed, stratify=task == "classification")
        else:
            raise ValueError(f"protocol must be 'paper' or 'grouped', got {protocol!r}")
        for name, model in models.items():
            m = clone(model).set_params(random_state=PAPER_SEED if protocol == "paper" else seed)
            if protocol == "paper" and getattr(m, "select_k", None):
                selected[name] = paper_selection(m, X, y, k=m.select_k)
                m = with_columns(m, selected[name])
            s = oof_scores(m, X, y, folds)
            recs.append(pd.DataFrame({"query_id": rows["query_id"].to_numpy(), "model": name, "seed": seed,
                                      "fold": folds, "score": s}))
    return Run(rows=rows[["query_id", "worker", "y"]].reset_index(drop=True),
               oof=pd.concat(recs, ignore_index=True), task=task, protocol=protocol, selected=selected)


def per_row(run: Run, model: str) -> pd.DataFrame:
    """Rows of ``run`` with the model's seed-averaged score and seed-averaged correctness."""
    o = run.oof[run.oof["model"] == model]
    d = o.assign(correct=((o["score"] > 0.5).astype(float)
                          == run.rows.set_index("query_id").loc[o["query_id"], "y"].to_numpy()).astype(float)
                 if run.task == "classification" else np.nan)
    agg = d.groupby("query_id", sort=False).agg(score=("score", "mean"), correct=("correct", "mean"))
    return run.rows.join(agg, on="query_id")


def _auc(d: pd.DataFrame) -> float:
    if d["y"].nunique() < 2:
        return float("nan")
    return float(roc_auc_score(d["y"], d["score"]))


def classification_metrics(run: Run, model: str, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Accuracy and ROC-AUC with 95 % CIs by bootstrap over workers.

    Accuracy: seed-averaged correctness per row, pooled over rows. AUC: computed **within each
    (seed, fold)** and averaged (:mod:`.metrics`); a constant predictor gets 0.5 in every fold.
    ``auc_pooled`` is the biased pooled out-of-fold AUC, kept for comparison.
    """
    from ..stats import bootstrap_ci
    from .metrics import fold_auc_ci, pooled_auc

    d = per_row(run, model)
    acc, acc_ci = bootstrap_ci(d, lambda x: x["correct"].mean(), n_resamples=n_resamples, random_state=seed)
    o = run.oof[run.oof["model"] == model]
    yw = run.rows.set_index("query_id").loc[o["query_id"]]
    auc, auc_ci = fold_auc_ci(yw["y"].to_numpy(), o["score"].to_numpy(),
                              o["seed"].to_numpy() * 1000 + o["fold"].to_numpy(), yw["worker"].to_numpy(),
                              n_resamples=n_resamples, seed=seed)
    per_seed = [float(((g["score"] > 0.5).astype(float).to_numpy()
                       == run.rows.set_index("query_id").loc[g["query_id"], "y"].to_numpy()).mean())
                for _, g in o.groupby("seed")]
    return {"accuracy": acc, "accuracy_ci": acc_ci, "auc": auc, "auc_ci": auc_ci,
            "auc_pooled": pooled_auc(d["y"].to_numpy(), d["score"].to_numpy()), "n": len(d),
            "workers": int(d["worker"].nunique()), "seed_sd": float(np.std(per_seed)) if len(per_seed) > 1 else 0.0}


def regression_metrics(run: Run, model: str, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Out-of-fold MSE, MAE, R², Spearman and Pearson (CIs for Spearman by worker bootstrap)."""
    from ..stats import bootstrap_ci

    d = per_row(run, model)
    err = d["score"] - d["y"]
    mse = float((err ** 2).mean())
    var = float(((d["y"] - d["y"].mean()) ** 2).mean())

    def spear(x):
        return float(sstats.spearmanr(x["score"], x["y"]).statistic) if x["score"].nunique() > 1 else float("nan")

    sp, sp_ci = bootstrap_ci(d, spear, n_resamples=n_resamples, random_state=seed)
    pe = float(np.corrcoef(d["score"], d["y"])[0, 1]) if d["score"].nunique() > 1 else float("nan")
    return {"mse": mse, "mae": float(err.abs().mean()), "r2": 1 - mse / var if var else float("nan"),
            "spearman": sp, "spearman_ci": sp_ci, "pearson": pe, "n": len(d), "workers": int(d["worker"].nunique())}


def paired_difference(run: Run, a: str, b: str, n_resamples: int = 2000, seed: int = 0) -> dict:
    """Accuracy of ``a`` minus ``b`` on the same rows, worker-bootstrap CI and two-sided p-value."""
    da, db = per_row(run, a), per_row(run, b)
    diff = (da["correct"] - db["correct"]).to_numpy()
    workers = da["worker"].to_numpy()
    uniq, inv = np.unique(workers, return_inverse=True)
    sums = np.bincount(inv, weights=diff)
    cnts = np.bincount(inv).astype(float)
    rng = np.random.default_rng(seed)
    boots = np.empty(n_resamples)
    for i in range(n_resamples):
        pick = rng.integers(0, len(uniq), len(uniq))
        boots[i] = sums[pick].sum() / cnts[pick].sum()
    est = float(diff.mean())
    lo, hi = np.quantile(boots, [0.025, 0.975])
    p = float(min(1.0, 2 * min((boots <= 0).mean(), (boots >= 0).mean())))
    return {"diff": est, "ci": (float(lo), float(hi)), "p": p, "n": len(diff), "workers": len(uniq)}


def oof_table(run: Run, model: str) -> pd.DataFrame:
    """The saved OOF file of one model (seed of the first run): query_id, predicted label,
    calibrated probability of that label, model, fold."""
    o = run.oof[(run.oof["model"] == model)]
    o = o[o["seed"] == o["seed"].min()].reset_index(drop=True)
    y = run.rows.set_index("query_id").loc[o["query_id"], "y"].to_numpy()
    p1 = calibrate_oof(o["score"].to_numpy(), y, o["fold"].to_numpy())
    label = (p1 > 0.5).astype(int)
    return pd.DataFrame({"query_id": o["query_id"].to_numpy(), "label": label,
                         "probability": np.where(label == 1, p1, 1 - p1), "model": model,
                         "fold": o["fold"].to_numpy()})


def write_oof(table: pd.DataFrame, path) -> None:
    """Write an OOF table to Parquet atomically."""
    from ..io import write_parquet_atomic

    write_parquet_atomic(path, table, index=False)
