"""Figures of the reward-model chapter (T2 accuracies, F7 importance)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plots import OKABE_ITO

GROUP_COLOURS = {"gaze": OKABE_ITO[0], "mouse": OKABE_ITO[1], "cross": OKABE_ITO[2], "text": OKABE_ITO[5],
                 "embedding": OKABE_ITO[3]}


def accuracy_by_protocol(table: pd.DataFrame, majority: float):
    """T2 as a dot plot: accuracy with 95 % worker-bootstrap CIs, paper vs grouped protocol."""
    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(models) + 1.2))
    for i, (prot, d) in enumerate(table.groupby("protocol", sort=True)):
        d = d.set_index("model").reindex(models)
        yy = np.arange(len(models)) + (0.15 if prot == "paper" else -0.15)
        ax.errorbar(d["accuracy"], yy, xerr=[d["accuracy"] - d["acc_lo"], d["acc_hi"] - d["accuracy"]],
                    fmt="o", color=OKABE_ITO[i], label=f"{prot} protocol", capsize=2)
    ax.axvline(majority, color="grey", ls="--", lw=1, label="majority rate")
    ax.set_yticks(np.arange(len(models)), models)
    ax.invert_yaxis()
    ax.set_xlabel("pairwise accuracy (out-of-fold, 95 % CI over workers)")
    ax.set_ylabel("model")
    ax.set_title("Pairwise accuracy under row-wise (paper) and worker-grouped folds")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def top_features(fi: pd.DataFrame, k: int = 15, model: str = "the model"):
    """F7: the ``k`` features with the largest held-out permutation importance, coloured by group.

    ``model`` names the model whose importances ``fi`` holds (for the title)."""
    d = fi.head(k).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(d) + 1.2))
    ax.barh(d["feature"], d["importance"], color=[GROUP_COLOURS.get(g, "grey") for g in d["group"]])
    for g, c in GROUP_COLOURS.items():
        if g in set(d["group"]):
            ax.barh([], [], color=c, label=g)
    ax.set_xlabel("accuracy drop when permuted (held-out folds)")
    ax.set_ylabel("feature")
    ax.set_title(f"Which features {model} uses")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def group_importance_by_length(gi: pd.DataFrame):
    """F7b: accuracy drop when a whole feature group is permuted, by answer-length tertile."""
    p = gi.pivot(index="tertile", columns="group", values="importance").reindex(["short", "medium", "long"])
    n = gi.groupby("tertile")["n"].first().reindex(p.index)
    fig, ax = plt.subplots()
    w = 0.8 / max(1, p.shape[1])
    for i, g in enumerate(p.columns):
        ax.bar(np.arange(len(p)) + i * w - 0.4 + w / 2, p[g], w, label=g, color=GROUP_COLOURS.get(g, "grey"))
    ax.set_xticks(np.arange(len(p)), [f"{t}\n(n={int(v) if v == v else 0})" for t, v in zip(p.index, n)])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("answer-length tertile of the pair (held-out pairs)")
    ax.set_ylabel("accuracy drop when group permuted")
    ax.set_title("Group importance by answer length")
    ax.legend(fontsize=8)
    return fig
