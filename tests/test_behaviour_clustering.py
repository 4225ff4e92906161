"""Clustering, agreement, diversity, events and replay helpers on synthetic inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ifl_utils.behaviour import agreement, clustering, diversity, events, replay


def shapes(n_per=30, seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, 100)
    protos = [x, np.minimum(1, 2 * x), np.full(100, 0.1), 0.5 + 0.0 * x]
    X = np.vstack([p + rng.normal(0, 0.03, (n_per, 100)) for p in protos])
    return X, np.repeat(np.arange(len(protos)), n_per)


def test_bisecting_kmeans_is_deterministic_and_sorted_by_size():
    X, _ = shapes()
    a = clustering.bisecting_kmeans(X, k=4)
    b = clustering.bisecting_kmeans(X, k=4)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.centers, b.centers)
    assert (np.diff(a.sizes) <= 0).all()
    np.testing.assert_array_equal(a.predict(X), a.labels)
    tree = clustering.bisection_tree(a)
    assert tree.loc[0, "size"] == len(X)
    assert sorted(tree.loc[tree["leaf"] >= 0, "leaf"]) == [0, 1, 2, 3]


def test_choose_k_finds_the_planted_shapes():
    X, truth = shapes()
    table = clustering.choose_k(X, range(2, 7), n_boot=2, random_state=0)
    assert clustering.data_driven_k(table) == 4
    assert table.loc[table["k"] == 4, "stability"].iloc[0] > 0.9


def test_shape_families_without_overrides():
    X, _ = shapes()
    c = clustering.bisecting_kmeans(X, k=4)
    fam = clustering.shape_families(c.centers)
    assert len(fam) == 4 and fam.min() == 0
    assert "mid" in clustering.describe_family(c.centers[0])


def test_rowwise_correlations_and_gaze_mouse_pairs():
    a = np.array([[0.0, 1, 2, 3], [1, 1, 1, 1], [3, 2, 1, 0]])
    b = np.array([[0.0, 1, 4, 9], [0, 1, 2, 3], [0, 1, 2, 3]])
    np.testing.assert_allclose(agreement.rowwise_spearman(a, b), [1.0, np.nan, -1.0])
    r = agreement.rowwise_pearson(a, b)
    assert r[0] == pytest.approx(np.corrcoef(a[0], b[0])[0, 1])


def test_ami_baseline_and_outcome_test():
    labels = np.repeat([0, 1], 50)
    groups = np.repeat(["a", "b"], 50)
    res = agreement.ami_with_baseline(labels, groups, n_perm=50, random_state=0)
    assert res["ami"] == pytest.approx(1.0) and res["perm_p95"] < 0.2
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100).astype(float)
    t = agreement.cluster_outcome_test(labels, y, np.tile(list("abcde"), 20), kind="nominal", n_perm=50)
    assert 0 <= t["effect"] <= 1 and 0 < t["p_perm"] <= 1
    t2 = agreement.cluster_outcome_test(labels, rng.integers(1, 6, 100), np.tile(list("ab"), 50),
                                        kind="ordinal", n_perm=20)
    assert np.isfinite(t2["effect"])


def test_variance_between_workers_sees_a_worker_effect():
    rng = np.random.default_rng(0)
    w = np.repeat([f"w{i}" for i in range(12)], 15)
    base = np.repeat(rng.normal(0, 1, 12), 15)
    meta = pd.DataFrame({"worker": w, "curve": np.arange(len(w)),
                         "in_share": 0.3 + 0.05 * base + rng.normal(0, 0.02, len(w)),
                         "speed_cps": np.exp(3 + base + rng.normal(0, 0.3, len(w))),
                         "furthest": rng.random(len(w))})
    v = diversity.variance_between_workers(meta, leave_out_top=2)
    shares = v[v["subset"] == "all workers"].set_index("measure")
    assert shares.loc["in_share", "icc"] > 0.5 and shares.loc["speed_cps", "icc"] > 0.5
    assert shares.loc["furthest", "icc"] < 0.3
    assert diversity.anova_eta2([1.0, 1.0, 2.0, 2.0], ["a", "a", "b", "b"]) == pytest.approx(1.0)


def test_resample_grid_and_fixations_with_pymovements():
    t = np.arange(0, 4000, 75.0)
    x = np.where(t < 2000, 100.0, 600.0)
    y = np.full_like(t, 300.0)
    grid, P = events.resample_gaze(t, x, y, grid_hz=20)
    assert np.all(np.diff(grid) == 50)
    n = len(t)
    s = pd.DataFrame({"worker": pd.Categorical(["w"] * n), "task_id": np.int32(1), "session": np.int16(0),
                      "query_id": np.int32(5), "page_time": t, "epoch": (t + 1e12).astype(np.int64),
                      "gaze_x": x, "gaze_y": y, "gaze1_pos": np.full(n, 0.5), "gaze2_pos": np.full(n, np.nan)})
    fix = events.detect_fixations(s, pd.DataFrame({"worker": ["w"], "task_id": [1], "session": [0]}))
    assert len(fix) == 2 and (fix["duration_ms"] >= events.MIN_DURATION_MS).all()
    assert set(fix["pane"]) == {1}
    rates = events.sampling_rates(s)
    assert rates["worker"].iloc[0] == pytest.approx(1000 / 75)
    tab = events.support_table(rates)
    assert tab.loc[tab["unit"] == "session", ">= 10 Hz"].iloc[0] == 1.0


def test_wrap_grid_counts_utf16_and_newlines():
    text = "ab cd\nx \U0001F600 y"
    lines, col, line = replay.wrap_grid(text, width=10)
    assert lines == ["ab cd", "x \U0001F600 y"]
    assert len(col) == len(text.encode("utf-16-le")) // 2
    assert line[6] == 1 and col[6] == 0  # the 'x' after the newline
    assert col[9] == col[8] == 2  # both UTF-16 units of the emoji share one column


def test_pick_example_is_seeded():
    meta = pd.DataFrame({"query_id": np.repeat([1, 2, 3], 4), "mode": "pairwise", "n_samples": 200,
                         "length": 800})
    a = replay.pick_example(meta, seed=0, pick=0)
    assert a == replay.pick_example(meta, seed=0, pick=0)
    assert {replay.pick_example(meta, seed=0, pick=i) for i in range(3)} == {1, 2, 3}
