"""Page sessions, display-time repair, the sample -> turn rule and the text check (§1.7, §2, §3)."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from ifl_utils.data import timeline as tl
from ifl_utils.data.schema import CALLBACKS, expand

EMOJI = "\U0001F600"


def callbacks(epoch, page_time, **cols) -> pd.DataFrame:
    """A tiny folder in the CALLBACKS schema; unspecified columns are NA/NaN."""
    n = len(epoch)
    data: dict[str, object] = {}
    for c in expand(CALLBACKS):
        if c.dtype == "string":
            data[c.name] = pd.array([None] * n, dtype="string")
        elif c.dtype in ("Int8", "Int32", "Int64"):
            data[c.name] = pd.array([None] * n, dtype=c.dtype)
        elif c.dtype == "bool":
            data[c.name] = np.ones(n, dtype=bool)
        else:
            data[c.name] = np.full(n, np.nan)
    df = pd.DataFrame(data)
    df["epoch"] = np.asarray(epoch, dtype=np.int64)
    df["page_time"] = np.asarray(page_time, dtype=np.float64)
    df["occ"] = df.groupby("page_time").cumcount().astype(np.int32)
    df["file_row"] = np.arange(n, dtype=np.int32)
    for k, v in cols.items():
        df[k] = pd.array(v, dtype=df[k].dtype)
    return df


# --------------------------------------------------------------------------------------------
# page sessions


def test_single_session_with_repeated_page_time_and_small_step_back():
    # page_time frozen while the tab is hidden (#11) and an out-of-order step < 5 s
    cb = callbacks([1000, 1100, 1200, 1300, 1400], [100, 200, 200, 200, 198])
    s, o = tl.page_sessions(cb)
    assert s.tolist() == [0] * 5 and o.tolist() == [900.0]


def test_sequential_reload():
    cb = callbacks([100_000, 100_100, 300_000, 300_100], [90_000, 90_100, 6_000, 6_100])
    s, o = tl.page_sessions(cb)
    assert s.tolist() == [0, 0, 1, 1]
    assert o.tolist() == [10_000.0, 294_000.0]


def test_sequential_reload_after_a_long_session():
    # the new load's page_time later passes the old session's last value; origin keeps it apart
    ep = [1_000_000, 1_010_000, 1_020_000, 1_220_000]
    pt = [200_000, 210_000, 5_000, 205_000]
    s, _ = tl.page_sessions(callbacks(ep, pt))
    assert s.tolist() == [0, 0, 1, 1]


def test_overlapping_sessions_interleaved():
    # two windows recording at once (worker_372230c5/186): page_times of both interleave
    ep = np.array([0, 100, 200, 300, 400, 500, 600]) + 1_000_000
    pt = [500_000, 500_100, 1_000, 500_300, 1_200, 500_500, 1_400]
    s, o = tl.page_sessions(callbacks(ep, pt))
    assert s.tolist() == [0, 0, 1, 0, 1, 0, 1]
    assert o.tolist() == [500_000.0, 1_000_200.0 - 1_000]


def test_sessions_ignore_row_order():
    cb = callbacks([100_000, 100_100, 300_000, 300_100], [90_000, 90_100, 6_000, 6_100])
    shuffled = cb.iloc[[2, 0, 3, 1]]
    s, _ = tl.page_sessions(shuffled)
    assert s.tolist() == [1, 0, 1, 0]


def test_sessions_empty():
    s, o = tl.page_sessions(callbacks([], []))
    assert len(s) == 0 and len(o) == 0


# --------------------------------------------------------------------------------------------
# turn rule


TURNS = pd.DataFrame({"query_id": [7, 8], "display_ms": [10_000, 20_000]})


def test_turn_boundary_is_display_plus_one_second():
    cb = callbacks([9_000, 10_999, 11_000, 20_999, 21_000], [0, 1_999, 2_000, 11_999, 12_000])
    assert tl.assign_turns(cb, TURNS).tolist() == [-1, -1, 7, 7, 8]
    # the boundary variant of the data reference's table
    assert tl.assign_turns(cb, TURNS, boundary_ms=0).tolist() == [-1, 7, 7, 8, 8]


def test_turn_reset_after_reload():
    # page loads at epoch 2_000 and again at 15_000: turn 7 was shown before the reload, so the
    # placeholder is on screen until turn 8 appears
    ep = [12_000, 14_000, 15_500, 20_500, 21_000, 22_000]
    pt = [10_000, 12_000, 500, 5_500, 6_000, 7_000]
    cb = callbacks(ep, pt)
    sess = tl.page_sessions(cb)
    assert sess[0].tolist() == [0, 0, 1, 1, 1, 1]
    assert tl.assign_turns(cb, TURNS, sess).tolist() == [7, 7, -1, -1, 8, 8]
    assert tl.assign_turns(cb, TURNS, sess, reset_at_reload=False).tolist() == [7, 7, 7, 7, 8, 8]


def test_turn_ignores_unknown_display_times_and_uses_given_times():
    turns = pd.DataFrame({"query_id": [7, 8, 9],
                          "display_ms": pd.array([10_000, None, 30_000], dtype="Int64")})
    cb = callbacks([11_000, 25_000, 31_000], [1_000, 15_000, 21_000])
    assert tl.assign_turns(cb, turns).tolist() == [7, 7, 9]
    rel_epoch = pd.array([10_500, 31_500, None], dtype="Int64")
    assert tl.assign_turns(cb, turns, times=rel_epoch).tolist() == [-1, 9, -1]


def test_turn_without_turns():
    cb = callbacks([11_000], [1_000])
    empty = pd.DataFrame({"query_id": pd.Series([], dtype="int64"),
                          "display_ms": pd.Series([], dtype="Int64")})
    assert tl.assign_turns(cb, empty).tolist() == [-1]


def test_normalised_positions():
    turns = pd.DataFrame({"query_id": [7], "len_utf16_1": pd.array([200], dtype="Int32"),
                          "len_utf16_2": pd.array([None], dtype="Int32")})
    cb = callbacks([1, 2, 3], [1, 2, 3], gaze1_char=[50, None, 400], mouse1_char=[0, 10, 10])
    pos = tl.normalised_positions(cb, np.array([7, 7, -1]), turns)
    assert pos["gaze1_pos"].tolist()[0] == 0.25 and np.isnan(pos["gaze1_pos"].iloc[1])
    assert np.isnan(pos["gaze1_pos"].iloc[2])  # placeholder
    assert pos["mouse1_pos"].tolist()[:2] == [0.0, 0.05]
    assert pos["gaze2_pos"].isna().all()


# --------------------------------------------------------------------------------------------
# text check


def test_text_match_window_bounds():
    text = "abcdefghijklmnopqrstuvwxyz"
    # window must lie inside text[c-10 : c+10]
    assert tl.text_match(["klmno"], [12], text).tolist() == [True]
    assert tl.text_match(["abcde"], [3], text).tolist() == [True]      # c < 10: from 0
    assert tl.text_match(["abcde"], [10], text).tolist() == [True]     # [0:20]
    assert tl.text_match(["abcde"], [15], text).tolist() == [False]    # [5:25]
    assert tl.text_match(["abcdef"], [16], text).tolist() == [False]   # [6:26]
    assert tl.text_match(["uvwxyz"], [10], text).tolist() == [False]   # [0:20]
    assert tl.text_match([None, "abc", ""], [1, None, 1], text).tolist() == [False, False, True]


def test_text_match_utf16_indexing_with_emoji():
    # the browser counts the emoji as 2 units: offsets after it are shifted by one
    text = "x" * 20 + EMOJI + "the end of it all"  # "the" starts at unit 22 (code point 21)
    # slice [26:46] in units starts exactly at "end"; in code points it would start at "nd"
    assert tl.text_match(["end of it all"], [36], text).tolist() == [True]
    assert "end of it all" not in text[26:46]
    assert tl.text_match(["it all"], [43], text).tolist() == [True]   # [33:53]
    assert tl.text_match([f"{EMOJI}the"], [21], text).tolist() == [True]
    assert tl.text_match(["xx" + EMOJI], [25], text).tolist() == [True]
    assert tl.text_match(["xx" + EMOJI], [40], text).tolist() == [False]


def test_match_matrix_dedupes_and_handles_absent():
    mm = tl.match_matrix(["abc", "abc", None, "zzz"], [1, 1, 2, 2], ["abcdef", "zzz", "abc"])
    assert mm.tolist() == [[True, False, True], [True, False, True], [False, False, False],
                           [False, True, False]]


def test_text_checks_placeholder_agreement_and_exclusive():
    turns = pd.DataFrame({"query_id": [7, 8], "display_ms": [10_000, 20_000],
                          "llm_response_1": ["alpha beta gamma delta", "shared words here"],
                          "llm_response_2": [None, None]})
    cb = callbacks(
        [5_000, 12_000, 21_500, 20_500, 22_000, 23_000],
        [0, 7_000, 16_500, 15_500, 17_000, 18_000],
        gaze1_window=["wait patiently", "beta gam", "beta gam", "shared", "nomatch", ""],
        gaze1_char=[44, 8, 8, 3, 3, 3],
        gaze1_epoch=[5_001, 12_001, 21_501, 20_501, 22_001, 23_001],
        mouse1_window=["shared", None, None, None, None, None],
        mouse1_char=[3, None, None, None, None, None],
        mouse1_epoch=[5_002, 0, 0, 0, 0, 0])
    ch = tl.text_checks(cb, turns)
    assert list(ch.columns) == list(tl.TEXT_CHECK_COLUMNS)
    g = ch[ch["modality"] == "gaze"].set_index("row")
    assert g.index.tolist() == [0, 1, 2, 3, 4]                 # "" is not a window
    assert g["turn"].tolist() == [-1, 7, 8, 7, 8]
    assert g["agree"].tolist() == [True, True, False, False, False]
    assert g["n_match"].tolist() == [1, 1, 1, 1, 0]
    assert g["exclusive"].tolist() == [-1, 7, 7, 8, pd.NA]
    m = ch[ch["modality"] == "mouse"]
    assert m["turn"].tolist() == [-1] and m["exclusive"].tolist() == [8]
    fig = tl.agreement(ch)
    assert fig[["windowed", "matched", "agree"]].iloc[0].tolist() == [6, 5, 2]
    by = tl.agreement(ch, ["modality"]).set_index("modality")
    assert by.at["gaze", "agreement_pct"] == pytest.approx(50.0)
    excl = tl.first_exclusive_matches(ch)
    assert excl.to_dict() == {7: 12_001, 8: 5_002}


def test_text_checks_pane_two_uses_right_answer():
    turns = pd.DataFrame({"query_id": [7], "display_ms": [10_000],
                          "llm_response_1": ["left text only"], "llm_response_2": ["right side"]})
    cb = callbacks([12_000, 12_100], [2_000, 2_100], gaze2_window=["right", "left"],
                   gaze2_char=[2, 2], gaze2_epoch=[12_000, 12_100])
    ch = tl.text_checks(cb, turns)
    assert ch["pane"].tolist() == [2, 2] and ch["agree"].tolist() == [True, False]


# --------------------------------------------------------------------------------------------
# display-time repair (#13, #14)


def _ms(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").timestamp() * 1000)


def test_shift_detection_and_imputation():
    rec0 = _ms("2025-09-09 13:50:00")
    turns = pd.DataFrame({
        "query_id": [1, 2, 3, 4, 5],
        "worker": pd.array(["w", "w", "w", "v", "v"], dtype="string"),
        "task_id": [1, 1, 1, 2, 2],
        # w/1: +4 h off and turn 1 invalid (far outside the recording); v/2: correct
        "time_raw_ms": pd.array([_ms("2025-09-09 15:50:00"), _ms("2025-09-09 17:55:00"),
                                 _ms("2025-09-09 17:57:00"), rec0 + 60_000, None],
                                dtype="Int64"),
        "llm_response_1": ["first answer text", "second answer", "third answer",
                           "vee one", "vee two words"],
        "llm_response_2": [None] * 5,
    })
    n = 5
    ep_w = rec0 + np.arange(n) * 100_000  # 13:50 ... 13:56:40
    cb_w = callbacks(ep_w, ep_w - rec0 + 1_000,
                     gaze1_window=["wait patiently", "answer text", "first answer", "second",
                                   "third"],
                     gaze1_char=[44, 8, 5, 3, 3], gaze1_epoch=ep_w + 7)
    ep_v = rec0 + np.arange(n) * 30_000
    cb_v = callbacks(ep_v, ep_v - rec0 + 1_000,
                     gaze1_window=[None, "vee", "two words", None, None],
                     gaze1_char=[None, 2, 9, None, None], gaze1_epoch=ep_v)
    folders = {("w", 1): cb_w, ("v", 2): cb_v}
    spans = tl.recording_spans(folders)
    assert spans.set_index("worker").at["w", "end_ms"] == ep_w[-1]
    assert tl.detect_shifted(turns, spans).tolist() == [True, True, True, False, False]
    out, counts = tl.repair_display_times(turns, folders)
    assert list(out.columns) == list(tl.DISPLAY_COLUMNS)
    assert out["invalid"].tolist() == [True, False, False, False, True]
    assert out["imputed"].tolist() == [True, False, False, False, True]
    # turn 1: the first window matching only its answer is row 1 (at its rel epoch), minus 1 s;
    # turn 5: "vee" matches turns 4 and 5, so the first exclusive match is row 2
    assert out["display_ms"].tolist() == [ep_w[1] + 7 - 1000, _ms("2025-09-09 13:55:00"),
                                          _ms("2025-09-09 13:57:00"), rec0 + 60_000,
                                          ep_v[2] - 1000]
    assert counts == {"shifted_conversations": 1, "shifted_turns": 3, "invalid_timestamps": 2,
                      "imputed": 2, "unresolved": 0}


def test_no_shift_without_recording():
    turns = pd.DataFrame({"query_id": [1], "worker": pd.array(["w"], dtype="string"),
                          "task_id": [1], "time_raw_ms": pd.array([5], dtype="Int64"),
                          "llm_response_1": ["a"], "llm_response_2": [None]})
    out, counts = tl.repair_display_times(turns, {})
    assert out["display_ms"].tolist() == [5] and not out["shifted"].any()
    assert counts["invalid_timestamps"] == 0


def test_assign_all():
    turns = pd.DataFrame({"query_id": [7, 8], "worker": ["w", "w"], "task_id": [1, 1],
                          "display_ms": [10_000, 20_000]})
    cb = callbacks([9_000, 12_000, 22_000], [0, 3_000, 13_000])
    out = tl.assign_all(turns, {("w", 1): cb, ("x", 9): cb})
    assert list(out) == [("w", 1)]
    assert out[("w", 1)]["turn"].tolist() == [-1, 7, 8]
    assert out[("w", 1)]["origin_ms"].tolist() == [9_000.0] * 3
    # sessions found elsewhere (the cache build's workers) are used as given
    pre = tl.assign_all(turns, {("w", 1): cb}, sessions={("w", 1): tl.page_sessions(cb)})
    pd.testing.assert_frame_equal(pre[("w", 1)], out[("w", 1)])
    moved = tl.assign_all(turns, {("w", 1): cb},
                          sessions={("w", 1): (np.zeros(3, dtype=np.int32), np.array([0.0]))})
    assert moved[("w", 1)]["origin_ms"].tolist() == [0.0] * 3


# --------------------------------------------------------------------------------------------
# real data: every callback of the release (needs the folder parser)


@pytest.fixture(scope="module")
def release(real_root):
    folder_mod = pytest.importorskip("ifl_utils.data.folder",
                                     reason="ifl_utils.data.folder (parse_folder) not available")
    from ifl_utils.data.tables import read_query_logs

    turns, _ = read_query_logs(real_root)
    folders = {}
    base = real_root / "user_behavior"
    for wdir in sorted(base.iterdir()):
        for tdir in sorted(wdir.iterdir()):
            cb, _, _ = folder_mod.parse_folder(tdir, f"user_behavior/{wdir.name}/{tdir.name}")
            folders[(wdir.name, int(tdir.name))] = cb
    return turns, folders


@pytest.fixture(scope="module")
def repaired(release):
    turns, folders = release
    disp, counts = tl.repair_display_times(turns, folders)
    return turns.join(disp), folders, counts


@pytest.mark.realdata
@pytest.mark.slow
def test_real_sessions(release):
    _, folders = release
    n = {k: len(tl.page_sessions(cb)[1]) for k, cb in folders.items()}
    assert sum(n.values()) == 466
    assert sorted(k for k, v in n.items() if v == 2) == [
        ("worker_372230c5", 186), ("worker_61e55ed0", 71), ("worker_b734ff9a", 317),
        ("worker_ea67330f", 291)]


@pytest.mark.realdata
@pytest.mark.slow
def test_real_display_times(repaired):
    turns, _, counts = repaired
    assert counts["shifted_conversations"] == 44 and counts["shifted_turns"] == 140
    assert counts["invalid_timestamps"] == 2 and counts["imputed"] == 2
    by = turns.set_index("query_id")
    assert by.at[230, "display_ms"] == 1757425862195
    assert by.at[443, "display_ms"] == 1757946178294


@pytest.mark.realdata
@pytest.mark.slow
def test_real_turn_assignment(repaired):
    turns, folders, _ = repaired
    t0 = time.perf_counter()
    out = tl.assign_all(turns, folders)
    elapsed = time.perf_counter() - t0
    assert len(out) == 456
    assert sum(len(a) for a in out.values()) == 1_829_010
    assert sum(int((a["turn"] == -1).sum()) for a in out.values()) == 230_195
    assert elapsed < 30  # a few seconds on a laptop; generous for CI


@pytest.fixture(scope="module")
def linked(repaired):
    """Per linked folder: callbacks with session/turn, and the text checks (with keys)."""
    turns, folders, _ = repaired
    groups = {(str(w), int(t)): g for (w, t), g in turns.groupby(["worker", "task_id"])}
    cbs, checks = [], []
    for k, cb in folders.items():
        if k not in groups:
            continue
        sess = tl.page_sessions(cb)
        turn = tl.assign_turns(cb, groups[k], sess)
        cbs.append(pd.DataFrame({"worker": k[0], "task_id": k[1], "session": sess[0],
                                 "turn": turn, "page_time": cb["page_time"].to_numpy(),
                                 "valid": cb["valid"].to_numpy()}))
        ch = tl.text_checks(cb, groups[k], sess)
        ch["worker"], ch["task_id"], ch["mode"] = k[0], k[1], groups[k]["mode"].iloc[0]
        checks.append(ch)
    return pd.concat(cbs, ignore_index=True), pd.concat(checks, ignore_index=True)


@pytest.mark.realdata
@pytest.mark.slow
def test_real_agreement(linked):
    _, checks = linked
    fig = tl.agreement(checks).iloc[0]
    assert (fig["windowed"], fig["matched"], fig["multi"], fig["agree"]) == (
        1_814_496, 1_738_671, 10_811, 1_731_690)
    assert round(fig["agreement_pct"], 3) == 99.598
    mod = tl.agreement(checks, ["modality"]).set_index("modality")
    assert mod["matched"].to_dict() == {"gaze": 945_914, "mouse": 792_757}
    assert round(mod.at["gaze", "agreement_pct"], 3) == 99.531
    mode = tl.agreement(checks, ["mode"]).set_index("mode")
    assert mode["matched"].to_dict() == {"pairwise": 1_116_321, "pointwise": 622_350}
    assert round(mode.at["pointwise", "agreement_pct"], 3) == 99.499


@pytest.mark.realdata
@pytest.mark.slow
def test_real_quality_rule(linked):
    from ifl_utils.data.exclusions import (PAPER_EXCLUDED_WORKERS, quality_exclusions,
                                           worker_quality)

    cbs, checks = linked
    m = worker_quality(cbs, checks)
    assert len(m) == 79 and int(m["callbacks"].sum()) == 1_829_010
    q = quality_exclusions(m)
    assert len(q) == 15
    assert len(set(q.index) & set(PAPER_EXCLUDED_WORKERS)) == 3
    assert not q["reasons"].str.contains(";").any()
