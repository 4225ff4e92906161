"""DPO chapter code: pair direction for every label source, flip rates, the rDPO + NLL loss on
hand-computed values, the worker split, OOF loading, and a tiny randomly initialised Llama trained
end to end (SFT -> DPO -> evaluation) in a few seconds."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ifl_utils.dpo import data as dd
from ifl_utils.dpo import evaluate as de
from ifl_utils.dpo.loss import rdpo_loss
from ifl_utils.dpo.train import Experiment, TrainConfig, answer_ids, prompt_ids

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ fixtures

def make_queries(n_workers: int = 10, turns: int = 3) -> pd.DataFrame:
    """Synthetic ``Dataset.queries()`` rows: per worker one pairwise and one pointwise task."""
    rows, qid = [], 0
    rng = np.random.default_rng(1)
    for w in range(n_workers):
        for task, mode in ((2 * w + 1, "pairwise"), (2 * w + 2, "pointwise")):
            for t in range(1, turns + 1):
                qid += 1
                rows.append({
                    "query_id": qid, "worker": f"worker_{w:02d}", "task_id": task, "turn": t, "mode": mode,
                    "user_query": f"question {t} of task {task}?",
                    "llm_response_1": f"left answer {qid} about topic {task}",
                    "llm_response_2": f"right answer {qid} with more detail" if mode == "pairwise" else None,
                    "llm_error": False, "adjustment": int(qid % 2),
                    "right_preferred": int(rng.integers(0, 2)) if mode == "pairwise" else pd.NA,
                    "len_utf16_1": 30, "len_utf16_2": 40 if mode == "pairwise" else pd.NA,
                })
    q = pd.DataFrame(rows)
    q["right_preferred"] = q["right_preferred"].astype("Int8")
    q["len_utf16_1"] = q["len_utf16_1"].astype("Int32")
    q["len_utf16_2"] = q["len_utf16_2"].astype("Int32")
    q["worker"] = q["worker"].astype("string")
    q["mode"] = q["mode"].astype("string")
    return q


def write_oof(results: Path, queries: pd.DataFrame) -> None:
    """Fixture OOF files for the three reward models: label = the worker's label for text_embed,
    its opposite for if_rf, alternating for text_if; probabilities between 0.5 and 1."""
    pw = queries[(queries["mode"] == "pairwise")]
    y = pw["right_preferred"].astype(int).to_numpy()
    labels = {"text_embed": y, "if_rf": 1 - y, "text_if": np.arange(len(y)) % 2}
    (results / "oof").mkdir(parents=True, exist_ok=True)
    for name, lab in labels.items():
        pd.DataFrame({"query_id": pw["query_id"].to_numpy(), "label": lab,
                      "probability": np.linspace(0.5, 1.0, len(y)), "model": name,
                      "fold": np.arange(len(y)) % 5}).to_parquet(results / "oof" / f"{name}.parquet")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer Llama and a byte-level BPE tokenizer with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [f"question {i} of task {j}? left answer right answer with more detail about topic"
              for i in range(5) for j in range(20)]
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=330, special_tokens=["<|im_start|>", "<|im_end|>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<pad>")
    tok.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                      bos_token_id=tok.bos_token_id)
    d = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def tiny_cfg(path: Path, **kw) -> TrainConfig:
    base = dict(model=str(path), sft_steps=2, dpo_steps=3, batch_size=2, n_train_pairs=6, n_test_pairs=6,
                n_eval_prompts=3, max_new_tokens=4, max_prompt_tokens=32, max_answer_tokens=16, lr=5e-2,
                sft_lr=5e-2, test_share=0.3)
    base.update(kw)
    return TrainConfig(**base)


# ------------------------------------------------------------------ loss

def test_rdpo_loss_matches_formula_on_hand_values():
    # log-probs: policy chosen -10, rejected -12, reference -11 and -11 -> h = 1 - (-1) = 2, beta h = 0.2
    pc, pr, rc, rr = (torch.tensor([v], dtype=torch.float64) for v in (-10.0, -12.0, -11.0, -11.0))
    # eps = 0: -log sig(0.2) = log(1 + e^-0.2) = 0.5981388693; + alpha * NLL = 1 * 10
    loss, parts = rdpo_loss(pc, pr, rc, rr, eps=0.0, beta=0.1, alpha=1.0)
    assert float(parts["h"][0]) == pytest.approx(2.0)
    assert float(loss) == pytest.approx(0.5981388693 + 10.0, abs=1e-8)
    # eps = 0.3: (0.7 * 0.5981388693 - 0.3 * log(1 + e^0.2) = 0.7981388693) / 0.4 = 0.4481388693
    loss, _ = rdpo_loss(pc, pr, rc, rr, eps=0.3, beta=0.1, alpha=1.0)
    assert float(loss) == pytest.approx(0.4481388693 + 10.0, abs=1e-8)
    # alpha = 0.5 and a per-pair eps vector: batch mean of the two pairs
    loss, _ = rdpo_loss(pc.repeat(2), pr.repeat(2), rc.repeat(2), rr.repeat(2),
                        eps=torch.tensor([0.0, 0.3], dtype=torch.float64), beta=0.1, alpha=0.5)
    assert float(loss) == pytest.approx((0.5981388693 + 0.4481388693) / 2 + 5.0, abs=1e-8)


def test_rdpo_loss_general_formula_and_gradient_scale():
    torch.manual_seed(0)
    h_parts = torch.randn(4, 4, dtype=torch.float64) * 5
    eps = torch.tensor([0.0, 0.1, 0.25, 0.45], dtype=torch.float64)
    beta, alpha = 0.1, 1.0
    loss, parts = rdpo_loss(*h_parts, eps=eps, beta=beta, alpha=alpha)
    h = (h_parts[0] - h_parts[2]) - (h_parts[1] - h_parts[3])
    ls = lambda z: math.log(1 + math.exp(-z))  # noqa: E731  -log sigmoid(z)
    want = [((1 - e) * ls(beta * x) - e * ls(-beta * x)) / (1 - 2 * e) - alpha * c
            for x, e, c in zip(h.tolist(), eps.tolist(), h_parts[0].tolist())]
    assert float(loss) == pytest.approx(float(np.mean(want)), abs=1e-10)
    # at h = 0 the gradient wrt h is -beta / (2 (1 - 2 eps)): 10x larger at eps = 0.45 (paper.md §4.3)
    hz = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    z = torch.zeros(2, dtype=torch.float64)
    loss, _ = rdpo_loss(hz, z, z, z, eps=torch.tensor([0.0, 0.45], dtype=torch.float64), beta=0.1, alpha=0.0)
    loss.backward()
    assert (hz.grad * 2).tolist() == pytest.approx([-0.05, -0.5])


def test_rdpo_loss_rejects_bad_flip_rates():
    z = torch.zeros(1)
    with pytest.raises(ValueError, match="flip rates"):
        rdpo_loss(z, z, z, z, eps=0.5)


def test_eps_from_probability_uses_the_predicted_class():
    # p is the probability of the predicted label; a file giving P(class 1) for a class-0 prediction
    # (the release's RF files) still gets the right eps, because only max(p, 1 - p) matters.
    assert dd.eps_from_probability([0.9, 0.1, 0.6, 0.5, 1.0]).tolist() == pytest.approx([0.1, 0.1, 0.4, 0.45, 0.0])


# ------------------------------------------------------------------ pairs and direction

@pytest.mark.parametrize("source", dd.LABEL_SOURCES)
def test_chosen_is_right_pane_when_label_is_one_for_every_source(source, tmp_path):
    q = make_queries()
    write_oof(tmp_path, q)
    p = dd.build_pairs(q, source, results_dir=tmp_path)
    assert len(p) == (q["mode"] == "pairwise").sum()
    assert p["query_id"].is_unique
    right = p["label"] == 1
    assert (p.loc[right, "chosen"] == p.loc[right, "response_2"]).all()
    assert (p.loc[right, "rejected"] == p.loc[right, "response_1"]).all()
    assert (p.loc[~right, "chosen"] == p.loc[~right, "response_1"]).all()
    assert right.any() and (~right).any()
    truth = p["right_preferred"].astype(int)
    if source == "explicit":
        assert (p["label"] == truth).all() and (p["eps"] == 0).all()
        # end to end: a right-preferred pair's chosen text is the right pane's answer
        row = q.set_index("query_id").loc[int(p.loc[right, "query_id"].iloc[0])]
        assert p.loc[right, "chosen"].iloc[0] == row["llm_response_2"]
    if source == "text_rm":   # fixture: same labels as the workers
        assert (p["label"] == truth).all()
    if source == "if_rm":     # fixture: opposite labels
        assert (p["label"] == 1 - truth).all()
    if source in dd.OOF_MODELS:
        assert p["eps"].between(0, dd.MAX_EPS).all() and p["eps"].max() == pytest.approx(0.45)
    rev = dd.reverse(p)
    assert (rev["chosen"] == p["rejected"]).all() and (rev["source"] == f"{source}_reversed").all()


def test_chosen_tokens_are_the_chosen_answer(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    q = make_queries()
    p = dd.build_pairs(q, "explicit")
    r = p[p["label"] == 1].iloc[0]
    ids = answer_ids(tok, r["chosen"], 200)
    assert tok.decode(ids, skip_special_tokens=True) == r["response_2"]
    text = tok.decode(prompt_ids(tok, r["prompt"], 500))
    assert text.endswith("<|im_start|>assistant\n") and r["question"] in text


def test_prompt_carries_context_and_bullet_instruction():
    q = make_queries()
    p = dd.build_pairs(q, "explicit", max_context_turns=1).set_index("query_id")
    third = q[(q["mode"] == "pairwise") & (q["turn"] == 3)].iloc[0]
    msgs = p.loc[int(third["query_id"]), "prompt"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    prev = q[(q["task_id"] == third["task_id"]) & (q["turn"] == 2)].iloc[0]
    assert msgs[1]["content"] == prev["llm_response_1"]
    assert msgs[-1]["content"].endswith(dd.BULLET_SUFFIX) == bool(third["adjustment"])
    first = q[(q["mode"] == "pairwise") & (q["turn"] == 1)].iloc[0]
    assert len(p.loc[int(first["query_id"]), "prompt"]) == 1


def test_duplicate_prompts_are_kept_apart(tmp_path):
    q = make_queries(n_workers=2, turns=1)
    pw = q["mode"] == "pairwise"
    q.loc[pw, "user_query"] = "the same question?"
    write_oof(tmp_path, q)
    p = dd.build_pairs(q, "text_rm", results_dir=tmp_path)
    assert len(p) == 2 and p["question"].nunique() == 1
    assert p["chosen"].nunique() == 2 and p["eps"].nunique() == 2


def test_split_workers_is_disjoint_and_seeded():
    workers = [f"w{i}" for i in range(20)]
    a = dd.split_workers(workers, 0.25, seed=3)
    assert a == dd.split_workers(workers, 0.25, seed=3)
    assert not set(a[0]) & set(a[1]) and set(a[0]) | set(a[1]) == set(workers)
    assert len(a[1]) == 5
    assert dd.split_workers(workers, 0.25, seed=4) != a


def test_oof_loader_missing_and_malformed(tmp_path):
    assert dd.load_oof("text_embed", tmp_path) is None
    st = dd.source_status(tmp_path)
    assert st["explicit"] == "ok" and st["if_rm"].startswith("not run: results/oof/if_rf.parquet missing")
    with pytest.raises(FileNotFoundError, match="run chapter 03"):
        dd.build_pairs(make_queries(), "if_rm", results_dir=tmp_path)
    (tmp_path / "oof").mkdir()
    pd.DataFrame({"query_id": [1], "score": [0.3]}).to_parquet(tmp_path / "oof" / "if_rf.parquet")
    with pytest.raises(ValueError, match="if_rf.parquet"):
        dd.load_oof("if_rf", tmp_path)


def test_configs_parse():
    files = sorted((ROOT / "configs" / "dpo").glob("*.yaml"))
    assert len(files) >= 9
    for f in files:
        cfg = TrainConfig.from_yaml(f)
        assert cfg.beta == 0.1 and cfg.alpha == 1.0
    with pytest.raises(ValueError, match="unknown settings"):
        TrainConfig.from_yaml(files[0], learning_rate=1)
    from ifl_utils.dpo.crossfit import CrossFitConfig

    chapter = CrossFitConfig.from_yaml(ROOT / "configs" / "dpo-chapter.yaml")
    assert chapter.beta == 0.1 and chapter.alpha == 1.0 and chapter.loss == "rdpo"
    with pytest.raises(ValueError, match="unknown settings"):
        CrossFitConfig.from_yaml(ROOT / "configs" / "dpo-chapter.yaml", dpo_steps=1)


# ------------------------------------------------------------------ evaluation helpers

def test_implicit_margins_use_the_workers_choice():
    run = {"test": {"query_id": [1, 2], "worker": ["a", "b"], "right_preferred": [1, 0],
                    "policy": [[-10.0, -8.0], [-10.0, -8.0]], "ref": [[-10.0, -10.0], [-10.0, -10.0]]}}
    m = de.implicit_margins(run, beta=0.1)
    assert m["margin"].tolist() == pytest.approx([0.2, -0.2])
    assert de.accuracy(m["margin"]) == 0.5


def test_gain_ratio_and_summary():
    a = pd.DataFrame({"worker": list("aabbcc"), "diff": [3.0, 3, 3, 3, 3, 3]})
    b = pd.DataFrame({"worker": list("aabbcc"), "diff": [1.0, 1, 1, 1, 1, 1]})
    r = de.gain_ratio(a, b, n_resamples=50)
    assert r["ratio"] == pytest.approx(3.0) and r["ci"] == pytest.approx((3.0, 3.0))
    g = de.gain_summary(b, n_resamples=50)
    assert g["gain"] == 1.0 and g["win_rate"] == 1.0 and g["workers"] == 3


# ------------------------------------------------------------------ tiny model end to end

def test_tiny_model_sft_dpo_end_to_end_is_deterministic(tiny_model_dir, tmp_path):
    q = make_queries()
    write_oof(tmp_path, q)
    logs = []
    for _ in range(2):
        ex = Experiment(tiny_cfg(tiny_model_dir), q, results_dir=tmp_path, cache=False)
        assert not set(ex.train_workers) & set(ex.test_workers)
        sft = ex.sft()
        assert len(sft["losses"]) == 2 and all(np.isfinite(sft["losses"]))
        gen = ex.sft_generations()
        assert len(gen) == 3
        r = ex.run("if_rm")
        logs.append([round(x["loss"], 6) for x in r["logs"]])
        assert r["train_pairs"] == 6 and 0 < r["mean_eps"] <= 0.45
        assert len(r["generations"]["text"]) == 3
    assert logs[0] == logs[1] and all(np.isfinite(logs[0]))
    m = de.implicit_margins(r, 0.1)
    assert len(m) == 6 and (m["margin"] != 0).any()   # the adapter moved the policy away from π_ref


def test_tiny_model_cache_reuses_runs(tiny_model_dir, tmp_path):
    q = make_queries()
    cfg = tiny_cfg(tiny_model_dir, dpo_steps=1)
    a = Experiment(cfg, q, results_dir=tmp_path, cache=tmp_path / "cache").run("explicit")
    files = sorted(p.name for p in (tmp_path / "cache").rglob("*.json"))
    assert any(f.startswith("run-explicit-") for f in files) and "sft.json" in files
    b = Experiment(cfg, q, results_dir=tmp_path, cache=tmp_path / "cache").run("explicit")
    assert a == b
    rev = Experiment(cfg, q, results_dir=tmp_path, cache=tmp_path / "cache").run("explicit_reversed")
    assert rev["source"] == "explicit_reversed" and rev["logs"] != a["logs"]


def test_sequence_logps_matches_a_plain_forward_pass(tiny_model_dir):
    """Left padding + logits_to_keep give the same answer log-probs as one unpadded sequence."""
    from transformers import AutoModelForCausalLM

    from ifl_utils.dpo.train import sequence_logps

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    seqs = [([5, 6, 7, 8, 9], [10, 11]), ([5, 6], [12, 13, 14, 15])]
    with torch.no_grad():
        lp, n = sequence_logps(model, seqs, pad_id=2)
        for (p, a), got in zip(seqs, lp):
            ids = torch.tensor([p + a])
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1], -1)
            want = sum(float(logp[len(p) - 1 + j, t]) for j, t in enumerate(a))
            assert float(got) == pytest.approx(want, abs=1e-5)
    assert n.tolist() == [2, 4]


def test_cli_entry_point_runs_under_accelerate(tiny_model_dir, tmp_path, monkeypatch):
    """``python -m ifl_utils.dpo.train --config ...`` (the scale-out entry; accelerate on CPU here)."""
    import json

    import ifl_utils.data.api as api
    from ifl_utils.dpo import train

    q = make_queries()

    class FakeDataset:
        def __init__(self, *a, **k):
            pass

        def queries(self):
            return q

    monkeypatch.setattr(api, "Dataset", FakeDataset)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(f"model: {tiny_model_dir}\nsft_steps: 1\ndpo_steps: 2\nbatch_size: 2\nn_train_pairs: 4\n"
                   "n_test_pairs: 4\nn_eval_prompts: 2\nmax_new_tokens: 3\nmax_prompt_tokens: 32\n"
                   "max_answer_tokens: 16\ntest_share: 0.3\n", encoding="utf-8")
    out = tmp_path / "out"
    assert train.main(["--config", str(cfg), "--source", "explicit", "--source", "explicit_reversed",
                       "--output", str(out), "--set", "lr=0.01"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["lr"] == 0.01 and saved["use_accelerate"] is True
    for s in ("explicit", "explicit_reversed"):
        r = json.loads((out / f"{s}.json").read_text())
        assert len(r["logs"]) == 2 and np.isfinite(r["logs"][-1]["loss"])
