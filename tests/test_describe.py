"""Descriptive statistics on hand-built tables (values computed by hand)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ifl_utils import describe
from ifl_utils.stats import bootstrap_ci, gini, top_share


def _queries():
    return pd.DataFrame({
        "query_id": [1, 2, 3, 4, 5],
        "worker": ["a", "a", "b", "b", "c"],
        "task_id": [1, 1, 3, 3, 2],
        "mode": ["pairwise"] * 4 + ["pointwise"],
        "model_1": ["m1", "m1", "m2", "m2", "m1"],
        "model_2": ["m2", "m2", "m1", "m1", None],
        "likert_1": pd.array([5, 3, 4, 4, 2], dtype="Int8"),
        "likert_2": pd.array([4, 5, 4, 2, pd.NA], dtype="Int8"),
        "right_preferred": pd.array([0, 1, 1, 0, pd.NA], dtype="Int8"),
        "llm_error": [False] * 5,
        "has_folder": [True, True, True, False, True],
        "callbacks": [10, 0, 30, 0, 50],
    })


def test_preference_likert_agreement():
    a = describe.preference_likert_agreement(_queries())
    # q1: L5>R4, chose left -> agree; q2: R higher, chose right -> agree; q3 tie; q4: L4>R2, chose left -> agree
    assert a == {"rated_pairs": 4, "ties": 1, "unequal": 3, "agree": 3, "agree_share": 1.0, "contradict": 0}


def test_model_table_wins():
    t = describe.model_table(_queries(), n_resamples=50).set_index("model")
    # m1 is left in q1, q2 (won q1) and right in q3, q4 (won q3): 2 of 4
    assert t.loc["m1", "win_rate"] == 0.5 and t.loc["m1", "judged_pairs"] == 4
    assert t.loc["m1", "answers"] == 5 and t.loc["m2", "answers"] == 4


def test_selection_levels():
    q = _queries()
    lv = describe.selection_levels(q, q.set_index("query_id")["callbacks"], {"c"}).set_index("level")
    assert lv.loc["all queries", "queries"] == 5 and lv.loc["all queries", "callbacks"] == 90
    assert lv.loc["with a behaviour folder", "queries"] == 4
    assert lv.loc["with a folder, minus our quality rule", "workers"] == 2


def test_likert_table_shares_sum_to_one():
    t = describe.likert_table(_queries())
    assert np.allclose(t[["1", "2", "3", "4", "5"]].sum(axis=1), 1.0)
    assert t.loc[t["answers"] == "pairwise left", "n"].item() == 4


def test_bullet_lines():
    assert len(describe.BULLET_LINE.findall("- a\n* b\n1. c\nplain\n2) d")) == 4


def test_stats_helpers():
    assert gini([5, 5, 5]) == 0.0
    assert gini([0, 0, 10]) == pytest.approx(2 / 3)
    assert top_share(pd.Series([1, 1, 8]), k=1) == 0.8
    d = pd.DataFrame({"worker": ["a"] * 3 + ["b"] * 3, "y": [1, 1, 1, 0, 0, 0]})
    est, (lo, hi) = bootstrap_ci(d, lambda x: x["y"].mean(), n_resamples=300, random_state=1)
    assert est == 0.5 and lo == 0.0 and hi == 1.0   # only two workers: resamples give 0, .5 or 1
    with pytest.raises(ValueError, match="needs a 'worker' column"):
        bootstrap_ci(d.drop(columns="worker"), lambda x: 0.0)
