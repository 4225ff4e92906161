"""Numbers the book quotes: recorded by the notebooks, read back by pages, never typed by hand.

Each notebook writes ``results/<notebook stem>.json``::

    {"notebook": ..., "mode": ..., "seed": ...,
     "numbers": {"<slash/separated/name>": {"value", "ci": [lo, hi] | null, "n" | null,
                                            "protocol" | null, "paper" | null,
                                            "paper_source" | null}}}

The paper's value is filled in from :mod:`ifl_utils.paper` when it has one under the same name.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .io import write_json_atomic
from .paper import paper_value

_DEFAULT_DIR = "results"


def _plain(value: Any) -> Any:
    """Convert numpy scalars/arrays to plain JSON types; NaN becomes None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Recorder:
    """Collects the numbers of one notebook and writes them atomically after each record.

    Parameters
    ----------
    notebook
        Notebook stem, e.g. ``"01_dataset"``; names the file ``<results_dir>/<notebook>.json``.
    mode
        ``"quick"`` or ``"full"``.
    seed
        The notebook's seed.
    results_dir
        Folder of the results files (default ``results`` or env ``IFL_RESULTS_DIR``).
    """

    notebook: str
    mode: str = "full"
    seed: int = 0
    results_dir: str | os.PathLike[str] | None = None
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in ("quick", "full"):
            raise ValueError(f"mode must be 'quick' or 'full', got {self.mode!r}")
        self.results_dir = Path(self.results_dir or os.environ.get("IFL_RESULTS_DIR", _DEFAULT_DIR))

    @property
    def path(self) -> Path:
        """The results file this recorder writes."""
        return Path(self.results_dir) / f"{self.notebook}.json"

    def record(self, name: str, value: Any, ci: tuple[float, float] | None = None,
               n: int | None = None, protocol: str | None = None) -> Any:
        """Record one number and rewrite the results file; return ``value`` for chaining.

        Parameters
        ----------
        name
            Slash-separated result name, e.g. ``"dataset/workers"``.
        value
            The number (or a short string such as ``"not run: no judge endpoint configured"``).
        ci
            95 % confidence interval ``(lo, hi)``, when there is one.
        n
            Number of independent units behind the estimate.
        protocol
            Evaluation protocol, e.g. ``"paper"`` or ``"grouped"``.
        """
        if not name or name.startswith("/") or " " in name:
            raise ValueError(f"result names are slash-separated words without spaces, got {name!r}")
        ref = paper_value(name)
        self.numbers[name] = {
            "value": _plain(value),
            "ci": None if ci is None else [_plain(ci[0]), _plain(ci[1])],
            "n": None if n is None else int(n),
            "protocol": protocol,
            "paper": None if ref is None else ref.value,
            "paper_source": None if ref is None else ref.source,
        }
        self.save()
        return value

    def save(self) -> Path:
        """Write the results file atomically and return its path."""
        write_json_atomic(self.path, {"notebook": self.notebook, "mode": self.mode,
                                      "seed": self.seed, "numbers": self.numbers})
        return self.path


_CURRENT: Recorder | None = None


def start(notebook: str, mode: str = "full", seed: int = 0,
          results_dir: str | os.PathLike[str] | None = None) -> Recorder:
    """Begin a fresh results file for ``notebook`` and make it the target of :func:`record`."""
    global _CURRENT
    _CURRENT = Recorder(notebook=notebook, mode=mode, seed=seed, results_dir=results_dir)
    _CURRENT.save()
    return _CURRENT


def record(name: str, value: Any, ci: tuple[float, float] | None = None, n: int | None = None,
           protocol: str | None = None) -> Any:
    """Record a number in the notebook's results file (see :meth:`Recorder.record`).

    :func:`start` must have been called first in the notebook.
    """
    if _CURRENT is None:
        raise RuntimeError("call ifl_utils.results.start(notebook, mode, seed) before record()")
    return _CURRENT.record(name, value, ci=ci, n=n, protocol=protocol)


def load(notebook: str, results_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read ``<results_dir>/<notebook>.json``; raise ``FileNotFoundError`` naming the chapter."""
    path = Path(results_dir or os.environ.get("IFL_RESULTS_DIR", _DEFAULT_DIR)) / f"{notebook}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no results yet; run the chapter {notebook!r} first "
                                f"(ifl run --only {notebook[:2]})")
    return json.loads(path.read_text(encoding="utf-8"))


def value(notebook: str, name: str, results_dir: str | os.PathLike[str] | None = None) -> Any:
    """Return the recorded value of ``name`` from ``notebook``'s results file."""
    numbers = load(notebook, results_dir)["numbers"]
    if name not in numbers:
        raise KeyError(f"{notebook}.json has no result {name!r}; it has: {sorted(numbers)[:10]}...")
    return numbers[name]["value"]
