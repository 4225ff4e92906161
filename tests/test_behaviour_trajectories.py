"""Reading curves on synthetic samples built in code: resampling, clipping, duplicate timestamps,
single-timestamp groups, the minimum-sample rule, shared tertiles, and the worker bootstrap."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ifl_utils.behaviour import trajectories as tr
from ifl_utils.lengths import tertile_cuts


def make_queries(lengths=((1000, 1000), (100, None), (3000, 2000))) -> pd.DataFrame:
    rows = []
    for i, (a, b) in enumerate(lengths):
        rows.append({"query_id": 10 + i, "worker": f"w{i % 2}", "task_id": 1 + i,
                     "mode": "pairwise" if b is not None else "pointwise",
                     "llm_response_1": "x" * a, "llm_response_2": None if b is None else "y" * b,
                     "llm_error_1": False, "llm_error_2": False,
                     "len_utf16_1": a, "len_utf16_2": pd.NA if b is None else b,
                     "likert_1": 4, "likert_2": pd.NA if b is None else 3,
                     "right_preferred": pd.NA if b is None else 0})
    q = pd.DataFrame(rows)
    q["len_utf16_1"] = q["len_utf16_1"].astype("Int32")
    q["len_utf16_2"] = q["len_utf16_2"].astype("Int32")
    q["likert_1"] = q["likert_1"].astype("Int8")
    q["likert_2"] = q["likert_2"].astype("Int8")
    q["right_preferred"] = q["right_preferred"].astype("Int8")
    q["mode"] = q["mode"].astype("string")
    return q


def make_samples(query_id: int, epochs, gaze1, *, worker="w0", task_id=1, gaze2=None, mouse1=None) -> pd.DataFrame:
    n = len(epochs)
    nan = np.full(n, np.nan)
    return pd.DataFrame({
        "worker": pd.Categorical([worker] * n), "task_id": np.int32(task_id), "session": np.int16(0),
        "query_id": np.int32(query_id), "epoch": np.asarray(epochs, dtype=np.int64),
        "mouse_x": np.arange(n, dtype=float), "mouse_y": np.zeros(n),
        "gaze1_pos": np.asarray(gaze1, dtype=float), "gaze2_pos": nan if gaze2 is None else np.asarray(gaze2, float),
        "mouse1_pos": nan if mouse1 is None else np.asarray(mouse1, float), "mouse2_pos": nan})


def test_linear_curve_resamples_to_the_grid():
    t = np.arange(0, 2000, 100)  # 20 samples, 0..1900 ms
    pos = t / t[-1]
    c = tr.reading_curves(make_samples(10, t, pos), make_queries(), min_samples=5)
    assert len(c) == 1
    np.testing.assert_allclose(c.curves[0], np.linspace(0, 1, 100), atol=1e-12)
    assert c.curves.shape == (1, tr.N_POINTS)
    assert c.meta.loc[0, "modality"] == "gaze" and c.meta.loc[0, "side"] == "pairwise left"


def test_positions_outside_zero_one_are_not_on_the_answer():
    t = np.arange(12) * 100
    pos = np.r_[np.full(10, 0.5), 1.5, -0.1]  # >1 = not on this answer; negative likewise
    c = tr.reading_curves(make_samples(10, t, pos), make_queries(), min_samples=5)
    assert c.meta.loc[0, "n_samples"] == 10
    assert c.curves.max() <= 1.0


def test_duplicate_timestamps_are_averaged():
    t = [0, 0, 100, 200, 200, 300, 400, 500]
    pos = [0.0, 0.2, 0.3, 0.4, 0.8, 0.5, 0.6, 0.7]
    c = tr.reading_curves(make_samples(10, t, pos), make_queries(), min_samples=3)
    assert c.meta.loc[0, "n_samples"] == 8 and c.meta.loc[0, "n_times"] == 6
    assert c.curves[0, 0] == pytest.approx(0.1)
    # t = 200 is 40 % of the span: the grid point at 0.4 hits it exactly -> (0.4 + 0.8) / 2
    grid = np.linspace(0, 1, 100)
    np.testing.assert_allclose(np.interp(0.4, grid, c.curves[0]), 0.6, atol=0.01)


def test_single_timestamp_groups_are_skipped_and_counted():
    s = make_samples(10, [500] * 12, np.full(12, 0.3))
    c = tr.reading_curves(s, make_queries(), min_samples=1)
    assert len(c) == 0
    assert c.dropped["single_timestamp"] == 1


def test_minimum_sample_rule_drops_and_counts():
    ok = make_samples(10, np.arange(12) * 100, np.linspace(0, 1, 12))
    short = make_samples(12, np.arange(4) * 100, np.linspace(0, 1, 4), worker="w0", task_id=3)
    c = tr.reading_curves(pd.concat([ok, short], ignore_index=True), make_queries(), min_samples=10)
    assert c.meta["query_id"].tolist() == [10]
    assert c.dropped["fewer_than_10_samples"] == 1
    c3 = tr.reading_curves(pd.concat([ok, short], ignore_index=True), make_queries(), min_samples=3)
    assert sorted(c3.meta["query_id"]) == [10, 12]


def test_samples_without_a_query_are_ignored():
    s = make_samples(-1, np.arange(20) * 100, np.linspace(0, 1, 20))
    assert len(tr.reading_curves(s, make_queries(), min_samples=2)) == 0


def test_tertiles_come_from_the_shared_cut_points():
    q = make_queries()
    parts = [make_samples(10, np.arange(12) * 100, np.linspace(0, 1, 12), gaze2=np.linspace(0, 1, 12)),
             make_samples(11, np.arange(12) * 100, np.linspace(0, 1, 12), worker="w1", task_id=2),
             make_samples(12, np.arange(12) * 100, np.linspace(0, 1, 12), task_id=3)]
    c = tr.reading_curves(pd.concat(parts, ignore_index=True), q, min_samples=5)
    lo, hi = tertile_cuts(q)
    for _, r in c.meta.iterrows():
        expect = "short" if r["length"] <= lo else "medium" if r["length"] <= hi else "long"
        assert r["tertile"] == expect
    assert set(c.meta["side"]) == {"pairwise left", "pairwise right", "pointwise"}


def test_summary_measures():
    t = np.r_[np.arange(10) * 100, 5000 + np.arange(5) * 100]  # one 4.1 s gap, capped at 1 s
    pos = np.r_[np.linspace(0, 0.9, 10), [0.2, 0.3, 0.6, 0.7, 0.8]]
    c = tr.reading_curves(make_samples(10, t, pos, mouse1=pos), make_queries(), min_samples=5)
    g = c.where(modality="gaze").meta.iloc[0]
    assert g["dwell_s"] == pytest.approx((9 * 100 + 1000 + 4 * 100) / 1000)
    assert g["regressions"] == 1  # 0.9 -> 0.2
    assert g["furthest"] == pytest.approx(0.9)
    assert g["t_half_s"] == pytest.approx(0.5)  # linspace(0, .9, 10)[5] = 0.5, reached at 500 ms
    assert g["in_share"] == pytest.approx(1.0)
    assert g["mouse_active"] > 0.9
    np.testing.assert_allclose(c.hist.sum(axis=1), 1.0)


def test_interpolation_is_constant_beyond_the_ends_and_handles_many_curves():
    u = np.array([0.0, 0.5, 1.0, 0.0, 1.0])
    y = np.array([0.2, 0.4, 0.9, 1.0, 0.0])
    out = tr.interpolate_grid(u, y, np.array([0, 3]), 5)
    np.testing.assert_allclose(out[0], [0.2, 0.3, 0.4, 0.65, 0.9])
    np.testing.assert_allclose(out[1], [1.0, 0.75, 0.5, 0.25, 0.0])


def test_mean_curve_band_resamples_workers():
    rng = np.random.default_rng(0)
    curves = rng.random((30, 100))
    workers = np.repeat(list("abcdef"), 5)
    m1, lo1, hi1 = tr.mean_curve_ci(curves, workers, n_resamples=200, random_state=1)
    m2, lo2, hi2 = tr.mean_curve_ci(curves, workers, n_resamples=200, random_state=1)
    np.testing.assert_array_equal(lo1, lo2)
    assert (lo1 <= m1 + 1e-12).all() and (m1 <= hi1 + 1e-12).all()
    # one worker only: no between-worker uncertainty
    m, lo, hi = tr.mean_curve_ci(curves[:5], ["a"] * 5, n_resamples=50)
    np.testing.assert_allclose(lo, hi)
