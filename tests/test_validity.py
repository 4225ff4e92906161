"""Measurement validity of the webcam gaze (ifl_utils.validity): unit tests on tiny inputs, the
simulation checks of issue #20 item 6 (a planted lag and weight are recovered; independent gaze
shows no lead-lag peak), and real-data checks when IFLLM_DATA is set."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ifl_utils.validity import agreement, cursor, distance, explained, leadlag
from ifl_utils.validity import models as vmodels
from ifl_utils.validity import simulate as sim
from ifl_utils.validity.boot import worker_ci

LAG_S = 0.3
WEIGHT = 0.6
RATE_HZ = 13.0
CALLBACK_S = 1 / RATE_HZ       # "within one callback"
WEIGHT_TOL = 0.1               # the stated tolerance for the recovered weight


def _prepared(pull: str, workers: int = 12, seed: int = 1, **kw) -> pd.DataFrame:
    s = sim.simulate(workers, pull=pull, seed=seed, weight=WEIGHT, lag_s=LAG_S, rate_hz=RATE_HZ, **kw)
    return cursor.add_baseline(cursor.prepare(s))


@pytest.fixture(scope="module")
def constant():
    return _prepared("constant")


@pytest.fixture(scope="module")
def moves():
    return _prepared("moves")


@pytest.fixture(scope="module")
def independent():
    return _prepared("none")


# --- small pieces -------------------------------------------------------------------------------

def test_time_since_move_resets_per_segment_and_ignores_unknown_cursor():
    seg = np.array([0, 0, 0, 1, 1, 1])
    t = np.array([0., 100, 250, 0, 100, 200])
    x = np.array([5., 6, 6, 6, 6, 7])
    y = np.zeros(6)
    out = cursor.time_since_move(seg, t, x, y)
    # segment 1 starts without a move, although its first position differs from segment 0's last
    assert np.isnan(out[0]) and out[1] == 0 and out[2] == pytest.approx(0.15)
    assert np.isnan(out[3]) and np.isnan(out[4]) and out[5] == 0
    x[2] = np.nan
    assert np.isnan(cursor.time_since_move(seg, t, x, y)[2])


def test_since_bins_cover_the_issue_edges():
    b = distance.since_bin([0, 0.05, 0.1, 0.2, 0.4, 0.9, 1.5, 3, 7, 11])
    assert b.tolist() == [0, 1, 1, 2, 3, 4, 5, 6, 7, 8]   # bins are (lower, upper]
    assert len(distance.LABELS) == len(distance.LOWER) == 9


def test_baseline_cursor_comes_from_another_query_at_the_same_relative_time():
    df = pd.DataFrame({"worker": "w", "task_id": 1, "session": 0, "query_id": [1, 1, 1, 2, 2, 2],
                       "rel_t": [0, 0.5, 1, 0, 0.5, 1], "mouse_x": [1., 2, 3, 10, 20, 30], "mouse_y": 0.0})
    bx, _ = cursor.baseline_cursor(df, {1: 2, 2: 1})
    assert bx.tolist() == [10, 20, 30, 1, 2, 3]
    bx, _ = cursor.baseline_cursor(df, {})
    assert np.isnan(bx).all()


def test_lagged_correlation_finds_a_negative_lag_when_gaze_leads():
    rng = np.random.default_rng(0)
    c = np.cumsum(rng.normal(size=600))
    g = np.r_[c[4:], np.full(4, np.nan)]           # gaze at i is the cursor at i + 4: gaze leads
    r = leadlag.lagged_correlation(g, c, 10)
    assert int(np.nanargmax(r)) - 10 == -4


def test_r2_and_slope_of_a_planted_line():
    rng = np.random.default_rng(0)
    c = rng.normal(size=(500, 2))
    g = 0.5 * c + rng.normal(scale=0.5, size=(500, 2))
    assert explained.slope(g, c) == pytest.approx(0.5, abs=0.05)
    assert explained.r2(g, c) == pytest.approx(0.5, abs=0.08)   # 0.25 / (0.25 + 0.25)
    assert explained.r2(g, rng.normal(size=(500, 2))) < 0.02


def test_worker_ci_covers_the_estimate_and_reports_n():
    est, (lo, hi), n = worker_ci([0.1, 0.2, np.nan, 0.4], n_resamples=300)
    assert n == 3 and lo <= est <= hi and est == pytest.approx(0.7 / 3)


def test_agreement_windows_split_by_mouse_state():
    # one query, 6 s: the cursor moves until 1.5 s, then rests
    t = np.arange(0, 6000, 100.0)
    df = pd.DataFrame({"worker": "w", "task_id": 1, "session": 0, "query_id": 7, "epoch": t,
                       "gaze_x": 0.0, "gaze_y": 0.0, "mouse_x": np.minimum(t, 1500.0), "mouse_y": 0.0,
                       "gaze1_pos": t / 6000, "mouse1_pos": t / 6000, "gaze2_pos": np.nan, "mouse2_pos": np.nan})
    w = agreement.window_table(cursor.prepare(df), idle_s=1.0)
    assert w.loc[w["window"] < 2, "state"].eq("moving").all()
    assert w.loc[w["window"] == 2, "state"].eq("between").all()
    assert w.loc[w["window"] >= 3, "state"].eq("idle").all()


# --- item 6: the simulation checks ---------------------------------------------------------------

def test_planted_lag_is_recovered_within_one_callback(constant):
    peak = leadlag.pooled_peak(leadlag.query_cross_correlations(constant), n_resamples=200)
    assert peak["has_peak"]
    assert abs(peak["peak_lag_s"] - LAG_S) <= CALLBACK_S


def test_planted_weight_is_recovered_within_tolerance(constant):
    peak = leadlag.pooled_peak(leadlag.query_cross_correlations(constant), n_resamples=100)
    slopes = explained.per_worker_slope(constant, peak["peak_lag_s"])
    assert len(slopes) == 12
    assert abs(float(slopes.median()) - WEIGHT) <= WEIGHT_TOL


def test_lag_is_recovered_when_the_pull_follows_moves_only(moves):
    peak = leadlag.pooled_peak(leadlag.query_cross_correlations(moves), n_resamples=200)
    assert peak["has_peak"] and abs(peak["peak_lag_s"] - LAG_S) <= CALLBACK_S


def test_independent_gaze_shows_no_lead_lag_peak(independent):
    for kind in ("position", "velocity"):
        peak = leadlag.pooled_peak(leadlag.query_cross_correlations(independent, kind=kind), n_resamples=200)
        assert not peak["has_peak"], kind
        assert np.nanmax(np.abs(peak["mean"])) < leadlag.MIN_PEAK_R
    slopes = explained.per_worker_slope(independent, 0.0)
    assert abs(float(slopes.median())) < 0.05


def test_distance_rises_after_the_cursor_stops_only_when_moves_pull(moves, independent):
    planted = distance.idle_vs_moving(moves)["diff"]
    est, (lo, _), _ = worker_ci(planted.to_numpy(), n_resamples=300)
    assert lo > 100                                    # gaze far from a resting cursor
    tab = distance.distance_by_bin(moves, n_resamples=100)
    # the pull fades 1 s (+ the 0.3-s lag) after the move: the threshold is the 1-s or the 2-s bin
    assert distance.idle_threshold(tab) in (1.0, 2.0)
    # independent gaze: no rise beyond what the geometry of the cursor path gives, which the
    # baseline (another query's cursor) shows as well
    ind = distance.idle_vs_moving(independent)["diff"].mean()
    assert abs(ind) < 0.25 * est
    tab_i = distance.distance_by_bin(independent, n_resamples=100)
    tab_b = distance.distance_by_bin(independent, "base_dist_px", n_resamples=100)
    assert np.allclose(tab_i["mean"], tab_b["mean"], rtol=0.12)


def test_r2_separates_planted_from_independent(constant, moves, independent):
    r_c = explained.per_worker_r2(constant, idle_s=2.0)
    r_m = explained.per_worker_r2(moves, idle_s=2.0)
    r_i = explained.per_worker_r2(independent, idle_s=2.0)
    assert r_c["r2_cursor"].median() > 0.3 and r_i["r2_cursor"].median() < 0.02
    assert (r_c["r2_baseline"] < 0.05).all()
    assert r_m["r2_moving"].median() > 5 * r_m["r2_idle"].median()
    assert r_c["r2_trajectory"].median() >= r_c["r2_cursor"].median()


def test_agreement_drops_at_rest_only_when_moves_pull(moves, independent):
    a = agreement.answer_agreement(agreement.window_table(moves, idle_s=2.0))
    assert a["r_moving"].median() > a["r_idle"].median() + 0.3
    b = agreement.answer_agreement(agreement.window_table(independent, idle_s=2.0))
    assert abs(b["r_moving"].median()) < 0.15 and abs(b["r_idle"].median()) < 0.15


# --- item 5 pieces ------------------------------------------------------------------------------

def test_idle_mask_keeps_callbacks_after_a_long_rest():
    t = np.arange(0, 5000, 100.0)
    s = pd.DataFrame({"worker": pd.Categorical(["w"] * len(t)), "task_id": 1, "session": 0, "epoch": t,
                      "mouse_x": np.where(t < 1000, t, 1000.0), "mouse_y": 0.0})
    m = vmodels.idle_mask(s.iloc[::-1].reset_index(drop=True), idle_s=2.0)[::-1]
    assert not m[t < 3000].any() and m[t >= 3000].all()


def test_residual_gaze_removes_what_the_mouse_predicts():
    rng = np.random.default_rng(0)
    n = 400
    mouse = rng.normal(size=n)
    own = rng.normal(size=n)
    X = pd.DataFrame({"mouse_left_n": mouse, "mouse_right_n": rng.normal(size=n),
                      "gaze_left_n": 2 * mouse + 0.1 * own, "gaze_right_n": own})
    y = (own > 0).astype(float)
    m = vmodels.ResidualGazeClassifier(select_k=None, random_state=0).fit(X, y)
    Z = m._residual_frame(X)
    assert abs(np.corrcoef(Z["res_gaze_left_n"], mouse)[0, 1]) < 0.05
    assert m.residual_r2(X) > 0.45           # one of two gaze columns is almost all mouse
    assert (m.predict(X) == y).mean() > 0.9  # the mouse-free part still carries the label


def test_validity_models_need_idle_columns():
    X = pd.DataFrame({"gaze_left_n": [1.0], "mouse_left_n": [1.0]})
    with pytest.raises(ValueError, match="idle_gaze"):
        vmodels.validity_models(X)
    m = vmodels.validity_models(X.assign(idle_gaze_left_n=1.0))
    assert set(m) == set(vmodels.MODEL_NAMES)
    assert all(a in m and b in m for a, b in vmodels.CONTRASTS)


# --- real data ------------------------------------------------------------------------------------

@pytest.mark.realdata
def test_real_data_gaze_is_closer_to_a_moving_cursor(real_root):
    from ifl_utils.data.api import Dataset

    ds = Dataset(real_root, progress=False)
    s = ds.samples(columns=cursor.SAMPLE_COLUMNS, exclude="paper")
    keep = s["worker"].astype(str).isin(sorted(s["worker"].astype(str).unique())[:12])
    p = cursor.prepare(s[keep.to_numpy()].reset_index(drop=True))
    assert p["since_move_s"].notna().mean() > 0.95
    iv = distance.idle_vs_moving(p)
    assert len(iv) >= 8 and (iv["diff"] > 0).mean() > 0.7


def test_browser_test_covers_the_validity_page():
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tests" / "browser"))
    import pagecheck

    names = pagecheck.toc_docnames(root / "_toc.yml")
    assert "book/executed/03_validity" in names
    assert names.index("book/executed/03_validity") == names.index("book/executed/02_behaviour") + 1


def test_validity_doctests():
    import doctest

    from ifl_utils.validity import boot

    for mod in (cursor, distance, leadlag, explained, boot):
        result = doctest.testmod(mod)
        assert result.attempted > 0 and result.failed == 0, mod.__name__
