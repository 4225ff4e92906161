"""What the reward chapter runs: model tables of each task and protocol, T2/T3 rows, importance.

Keeps the notebook to narration: each function returns a tidy DataFrame.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import accuracy_score

from ..features import feature_groups
from . import labels, protocols
from .models import model_zoo

PAIRWISE_MODELS = ("majority", "length", "text_embed", "text_rf", "text_finetuned", "if_rf", "if_gbt", "if_logreg",
                   "text_if", "if_minus_gaze", "if_minus_mouse")
TEXT_ONLY = ("length", "text_embed", "text_rf", "text_finetuned")
IF_MODELS = ("if_rf", "if_gbt", "if_logreg", "text_if")
POINTWISE_MODELS = ("majority", "length", "text_embed", "if_rf", "if_gbt", "text_if")


def design(queries: pd.DataFrame, features: pd.DataFrame, embeddings: pd.DataFrame, task: str,
           excluded: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows (query_id, worker, task_id, y) and the wide model input ``X`` (same order) of ``task``."""
    q = queries[~queries["worker"].astype(str).isin(excluded)]
    rows = labels.task_rows(q, task, features)
    X = features.set_index("query_id").loc[rows["query_id"]]
    X = X.join(embeddings, how="left").reset_index(drop=True)
    if task != "pairwise":  # no right pane, no pair comparisons
        X = X.drop(columns=[c for c in X.columns if "_right" in c or "_lr_" in c or c in
                            ("len_diff", "len_logratio")])
    return rows, X


def models_for(task: str, select_k: int = 50) -> dict:
    """The sklearn models of a task (``text_finetuned`` is handled separately)."""
    kind = "regression" if task == "likert" else "classification"
    zoo = model_zoo(kind, select_k=select_k)
    if task == "pairwise":
        return zoo
    return {k: v for k, v in zoo.items() if k in POINTWISE_MODELS}


def classification_table(run: protocols.Run, n_resamples: int, seed: int = 0) -> pd.DataFrame:
    """One row per model: accuracy, per-fold-mean AUC (95 % worker-bootstrap CIs), n, workers."""
    out = []
    for m in run.oof["model"].unique():
        r = protocols.classification_metrics(run, m, n_resamples=n_resamples, seed=seed)
        out.append({"model": m, "protocol": run.protocol, "accuracy": r["accuracy"],
                    "acc_lo": r["accuracy_ci"][0], "acc_hi": r["accuracy_ci"][1], "auc": r["auc"],
                    "auc_lo": r["auc_ci"][0], "auc_hi": r["auc_ci"][1], "seed_sd": r["seed_sd"],
                    "n": r["n"], "workers": r["workers"]})
    return pd.DataFrame(out)


def regression_table(run: protocols.Run, n_resamples: int, seed: int = 0) -> pd.DataFrame:
    """One row per model: out-of-fold MSE, MAE, R², Spearman (CI), Pearson."""
    out = []
    for m in run.oof["model"].unique():
        r = protocols.regression_metrics(run, m, n_resamples=n_resamples, seed=seed)
        if m == "majority":  # a constant prediction has no rank correlation
            r["spearman"], r["spearman_ci"], r["pearson"] = float("nan"), (float("nan"), float("nan")), float("nan")
        out.append({"model": m, "protocol": run.protocol, "mse": r["mse"], "mae": r["mae"], "r2": r["r2"],
                    "spearman": r["spearman"], "sp_lo": r["spearman_ci"][0], "sp_hi": r["spearman_ci"][1],
                    "pearson": r["pearson"], "n": r["n"], "workers": r["workers"]})
    return pd.DataFrame(out)


def heldout_importance(model, X: pd.DataFrame, rows: pd.DataFrame, tertile: pd.Series, seed: int = 0,
                       n_repeats: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Permutation importance on held-out worker-grouped folds.

    Returns (per feature: mean accuracy drop over folds and repeats, with its group) and (per answer
    length tertile and feature group: accuracy drop when the whole group is permuted jointly).
    """
    y = rows["y"].to_numpy()
    folds = protocols.grouped_folds(y, rows["worker"], seed=seed)
    rng = np.random.default_rng(seed)
    feat_drop: dict[str, list[float]] = {}
    grp_rows = []
    terts = tertile.reindex(rows["query_id"]).to_numpy()
    for f in np.unique(folds):
        tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        m = clone(model).set_params(random_state=seed).fit(X.iloc[tr], y[tr])
        cols = m.columns_
        Xte = X.iloc[te][cols].reset_index(drop=True)
        yte = y[te]
        base = accuracy_score(yte, m.predict(Xte))
        for c in m.selected_columns():
            drops = []
            for _ in range(n_repeats):
                Xp = Xte.copy()
                Xp[c] = rng.permutation(Xp[c].to_numpy())
                drops.append(base - accuracy_score(yte, m.predict(Xp)))
            feat_drop.setdefault(c, []).append(float(np.mean(drops)))
        groups = feature_groups(cols)
        for t in ("short", "medium", "long"):
            sub = np.flatnonzero(terts[te] == t)
            if len(sub) < 5:
                continue
            Xs, ys = Xte.iloc[sub].reset_index(drop=True), yte[sub]
            b = accuracy_score(ys, m.predict(Xs))
            for g in sorted(set(groups.values())):
                gc = [c for c in cols if groups[c] == g]
                drops = []
                for _ in range(n_repeats):
                    Xp = Xs.copy()
                    perm = rng.permutation(len(Xp))
                    Xp[gc] = Xp[gc].to_numpy()[perm]
                    drops.append(b - accuracy_score(ys, m.predict(Xp)))
                grp_rows.append({"fold": f, "tertile": t, "group": g, "drop": float(np.mean(drops)),
                                 "n": len(sub)})
    nf = len(np.unique(folds))
    fi = pd.DataFrame({"feature": list(feat_drop),
                       # a feature not selected in a fold contributes 0 there
                       "importance": [sum(v) / nf for v in feat_drop.values()],
                       "folds_selected": [len(v) for v in feat_drop.values()]})
    fi["group"] = fi["feature"].map(feature_groups(fi["feature"]))
    fi = fi.sort_values(["importance", "feature"], ascending=[False, True]).reset_index(drop=True)
    g = pd.DataFrame(grp_rows)
    gi = (g.assign(w=g["drop"] * g["n"]).groupby(["tertile", "group"], sort=False)
          .agg(w=("w", "sum"), n=("n", "sum")).reset_index())
    gi["importance"] = gi["w"] / gi["n"]
    return fi, gi.drop(columns="w")


def conversation_constant_share(features: pd.DataFrame, rows: pd.DataFrame, columns) -> float:
    """Share of ``columns`` whose value is the same for every turn of every multi-turn conversation
    in ``rows`` (the release's phase features all were: conversation fingerprints, notes §5 item 3)."""
    d = features.set_index("query_id").loc[rows["query_id"], list(columns)]
    d = d.assign(_conv=(rows["worker"].astype(str) + "/" + rows["task_id"].astype(str)).to_numpy())
    multi = d.groupby("_conv")["_conv"].transform("size") > 1
    d = d[multi.to_numpy()]
    const = d.groupby("_conv")[list(columns)].nunique(dropna=False).le(1).all()
    return float(const.mean())


def weak_point_runs(models: dict, X: pd.DataFrame, rows: pd.DataFrame, seed: int = 0) -> dict:
    """Extra runs that isolate two weak points of the release under its own row-wise KFold.

    ``kfold_infold``: the IF forest with selection inside each training fold (item 2 isolated).
    ``if_rf_plus_lengths``: the IF forest with the three length columns the release counted as IF
    (item 4), selection once on all rows as released.
    """
    from .models import FeatureClassifier

    folds = protocols.paper_folds(len(rows))
    y = rows["y"].to_numpy(float)
    m = clone(models["if_rf"]).set_params(random_state=protocols.PAPER_SEED)
    s_infold = protocols.oof_scores(m, X, y, folds)
    plus = FeatureClassifier(groups=("gaze", "mouse", "cross", "len_left", "len_right", "query_len"),
                             learner="rf", select_k=50, random_state=protocols.PAPER_SEED)
    run_plus = protocols.run_protocol({"if_rf_plus_lengths": plus}, X, rows, "paper")
    oof = pd.concat([pd.DataFrame({"query_id": rows["query_id"].to_numpy(), "model": "kfold_infold",
                                   "seed": protocols.PAPER_SEED, "fold": folds, "score": s_infold}),
                     run_plus.oof], ignore_index=True)
    return protocols.Run(rows=rows[["query_id", "worker", "y"]].reset_index(drop=True), oof=oof,
                         task="classification", protocol="paper", selected=run_plus.selected)


def judge_rows(client, queries: pd.DataFrame, rows: pd.DataFrame, max_pairs: int | None = None,
               seed: int = 0) -> pd.DataFrame:
    """LLM-judge P(right preferred) for (a seeded sample of) the pairwise ``rows``, both orders each.

    Returns ``rows`` (the judged subset) with ``score``; pairs the judge could not answer are dropped
    and counted in ``attrs['failed']``.
    """
    from .judge import JudgeError

    r = rows if max_pairs is None or len(rows) <= max_pairs else rows.sample(max_pairs, random_state=seed)
    q = queries.set_index("query_id")
    scores, failed = [], 0
    for qid in r["query_id"]:
        row = q.loc[qid]
        try:
            scores.append(client.judge_pair(str(row["user_query"]).strip(), str(row["llm_response_1"]),
                                            str(row["llm_response_2"])))
        except JudgeError:
            scores.append(np.nan)
            failed += 1
    out = r.assign(score=scores).dropna(subset=["score"]).reset_index(drop=True)
    out.attrs["failed"] = failed
    return out
