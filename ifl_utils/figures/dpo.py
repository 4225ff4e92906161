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


def accuracy_and_differences(acc: pd.DataFrame, diffs: pd.DataFrame) -> plt.Figure:
    """Left: held-out implicit-reward accuracy per label source with worker-bootstrap CIs (0.5 =
    chance). Right: paired differences (same pairs) with their CIs (0 = no difference)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.42 * max(len(acc), len(diffs)) + 1.6))
    for ax, t, v, ref, xl in ((axes[0], acc, "accuracy", 0.5, "held-out accuracy (share of pairs)"),
                              (axes[1], diffs, "difference", 0.0, "paired difference (accuracy points / 100)")):
        y = np.arange(len(t))[::-1]
        err = np.vstack([t[v] - t["ci_lo"], t["ci_hi"] - t[v]]).astype(float)
        ax.errorbar(t[v].astype(float), y, xerr=err, fmt="o", color=OKABE_ITO[0], capsize=3)
        ax.set_yticks(y, t.index)
        ax.axvline(ref, color="grey", ls="--", lw=0.8)
        ax.set_xlabel(xl)
    axes[0].set_ylabel("label source")
    axes[1].set_ylabel("contrast")
    axes[0].set_title("Implicit reward vs workers' choices")
    axes[1].set_title("Paired differences")
    fig.tight_layout()
    return fig


def power_curves(curves: dict[str, pd.DataFrame], current_workers: int, target: float = 0.8) -> plt.Figure:
    """Simulated power against the number of test workers, one line per simulated contrast."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for i, (name, c) in enumerate(curves.items()):
        ax.plot(c["workers"], c["power"], marker="o", ms=3, color=OKABE_ITO[i % len(OKABE_ITO)], label=name)
    ax.axhline(target, color="grey", ls="--", lw=0.8)
    ax.axvline(current_workers, color="grey", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("workers in the data (count; pairs per worker as now)")
    ax.set_ylabel("power (share of simulated studies)")
    ax.set_title("Probability that the comparison detects the effect")
    ax.legend(fontsize=8)
    return fig
