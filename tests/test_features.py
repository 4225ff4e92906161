"""Per-query features on synthetic samples built in code."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ifl_utils import features as F


def _samples(rows):
    """rows: (query_id, epoch_ms, gaze_pane, gaze_pos, mouse_pane, mouse_pos); pane 0 = outside."""
    out = []
    for qid, t, gp, gpos, mp, mpos in rows:
        r = {"query_id": qid, "epoch": t, "valid": 1}
        for m, pane, pos in (("gaze", gp, gpos), ("mouse", mp, mpos)):
            for p in (1, 2):
                inside = pane == p
                r[f"{m}{p}_in"] = inside
                r[f"{m}{p}_pos"] = pos if inside else np.nan
                r[f"{m}{p}_x"] = 1.0 if inside else np.nan
        out.append(r)
    return pd.DataFrame(out)


def _queries(mode="pairwise"):
    return pd.DataFrame({"query_id": [10], "mode": [mode], "len_utf16_1": [100], "len_utf16_2": [200],
                         "user_query": [" why? "], "adjustment": [1],
                         "llm_response_1": ["a\n- b\n- c"], "llm_response_2": ["**x** y"],
                         "model_1": ["m1"], "model_2": ["m2"]})


def test_engaged_time_caps_gaps_and_shares():
    # gaze on the left for 0..3 s (gaps 1 s, 1 s, then a 5 s pause capped at 1 s), right at 8 s and 9 s
    s = _samples([(10, 0, 1, 0.1, 0, np.nan), (10, 1000, 1, 0.2, 0, np.nan), (10, 2000, 1, 0.3, 0, np.nan),
                  (10, 3000, 0, np.nan, 0, np.nan), (10, 8000, 2, 0.5, 2, 0.5), (10, 9000, 2, 0.9, 2, 1.5),
                  (-1, 500, 1, 0.9, 1, 0.9)])
    f = F.behaviour_features(s).loc[10]
    assert f["callbacks"] == 6                       # the query_id -1 sample is ignored
    assert f["gaze_left_engaged_s"] == pytest.approx(3.0)
    assert f["gaze_right_engaged_s"] == pytest.approx(1.0)   # last sample of the query adds no gap
    assert f["gaze_left_in_share"] == pytest.approx(3 / 6)
    assert f["gaze_left_pos_mean"] == pytest.approx(0.2)
    assert f["gaze_left_pos_max"] == pytest.approx(0.3)
    assert f["gaze_right_first_look_s"] == pytest.approx(8.0)
    assert f["mouse_right_text_share"] == pytest.approx(1 / 6)  # position 1.5 is not on the answer
    assert f["gaze_lr_engaged_diff"] == pytest.approx(-2.0)    # right minus left
    assert f["gaze_lr_last_pane"] == 1.0
    assert f["gaze_review_s"] == pytest.approx(9.0)
    assert f["mouse_review_s"] == pytest.approx(8.0)
    assert f["mouse_compose_s"] == pytest.approx(1.0)
    assert f["duration_s"] == pytest.approx(9.0)


def test_time_windows_and_own_query_only():
    s = _samples([(1, 0, 1, 0.0, 1, 0.0), (1, 1000, 1, 1.0, 1, 1.0),
                  (2, 5000, 1, 0.5, 1, 0.5), (2, 6000, 1, 0.5, 1, 0.5)])
    f = F.behaviour_features(s)
    assert f.loc[1, "gaze_left_win0"] == 0.0 and f.loc[1, f"gaze_left_win{F.N_WINDOWS - 1}"] == 1.0
    assert f.loc[2, "gaze_left_pos_mean"] == 0.5     # query 1's samples do not leak into query 2
    assert f.loc[1, "gm_pane_agree"] == 1.0


def test_text_features_and_pointwise_right_is_nan():
    q = _queries()
    t = F.text_features(q, llm_identity=True).loc[10]
    assert t["len_diff"] == 100 and t["query_len"] == 4 and t["bullet"] == 1
    assert t["bullets_left"] == 2 and t["bold_right"] == 1
    assert t["llm_m1"] == 1 and t["llm_m2"] == 2
    s = _samples([(10, 0, 1, 0.1, 1, 0.1), (10, 100, 2, 0.2, 2, 0.2)])
    f = F.query_features(s, _queries("pointwise")).set_index("query_id").loc[10]
    assert np.isnan(f["gaze_right_engaged_s"]) and np.isnan(f["gaze_lr_engaged_diff"])
    assert f["gaze_left_n"] == 1


def test_dictionary_covers_every_column():
    s = _samples([(10, 0, 1, 0.1, 1, 0.1), (10, 100, 2, 0.2, 2, 0.2)])
    f = F.query_features(s, _queries())
    d = F.feature_dictionary()
    assert set(f.columns) - {"query_id"} == set(d["name"])
    assert set(d["group"]) == {"gaze", "mouse", "cross", "text"}
    g = F.feature_groups(d["name"])
    assert all(g[n] == grp for n, grp in zip(d["name"], d["group"]))


def test_cli_features_on_synthetic_release(tmp_path, monkeypatch, capsys):
    import json

    from ifl_utils.cli import main
    from ifl_utils.data.synth import SynthConfig, make_release

    root = make_release(tmp_path / "release", SynthConfig(workers=2, turns=3, seed=2))
    monkeypatch.setenv("IFLLM_CACHE", str(tmp_path / "cache"))
    for out in (tmp_path / "f.parquet", tmp_path / "f.csv"):
        assert main(["features", "--data", str(root), "--out", str(out)]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["queries"] == 12 and out.is_file()
        assert (tmp_path / f"{out.stem}.quality.csv").is_file()
    t = pd.read_parquet(tmp_path / "f.parquet")
    assert set(F.feature_dictionary()["name"]) <= set(t.columns)
    assert (t["callbacks"].fillna(0) > 0).sum() > 0
    assert main(["features", "--data", str(root), "--out", str(tmp_path / "f.txt")]) == 2


def test_swap_panes_is_an_involution_and_negates_comparisons():
    X = pd.DataFrame({"gaze_left_n": [1.0], "gaze_right_n": [5.0], "gaze_lr_engaged_diff": [2.0],
                      "len_diff": [10.0], "query_len": [3.0], "gm_engaged_ratio_left": [0.5],
                      "gm_engaged_ratio_right": [2.0]})
    s = F.swap_panes(X)
    assert s.loc[0, "gaze_left_n"] == 5 and s.loc[0, "gaze_right_n"] == 1
    assert s.loc[0, "gaze_lr_engaged_diff"] == -2 and s.loc[0, "len_diff"] == -10
    assert s.loc[0, "query_len"] == 3 and s.loc[0, "gm_engaged_ratio_left"] == 2.0
    pd.testing.assert_frame_equal(F.swap_panes(s), X)
