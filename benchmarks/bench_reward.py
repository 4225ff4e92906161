"""Reward-model benchmark: one fit + one prediction of each pairwise reward model of the book on the
full pairwise design (every pairwise query with a stated preference, a behaviour folder and no LLM
error, no worker excluded), from the warm caches. Prints one JSON object.

The models are those of :func:`ifl_utils.reward.models.model_zoo` (the chapter's settings: top-50
selection by RF importance inside ``fit`` for the implicit-feedback models): text-only ``length``
``text_embed`` (frozen MiniLM embeddings, logistic regression) and ``text_rf`` (the text features
with the forest and selection of ``text_if``), implicit-feedback ``if_rf``,
``if_gbt``, ``if_logreg`` and text + implicit feedback ``text_if``. The design matrix (features,
cached embeddings, rows) is built once and timed once (``design_s``); each model's fit and
predict_proba are timed ``repeat`` times and the medians are reported. ``grouped_protocol_s`` times
what the chapter does with them: one seed of the worker-grouped protocol (5 folds) over every
pairwise model of the zoo (the ablations included), median over ``repeat`` runs.

Run: ``ifl bench reward`` (or ``python -m benchmarks.bench_reward``), with ``IFLLM_DATA`` set.
The data cache is built first if needed; the embedding cache too (neither is timed as a fit).
Targets: every model fits and predicts in <= 5 s (``slowest_fit_predict_s``), and one seed of the
grouped protocol takes <= 60 s (``grouped_protocol_s``). The chapter's full mode runs the grouped
protocol with 5 seeds plus the paper protocol and the weak-point runs (some 35 fits of each of the
nine models); the book's budget is about an hour on 2 cores for all chapters together, which leaves
the pairwise models a few seconds per fit.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

from ifl_utils.benchmarks_report import machine_description

#: Models timed, text-only first (names of :func:`ifl_utils.reward.models.model_zoo`).
MODELS = ("length", "text_embed", "text_rf", "if_rf", "if_gbt", "if_logreg", "text_if")
#: Seconds allowed for one fit + predict of any one model on the full pairwise design.
TARGET_S = 5.0
#: Seconds allowed for one seed of the grouped protocol over every pairwise model.
TARGET_PROTOCOL_S = 60.0


def main(data: str | None = None, repeat: int = 3) -> dict:
    """Run the benchmark and return its JSON-ready result (medians over ``repeat`` runs)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from sklearn.base import clone

    from ifl_utils.data.api import Dataset
    from ifl_utils.features import load_query_features
    from ifl_utils.reward import embed, pipeline, protocols

    ds = Dataset(data, verify="fast", progress=False)
    ds.ensure()
    queries = ds.queries()
    emb_ids = queries.loc[queries["has_folder"] & ~queries["llm_error"], "query_id"].sort_values()
    embed.embedding_features(queries, emb_ids)  # fills the embedding cache if it is cold (not timed)
    t0 = time.perf_counter()
    feats = load_query_features(ds)
    embeddings = embed.embedding_features(queries, emb_ids)
    rows, X = pipeline.design(queries, feats, embeddings, "pairwise", ds.excluded("none"))
    design_s = time.perf_counter() - t0
    y = rows["y"].to_numpy()
    zoo = pipeline.models_for("pairwise")
    fit: dict[str, list[float]] = {m: [] for m in MODELS}
    pred: dict[str, list[float]] = {m: [] for m in MODELS}
    columns: dict[str, int] = {}
    proto: list[float] = []
    for _ in range(max(1, repeat)):
        for name in MODELS:
            model = clone(zoo[name])
            t0 = time.perf_counter()
            model.fit(X, y)
            t1 = time.perf_counter()
            model.predict_proba(X)
            t2 = time.perf_counter()
            fit[name].append(t1 - t0)
            pred[name].append(t2 - t1)
            columns[name] = len(model.columns_)
        t0 = time.perf_counter()
        protocols.run_protocol(zoo, X, rows, "grouped", seeds=(0,))
        proto.append(time.perf_counter() - t0)
    fit_s = {m: round(statistics.median(v), 3) for m, v in fit.items()}
    predict_s = {m: round(statistics.median(v), 3) for m, v in pred.items()}
    total = {m: round(statistics.median(a + b for a, b in zip(fit[m], pred[m])), 3) for m in MODELS}
    slowest = max(total, key=total.get)
    return {
        "benchmark": "reward",
        "machine": machine_description(),
        "repeat": repeat,
        "design": "pairwise, all workers (no exclusion); X = features + MiniLM embedding columns",
        "pairs": int(len(rows)),
        "workers": int(rows["worker"].nunique()),
        "design_columns": int(X.shape[1]),
        "model_columns": columns,
        "design_s": round(design_s, 3),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "fit_predict_s": total,
        "all_models_fit_predict_s": round(sum(total.values()), 3),
        "slowest_model": slowest,
        "slowest_fit_predict_s": total[slowest],
        "grouped_protocol_s": round(statistics.median(proto), 2),
        "grouped_protocol_runs_s": [round(x, 2) for x in proto],
        "grouped_protocol_models": sorted(zoo),
        "targets": {"slowest_fit_predict_s": TARGET_S, "grouped_protocol_s": TARGET_PROTOCOL_S},
        "meets_target": total[slowest] <= TARGET_S and statistics.median(proto) <= TARGET_PROTOCOL_S,
    }


if __name__ == "__main__":
    json.dump(main(os.environ.get("IFLLM_DATA")), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
