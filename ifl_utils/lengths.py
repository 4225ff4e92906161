"""Answer-length tertiles, computed once and shared by the behaviour, reward and DPO chapters, and
the "longer answer wins" rule.

Lengths are UTF-16 code units of the displayed answer (what ``char_idx`` counts). Cut points are
the 1/3 and 2/3 quantiles over every displayed answer (one per query and pane, LLM-error answers
left out), as the release's figure scripts do with ``pd.qcut(q=3)`` over all turn-sides.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TERTILES = ("short", "medium", "long")


def answers_long(queries: pd.DataFrame) -> pd.DataFrame:
    """One row per displayed answer: ``query_id``, ``worker``, ``mode``, ``pane``, ``length``."""
    parts = []
    for p in (1, 2):
        d = queries[queries[f"llm_response_{p}"].notna() & ~queries[f"llm_error_{p}"].astype(bool)]
        parts.append(pd.DataFrame({"query_id": d["query_id"].to_numpy(), "worker": d["worker"].to_numpy(),
                                   "mode": d["mode"].to_numpy(), "pane": p,
                                   "length": d[f"len_utf16_{p}"].astype("float64").to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def tertile_cuts(queries: pd.DataFrame) -> tuple[float, float]:
    """The 1/3 and 2/3 quantiles of answer length over every displayed answer (UTF-16 units)."""
    lengths = answers_long(queries)["length"]
    return float(lengths.quantile(1 / 3)), float(lengths.quantile(2 / 3))


def length_tertile(lengths: pd.Series | np.ndarray, cuts: tuple[float, float]) -> pd.Categorical:
    """Label each length ``short`` / ``medium`` / ``long`` with the shared ``cuts``.

    >>> list(length_tertile([100, 1500, 3000], (1000, 2000)))
    ['short', 'medium', 'long']
    """
    lo, hi = cuts
    return pd.Categorical(pd.cut(np.asarray(lengths, dtype=float), [-np.inf, lo, hi, np.inf],
                                 labels=list(TERTILES), right=True), categories=list(TERTILES),
                          ordered=True)


def answer_tertiles(queries: pd.DataFrame) -> pd.DataFrame:
    """Per displayed answer (query_id, pane): its length and tertile (shared cut points)."""
    a = answers_long(queries)
    a["tertile"] = length_tertile(a["length"], tertile_cuts(queries))
    return a


def pair_tertile(queries: pd.DataFrame) -> pd.Series:
    """Per pairwise query (indexed by query_id): tertile of the pair's mean answer length."""
    pw = queries[queries["mode"] == "pairwise"]
    mean_len = (pw["len_utf16_1"].astype(float) + pw["len_utf16_2"].astype(float)) / 2
    return pd.Series(length_tertile(mean_len, tertile_cuts(queries)), index=pw["query_id"].to_numpy(),
                     name="tertile")


def longer_wins_share(chosen, rejected) -> float:
    """Share of pairs in which the chosen answer is the longer one ("the longer answer wins").

    Parameters
    ----------
    chosen, rejected
        The two answers of each pair (strings, aligned); length in characters.

    Returns
    -------
    float
        Agreement of the length rule with the choices, over the pairs whose answers differ in
        length (NaN when none do).
    """
    a = np.fromiter((len(s) for s in chosen), int)
    b = np.fromiter((len(s) for s in rejected), int)
    differ = a != b
    return float((a[differ] > b[differ]).mean()) if differ.any() else float("nan")
