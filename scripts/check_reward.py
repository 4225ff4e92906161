"""Independent re-derivation of two headline numbers of the reward chapter (analysis practice §9).

Does **not** use the chapter's model code (``ifl_utils.reward``): it reads the per-query feature
table and the rows straight from the data API, builds its own worker-grouped folds and forests with
scikit-learn, and prints one JSON object with

* ``text_if - length`` (paired accuracy difference; worker-grouped folds, quality-rule exclusion,
  5 seeds) with a worker-bootstrap CI;
* ``if_rf`` accuracy in the same cell and in the release's cell (row-wise KFold, seeds 49-53, top 50
  selected once on all rows, the paper's 24-worker list).

Run: ``python scripts/check_reward.py`` with ``IFLLM_DATA`` set; compare with
``results/04_reward.json`` (``pairwise/diff/text_if_minus_length/grouped/quality``,
``pairwise/if_rf/grouped/quality/accuracy``, ``pairwise/if_rf/paper/paper/accuracy``).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedGroupKFold
from sklearn.preprocessing import StandardScaler

TEXT = ["len_left", "len_right", "len_diff", "len_logratio", "query_len", "bullet", "bullets_left", "bullets_right",
        "lines_left", "lines_right", "bold_left", "bold_right"]
LENGTH = ["len_left", "len_right", "len_diff", "len_logratio", "query_len"]


def pairs(ds, feats: pd.DataFrame, exclusion: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    q = ds.queries()
    q = q[(q["mode"] == "pairwise") & q["right_preferred"].notna() & ~q["llm_error"].astype(bool)
          & q["has_folder"].astype(bool) & ~q["worker"].astype(str).isin(ds.excluded(exclusion))]
    f = feats.set_index("query_id")
    q = q[q["query_id"].isin(f.index[f["callbacks"].fillna(0) > 0])].sort_values("query_id")
    return q[["query_id", "worker"]].assign(y=q["right_preferred"].astype(float).to_numpy()).reset_index(drop=True), \
        f.loc[q["query_id"]].reset_index(drop=True)


def if_columns(cols) -> list[str]:
    return [c for c in cols if c not in TEXT and c not in ("query_id",) and not c.startswith("llm_")]


def top_k(X: np.ndarray, y: np.ndarray, k: int, seed: int) -> np.ndarray:
    rf = RandomForestClassifier(n_estimators=200, max_depth=15, min_samples_split=10, min_samples_leaf=4,
                                max_features="sqrt", random_state=seed, n_jobs=1).fit(X, y)
    return np.sort(np.argsort(-rf.feature_importances_, kind="stable")[:k])


def forest(seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=100, max_depth=5, min_samples_split=5, min_samples_leaf=2,
                                  max_features="sqrt", random_state=seed, n_jobs=1)


def oof_forest(X: pd.DataFrame, y: np.ndarray, folds: np.ndarray, seed: int, fixed=None) -> np.ndarray:
    out = np.empty(len(y))
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        med = X[tr].median()
        Xtr, Xte = X[tr].fillna(med).fillna(0).to_numpy(), X[te].fillna(med).fillna(0).to_numpy()
        keep = fixed if fixed is not None else top_k(Xtr, y[tr], 50, seed)
        out[te] = forest(seed).fit(Xtr[:, keep], y[tr]).predict_proba(Xte[:, keep])[:, 1]
    return out


def oof_length(X: pd.DataFrame, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    out = np.empty(len(y))
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        med = X[tr].median()
        sc = StandardScaler().fit(X[tr].fillna(med))
        lr = LogisticRegression(C=0.1, max_iter=2000).fit(sc.transform(X[tr].fillna(med)), y[tr])
        out[te] = lr.predict_proba(sc.transform(X[te].fillna(med)))[:, 1]
    return out


def boot(values: np.ndarray, workers: np.ndarray, n: int = 1000, seed: int = 0) -> list[float]:
    w = pd.Series(values).groupby(workers)
    s, c = w.sum().to_numpy(), w.size().to_numpy()
    rng = np.random.default_rng(seed)
    b = [s[i].sum() / c[i].sum() for i in (rng.integers(0, len(s), len(s)) for _ in range(n))]
    return [round(float(np.quantile(b, 0.025)), 3), round(float(np.quantile(b, 0.975)), 3)]


def main() -> dict:
    from ifl_utils.data.api import Dataset
    from ifl_utils.features import load_query_features

    ds = Dataset(os.environ.get("IFLLM_DATA"), progress=False)
    feats = load_query_features(ds)
    out = {}
    rows, X = pairs(ds, feats, "quality")
    y, workers = rows["y"].to_numpy(), rows["worker"].astype(str).to_numpy()
    ifc = if_columns(X.columns)
    c_tif, c_len, c_if, c_tif2 = np.zeros(len(y)), np.zeros(len(y)), np.zeros(len(y)), np.zeros(len(y))
    seeds = range(5)
    for s in seeds:
        folds = np.empty(len(y), int)
        for i, (_, te) in enumerate(StratifiedGroupKFold(5, shuffle=True, random_state=s).split(X, y, workers)):
            folds[te] = i
        c_tif += (oof_forest(X[ifc + TEXT], y, folds, s) > 0.5) == y
        table_order = [c for c in X.columns if c in TEXT or c in ifc]      # the feature table's column order
        c_tif2 += (oof_forest(X[table_order], y, folds, s) > 0.5) == y
        c_len += (oof_length(X[LENGTH], y, folds) > 0.5) == y
        c_if += (oof_forest(X[ifc], y, folds, s) > 0.5) == y
    c_tif, c_len, c_if, c_tif2 = (c / len(seeds) for c in (c_tif, c_len, c_if, c_tif2))
    out["grouped/quality"] = {"pairs": len(y), "workers": int(len(set(workers))),
                              "text_if_minus_length": round(float((c_tif - c_len).mean()), 3),
                              "text_if_minus_length_ci": boot(c_tif - c_len, workers),
                              "if_rf_accuracy": round(float(c_if.mean()), 3), "if_rf_ci": boot(c_if, workers),
                              "text_if_accuracy": round(float(c_tif.mean()), 3),
                              "length_accuracy": round(float(c_len.mean()), 3),
                              "text_if_minus_length_table_order": round(float((c_tif2 - c_len).mean()), 3),
                              "text_if_minus_length_table_order_ci": boot(c_tif2 - c_len, workers)}
    rows, X = pairs(ds, feats, "paper")
    y, workers = rows["y"].to_numpy(), rows["worker"].astype(str).to_numpy()
    Xi = X[ifc]
    c = np.zeros(len(y))
    for s in range(49, 54):                        # the release's seed 49 and four more, as the chapter
        folds = np.empty(len(y), int)
        for i, (_, te) in enumerate(KFold(5, shuffle=True, random_state=s).split(X)):
            folds[te] = i
        keep = top_k(Xi.fillna(Xi.median()).fillna(0).to_numpy(), y, 50, s)    # once, on all rows (release)
        c_s = (oof_forest(Xi, y, folds, s, fixed=keep) > 0.5) == y
        if s == 49:
            seed49 = round(float(c_s.mean()), 3)
        c += c_s
    c /= 5
    out["paper/paper"] = {"pairs": len(y), "workers": int(len(set(workers))), "if_rf_accuracy_seed49": seed49,
                          "if_rf_accuracy": round(float(c.mean()), 3), "if_rf_ci": boot(c, workers)}
    return out


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
