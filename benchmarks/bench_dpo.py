"""DPO benchmark: seconds per rDPO + NLL LoRA step of the GPU-path trainer (``ifl_utils.dpo.train``:
4 real IFLLM pairs per step, prompts <= 96 and answers <= 128 tokens, SmolLM2-135M-Instruct, LoRA on
q/v of every block, cached reference log-probs), greedy generation throughput (batch 8, 48 new
tokens), the DPO chapter's own step (``ifl_utils.dpo.crossfit``: 8 pairs, answers <= 64 tokens, LoRA on
the last block over cached trunk states) and peak RSS. One JSON object.

Run: ``python -m benchmarks.bench_dpo`` with ``IFLLM_DATA`` set (and ``OMP_WAIT_POLICY=PASSIVE``).
Medians over ``repeat`` timed steps / generation batches after one warm-up each.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time

from ifl_utils.benchmarks_report import machine_description


def main(data: str | None = None, repeat: int = 3) -> dict:
    """Run the benchmark and return its JSON-ready result."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numpy as np
    import torch

    from ifl_utils.data.api import Dataset
    from ifl_utils.dpo import train as T
    from ifl_utils.dpo.data import build_pairs, eval_prompts
    from ifl_utils.dpo.loss import rdpo_loss
    from ifl_utils.dpo.model import load

    torch.manual_seed(0)
    cfg = T.TrainConfig(batch_size=4, max_prompt_tokens=96, max_answer_tokens=128, max_new_tokens=48,
                        gen_batch_size=8)
    queries = Dataset(data, progress=False).queries()
    pairs = build_pairs(queries, "explicit", max_context_turns=cfg.max_context_turns).head(4 * (repeat + 1))
    t0 = time.perf_counter()
    model, tok = load(cfg.model)
    load_s = time.perf_counter() - t0
    enc = lambda p, a: (T.prompt_ids(tok, p, cfg.max_prompt_tokens), T.answer_ids(tok, a, cfg.max_answer_tokens))  # noqa: E731
    chosen = [enc(p, a) for p, a in zip(pairs["prompt"], pairs["chosen"])]
    rejected = [enc(p, a) for p, a in zip(pairs["prompt"], pairs["rejected"])]
    ref = T.batched_logps(model, chosen + rejected, tok.pad_token_id, batch_size=8)
    n = len(chosen)
    policy = T.add_lora(model, cfg)
    policy.train()
    params = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    steps, tokens = [], []
    for i in range(repeat + 1):
        idx = list(range(4 * i, 4 * i + 4))
        seqs = [chosen[j] for j in idx] + [rejected[j] for j in idx]
        t = time.perf_counter()
        lp, _ = T.sequence_logps(policy, seqs, tok.pad_token_id)
        rc = torch.tensor(ref[idx], dtype=lp.dtype)
        rr = torch.tensor(ref[[n + j for j in idx]], dtype=lp.dtype)
        loss, _ = rdpo_loss(lp[:4], lp[4:], rc, rr, eps=0.1, beta=cfg.beta, alpha=cfg.alpha)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i:  # the first step is a warm-up
            steps.append(time.perf_counter() - t)
            tokens.append(sum(len(p) + len(a) for p, a in seqs))
    policy.eval()
    prompts = list(eval_prompts(queries, queries["worker"].unique(), n=8 * (repeat + 1), seed=0)["prompt"])
    rates = []
    for i in range(repeat + 1):
        t = time.perf_counter()
        out = T.generate(policy, tok, prompts[8 * i:8 * i + 8], cfg)
        dt = time.perf_counter() - t
        if i:
            rates.append(sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in out) / dt)
    # the chapter's step: cross-fitted trainer on 2 folds of 16 real pairs (trunk computed once)
    from ifl_utils.dpo.crossfit import CrossFit, CrossFitConfig

    ccfg = CrossFitConfig(steps=repeat + 1, batch_size=8, max_answer_tokens=64)
    cp = build_pairs(queries, "explicit", max_context_turns=0).head(16).assign(fold=[0, 1] * 8)
    xf = CrossFit(ccfg, cp, cache=False, model_loader=lambda: load(ccfg.model))  # a fresh, adapter-free copy
    t = time.perf_counter()
    xf.reference()
    trunk_s = time.perf_counter() - t
    run = xf.run("explicit", 0)
    chapter_steps = [lg["seconds"] for lg in run["logs"]][1:]
    return {
        "benchmark": "dpo",
        "chapter_step_s": round(statistics.median(chapter_steps), 2),
        "chapter_trunk_tokens_per_s": round(xf.timings["trunk_tokens"] / trunk_s, 1),
        "machine": dict(machine_description(), threads=torch.get_num_threads()),
        "repeat": repeat,
        "model": "SmolLM2-135M-Instruct fp32 + LoRA r=8 (q_proj, v_proj)",
        "load_s": round(load_s, 2),
        "dpo_step_s": round(statistics.median(steps), 2),
        "dpo_step_runs_s": [round(x, 2) for x in steps],
        "dpo_tokens_per_step": int(np.median(tokens)),
        "pairs_per_step": 4,
        "generation_tokens_per_s": round(statistics.median(rates), 1),
        "generation_batch": 8,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "targets": {"peak_rss_mb": 6144},
    }


if __name__ == "__main__":
    json.dump(main(os.environ.get("IFLLM_DATA")), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
