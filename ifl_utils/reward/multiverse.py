"""The analysis space of the pairwise reward models: every cell of protocol x exclusion list x seeds.

A *cell* is one defensible analysis: a fold scheme (:data:`PROTOCOLS`) and a worker-exclusion list
(:data:`EXCLUSIONS`). Within a cell every model sees the same pairs and the same folds (per seed);
the estimate is averaged over the cell's seeds. The verdicts of the book say in how many cells a
claim holds (a specification curve; Simonsohn, Simmons & Nelson 2020).

``paper`` (fold scheme)
    the release's row-wise ``KFold(5, shuffle=True)`` (first seed 49, the release's), top-50 feature
    selection once on all rows of the cell.
``grouped``
    ``StratifiedGroupKFold`` by worker (no worker in training and test), selection inside each
    training fold.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from . import protocols
from .metrics import fold_auc_ci, mean_ci, pooled_auc
from .models import with_columns

PROTOCOLS = ("paper", "grouped")
EXCLUSIONS = ("none", "quality", "paper")
#: Models of every cell (``text_finetuned`` runs through :mod:`.finetune`).
SPEC_MODELS = ("majority", "length", "text_embed", "text_rf", "text_finetuned", "if_rf", "text_if")
#: Paired differences computed in every cell.
DIFFS = (("text_if", "length"), ("text_if", "text_rf"))
PROTOCOL_LABEL = {"paper": "release KFold (row-wise), selection on all rows",
                  "grouped": "worker-grouped folds, selection in folds"}
EXCLUSION_LABEL = {"none": "no exclusion", "quality": "quality rule", "paper": "paper's 24 workers"}


def cell_seeds(protocol: str, n_seeds: int, seed: int = 0) -> tuple[int, ...]:
    """Seeds of a cell: the release's 49, 50, ... for ``paper``; ``seed``, ``seed + 1``, ... else."""
    first = protocols.PAPER_SEED if protocol == "paper" else seed
    return tuple(first + i for i in range(n_seeds))


def cell_folds(rows: pd.DataFrame, protocol: str, seed: int) -> np.ndarray:
    """Fold index per row of one cell and seed."""
    if protocol == "paper":
        return protocols.paper_folds(len(rows), seed=seed)
    if protocol == "grouped":
        return protocols.grouped_folds(rows["y"].to_numpy(), rows["worker"], seed=seed)
    raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")


#: Version of the cached out-of-fold tables of :func:`run_cell`; bump when their layout changes.
CELL_CACHE_VERSION = "cell-1"


def cell_key(models: dict, X: pd.DataFrame, rows: pd.DataFrame, protocol: str, seeds) -> str:
    """Cache key of one cell's scikit-learn out-of-fold scores: a hash of every model's parameters
    (deep), the model input ``X`` (values and columns), the rows (query, worker, label), the protocol
    and seeds, the scikit-learn and NumPy versions, and the source of this module, of
    :mod:`.protocols` and of :mod:`.models` (so a change to the code never reads a stale table)."""
    import sklearn

    from . import models as model_module

    spec = [CELL_CACHE_VERSION, protocol, [int(s) for s in seeds], sklearn.__version__, np.__version__,
            list(map(str, X.columns)),
            [(name, sorted((k, repr(v)) for k, v in m.get_params(deep=True).items()))
             for name, m in sorted(models.items())]]
    h = hashlib.sha256(json.dumps(spec).encode())
    h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(rows[["query_id", "worker", "y"]].astype({"worker": str}),
                                        index=False).to_numpy().tobytes())
    for mod in (protocols, model_module):
        h.update(Path(mod.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:20]


def _sklearn_oof(models: dict, X: pd.DataFrame, rows: pd.DataFrame, protocol: str, seeds) -> tuple[pd.DataFrame, dict]:
    """Out-of-fold scores of every model and seed (seed-major, models in order) and the columns the
    paper protocol selected per model."""
    y = rows["y"].to_numpy(float)
    recs, selected = [], {}
    for s in seeds:
        folds = cell_folds(rows, protocol, s)
        for name, model in models.items():
            m = clone(model).set_params(random_state=s)
            if protocol == "paper" and getattr(m, "select_k", None):
                cols = protocols.paper_selection(m, X, y, k=m.select_k, seed=s)
                selected.setdefault(name, cols)
                m = with_columns(m, cols)
            recs.append(pd.DataFrame({"query_id": rows["query_id"].to_numpy(), "model": name, "seed": s,
                                      "fold": folds, "score": protocols.oof_scores(m, X, y, folds)}))
    return pd.concat(recs, ignore_index=True), selected


def _cached_sklearn_oof(models: dict, X: pd.DataFrame, rows: pd.DataFrame, protocol: str, seeds,
                        cache_dir: Path) -> tuple[pd.DataFrame, dict]:
    """:func:`_sklearn_oof` read from, or written to, ``cache_dir/cell-<key>.parquet`` (the
    selected columns beside it as ``.json``); both written atomically, the table last."""
    from ..io import read_parquet, write_json_atomic, write_parquet_atomic

    key = cell_key(models, X, rows, protocol, seeds)
    table, sel = Path(cache_dir) / f"cell-{key}.parquet", Path(cache_dir) / f"cell-{key}.json"
    if table.is_file() and sel.is_file():
        return read_parquet(table), json.loads(sel.read_text(encoding="utf-8"))
    oof, selected = _sklearn_oof(models, X, rows, protocol, seeds)
    write_json_atomic(sel, {k: list(map(str, v)) for k, v in selected.items()})
    write_parquet_atomic(table, oof, index=False)
    return oof, selected


def run_cell(models: dict, X: pd.DataFrame, rows: pd.DataFrame, protocol: str, seeds,
             texts: pd.DataFrame | None = None, finetune_config=None,
             cache_dir: str | Path | None = None) -> protocols.Run:
    """Out-of-fold scores of ``models`` (and of ``text_finetuned`` when ``finetune_config`` is given)
    on one cell's rows, the same folds for every model within a seed.

    ``texts`` (query_id, user_query, llm_response_1, llm_response_2; aligned with ``rows``) feeds
    the fine-tuned model, which runs on the first seed's folds only (its fold scores are cached).
    With ``cache_dir`` the scikit-learn models' scores are cached there too (:func:`cell_key`); a
    cached cell gives the same table, row for row, as a computed one.
    """
    y = rows["y"].to_numpy(float)
    seeds = tuple(seeds)
    if cache_dir is None:
        sk, selected = _sklearn_oof(models, X, rows, protocol, seeds)
    else:
        sk, selected = _cached_sklearn_oof(models, X, rows, protocol, seeds, Path(cache_dir))
    recs, info = [sk[sk["seed"] == seeds[0]]], None
    if finetune_config is not None:   # after the first seed's models, as it always ran
        from .finetune import cached_oof_scores

        if texts is None or not (texts["query_id"].to_numpy() == rows["query_id"].to_numpy()).all():
            raise ValueError("run_cell: texts must be aligned with rows (same query_id order)")
        folds = cell_folds(rows, protocol, seeds[0])
        sc, info = cached_oof_scores(texts, y, folds, config=finetune_config, seed=seeds[0])
        recs.append(pd.DataFrame({"query_id": rows["query_id"].to_numpy(), "model": "text_finetuned",
                                  "seed": seeds[0], "fold": folds, "score": sc}))
    recs.append(sk[sk["seed"] != seeds[0]])
    run = protocols.Run(rows=rows[["query_id", "worker", "y"]].reset_index(drop=True),
                        oof=pd.concat(recs, ignore_index=True), task="classification", protocol=protocol,
                        selected=selected)
    run.finetune_info = info
    return run


def cell_table(run: protocols.Run, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per model of a cell: accuracy and per-fold-mean AUC with worker-bootstrap CIs, the
    pooled AUC (for comparison), pairs, workers and seeds. All models share the resamples."""
    out = []
    for m in run.oof["model"].unique():
        d = protocols.per_row(run, m)
        acc, acc_ci = mean_ci(d["correct"].to_numpy(), d["worker"].to_numpy(), n_resamples, seed)
        o = run.oof[run.oof["model"] == m]
        yw = run.rows.set_index("query_id").loc[o["query_id"]]
        auc, auc_ci = fold_auc_ci(yw["y"].to_numpy(), o["score"].to_numpy(),
                                  o["seed"].to_numpy() * 1000 + o["fold"].to_numpy(), yw["worker"].to_numpy(),
                                  n_resamples, seed)
        out.append({"model": m, "accuracy": acc, "acc_lo": acc_ci[0], "acc_hi": acc_ci[1], "auc": auc,
                    "auc_lo": auc_ci[0], "auc_hi": auc_ci[1],
                    "auc_pooled": pooled_auc(d["y"].to_numpy(), d["score"].to_numpy()),
                    "pairs": len(d), "workers": int(d["worker"].nunique()), "seeds": int(o["seed"].nunique())})
    return pd.DataFrame(out)


def cell_diffs(run: protocols.Run, pairs=DIFFS, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Paired accuracy differences ``a - b`` on the cell's pairs, worker-bootstrap CI."""
    out = []
    for a, b in pairs:
        da, db = protocols.per_row(run, a), protocols.per_row(run, b)
        est, ci = mean_ci((da["correct"] - db["correct"]).to_numpy(), da["worker"].to_numpy(), n_resamples, seed)
        out.append({"a": a, "b": b, "diff": est, "lo": ci[0], "hi": ci[1], "pairs": len(da),
                    "workers": int(da["worker"].nunique())})
    return pd.DataFrame(out)


def analysis_space(designs: dict, models: dict, n_seeds: int, texts: pd.DataFrame | None = None,
                   finetune_config=None, finetune_cells=None, extra_models: dict | None = None,
                   extra_cells=(("paper", "paper"), ("grouped", "quality")), n_resamples: int = 1000,
                   seed: int = 0, cells=None, cache_dir: str | Path | None = None,
                   ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Every cell of :data:`PROTOCOLS` x :data:`EXCLUSIONS`.

    Parameters
    ----------
    designs
        exclusion -> (rows, X) from :func:`.pipeline.design`.
    models
        Models run in every cell.
    n_seeds
        Seeds per cell (:func:`cell_seeds`).
    texts
        Pair texts per query (``query_id`` and the text columns), for ``text_finetuned``.
    finetune_config, finetune_cells
        Settings of ``text_finetuned`` and the (protocol, exclusion) cells it runs in (default: all).
    extra_models, extra_cells
        Further models run only in ``extra_cells`` (the ablations of the main table).
    cells
        The (protocol, exclusion) cells to run (default: all of them).
    cache_dir
        Folder caching each cell's scikit-learn out-of-fold scores (:func:`run_cell`); default:
        no cache, everything is fitted.

    Returns
    -------
    table, diffs, runs
        One row per (protocol, exclusion, model); one row per (protocol, exclusion, difference);
        the :class:`~.protocols.Run` of each cell.
    """
    tabs, difs, runs = [], [], {}
    for prot in PROTOCOLS:
        for excl in EXCLUSIONS:
            if cells is not None and (prot, excl) not in cells:
                continue
            rows, X = designs[excl]
            ms = dict(models)
            if extra_models and (prot, excl) in extra_cells:
                ms.update(extra_models)
            ft = finetune_config if finetune_cells is None or (prot, excl) in finetune_cells else None
            tx = None if texts is None else texts.set_index("query_id").loc[rows["query_id"]].reset_index()
            run = run_cell(ms, X, rows, prot, cell_seeds(prot, n_seeds, seed), texts=tx, finetune_config=ft,
                           cache_dir=cache_dir)
            runs[(prot, excl)] = run
            tabs.append(cell_table(run, n_resamples, seed).assign(protocol=prot, exclusion=excl))
            have = set(run.oof["model"])
            difs.append(cell_diffs(run, [d for d in DIFFS if set(d) <= have], n_resamples, seed)
                        .assign(protocol=prot, exclusion=excl))
    first = ["protocol", "exclusion"]
    table = pd.concat(tabs, ignore_index=True)
    diffs = pd.concat(difs, ignore_index=True)
    return table[first + [c for c in table if c not in first]], diffs[first + [c for c in diffs if c not in first]], runs


def robustness(diffs: pd.DataFrame, a: str, b: str) -> dict:
    """How the difference ``a - b`` behaves across cells: cells, cells with the CI above 0 / below 0
    / including 0, and the widest upper and lowest lower bound (accuracy, share of pairs)."""
    d = diffs[(diffs["a"] == a) & (diffs["b"] == b)]
    return {"cells": int(len(d)), "above_zero": int((d["lo"] > 0).sum()), "below_zero": int((d["hi"] < 0).sum()),
            "includes_zero": int(((d["lo"] <= 0) & (d["hi"] >= 0)).sum()),
            "positive_estimates": int((d["diff"] > 0).sum()),
            "max_upper": float(d["hi"].max()), "min_lower": float(d["lo"].min()),
            "min_diff": float(d["diff"].min()), "max_diff": float(d["diff"].max())}


#: Cells whose results also go under the chapter's older two-protocol names
#: (``pairwise/<model>/paper/...`` and ``pairwise/<model>/grouped/...``).
MAIN_CELLS = {("paper", "paper"): "paper", ("grouped", "quality"): "grouped"}


def result_rows(table: pd.DataFrame, diffs: pd.DataFrame, digits: int = 3) -> list[dict]:
    """What the chapter records, as keyword dicts for ``Chapter.record``.

    ``pairwise/<model>/<protocol>/<exclusion>/accuracy`` and ``.../auc`` (CI, n = workers),
    ``.../auc_pooled``; the main cells again under ``pairwise/<model>/<paper|grouped>/...``;
    ``pairwise/diff/<a>_minus_<b>/<protocol>/<exclusion>`` (paired, CI, n = workers); and
    ``pairwise/cells/<protocol>/<exclusion>/{pairs,workers,seeds}``.
    """
    r = lambda v: round(float(v), digits)  # noqa: E731
    out = []
    for _, t in table.iterrows():
        cell = f"{t['protocol']}/{t['exclusion']}"
        names = [f"pairwise/{t['model']}/{cell}"]
        if (t["protocol"], t["exclusion"]) in MAIN_CELLS:
            names.append(f"pairwise/{t['model']}/{MAIN_CELLS[(t['protocol'], t['exclusion'])]}")
        for base in names:
            out.append(dict(name=f"{base}/accuracy", value=r(t["accuracy"]), ci=(r(t["acc_lo"]), r(t["acc_hi"])),
                            n=int(t["workers"]), protocol=cell))
            out.append(dict(name=f"{base}/auc", value=r(t["auc"]), ci=(r(t["auc_lo"]), r(t["auc_hi"])),
                            n=int(t["workers"]), protocol=cell))
        out.append(dict(name=f"{names[0]}/auc_pooled", value=r(t["auc_pooled"]), n=int(t["workers"]), protocol=cell))
    for (p, e), g in table.groupby(["protocol", "exclusion"], sort=False):
        for k in ("pairs", "workers", "seeds"):
            out.append(dict(name=f"pairwise/cells/{p}/{e}/{k}", value=int(g[k].max())))
    for _, d in diffs.iterrows():
        cell = f"{d['protocol']}/{d['exclusion']}"
        out.append(dict(name=f"pairwise/diff/{d['a']}_minus_{d['b']}/{cell}", value=r(d["diff"]),
                        ci=(r(d["lo"]), r(d["hi"])), n=int(d["workers"]), protocol=cell))
    return out
