"""Reading a settings dataclass (``TrainConfig``, ``CrossFitConfig``) from a YAML file."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def from_yaml(cls: type[T], path: str | os.PathLike[str], **overrides: Any) -> T:
    """Build the dataclass ``cls`` from the YAML mapping in ``path``, then ``overrides``.

    Parameters
    ----------
    cls
        A dataclass whose fields are the settings; a ``lora_targets`` list becomes a tuple.
    path
        YAML file holding a mapping of field names to values (an empty file means all defaults).
    **overrides
        Values that replace the file's.

    Returns
    -------
    T
        The settings.

    Raises
    ------
    ValueError
        A key that is not a field of ``cls``, naming the file and the unknown keys.
    """
    import yaml

    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    raw.update(overrides)
    unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
    if "lora_targets" in raw:
        raw["lora_targets"] = tuple(raw["lora_targets"])
    return cls(**raw)
