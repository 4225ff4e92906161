"""Token budget of the DPO chapter's length limits."""
from __future__ import annotations

import numpy as np
import pandas as pd


def answer_tokens(tok, answers) -> np.ndarray:
    """Token count of each answer (no special tokens)."""
    return np.array([len(tok(str(a), add_special_tokens=False)["input_ids"]) for a in answers])


def token_ratio(lengths: np.ndarray, limit: int, base_limit: int) -> float:
    """Answer tokens a model sees at ``limit`` relative to ``base_limit`` (each answer cut at the
    limit, plus its end-of-turn token when it fits): the factor by which the per-answer cost grows.

    >>> token_ratio(np.array([10, 100]), 100, 10)
    5.0
    """
    def seen(L):
        return float(np.where(lengths < L, lengths + 1, L).sum())

    return seen(limit) / seen(base_limit)


def ratio_table(tok, pairs: pd.DataFrame, limits, base_limit: int) -> pd.Series:
    """:func:`token_ratio` of every limit in ``limits`` against ``base_limit`` over both answers of ``pairs``."""
    lens = answer_tokens(tok, list(pairs["response_1"]) + list(pairs["response_2"]))
    return pd.Series({int(L): token_ratio(lens, int(L), base_limit) for L in limits}, name="answer tokens vs chosen limit")
