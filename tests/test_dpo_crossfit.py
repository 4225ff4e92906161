"""The DPO chapter's cross-fitted design: fold plan with a per-worker cap, fold-local reward-model
labels, the frozen-trunk / adapted-top log-probabilities (equal to a plain forward pass), cached runs,
paired worker-bootstrap differences, the power surrogate, and conservative DPO."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from ifl_utils.dpo import crossfit as cf
from ifl_utils.dpo import paired, power
from ifl_utils.dpo.folds import assign_folds, plan_folds
from ifl_utils.dpo.loss import cdpo_loss, rdpo_loss

from test_dpo import make_queries, tiny_model_dir  # noqa: F401  (fixture)


def _pairs(sizes: dict[str, int]) -> pd.DataFrame:
    rows, q = [], 0
    for w, n in sizes.items():
        for _ in range(n):
            q += 1
            rows.append({"query_id": q, "worker": w})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ folds

def test_fold_plan_caps_heavy_workers_and_groups_by_worker():
    sizes = {"big": 120, "b2": 60, **{f"w{i:02d}": 10 + i % 7 for i in range(40)}}
    plan = plan_folds(_pairs(sizes), k=5, max_worker_share=0.25, seed=3)
    p = plan.pairs
    assert p.groupby("worker")["fold"].nunique().max() == 1          # a worker is in one fold only
    assert plan.max_share <= 0.25
    share = p.groupby(["fold", "worker"]).size() / p.groupby("fold").size()
    assert share.max() <= 0.25 + 1e-12                                # the rule holds on the result
    assert p.groupby("worker").size().max() == plan.cap < 120          # the big worker was capped
    assert plan.dropped == sum(sizes.values()) - len(p)
    assert p["query_id"].is_unique and set(p["fold"]) == set(range(5))
    again = plan_folds(_pairs(sizes), k=5, max_worker_share=0.25, seed=3)
    assert again.pairs.equals(p)                                       # seeded


def test_fold_plan_without_heavy_workers_keeps_every_pair():
    plan = plan_folds(_pairs({f"w{i}": 5 for i in range(20)}), k=5)
    assert plan.dropped == 0 and len(plan.pairs) == 100


def test_assign_folds_balances_pair_counts():
    f = assign_folds(pd.Series({"a": 9, "b": 5, "c": 4, "d": 4, "e": 1}), 2)
    load = pd.Series({"a": 9, "b": 5, "c": 4, "d": 4, "e": 1}).groupby(f).sum()
    assert sorted(load.tolist()) == [10, 13]          # greedy: largest first into the lighter fold


def test_fold_plan_rejects_too_few_workers():
    with pytest.raises(ValueError, match="cannot fill"):
        plan_folds(_pairs({"a": 3, "b": 3}), k=5)


# ------------------------------------------------------------------ fold-local reward-model labels

def test_rm_labels_use_training_workers_only_and_are_out_of_fold():
    from sklearn.linear_model import LogisticRegression

    from ifl_utils.dpo.rm_labels import fold_labels

    rng = np.random.default_rng(0)
    n = 200
    rows = pd.DataFrame({"query_id": np.arange(n), "worker": [f"w{i % 20}" for i in range(n)],
                         "task_id": 1, "y": rng.integers(0, 2, n)})
    X = pd.DataFrame({"x": rows["y"] + rng.normal(0, 0.5, n), "noise": rng.normal(size=n)})
    train_workers = [f"w{i}" for i in range(15)]
    lab = fold_labels(rows, X, train_workers, {"text_rm": LogisticRegression()}, inner=3, seed=0)
    tr = rows[rows["worker"].isin(train_workers)]
    assert set(lab["query_id"]) == set(tr["query_id"])                # test workers get no label
    assert lab["eps"].between(0, 0.45).all() and lab["label"].isin([0, 1]).all()
    agree = (lab.set_index("query_id").loc[tr["query_id"], "label"].to_numpy() == tr["y"].to_numpy()).mean()
    assert 0.7 < agree < 1.0                                           # learnable, but not in-sample perfect


# ------------------------------------------------------------------ trunk / top log-probabilities

def _cf_pairs(n: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame({
        "query_id": np.arange(1, n + 1), "worker": [f"w{i % 4}" for i in range(n)],
        "fold": [i % 2 for i in range(n)],
        "prompt": [[{"role": "user", "content": f"question {i} of task {i % 3}?"}] for i in range(n)],
        "response_1": [f"left answer {i} about topic" for i in range(n)],
        "response_2": [f"right answer {i} with more detail about topic {i}" for i in range(n)],
        "right_preferred": rng.integers(0, 2, n)})


def _loader(path):
    from ifl_utils.dpo.model import load

    return lambda: load(str(path))


@pytest.mark.parametrize("vocab", ["full", "data"])
def test_top_path_log_probs_match_a_plain_forward_pass(tiny_model_dir, vocab):  # noqa: F811
    """Cached trunk states + top block = the full model (full vocabulary); the data vocabulary
    renormalises over fewer tokens, so it gives larger (less negative) log-probs."""
    from ifl_utils.dpo.train import sequence_logps

    cfg = cf.CrossFitConfig(model=str(tiny_model_dir), max_prompt_tokens=32, max_answer_tokens=12,
                            vocab=vocab, top_layers=1, steps=2, batch_size=2)
    x = cf.CrossFit(cfg, _cf_pairs(), cache=False, model_loader=_loader(tiny_model_dir))
    ref = x.reference()
    seqs = [(x.enc.prompt[i], x.enc.answers[i][k]) for i in range(len(x.pairs)) for k in (0, 1)]
    with torch.no_grad():
        full, _ = sequence_logps(x.backbone.model, seqs, x.tok.pad_token_id)
    full = full.double().numpy().reshape(-1, 2)
    if vocab == "full":
        assert np.allclose(ref, full, atol=2e-2)           # fp16 trunk states: small rounding only
    else:
        assert (ref >= full - 2e-2).all() and x.enc.vocab_ids.size < len(x.tok)


def test_runs_start_at_the_reference_learn_and_are_cached(tiny_model_dir, tmp_path):  # noqa: F811
    cfg = cf.CrossFitConfig(model=str(tiny_model_dir), max_prompt_tokens=32, max_answer_tokens=12,
                            steps=3, batch_size=2, lr=5e-2)
    x = cf.CrossFit(cfg, _cf_pairs(), cache=tmp_path, model_loader=_loader(tiny_model_dir))
    zero = x.run("explicit", 0, cfg.replace(steps=0))
    assert (cf.margins([zero], cfg.beta)["margin"] == 0).all()          # B = 0: policy == reference
    r = x.run("explicit", 0)
    assert r["train"]["n_pairs"] == 4 and r["test"]["query_id"] == [1, 3, 5, 7]
    assert len(r["logs"]) == 3 and all(math.isfinite(lg["loss"]) for lg in r["logs"])
    assert 0 < r["grad"]["preference_share"] < 1
    m = cf.margins([r], cfg.beta)
    assert (m["margin"] != 0).any() and set(m["correct"]) <= {0.0, 0.5, 1.0}
    files = {p.name.split("-")[0] for p in tmp_path.iterdir()}
    assert {"run", "ref", "states"} <= files
    # a new experiment reuses the cached run (no model needed) and the reversed labels differ
    y = cf.CrossFit(cfg, _cf_pairs(), cache=tmp_path, model_loader=_loader(tiny_model_dir))
    assert y.run("explicit", 0) == r and y._bb is None
    rev = x.labels("explicit_reversed", 0)
    assert (rev["label"].to_numpy() == 1 - x.labels("explicit", 0)["label"].to_numpy()).all()
    # same seed, same run
    z = cf.CrossFit(cfg, _cf_pairs(), cache=False, model_loader=_loader(tiny_model_dir)).run("explicit", 0)
    assert [lg["loss"] for lg in z["logs"]] == pytest.approx([lg["loss"] for lg in r["logs"]], abs=1e-6)


def test_run_refuses_encoding_changes(tiny_model_dir):  # noqa: F811
    cfg = cf.CrossFitConfig(model=str(tiny_model_dir), max_answer_tokens=12)
    x = cf.CrossFit(cfg, _cf_pairs(), cache=False, model_loader=_loader(tiny_model_dir))
    with pytest.raises(ValueError, match="max_answer_tokens"):
        x.run("explicit", 0, cfg.replace(max_answer_tokens=16))


def test_reward_model_sources_need_labels_for_every_training_pair(tiny_model_dir):  # noqa: F811
    cfg = cf.CrossFitConfig(model=str(tiny_model_dir))
    rm = pd.DataFrame({"fold": 0, "source": "if_rm", "query_id": [2, 4], "label": [1, 0], "eps": [0.1, 0.45]})
    x = cf.CrossFit(cfg, _cf_pairs(), rm_labels=rm, cache=False, model_loader=_loader(tiny_model_dir))
    with pytest.raises(ValueError, match="no label for 2 training pairs"):
        x.labels("if_rm", 0)


# ------------------------------------------------------------------ paired differences

def test_paired_differences_keep_pairs_and_workers_together():
    t = pd.DataFrame({"query_id": range(8), "worker": list("aabbccdd"), "fold": 0,
                      "good": [1, 1, 1, 1, 1, 1, 1, 0.5], "bad": [0, 0, 0, 0, 0, 0, 1, 0.5]})
    acc, d = paired.summarise(t, ["good", "bad"], {"good − bad": ("good", "bad")}, n_resamples=300)
    assert acc.loc["good", "accuracy"] == pytest.approx(7.5 / 8)
    assert d.loc["good − bad", "difference"] == pytest.approx(6 / 8)
    assert d.loc["good − bad", "ci_lo"] > 0 and d.loc["good − bad", "workers"] == 4
    same = t.assign(bad=t["good"])
    _, d0 = paired.summarise(same, ["good", "bad"], {"x": ("good", "bad")}, n_resamples=100)
    assert d0.loc["x", ["difference", "ci_lo", "ci_hi"]].tolist() == [0, 0, 0]   # paired: no noise


def test_wide_refuses_sources_on_different_pairs():
    a = pd.DataFrame({"query_id": [1, 2], "worker": ["a", "b"], "fold": 0, "correct": [1.0, 0.0]})
    with pytest.raises(ValueError, match="other pairs"):
        paired.wide({"x": a, "y": a.assign(query_id=[1, 3])})


# ------------------------------------------------------------------ power surrogate

def test_power_grows_with_workers_and_is_null_without_an_effect():
    ppw = np.full(10, 9)
    s = power.Surrogate(control_effect=0.2, rho=0.5, tau2=0.02)
    assert s.mu(1.0) == pytest.approx(0.6) and s.mu(0.5) == 0.5 and s.mu(0.0) == pytest.approx(0.4)
    c = power.power_curve(s, 1.0, 0.0, ppw, [10, 40, 160], n_sims=100, seed=1)
    assert c["power"].is_monotonic_increasing and c["power"].iloc[-1] > 0.9
    null = power.simulate(power.Surrogate(0.0, 0.5, 0.02), 0.64, 0.55, ppw, 100, n_sims=200, seed=2)
    assert null["power"] <= 0.06                                       # two-sided 5 % test, one side
    need = power.needed(c)
    assert 10 <= need["workers"] <= 160 and need["pairs"] == pytest.approx(9 * need["workers"], rel=0.01)


def test_calibration_recovers_its_targets():
    rng = np.random.default_rng(0)
    s = power.calibrate(0.1, 0.6, 0.01, 0.5, np.full(20, 10), seed=0)
    assert 0.3 < s.rho < 0.95 and 0 < s.tau2 < 0.3
    y = rng.integers(0, 2, 1000)
    assert power.worker_variance(y, np.arange(1000) % 50) < 0.01        # no worker effect in noise


# ------------------------------------------------------------------ conservative DPO

def test_cdpo_matches_its_formula_and_shrinks_where_rdpo_grows():
    h = torch.tensor([0.0, 0.0], requires_grad=True)
    z = torch.zeros(2)
    eps = torch.tensor([0.0, 0.4])
    loss, parts = cdpo_loss(h, z, z, z, eps=eps, beta=1.0, alpha=0.0, nll_chosen=z)
    assert float(loss.detach()) == pytest.approx(math.log(2))
    (g,) = torch.autograd.grad(loss, h)
    assert g.tolist() == pytest.approx([-0.5 / 2, -0.5 * 0.2 / 2])        # -(1 - 2 eps) / 2, batch mean
    h2 = torch.tensor([0.0, 0.0], requires_grad=True)
    loss_r, _ = rdpo_loss(h2, z, z, z, eps=eps, beta=1.0, alpha=0.0, nll_chosen=z)
    (g2,) = torch.autograd.grad(loss_r, h2)
    assert g2.tolist() == pytest.approx([-0.5 / 2, -0.5 / 0.2 / 2])       # rDPO: / (1 - 2 eps)
    with pytest.raises(ValueError):
        cdpo_loss(h, z, z, z, eps=0.5)
