"""What every chapter does first: say which package version and mode it runs, set the figure style,
start its results file. Keeps the chapters free of copied boilerplate."""
from __future__ import annotations

import os
import random
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .plots import use_style
from .results import Recorder, start
from .execution import ENV_CACHE_LOG, watch_cache_reads
from .runner import project_root


@dataclass
class Chapter:
    """The running chapter: its name, mode, seed, repository root and results recorder."""

    name: str
    mode: str
    seed: int
    root: Path
    results: Recorder
    data: str | None

    @property
    def quick(self) -> bool:
        """True in quick (CI) mode."""
        return self.mode == "quick"

    def record(self, name: str, value, ci=None, n=None, protocol=None, glue: bool = True):
        """Record a number in the results file and glue it for the text (key: ``name`` with '/' -> '.')."""
        self.results.record(name, value, ci=ci, n=n, protocol=protocol)
        if glue:
            from myst_nb import glue as _glue

            from .results import _plain

            # numpy scalars would render as "np.float64(...)" in the text
            _glue(glue_key(name), _plain(value), display=False)
        return value

    def save_figure(self, fig, name: str) -> Path:
        """Save ``fig`` under the book's figure folder (PNG) and return the path."""
        from .plots import save

        return save(fig, f"{self.name}-{name}", root=self.root)

    def figure(self, fig, name: str) -> Path:
        """Save ``fig`` (PNG), glue it for a numbered, captioned figure, and close it.

        The chapter then places it with a markdown cell::

            ```{glue:figure} fig.<name>
            :name: fig-<name>

            Caption.
            ```

        and cites it as ``{numref}`fig-<name>```. Returns the saved PNG's path.
        """
        import matplotlib.pyplot as plt
        from myst_nb import glue as _glue

        path = self.save_figure(fig, name)
        _glue(figure_key(name), fig, display=False)
        plt.close(fig)
        return path


def figure_key(name: str) -> str:
    """Return the glue key of figure ``name`` (see :meth:`Chapter.figure`)."""
    return f"fig.{name}"


def glue_key(name: str) -> str:
    """Return the glue key used for result ``name`` (slashes become dots)."""
    return name.replace("/", ".")


def _glue_paper_values() -> None:
    """Glue every value of :data:`ifl_utils.paper.PAPER` as ``paper.<name with dots>``, so the
    prose quotes the paper's numbers from the one place they are written down."""
    from myst_nb import glue as _glue

    from .paper import PAPER

    for name, pv in PAPER.items():
        _glue("paper." + glue_key(name), pv.value, display=False)


_WATCHING = False


def _watch_cache_reads() -> None:
    """Under the runner (``IFL_CACHE_LOG`` set), log the cache entries this kernel reads, for the
    execution report's cold/warm cache state (:mod:`ifl_utils.execution`). Once per kernel."""
    global _WATCHING
    log = os.environ.get(ENV_CACHE_LOG)
    if log and not _WATCHING:
        from .data.locate import cache_root

        _WATCHING = watch_cache_reads(cache_root(), log)


def setup(name: str, mode: str = "full", seed: int = 0, results_dir: str = "results",
          data: str | None = None) -> Chapter:
    """Prepare a chapter: seed numpy/random, apply the style, start ``results/<name>.json``.

    Prints the ``ifl_utils`` version and the mode, so a reader can tell which code made the page,
    and glues the paper's reference values (``{glue:text}`paper.pairwise.if.accuracy:.0%```).
    """
    if mode not in ("quick", "full"):
        raise ValueError(f"mode must be 'quick' or 'full', got {mode!r}")
    # tqdm.auto (imported by pooch, transformers, ...) warns once per kernel that ipywidgets is
    # missing; the book shows no progress bars, so the warning would only be noise on the page
    warnings.filterwarnings("ignore", message="IProgress not found")
    _watch_cache_reads()
    root = project_root()
    random.seed(seed)
    np.random.seed(seed)
    use_style()
    rec = start(name, mode=mode, seed=seed, results_dir=root / results_dir)
    data = data or os.environ.get("IFLLM_DATA") or None
    print(f"ifl_utils {__version__} | chapter {name} | mode {mode} | seed {seed}")
    _glue_paper_values()
    return Chapter(name=name, mode=mode, seed=seed, root=root, results=rec, data=data)
