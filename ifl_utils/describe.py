"""Descriptive statistics of the release for the dataset chapter (pure functions of the tables)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .data.exclusions import PAPER_EXCLUDED_WORKERS
from .stats import bootstrap_ci, gini, top_share

#: A line of an answer that starts a list item ("- ", "* ", "1. ", "• ").
BULLET_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)


def selection_levels(queries: pd.DataFrame, samples_per_query: pd.Series,
                     quality_excluded: set[str]) -> pd.DataFrame:
    """Return the dataset at each selection level (the paper's T1 and the §5 reconciliation).

    Parameters
    ----------
    queries
        ``Dataset.queries()``.
    samples_per_query
        Callbacks per query id (0 where none).
    quality_excluded
        Workers our quality rule excludes.

    Returns
    -------
    pandas.DataFrame
        One row per level: ``level``, ``workers``, ``conversations``, ``queries``, ``pairwise``,
        ``pointwise``, ``callbacks``.
    """
    paper = queries["worker"].astype(str).isin(PAPER_EXCLUDED_WORKERS)
    ours = queries["worker"].astype(str).isin(quality_excluded)
    folder = queries["has_folder"].astype(bool)
    levels = {
        "all queries": np.ones(len(queries), bool),
        "minus the paper's 24 excluded workers": ~paper,
        "with a behaviour folder": folder,
        "with a folder, minus the paper's 24": folder & ~paper,
        "with a folder, minus our quality rule": folder & ~ours,
    }
    rows = []
    for name, sel in levels.items():
        q = queries[np.asarray(sel)]
        rows.append({"level": name, "workers": q["worker"].nunique(),
                     "conversations": q.groupby(["worker", "task_id"]).ngroups,
                     "queries": len(q), "pairwise": int((q["mode"] == "pairwise").sum()),
                     "pointwise": int((q["mode"] == "pointwise").sum()),
                     "callbacks": int(samples_per_query.reindex(q["query_id"]).fillna(0).sum())})
    return pd.DataFrame(rows)


def model_table(queries: pd.DataFrame, n_resamples: int = 1000, random_state: int = 0) -> pd.DataFrame:
    """Per answering model: answers shown, pairwise appearances, wins and win rate (95 % CI).

    A model wins a pairwise turn when the worker preferred the pane it answered in. Turns with an
    LLM error or without a preference are left out of the win rate. CIs resample workers.
    """
    q = queries
    panes = []
    for p in (1, 2):
        part = q[q[f"model_{p}"].notna()][["worker", "query_id", "mode", f"model_{p}",
                                           f"likert_{p}", "right_preferred", "llm_error"]].copy()
        part.columns = ["worker", "query_id", "mode", "model", "likert", "right_preferred", "llm_error"]
        part["pane"] = p
        part["won"] = np.where(part["right_preferred"].isna(), np.nan,
                               (part["right_preferred"].astype("float") == (p == 2)).astype(float))
        panes.append(part)
    long = pd.concat(panes, ignore_index=True)
    rows = []
    for model, g in long.groupby("model"):
        pw = g[(g["mode"] == "pairwise") & g["won"].notna() & ~g["llm_error"].astype(bool)]
        if len(pw):
            est, (lo, hi) = bootstrap_ci(pw, lambda d: d["won"].mean(), n_resamples=n_resamples,
                                         random_state=random_state)
        else:
            est, lo, hi = np.nan, np.nan, np.nan
        rows.append({"model": model, "answers": len(g), "pairwise_answers": int((g["mode"] == "pairwise").sum()),
                     "mean_likert": float(g["likert"].astype(float).mean()),
                     "judged_pairs": len(pw), "win_rate": est, "ci_lo": lo, "ci_hi": hi,
                     "workers": pw["worker"].nunique()})
    return pd.DataFrame(rows).sort_values("answers", ascending=False).reset_index(drop=True)


def likert_table(queries: pd.DataFrame) -> pd.DataFrame:
    """Share of each Likert rating (1-5) by mode and pane, with n; rows = pane, columns = rating."""
    rows = []
    for mode, p, name in (("pointwise", 1, "pointwise"), ("pairwise", 1, "pairwise left"),
                          ("pairwise", 2, "pairwise right")):
        v = queries.loc[queries["mode"] == mode, f"likert_{p}"].dropna().astype(int)
        share = v.value_counts(normalize=True).reindex(range(1, 6), fill_value=0.0)
        rows.append({"answers": name, "n": len(v), **{str(k): float(share[k]) for k in range(1, 6)},
                     "top2": float(share[4] + share[5]), "mean": float(v.mean())})
    return pd.DataFrame(rows)


def preference_likert_agreement(queries: pd.DataFrame) -> dict[str, float]:
    """How often the forced choice agrees with the two Likert ratings of a pairwise turn.

    Returns
    -------
    dict
        ``rated_pairs`` (both Likert and a preference), ``ties`` (equal Likert), ``unequal``,
        ``agree`` (preference = the higher-rated side among unequal), ``agree_share``,
        ``contradict``.
    """
    pw = queries[(queries["mode"] == "pairwise") & queries["right_preferred"].notna()
                 & queries["likert_1"].notna() & queries["likert_2"].notna()]
    diff = pw["likert_2"].astype(int) - pw["likert_1"].astype(int)
    unequal = diff != 0
    agree = ((diff > 0) == (pw["right_preferred"].astype(int) == 1)) & unequal
    return {"rated_pairs": int(len(pw)), "ties": int((~unequal).sum()), "unequal": int(unequal.sum()),
            "agree": int(agree.sum()), "agree_share": float(agree.sum() / max(1, unequal.sum())),
            "contradict": int(unequal.sum() - agree.sum())}


def bullet_effect(queries: pd.DataFrame) -> pd.DataFrame:
    """Answers with and without the hidden " respond using bullet points" suffix.

    Returns
    -------
    pandas.DataFrame
        One row per ``adjustment`` value: answers, median length (UTF-16 units), share of answers
        with at least three list lines, mean Likert.
    """
    parts = []
    for p in (1, 2):
        d = queries[queries[f"llm_response_{p}"].notna() & ~queries[f"llm_error_{p}"].astype(bool)]
        parts.append(pd.DataFrame({"adjustment": d["adjustment"].astype(int),
                                   "length": d[f"len_utf16_{p}"].astype(float),
                                   "bullets": d[f"llm_response_{p}"].map(lambda t: len(BULLET_LINE.findall(t))),
                                   "likert": d[f"likert_{p}"].astype(float)}))
    a = pd.concat(parts, ignore_index=True)
    out = a.groupby("adjustment").agg(answers=("length", "size"), median_length=("length", "median"),
                                      listy_share=("bullets", lambda b: float((b >= 3).mean())),
                                      mean_likert=("likert", "mean")).reset_index()
    out["suffix"] = out["adjustment"].map({0: "no suffix", 1: "bullet-point suffix"})
    return out[["suffix", "answers", "median_length", "listy_share", "mean_likert"]]


def demographics(workers: pd.DataFrame) -> dict[str, pd.DataFrame | dict]:
    """Demographics of the workers with at least one query: gender, education, age summary."""
    w = workers[workers["queries"] > 0]
    age = pd.to_numeric(w["age"], errors="coerce")
    return {
        "gender": w["gender"].fillna("not given").value_counts().rename_axis("gender").reset_index(name="workers"),
        "education": w["education"].fillna("not given").value_counts().rename_axis("education").reset_index(name="workers"),
        "age": {"n": int(age.notna().sum()), "median": float(age.median()),
                "min": float(age.min()), "max": float(age.max())},
    }


def imbalance(per_worker: pd.Series, k: int = 5) -> dict[str, float]:
    """Concentration of a per-worker count: top-``k`` share and Gini coefficient."""
    v = per_worker[per_worker > 0]
    return {"workers": int(len(v)), "top_share": top_share(v, k), "gini": gini(v.to_numpy())}


def per_query_callbacks(queries: pd.DataFrame) -> dict[str, float]:
    """Callbacks per query among queries with a folder: p10, median, mean, p90, max."""
    c = queries.loc[queries["has_folder"].astype(bool), "callbacks"].astype(float)
    return {"n": int(len(c)), "p10": float(c.quantile(0.1)), "median": float(c.median()),
            "mean": float(c.mean()), "p90": float(c.quantile(0.9)), "max": float(c.max()),
            "none": int((c == 0).sum())}
