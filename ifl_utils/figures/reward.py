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


FOLD_LABEL = {"paper": "release KFold (row-wise), selection on all rows",
              "grouped": "worker-grouped folds, selection in folds"}


def specification_curve(diffs: pd.DataFrame, labels: dict[tuple[str, str], str] | None = None,
                        paper_gap: float | None = None):
    """Specification curve: each cell's paired accuracy difference with its 95 % worker-bootstrap
    CI, sorted by the estimate, one panel per difference (``text_if − length``, ``text_if − text_rf``).

    ``diffs`` has ``a``, ``b``, ``protocol``, ``exclusion``, ``diff``, ``lo``, ``hi`` (shares of
    pairs); ``labels`` maps (protocol, exclusion) to a tick label.
    """
    comps = list(dict.fromkeys(zip(diffs["a"], diffs["b"])))
    n = max(len(diffs[(diffs["a"] == a) & (diffs["b"] == b)]) for a, b in comps)
    fig, axes = plt.subplots(1, len(comps), figsize=(4.0 * len(comps), 0.45 * n + 1.8), sharex=True, squeeze=False)
    colours = {"paper": OKABE_ITO[1], "grouped": OKABE_ITO[0]}
    for ax, (a, b) in zip(axes[0], comps):
        d = diffs[(diffs["a"] == a) & (diffs["b"] == b)].sort_values("diff").reset_index(drop=True)
        yy = np.arange(len(d))
        for prot, c in colours.items():
            m = (d["protocol"] == prot).to_numpy()
            if m.any():
                ax.errorbar(100 * d["diff"][m], yy[m], xerr=[100 * (d["diff"] - d["lo"])[m], 100 * (d["hi"] - d["diff"])[m]],
                            fmt="o", color=c, capsize=2, label=FOLD_LABEL[prot])
        ax.axvline(0, color="black", lw=0.8)
        if paper_gap is not None:
            ax.axvline(100 * paper_gap, color="grey", ls="--", lw=1, label="paper's IF − text gap")
        lab = labels or {}
        ax.set_yticks(yy, [lab.get((p, e), f"{p} / {e}") for p, e in zip(d["protocol"], d["exclusion"])], fontsize=8)
        ax.set_xlabel(f"{a} − {b} (accuracy points, 95 % CI)")
        ax.set_ylabel("specification (folds / exclusion)")
        ax.set_title(f"{a} − {b}", fontsize=10)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.suptitle("Paired differences in every cell of the analysis space, sorted", fontsize=11, fontweight="bold")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8)
    return fig


def one_change_path(table: pd.DataFrame):
    """The one-change-at-a-time path: accuracy of each step with its 95 % worker-bootstrap CI."""
    d = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.4 * len(d) + 1.3))
    yy = np.arange(len(d))
    ax.errorbar(100 * d["accuracy"], yy, xerr=[100 * (d["accuracy"] - d["acc_lo"]), 100 * (d["acc_hi"] - d["accuracy"])],
                fmt="o", color=OKABE_ITO[0], capsize=2)
    import textwrap

    ax.set_yticks(yy, [f"{s}: " + textwrap.shorten(c.split(":")[0] if s == 0 else c, 52, placeholder=" …")
                       for s, c in zip(d["step"], d["change"])], fontsize=7)
    ax.set_xlabel("pairwise accuracy (%, out-of-fold, 95 % CI over workers)")
    ax.set_ylabel("step (one change each)")
    ax.set_title("From the release's protocol to ours, one change at a time")
    return fig
