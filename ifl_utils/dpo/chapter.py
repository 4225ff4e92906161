"""Steps of the DPO chapter that are more than a call: the pair set, fold-local reward-model labels
(cached), the length trade-off table and the tuning of the positive control on an inner split."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import data as dpo_data
from .crossfit import CrossFit, CrossFitConfig
from .folds import FoldPlan, assign_folds, plan_folds
from .rm_labels import RM_SOURCES, fold_labels


def labelled_pairs(queries: pd.DataFrame, rm_rows: pd.DataFrame, max_context_turns: int = 0) -> pd.DataFrame:
    """Explicitly labelled pairs that also have a reward-model row (so every source can label them)."""
    p = dpo_data.build_pairs(queries, "explicit", max_context_turns=max_context_turns)
    return p[p["query_id"].isin(rm_rows["query_id"])].reset_index(drop=True)


def reward_design(ds, queries: pd.DataFrame, max_tokens: int | None = None):
    """``(rows, X)`` of the pairwise task over all workers (no exclusion), through the reward
    package's public API; embeddings of the pairwise queries (cached by ``reward.embed``).

    ``max_tokens`` truncates every text before embedding (default ``reward.embed.MAX_TOKENS``);
    quick mode passes a small value so the embedding pass stays short on a cold cache.
    """
    from ..features import load_query_features
    from ..reward import embed, pipeline

    feats = load_query_features(ds)
    pw = queries.loc[queries["mode"] == "pairwise", "query_id"].sort_values()
    emb = embed.embedding_features(queries, pw, max_tokens=max_tokens or embed.MAX_TOKENS)
    return pipeline.design(queries, feats, emb, "pairwise", set())


def rm_labels_all_folds(plan: FoldPlan, rows: pd.DataFrame, X: pd.DataFrame, folds, inner: int = 5,
                        seed: int = 0, cache: str | Path | None | bool = None) -> pd.DataFrame:
    """Reward-model labels of every outer fold's training pairs (fitted on its training workers only),
    cached on disk keyed by the folds, the model input and the code."""
    from sklearn import __version__ as skv

    from ..reward.models import model_zoo

    zoo = model_zoo("classification", random_state=seed)
    models = {s: zoo[m] for s, m in RM_SOURCES.items()}
    h = hashlib.sha256(json.dumps([plan.pairs["query_id"].tolist(), plan.pairs["fold"].tolist(),
                                   list(map(int, folds)), inner, seed, skv, sorted(RM_SOURCES.items()),
                                   [repr(models[s]) for s in sorted(models)]]).encode())
    h.update(pd.util.hash_pandas_object(rows[["query_id", "y"]], index=False).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(X.fillna(-999.0), index=False).to_numpy().tobytes())
    for mod in ("rm_labels.py", "chapter.py"):
        h.update((Path(__file__).parent / mod).read_bytes())
    path = None
    if cache is not False:
        if cache is None:
            from ..data.locate import cache_root

            cache = cache_root() / "dpo" / "crossfit"
        path = Path(cache) / f"rm-labels-{h.hexdigest()[:16]}.parquet"
        if path.is_file():
            from ..io import read_parquet

            return read_parquet(path)
    out = []
    for f in folds:
        train_workers = sorted(set(plan.pairs.loc[plan.pairs["fold"] != f, "worker"].astype(str)))
        lab = fold_labels(rows, X, train_workers, models, inner=inner, seed=seed)
        out.append(lab.assign(fold=int(f)))
    res = pd.concat(out, ignore_index=True)
    if path is not None:
        from ..io import write_parquet_atomic

        write_parquet_atomic(path, res)
    return res


def truncation_table(tok, pairs: pd.DataFrame, prompt_limits, answer_limits) -> pd.DataFrame:
    """Share of prompts / answers longer than each limit, and of pairs whose two answers both exceed
    it (their length difference is then invisible to the model)."""
    from .train import chat_text

    pl = np.array([len(tok(chat_text(tok, m), add_special_tokens=False)["input_ids"]) for m in pairs["prompt"]])
    a1 = np.array([len(tok(str(x), add_special_tokens=False)["input_ids"]) for x in pairs["response_1"]])
    a2 = np.array([len(tok(str(x), add_special_tokens=False)["input_ids"]) for x in pairs["response_2"]])
    rows = []
    for L in prompt_limits:
        rows.append({"what": "prompt", "limit (tokens)": L, "share cut": float((pl > L).mean())})
    for L in answer_limits:
        rows.append({"what": "answer", "limit (tokens)": L, "share cut": float((np.r_[a1, a2] >= L).mean()),
                     "pairs with both cut": float(((a1 >= L) & (a2 >= L)).mean())})
    t = pd.DataFrame(rows)
    t.attrs["median_prompt"] = float(np.median(pl))
    t.attrs["median_answer"] = float(np.median(np.r_[a1, a2]))
    return t


def inner_split(plan: FoldPlan, fold: int = 0, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (into ``plan.pairs`` sorted by query_id) of an inner training / validation split
    of ``fold``'s training workers (validation = one of ``k`` balanced worker groups)."""
    p = plan.pairs.sort_values("query_id").reset_index(drop=True)
    tr = p[p["fold"] != fold]
    sizes = tr.groupby(tr["worker"].astype(str)).size()
    g = tr["worker"].astype(str).map(assign_folds(sizes, k, seed + 11))
    val = tr.index[g.to_numpy() == 0].to_numpy()
    return tr.index[g.to_numpy() != 0].to_numpy(), val


def tune_control(cf: CrossFit, plan: FoldPlan, grid: list[dict], fold: int = 0, k: int = 5,
                 seed: int = 0) -> tuple[pd.DataFrame, CrossFitConfig]:
    """Run the positive control (explicit vs reversed) for each setting of ``grid`` on an inner split
    of ``fold``'s training workers; the chosen setting has the largest inner-validation control
    difference (first in grid order on a tie). No test pair of any outer fold's own test set is used
    for ``fold``; the chosen setting is then used for every fold."""
    from .crossfit import margins

    tr, val = inner_split(plan, fold, k, seed)
    rows = []
    for i, over in enumerate(grid):
        cfg = cf.cfg.replace(**over)
        res = {}
        for s in ("explicit", "explicit_reversed"):
            r = cf.run(s, fold, cfg, train_index=tr, test_index=val)
            res[s] = margins([r], cfg.beta)["correct"].mean()
            step_s = float(np.median([lg["seconds"] for lg in r["logs"]]))
        rows.append({"setting": i, **{k2: v for k2, v in over.items()}, "explicit": res["explicit"],
                     "reversed": res["explicit_reversed"], "control difference": res["explicit"] - res["explicit_reversed"],
                     "median step s": step_s})
    t = pd.DataFrame(rows)
    best = int(t["control difference"].to_numpy().argmax())
    t.attrs.update({"val_pairs": len(val), "train_pairs": len(tr),
                    "val_workers": int(plan.pairs.sort_values("query_id").reset_index(drop=True)
                                       .loc[val, "worker"].nunique())})
    return t, cf.cfg.replace(**grid[best])
