"""Preference pairs from IFLLM's pairwise queries, their label sources and the worker split.

Conventions (fixed here and pinned by ``tests/test_dpo.py``):

* ``right_preferred`` = 1 means the right pane (``llm_response_2``) was preferred, so a pair with
  label 1 has ``chosen = llm_response_2`` and ``rejected = llm_response_1``. The release's DPO code
  did the opposite (paper.md §5 item 6); :func:`reverse` reproduces that orientation as a control.
* Every pair is keyed by ``query_id``, never by prompt text, so repeated questions keep their own
  answers, labels and flip rates (§5 item 20).
* The prompt is the conversation as the left model saw it: the earlier turns (question, then the
  left pane's answer) and the current question, each with the hidden " respond using bullet
  points" suffix when the website added it (``adjustment`` = 1; §5 item 15). The right model saw
  its own answers as history, which one shared DPO prompt cannot represent.
* Reward-model labels come from the reward chapter's out-of-fold files
  ``results/oof/<model>.parquet`` (query_id, predicted label with 1 = right preferred, probability
  of the predicted label, model, fold). The flip rate is eps = clip(1 - max(p, 1 - p), 0, 0.45),
  whatever the file calls the probability (§5 item 7).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

#: Suffix the website appended to the question when ``adjustment`` = 1.
BULLET_SUFFIX = " respond using bullet points"
#: Label sources of the chapter, in table order.
LABEL_SOURCES = ("explicit", "text_rm", "if_rm", "text_if_rm", "random")
#: Reward-model label source -> model name of its OOF file in ``results/oof/``.
OOF_MODELS = {"text_rm": "text_embed", "if_rm": "if_rf", "text_if_rm": "text_if"}
#: Largest flip rate (the release's clip).
MAX_EPS = 0.45

PAIR_COLUMNS = ["query_id", "worker", "task_id", "turn", "prompt", "chosen", "rejected", "label",
                "eps", "source", "question", "response_1", "response_2", "right_preferred"]


def question_text(user_query: str, adjustment) -> str:
    """The question as the models received it (with the hidden bullet-point suffix when added)."""
    q = "" if user_query is None or pd.isna(user_query) else str(user_query).strip()
    return q + BULLET_SUFFIX if int(adjustment or 0) == 1 else q


def conversation_prompts(queries: pd.DataFrame, query_ids=None, max_context_turns: int = 2) -> pd.Series:
    """Chat messages for each query: up to ``max_context_turns`` earlier turns (question, left/only
    pane answer) and the current question. Indexed by ``query_id``."""
    q = queries.sort_values(["worker", "task_id", "turn"])
    keep = None if query_ids is None else set(int(i) for i in query_ids)
    out = {}
    for _, conv in q.groupby(["worker", "task_id"], sort=False):
        history: list[dict] = []
        for r in conv.itertuples(index=False):
            if keep is None or int(r.query_id) in keep:
                ctx = history[-2 * max_context_turns:] if max_context_turns > 0 else []
                out[int(r.query_id)] = [*ctx, {"role": "user", "content": question_text(r.user_query, r.adjustment)}]
            history = [*history, {"role": "user", "content": question_text(r.user_query, r.adjustment)},
                       {"role": "assistant", "content": "" if pd.isna(r.llm_response_1) else str(r.llm_response_1)}]
    return pd.Series(out, name="prompt", dtype=object)


def pairwise_rows(queries: pd.DataFrame) -> pd.DataFrame:
    """Pairwise queries usable as pairs: both answers shown and no LLM error (labelled or not)."""
    pw = queries[(queries["mode"] == "pairwise") & queries["llm_response_1"].notna()
                 & queries["llm_response_2"].notna() & ~queries["llm_error"].astype(bool)]
    return pw.reset_index(drop=True)


def split_workers(workers, test_share: float = 0.2, seed: int = 0, weights: pd.Series | None = None):
    """Seeded split of workers into (train, test) sets: workers in a random order go to test until
    ``test_share`` of the rows (``weights``: rows per worker) is reached."""
    w = sorted(set(map(str, workers)))
    rng = np.random.default_rng(seed)
    order = [w[i] for i in rng.permutation(len(w))]
    weights = pd.Series(1.0, index=w) if weights is None else weights.reindex(w).fillna(0).astype(float)
    total, test, acc = float(weights.sum()), [], 0.0
    for k in order:
        if acc >= test_share * total:
            break
        if acc + weights[k] > 1.5 * test_share * total and acc > 0:
            continue  # a very large worker would overshoot the share: leave it in train
        test.append(k)
        acc += weights[k]
    return sorted(set(w) - set(test)), sorted(test)


def eps_from_probability(p) -> np.ndarray:
    """Per-pair flip rate from the reward model's probability: clip(1 - max(p, 1 - p), 0, 0.45).

    >>> eps_from_probability([0.9, 0.2, 0.5, 1.0]).round(2).tolist()
    [0.1, 0.2, 0.45, 0.0]
    """
    p = np.asarray(p, dtype=float)
    return np.clip(1 - np.maximum(p, 1 - p), 0.0, MAX_EPS)


def oof_path(model: str, results_dir: str | os.PathLike[str] = "results") -> Path:
    """Where the reward chapter writes the out-of-fold predictions of ``model``."""
    return Path(results_dir) / "oof" / f"{model}.parquet"


def load_oof(model: str, results_dir: str | os.PathLike[str] = "results") -> pd.DataFrame | None:
    """Read ``results/oof/<model>.parquet`` as (query_id, label, probability, fold); None if absent.

    Accepts the predicted label as ``label``/``predicted_label``/``prediction`` and its probability
    as ``probability``/``confidence``. Raises ``ValueError`` naming the file on a malformed table.
    """
    path = oof_path(model, results_dir)
    if not path.is_file():
        return None
    t = pd.read_parquet(path)
    if "model" in t:
        t = t[t["model"].astype(str) == model]
    lab = next((c for c in ("label", "predicted_label", "prediction") if c in t), None)
    prob = next((c for c in ("probability", "confidence") if c in t), None)
    if "query_id" not in t or lab is None or prob is None:
        raise ValueError(f"{path}: needs columns query_id, label and probability; has {list(t.columns)}")
    out = pd.DataFrame({"query_id": t["query_id"].astype("int64"), "label": t[lab].astype("int64"),
                        "probability": t[prob].astype(float),
                        "fold": t["fold"].to_numpy() if "fold" in t else -1})
    if not out["label"].isin([0, 1]).all() or not out["probability"].between(0, 1).all():
        raise ValueError(f"{path}: labels must be 0/1 and probabilities in [0, 1]")
    if out["query_id"].duplicated().any():
        raise ValueError(f"{path}: duplicate query_id rows")
    return out.reset_index(drop=True)


def source_status(results_dir: str | os.PathLike[str] = "results") -> dict[str, str]:
    """``"ok"`` or a "not run: ..." reason per label source."""
    st = {}
    for s in LABEL_SOURCES:
        if s in OOF_MODELS and not oof_path(OOF_MODELS[s], results_dir).is_file():
            st[s] = f"not run: results/oof/{OOF_MODELS[s]}.parquet missing — run chapter 03"
        else:
            st[s] = "ok"
    return st


def labels_for(source: str, rows: pd.DataFrame, results_dir: str | os.PathLike[str] = "results",
               seed: int = 0) -> pd.DataFrame:
    """Labels (1 = right preferred) and flip rates of ``rows`` (pairwise rows) for one source.

    Returns query_id, label, eps; rows without a label from this source are left out.
    """
    if source == "explicit":
        d = rows[rows["right_preferred"].notna()]
        return pd.DataFrame({"query_id": d["query_id"].astype("int64").to_numpy(),
                             "label": d["right_preferred"].astype("int64").to_numpy(), "eps": 0.0})
    if source == "random":
        rng = np.random.default_rng(seed + 7919)
        d = rows[rows["right_preferred"].notna()]  # same pairs as explicit, labels by coin flip
        return pd.DataFrame({"query_id": d["query_id"].astype("int64").to_numpy(),
                             "label": rng.integers(0, 2, len(d)), "eps": 0.0})
    if source in OOF_MODELS:
        oof = load_oof(OOF_MODELS[source], results_dir)
        if oof is None:
            raise FileNotFoundError(source_status(results_dir)[source])
        d = oof[oof["query_id"].isin(rows["query_id"].astype("int64"))]
        return pd.DataFrame({"query_id": d["query_id"].to_numpy(), "label": d["label"].to_numpy(),
                             "eps": eps_from_probability(d["probability"].to_numpy())})
    raise ValueError(f"unknown label source {source!r}; expected one of {LABEL_SOURCES}")


def build_pairs(queries: pd.DataFrame, source: str, workers=None, results_dir="results", seed: int = 0,
                max_context_turns: int = 2) -> pd.DataFrame:
    """(prompt, chosen, rejected) pairs of ``source`` for the queries of ``workers`` (all if None).

    ``prompt`` is a list of chat messages; ``chosen``/``rejected`` are answer strings; ``label`` is
    the source's label (1 = right preferred, so chosen = ``llm_response_2``); ``eps`` the flip rate.
    """
    rows = pairwise_rows(queries)
    if workers is not None:
        rows = rows[rows["worker"].astype(str).isin(set(map(str, workers)))]
    lab = labels_for(source, rows, results_dir=results_dir, seed=seed)
    d = rows.merge(lab, on="query_id", how="inner", validate="one_to_one")
    right = d["label"].to_numpy() == 1
    r1, r2 = d["llm_response_1"].astype(str).to_numpy(), d["llm_response_2"].astype(str).to_numpy()
    prompts = conversation_prompts(queries, d["query_id"], max_context_turns=max_context_turns)
    out = pd.DataFrame({
        "query_id": d["query_id"].astype("int64").to_numpy(), "worker": d["worker"].astype(str).to_numpy(),
        "task_id": d["task_id"].to_numpy(), "turn": d["turn"].to_numpy(),
        "prompt": [prompts[int(i)] for i in d["query_id"]],
        "chosen": np.where(right, r2, r1), "rejected": np.where(right, r1, r2),
        "label": d["label"].astype("int64").to_numpy(), "eps": d["eps"].astype(float).to_numpy(),
        "source": source,
        "question": [question_text(u, a) for u, a in zip(d["user_query"], d["adjustment"])],
        "response_1": r1, "response_2": r2,
        "right_preferred": d["right_preferred"].astype("Int8").to_numpy(),
    })
    return out.sort_values("query_id").reset_index(drop=True)[PAIR_COLUMNS]


def reverse(pairs: pd.DataFrame) -> pd.DataFrame:
    """The release's orientation (§5 item 6): chosen and rejected swapped. A control only."""
    out = pairs.copy()
    out["chosen"], out["rejected"] = pairs["rejected"].to_numpy(), pairs["chosen"].to_numpy()
    out["source"] = pairs["source"].astype(str) + "_reversed"
    return out


def eval_prompts(queries: pd.DataFrame, workers, n: int | None = None, seed: int = 0,
                 max_context_turns: int = 2) -> pd.DataFrame:
    """Held-out generation prompts: pointwise-mode questions of ``workers`` (as the release used
    pointwise questions), seeded sample of ``n``. Columns query_id, worker, question, prompt."""
    pt = queries[(queries["mode"] == "pointwise") & queries["worker"].astype(str).isin(set(map(str, workers)))
                 & queries["user_query"].notna()]
    pt = pt.sort_values("query_id")
    if n is not None and n < len(pt):
        pt = pt.iloc[np.sort(np.random.default_rng(seed).choice(len(pt), n, replace=False))]
    prompts = conversation_prompts(queries, pt["query_id"], max_context_turns=max_context_turns)
    return pd.DataFrame({"query_id": pt["query_id"].astype("int64").to_numpy(),
                         "worker": pt["worker"].astype(str).to_numpy(),
                         "question": [question_text(u, a) for u, a in zip(pt["user_query"], pt["adjustment"])],
                         "prompt": [prompts[int(i)] for i in pt["query_id"]]}).reset_index(drop=True)
