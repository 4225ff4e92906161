"""One figure style for the whole book: Okabe-Ito colours, labelled axes with units, PNG output.

Every figure function in ``ifl_utils`` returns a :class:`matplotlib.figure.Figure`; notebooks show
it inline and :func:`save` writes it under the book's figure folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

FIGURE_DIR = Path("book") / "executed" / "figures"


def use_style() -> None:
    """Apply the book's matplotlib style (call once per notebook; idempotent)."""
    plt.rcParams.update({
        "figure.figsize": (6.4, 3.6),
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "axes.prop_cycle": matplotlib.cycler(color=list(OKABE_ITO)),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.25,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.labelsize": 10,
        "legend.frameon": False,
        "font.size": 10,
    })
    try:
        import seaborn as sns

        sns.set_palette(list(OKABE_ITO))
    except ImportError:  # seaborn is optional for the package itself
        pass


def check_labelled(fig: "matplotlib.figure.Figure") -> None:
    """Raise ``ValueError`` when an axis with data lacks an x or y label (units belong there)."""
    for ax in fig.axes:
        if not ax.has_data() or not ax.axison:
            continue
        if not ax.get_xlabel() or not ax.get_ylabel():
            raise ValueError(f"axes {ax.get_title()!r} needs both axis labels (with units)")


def save(fig: "matplotlib.figure.Figure", name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Save ``fig`` as ``<root>/book/executed/figures/<name>.png`` (atomically) and return the path."""
    from .io import atomic_path

    check_labelled(fig)
    base = Path(root) if root is not None else Path.cwd()
    target = base / FIGURE_DIR / f"{name}.png"
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    return target
