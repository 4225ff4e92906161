"""Cross-fitted DPO on CPU: one LoRA per (fold, label source), held-out implicit reward on every pair.

What makes it fit two CPU cores (each choice is stated in the chapter):

* **Frozen trunk, adapted top.** The policy is SmolLM2 with LoRA adapters on the last
  ``top_layers`` transformer block(s) only. Everything below is frozen and identical for every
  policy, so the hidden state entering the top block is computed once per answer sequence
  (:meth:`Backbone.lower_states`) and reused by the reference, by every training step and by every
  held-out evaluation. Policy and reference then differ only through the adapters.
* **Reference log-probabilities once per pair.** They do not depend on the label source
  (:meth:`CrossFit.reference`), cached on disk.
* **Softmax over the data vocabulary.** Log-probabilities are normalised over the tokens that occur
  in any answer of the data set (``vocab="data"``; the chapter records how many) instead of the full vocabulary, for
  policy and reference alike; ``vocab="full"`` gives the model's own distribution.
* **Short question-only prompts, answers cut at ``max_answer_tokens``**, chosen by measurement
  (truncation shares and step time are reported).

Every (fold, source, config) run is cached as one JSON file under ``<cache_root>/dpo/crossfit/``,
keyed by the configuration, the training pairs with their labels and flip rates, the test pairs,
the vocabulary and :data:`RUN_VERSION` (bumped when training or scoring changes); each run also
records :func:`code_version`, the hash of this module and the loss. Writes are atomic.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .loss import cdpo_loss, rdpo_loss

#: Label sources of the comparison (plus the reversed control), in table order.
SOURCES = ("explicit", "explicit_reversed", "random", "text_rm", "if_rm")


@dataclass(frozen=True)
class CrossFitConfig:
    """Everything that defines a cross-fitted DPO run (hashed into every cache key)."""

    model: str = "smollm2-135m-instruct"
    k_folds: int = 5
    max_worker_share: float = 0.25
    max_prompt_tokens: int = 64        # question-only chat prompt, left-truncated
    max_answer_tokens: int = 128       # answers right-truncated; end-of-turn token only if it fits
    max_context_turns: int = 0
    top_layers: int = 1                # LoRA on the last block(s); the trunk below is frozen and cached
    lora_r: int = 8
    lora_alpha: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    vocab: str = "data"                # "data" (tokens of the answers) or "full"
    beta: float = 0.1
    alpha: float = 1.0                 # weight of the chosen answer's per-token mean NLL
    loss: str = "rdpo"                 # "rdpo" (release) or "cdpo" (conservative, soft labels)
    lr: float = 2e-3
    steps: int = 16
    batch_size: int = 8                # pairs per step
    grad_clip: float = 10.0
    seed: int = 0

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["lora_targets"] = list(self.lora_targets)
        return d

    def replace(self, **kw) -> "CrossFitConfig":
        return dataclasses.replace(self, **kw)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], **overrides) -> "CrossFitConfig":
        """Settings from a YAML file (see :func:`ifl_utils.dpo.settings.from_yaml`)."""
        from .settings import from_yaml

        return from_yaml(cls, path, **overrides)


#: Bump when the trunk / reference computation changes (their cache key does not hash the code, so
#: that edits to the training loop keep the expensive trunk pass).
TRUNK_VERSION = 1

#: Bump when training or scoring a policy changes (part of every run's cache key; a run made by older
#: code is then recomputed instead of being read back).
RUN_VERSION = 1


def code_version() -> str:
    """Hash of the modules whose change invalidates cached runs."""
    h = hashlib.sha256()
    for mod in ("crossfit.py", "loss.py"):
        h.update((Path(__file__).parent / mod).read_bytes())
    return h.hexdigest()[:12]


# ---------------------------------------------------------------- tokenisation

@dataclass
class Encoded:
    """Token ids of every pair: ``prompt[i]``, ``answers[i] = (pane 1 ids, pane 2 ids)`` and the
    shares of prompts / answers the limits cut."""

    query_id: np.ndarray
    prompt: list[list[int]]
    answers: list[tuple[list[int], list[int]]]
    prompt_truncated: float
    answer_truncated: float
    vocab_ids: np.ndarray

    def vocab_key(self) -> str:
        return hashlib.sha256(self.vocab_ids.astype(np.int64).tobytes()).hexdigest()[:12]


def encode_pairs(tok, pairs: pd.DataFrame, cfg: CrossFitConfig) -> Encoded:
    """Tokenise ``pairs`` (``prompt`` messages, ``response_1``, ``response_2``) under ``cfg``'s limits."""
    from .train import answer_ids, chat_text

    prompts, answers, pt, at = [], [], [], []
    vocab: set[int] = set()
    for msgs, r1, r2 in zip(pairs["prompt"], pairs["response_1"], pairs["response_2"]):
        ids = tok(chat_text(tok, msgs), add_special_tokens=False)["input_ids"]
        pt.append(len(ids) > cfg.max_prompt_tokens)
        prompts.append(ids[-cfg.max_prompt_tokens:])
        pane = []
        for r in (r1, r2):
            full = tok(str(r), add_special_tokens=False)["input_ids"]
            at.append(len(full) >= cfg.max_answer_tokens)
            a = answer_ids(tok, str(r), cfg.max_answer_tokens)
            vocab.update(a)
            pane.append(a)
        answers.append((pane[0], pane[1]))
    if cfg.vocab == "full":
        vocab_ids = np.arange(len(tok))
    elif cfg.vocab == "data":
        vocab_ids = np.array(sorted(vocab), dtype=np.int64)
    else:
        raise ValueError(f"vocab must be 'data' or 'full', not {cfg.vocab!r}")
    return Encoded(query_id=pairs["query_id"].astype("int64").to_numpy(), prompt=prompts, answers=answers,
                   prompt_truncated=float(np.mean(pt)) if pt else 0.0,
                   answer_truncated=float(np.mean(at)) if at else 0.0, vocab_ids=vocab_ids)


# ---------------------------------------------------------------- model pieces

class Backbone:
    """The frozen base model split into a cached trunk and a trainable top.

    Parameters
    ----------
    model, tok
        A causal LM with ``model.model.layers`` (Llama family) and its tokenizer.
    enc
        The encoded pairs (for the vocabulary).
    cfg
        The configuration.
    """

    def __init__(self, model, tok, enc: Encoded, cfg: CrossFitConfig):
        import torch

        self.model, self.tok, self.cfg, self.enc = model, tok, cfg, enc
        for p in model.parameters():
            p.requires_grad_(False)
        n = model.config.num_hidden_layers
        if not 1 <= cfg.top_layers <= n:
            raise ValueError(f"top_layers must be in 1..{n}, got {cfg.top_layers}")
        self.split = n - cfg.top_layers
        w = model.get_output_embeddings().weight.detach()
        vid = torch.as_tensor(enc.vocab_ids, dtype=torch.long)
        self.W = w[vid].float().contiguous()                      # (V', H)
        self.vmap = torch.full((w.shape[0],), -1, dtype=torch.long)
        self.vmap[vid] = torch.arange(len(vid))
        self._states: dict[tuple[int, int], "torch.Tensor"] = {}

    # -- trunk
    def lower_states(self, index: list[int], batch_size: int = 16) -> None:
        """Hidden states entering the top block for pairs ``index`` (both panes), kept in memory (fp16)."""
        import torch

        todo = [(i, k) for i in index for k in (0, 1) if (i, k) not in self._states]
        if not todo:
            return
        seqs = {(i, k): self.enc.prompt[i] + self.enc.answers[i][k] for i, k in todo}
        order = sorted(todo, key=lambda t: len(seqs[t]))
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        with torch.no_grad():
            for s in range(0, len(order), batch_size):
                chunk = order[s:s + batch_size]
                n = max(len(seqs[c]) for c in chunk)
                ids = torch.full((len(chunk), n), pad, dtype=torch.long)
                att = torch.zeros((len(chunk), n), dtype=torch.long)
                for r, c in enumerate(chunk):
                    ids[r, n - len(seqs[c]):] = torch.tensor(seqs[c])
                    att[r, n - len(seqs[c]):] = 1
                pos = (att.cumsum(-1) - 1).clamp(min=0)
                out = self.model.model(input_ids=ids, attention_mask=att, position_ids=pos,
                                       output_hidden_states=True, use_cache=False)
                h = out.hidden_states[self.split]
                for r, c in enumerate(chunk):
                    self._states[c] = h[r, n - len(seqs[c]):].to(torch.float16).clone()

    # -- top
    def top(self):
        """A fresh copy of the top block(s) on the shared (frozen) norm and rotary embedding."""
        import torch

        top = copy.copy(self.model)
        top._modules = dict(self.model._modules)
        inner = copy.copy(self.model.model)
        inner._modules = dict(self.model.model._modules)
        inner.layers = torch.nn.ModuleList(copy.deepcopy(layer) for layer in self.model.model.layers[self.split:])
        for p in inner.layers.parameters():
            p.requires_grad_(False)
        top.model = inner
        return top

    def with_lora(self, seed: int):
        """The top with a fresh, seeded LoRA adapter (B = 0, so it starts equal to the reference)."""
        import torch
        from peft import LoraConfig, get_peft_model

        from .train import _quiet_peft

        torch.manual_seed(seed)
        lc = LoraConfig(r=self.cfg.lora_r, lora_alpha=self.cfg.lora_alpha, lora_dropout=0.0,
                        target_modules=list(self.cfg.lora_targets), task_type="CAUSAL_LM")
        with _quiet_peft():
            pm = get_peft_model(self.top(), lc)
        return pm

    def logps(self, top, keys: list[tuple[int, int]]):
        """Summed answer log-probabilities (torch, differentiable) and token counts of sequences
        ``keys`` = (pair index, pane) under ``top`` (a :meth:`top` or :meth:`with_lora` module)."""
        import torch

        inner = top.get_base_model().model if hasattr(top, "get_base_model") else top.model
        plen = [len(self.enc.prompt[i]) for i, _ in keys]
        ans = [self.enc.answers[i][k] for i, k in keys]
        n = max(p + len(a) for p, a in zip(plen, ans))
        ka = max(len(a) for a in ans)
        h = torch.zeros((len(keys), n, self.W.shape[1]))
        att = torch.zeros((len(keys), n), dtype=torch.long)
        tgt = torch.zeros((len(keys), ka), dtype=torch.long)
        mask = torch.zeros((len(keys), ka), dtype=torch.bool)
        for r, (key, a) in enumerate(zip(keys, ans)):
            s = self._states[key]
            h[r, n - len(s):] = s.float()
            att[r, n - len(s):] = 1
            tgt[r, ka - len(a):] = self.vmap[torch.tensor(a)]
            mask[r, ka - len(a):] = True
        pos = (att.cumsum(-1) - 1).clamp(min=0)
        out = inner(inputs_embeds=h, attention_mask=att, position_ids=pos, use_cache=False).last_hidden_state
        logits = out[:, n - ka - 1:n - 1] @ self.W.T              # position t predicts token t + 1
        lp = logits.log_softmax(-1).gather(2, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return (lp * mask).sum(-1), mask.sum(-1)

    def batched(self, top, keys: list[tuple[int, int]], batch_size: int = 16) -> np.ndarray:
        """:meth:`logps` without gradients over many sequences (float64)."""
        import torch

        out = []
        with torch.no_grad():
            for s in range(0, len(keys), batch_size):
                lp, _ = self.logps(top, keys[s:s + batch_size])
                out.append(lp.double().numpy())
        return np.concatenate(out) if out else np.zeros(0)


def train_policy(bb: Backbone, train_idx: np.ndarray, label: np.ndarray, eps: np.ndarray,
                 ref: np.ndarray, cfg: CrossFitConfig) -> tuple[object, list[dict], dict]:
    """One LoRA policy: ``cfg.steps`` steps of (r|c)DPO + alpha * per-token NLL on the pairs
    ``train_idx`` (label 1 = pane 2 chosen). ``ref``: (n_pairs, 2) reference log-probs by pane.

    Returns the policy, per-step logs and the preference term's share of the gradient at step 1
    (norm of the DPO gradient / (that + norm of the NLL gradient)).
    """
    import torch

    pm = bb.with_lora(cfg.seed)
    params = [p for p in pm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    loss_fn = {"rdpo": rdpo_loss, "cdpo": cdpo_loss}[cfg.loss]
    rng = np.random.default_rng(cfg.seed)
    order: list[int] = []
    logs, share = [], {}
    bs = min(cfg.batch_size, len(train_idx))
    for step in range(cfg.steps):
        while len(order) < bs:
            order.extend(rng.permutation(len(train_idx)).tolist())
        sel, order = order[:bs], order[bs:]
        pairs = train_idx[sel]
        lab = label[sel]
        keys = [(int(i), int(l)) for i, l in zip(pairs, lab)] + [(int(i), 1 - int(l)) for i, l in zip(pairs, lab)]
        t0 = time.perf_counter()
        lp, n = bb.logps(pm, keys)
        k = len(sel)
        rc = torch.tensor(ref[sel, lab], dtype=lp.dtype)
        rr = torch.tensor(ref[sel, 1 - lab], dtype=lp.dtype)
        nll = -lp[:k] / n[:k].clamp(min=1)
        e = torch.tensor(eps[sel], dtype=lp.dtype)
        loss, parts = loss_fn(lp[:k], lp[k:], rc, rr, eps=e, beta=cfg.beta, alpha=cfg.alpha, nll_chosen=nll)
        if step == 0:
            dpo_part = (loss - cfg.alpha * nll.mean())
            g_d = torch.autograd.grad(dpo_part, params, retain_graph=True, allow_unused=True)
            g_n = torch.autograd.grad(cfg.alpha * nll.mean(), params, retain_graph=True, allow_unused=True)
            nd = float(torch.sqrt(sum((g ** 2).sum() for g in g_d if g is not None)))
            nn_ = float(torch.sqrt(sum((g ** 2).sum() for g in g_n if g is not None)))
            share = {"dpo_grad_norm": nd, "nll_grad_norm": nn_,
                     "preference_share": nd / (nd + nn_) if nd + nn_ > 0 else float("nan")}
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        logs.append({"step": step + 1, "loss": float(loss.detach()), "dpo": float(parts["dpo"].mean()),
                     "nll": float(parts["nll"].mean()),
                     "margin": float((parts["reward_chosen"] - parts["reward_rejected"]).mean()),
                     "seconds": time.perf_counter() - t0})
    pm.eval()
    return pm, logs, share


# ---------------------------------------------------------------- the cross-fitted experiment

class CrossFit:
    """Cross-fitted DPO over a fold plan, with every run cached.

    Parameters
    ----------
    cfg
        The configuration.
    pairs
        ``FoldPlan.pairs``: query_id, worker, fold, prompt, response_1, response_2, right_preferred.
    rm_labels
        Per outer fold, the reward-model labels of its training pairs: columns fold, source,
        query_id, label, eps (from :func:`ifl_utils.dpo.rm_labels.fold_labels`).
    cache
        Folder for run files (default ``<cache_root>/dpo/crossfit``); ``False`` disables caching.
    model_loader
        ``() -> (model, tokenizer)``; default :func:`ifl_utils.dpo.model.load` of ``cfg.model``.
    """

    def __init__(self, cfg: CrossFitConfig, pairs: pd.DataFrame, rm_labels: pd.DataFrame | None = None,
                 cache: str | os.PathLike[str] | bool | None = None, model_loader=None):
        self.cfg = cfg
        self.pairs = pairs.sort_values("query_id").reset_index(drop=True)
        self.rm = rm_labels
        if cache is None:
            from ..data.locate import cache_root

            cache = cache_root() / "dpo" / "crossfit"
        self.cache = Path(cache) if cache else None
        self._loader = model_loader
        self._bb: Backbone | None = None
        self._tok = None
        self._enc: Encoded | None = None
        self._ref: np.ndarray | None = None
        self.timings: dict[str, float] = {}
        rng = np.random.default_rng(cfg.seed + 7919)
        self.random_labels = rng.integers(0, 2, len(self.pairs))

    # -- lazy model pieces
    def _load(self):
        if self._loader is not None:
            return self._loader()
        from .model import load

        return load(self.cfg.model)

    @property
    def tok(self):
        if self._tok is None:
            if self._bb is not None:
                self._tok = self._bb.tok
            else:
                from transformers import AutoTokenizer

                from .model import resolve_model

                if self._loader is not None:
                    m, self._tok = self._loader()
                    self._model_cache = m
                else:
                    self._tok = AutoTokenizer.from_pretrained(resolve_model(self.cfg.model))
                    if self._tok.pad_token is None:
                        self._tok.pad_token = self._tok.eos_token
        return self._tok

    @property
    def enc(self) -> Encoded:
        if self._enc is None:
            self._enc = encode_pairs(self.tok, self.pairs, self.cfg)
        return self._enc

    @property
    def backbone(self) -> Backbone:
        if self._bb is None:
            model = getattr(self, "_model_cache", None)
            if model is None:
                model, tok = self._load()
                self._tok = tok
            self._bb = Backbone(model, self.tok, self.enc, self.cfg)
        return self._bb

    def _data_key(self) -> str:
        h = hashlib.sha256(json.dumps([self.cfg.model, self.cfg.max_prompt_tokens, self.cfg.max_answer_tokens,
                                       self.cfg.max_context_turns, self.cfg.top_layers, self.cfg.vocab,
                                       self.enc.vocab_key(), TRUNK_VERSION]).encode())
        for p, (a, b) in zip(self.enc.prompt, self.enc.answers):
            h.update(json.dumps([p, a, b]).encode())
        return h.hexdigest()[:16]

    # -- reference
    def reference(self) -> np.ndarray:
        """Reference (frozen model) log-probs, shape (n_pairs, 2) by pane; cached on disk."""
        if self._ref is not None:
            return self._ref
        path = self.cache / f"ref-{self._data_key()}.json" if self.cache else None
        if path is not None and path.is_file():
            d = json.loads(path.read_text(encoding="utf-8"))
            self._ref = np.asarray(d["ref"], float)
            self.timings.update(d.get("timings", {}))
            return self._ref
        bb = self.backbone
        idx = list(range(len(self.pairs)))
        t0 = time.perf_counter()
        self._trunk(idx)
        t1 = time.perf_counter()
        keys = [(i, k) for i in idx for k in (0, 1)]
        ref = bb.batched(bb.top(), keys).reshape(-1, 2)
        t2 = time.perf_counter()
        self.timings.update({"trunk_seconds": t1 - t0, "reference_seconds": t2 - t1,
                             "trunk_tokens": int(sum(len(p) + len(a) + len(b) for p, (a, b) in
                                                     zip(self.enc.prompt, self.enc.answers)))})
        self._ref = ref
        if path is not None:
            from ..io import write_json_atomic

            write_json_atomic(path, {"query_id": self.enc.query_id.tolist(), "ref": ref.tolist(),
                                     "timings": self.timings})
        return ref

    def _trunk(self, idx: list[int]) -> None:
        """Trunk states of all pairs: from the disk cache (``states-<key>.npy``) or computed and saved."""
        import torch

        bb = self.backbone
        path = self.cache / f"states-{self._data_key()}.npy" if self.cache else None
        if path is not None and path.is_file():
            arr = np.load(path)
            off = 0
            for i in range(len(self.pairs)):
                for k in (0, 1):
                    n = len(self.enc.prompt[i]) + len(self.enc.answers[i][k])
                    bb._states[(i, k)] = torch.from_numpy(arr[off:off + n].copy())
                    off += n
            return
        bb.lower_states(idx)
        if path is not None and len(idx) == len(self.pairs):
            from ..io import atomic_path

            arr = np.concatenate([bb._states[(i, k)].numpy() for i in range(len(self.pairs)) for k in (0, 1)])
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, arr)

    def _ensure_states(self) -> None:
        if not self.backbone._states:
            self._trunk(list(range(len(self.pairs))))

    # -- labels
    def labels(self, source: str, fold: int) -> pd.DataFrame:
        """Training pairs of ``fold`` with ``source``'s labels: index (row in pairs), label, eps."""
        tr = np.flatnonzero(self.pairs["fold"].to_numpy() != fold)
        human = self.pairs["right_preferred"].astype(int).to_numpy()
        if source == "explicit":
            lab, eps = human[tr], np.zeros(len(tr))
        elif source == "explicit_reversed":
            lab, eps = 1 - human[tr], np.zeros(len(tr))
        elif source == "random":
            lab, eps = self.random_labels[tr], np.zeros(len(tr))
        else:
            if self.rm is None:
                raise ValueError(f"source {source!r} needs reward-model labels")
            r = self.rm[(self.rm["fold"] == fold) & (self.rm["source"] == source)].set_index("query_id")
            q = self.pairs["query_id"].to_numpy()[tr]
            missing = ~np.isin(q, r.index.to_numpy())
            if missing.any():
                raise ValueError(f"{source}: no label for {int(missing.sum())} training pairs of fold {fold}")
            lab = r.loc[q, "label"].astype(int).to_numpy()
            eps = r.loc[q, "eps"].astype(float).to_numpy()
        return pd.DataFrame({"index": tr, "label": lab, "eps": eps})

    # -- one run
    def run_key(self, source: str, fold: int, cfg: CrossFitConfig | None = None,
                train_index: np.ndarray | None = None) -> str:
        cfg = cfg or self.cfg
        lab = self.labels(source, fold)
        if train_index is not None:
            lab = lab[lab["index"].isin(train_index)]
        test = np.flatnonzero(self.pairs["fold"].to_numpy() == fold)
        payload = [RUN_VERSION, cfg.to_dict(), source, int(fold), self._data_key(),
                   self.pairs["query_id"].to_numpy()[lab["index"]].tolist(), lab["label"].tolist(),
                   np.round(lab["eps"].to_numpy(), 6).tolist(), self.pairs["query_id"].to_numpy()[test].tolist()]
        return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:16]

    def run(self, source: str, fold: int, cfg: CrossFitConfig | None = None,
            train_index: np.ndarray | None = None, test_index: np.ndarray | None = None) -> dict:
        """Train one policy on ``fold``'s training pairs with ``source``'s labels and score its test
        pairs (or ``test_index``); cached. ``cfg`` overrides training settings (not the encoding)."""
        cfg = cfg or self.cfg
        for f in ("model", "max_prompt_tokens", "max_answer_tokens", "max_context_turns", "top_layers", "vocab"):
            if getattr(cfg, f) != getattr(self.cfg, f):
                raise ValueError(f"run(cfg=...) may not change {f}; make a new CrossFit")
        key = self.run_key(source, fold, cfg, train_index)
        if test_index is not None:
            key = hashlib.sha256((key + json.dumps(np.asarray(test_index).tolist())).encode()).hexdigest()[:16]
        path = self.cache / f"run-{source}-f{fold}-{key}.json" if self.cache else None
        if path is not None and path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        lab = self.labels(source, fold)
        if train_index is not None:
            lab = lab[lab["index"].isin(train_index)].reset_index(drop=True)
        test = (np.flatnonzero(self.pairs["fold"].to_numpy() == fold) if test_index is None
                else np.asarray(test_index, int))
        ref = self.reference()
        bb = self.backbone
        self._ensure_states()
        t0 = time.perf_counter()
        pm, logs, share = train_policy(bb, lab["index"].to_numpy(), lab["label"].to_numpy(),
                                       lab["eps"].to_numpy(), ref[lab["index"].to_numpy()], cfg)
        t1 = time.perf_counter()
        pol = bb.batched(pm, [(int(i), k) for i in test for k in (0, 1)]).reshape(-1, 2)
        t2 = time.perf_counter()
        human = self.pairs["right_preferred"].astype(int).to_numpy()
        eps = lab["eps"].to_numpy()
        out = {"source": source, "fold": int(fold), "config": cfg.to_dict(), "code": code_version(),
               "train": {"n_pairs": int(len(lab)), "n_workers": int(self.pairs["worker"].iloc[lab["index"]].nunique()),
                         "pairs_seen": int(min(len(lab), cfg.steps * cfg.batch_size)),
                         "label_agreement": float((lab["label"].to_numpy() == human[lab["index"]]).mean()),
                         "mean_eps": float(eps.mean()), "mean_rdpo_scale": float(np.mean(1 / (1 - 2 * eps))),
                         "mean_cdpo_scale": float(np.mean(1 - 2 * eps))},
               "grad": share, "logs": logs, "train_seconds": t1 - t0, "eval_seconds": t2 - t1,
               "test": {"query_id": self.pairs["query_id"].to_numpy()[test].tolist(),
                        "worker": self.pairs["worker"].astype(str).to_numpy()[test].tolist(),
                        "right_preferred": human[test].tolist(),
                        "policy": pol.tolist(), "ref": ref[test].tolist()}}
        if path is not None:
            from ..io import write_json_atomic

            write_json_atomic(path, out)
        return out

    def all_runs(self, sources, folds=None, cfg: CrossFitConfig | None = None, progress=None) -> dict:
        """``{source: [run of fold 0, ...]}`` for ``folds`` (default all)."""
        folds = sorted(self.pairs["fold"].unique()) if folds is None else folds
        out = {}
        for s in sources:
            out[s] = []
            for f in folds:
                out[s].append(self.run(s, int(f), cfg))
                if progress is not None:
                    progress(s, f)
        return out


def margins(runs: list[dict], beta: float) -> pd.DataFrame:
    """Per held-out pair (all folds of one source): query_id, worker, fold, margin of the implicit
    reward beta * (log pi - log pi_ref) of the worker's preferred answer over the other, and
    ``correct`` (1 if margin > 0, 0.5 on a tie, else 0)."""
    rows = []
    for r in runs:
        t = r["test"]
        pol, ref = np.asarray(t["policy"], float).reshape(-1, 2), np.asarray(t["ref"], float).reshape(-1, 2)
        rew = beta * (pol - ref)
        right = np.asarray(t["right_preferred"]) == 1
        m = np.where(right, rew[:, 1] - rew[:, 0], rew[:, 0] - rew[:, 1])
        rows.append(pd.DataFrame({"query_id": t["query_id"], "worker": t["worker"], "fold": r["fold"],
                                  "margin": m, "correct": (m > 0) + 0.5 * (m == 0)}))
    return pd.concat(rows, ignore_index=True).sort_values("query_id").reset_index(drop=True)
