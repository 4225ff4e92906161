"""Figures of the DPO chapter. Each returns a matplotlib Figure in the book's style."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plots import OKABE_ITO


def learning_curves(logs: dict[str, list[dict]], sft_losses: list[float] | None = None) -> plt.Figure:
    """DPO loss (rDPO + alpha * NLL) and implicit-reward margin per step, one line per label source."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for i, (source, log) in enumerate(logs.items()):
        steps = [r["step"] for r in log]
        c = OKABE_ITO[i % len(OKABE_ITO)]
        axes[0].plot(steps, [r["dpo"] for r in log], marker="o", ms=3, color=c, label=source)
        axes[1].plot(steps, [r["margin"] for r in log], marker="o", ms=3, color=c, label=source)
    axes[0].set_xlabel("DPO step")
    axes[0].set_ylabel("rDPO part of the loss (nats)")
    axes[0].set_title("Preference loss on training batches")
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set_xlabel("DPO step")
    axes[1].set_ylabel("implicit reward margin (beta x nats)")
    axes[1].set_title("Chosen minus rejected reward")
    axes[1].legend(fontsize=8)
    return fig


def gains(table: pd.DataFrame, value: str, lo: str, hi: str, xlabel: str, title: str,
          ref: float | None = None) -> plt.Figure:
    """Horizontal bars with CIs, one per label source (rows of ``table``, index = source)."""
    t = table.dropna(subset=[value])
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * max(len(t), 2) + 1.2))
    y = np.arange(len(t))
    err = np.vstack([t[value] - t[lo], t[hi] - t[value]])
    ax.barh(y, t[value], xerr=err, color=[OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(t))],
            capsize=3, height=0.6)
    ax.set_yticks(y, t.index)
    if ref is not None:
        ax.axvline(ref, color="grey", ls="--", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("label source")
    ax.set_title(title)
    return fig
