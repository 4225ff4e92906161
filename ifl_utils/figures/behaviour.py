"""Figures of the behaviour chapter (F1-F6 and the diversity figures). Each returns a Figure in the
book's style; titles that state a finding are computed from the data they show."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..behaviour.clustering import PAPER_K
from ..behaviour.trajectories import Curves, mean_curve_ci, mean_hist
from ..plots import OKABE_ITO

SIDE_COLOURS = {"all": OKABE_ITO[7], "pointwise": OKABE_ITO[2], "pairwise left": OKABE_ITO[0],
                "pairwise right": OKABE_ITO[1]}
TERTILE_COLOURS = {"short": OKABE_ITO[4], "medium": OKABE_ITO[0], "long": OKABE_ITO[5]}
MOD_COLOURS = {"gaze": OKABE_ITO[0], "mouse": OKABE_ITO[5]}


# -- F1 ----------------------------------------------------------------------------------------
def answer_paths(path: pd.DataFrame, texts: dict, query_id: int, width: int = 60) -> plt.Figure:
    """F1: gaze and mouse paths over the two wrapped answers of one pairwise query, coloured by time."""
    n_lines = max(len(texts[1]), len(texts[2]))
    fig, axes = plt.subplots(2, 2, figsize=(11, max(5.0, 0.17 * n_lines * 2 + 2.0)), sharey=True,
                             layout="constrained")
    tmax = max(path["t_s"].max(), 1e-9)
    for r, m in enumerate(("gaze", "mouse")):
        for c, p in enumerate((1, 2)):
            ax = axes[r, c]
            d = path[(path["modality"] == m) & (path["pane"] == p)]
            ax.plot(d["col"], d["line"], color="0.8", lw=0.4, zorder=1)
            sc = ax.scatter(d["col"], d["line"], c=d["t_s"], cmap="viridis", vmin=0, vmax=tmax, s=6, zorder=2,
                            alpha=0.75)
            if len(d):
                ax.scatter(d["col"].iloc[:1], d["line"].iloc[:1], marker="o", s=60, facecolor="none",
                           edgecolor=OKABE_ITO[5], lw=1.5, zorder=3, label="start")
                ax.scatter(d["col"].iloc[-1:], d["line"].iloc[-1:], marker="X", s=60, color=OKABE_ITO[5],
                           zorder=3, label="end")
            ax.set_xlim(-1, width + 1)
            ax.set_ylim(n_lines + 0.5, -1)
            ax.set_title(f"{m}, {'left' if p == 1 else 'right'} answer (n = {len(d)} samples)", fontsize=9)
            ax.set_xlabel(f"column of the text wrapped at {width} characters")
            ax.set_ylabel("line")
            ax.grid(False)
    axes[0, 0].legend(loc="lower right", fontsize=8)
    cb = fig.colorbar(sc, ax=axes, label="time since the first on-answer sample (s)", shrink=0.6)
    cb.ax.set_xlabel("s", fontsize=8)
    fig.suptitle(f"Query {query_id}: where gaze and mouse were on the two answers, over time",
                 fontweight="bold")
    fig.canvas.draw()  # fix the layout, then size the monospace font to the column grid
    ax_in = axes[0, 0].get_window_extent().width / fig.dpi
    fs = ax_in * 72 / (width + 2) / 0.6 * 0.96  # monospace: advance ~0.6 em per character
    for r in range(2):
        for c, p in enumerate((1, 2)):
            for i, line in enumerate(texts[p]):
                axes[r, c].text(0, i, line, family="monospace", fontsize=fs, va="center", ha="left",
                                color="0.55", in_layout=False, clip_on=True, zorder=0)
    return fig


def answer_timeline(path: pd.DataFrame, query_id: int) -> plt.Figure:
    """F1 timeline: position in each answer against time, gaze and mouse."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True, layout="constrained")
    for c, p in enumerate((1, 2)):
        ax = axes[c]
        for m in ("gaze", "mouse"):
            d = path[(path["modality"] == m) & (path["pane"] == p)]
            ax.plot(d["t_s"], d["pos"] * 100, ".", ms=2.5, color=MOD_COLOURS[m], label=f"{m} (n = {len(d)})")
        ax.set_xlabel("time since the first on-answer sample (s)")
        ax.set_ylabel("position in the answer (%)")
        ax.set_title(f"{'left' if p == 1 else 'right'} answer", fontsize=10)
        ax.legend(fontsize=8, markerscale=3)
    r = _corr(path)
    fig.suptitle(f"Query {query_id}: the mouse {'follows' if r >= 0.5 else 'does not follow'} the gaze "
                 f"through the text (r = {r:.2f})", fontweight="bold")
    return fig


def _corr(path: pd.DataFrame) -> float:
    """Pearson r of gaze and mouse position binned to 1 s, over both panes (for the F1 title)."""
    d = path.assign(sec=path["t_s"].round().astype(int))
    w = d.pivot_table(index=["pane", "sec"], columns="modality", values="pos", aggfunc="mean").dropna()
    if len(w) < 3 or w["gaze"].std() == 0 or w["mouse"].std() == 0:
        return float("nan")
    return float(np.corrcoef(w["gaze"], w["mouse"])[0, 1])


# -- F2 / F3 -----------------------------------------------------------------------------------
def _band(ax, c: Curves, colour, label, n_boot, seed, ls="-"):
    mean, lo, hi = mean_curve_ci(c.curves, c.meta["worker"], n_resamples=n_boot, random_state=seed)
    x = np.linspace(0, 100, c.curves.shape[1])
    ax.plot(x, mean * 100, color=colour, ls=ls,
            label=f"{label} (n = {len(c)} curves, {c.meta['worker'].nunique()} workers)")
    ax.fill_between(x, lo * 100, hi * 100, color=colour, alpha=0.2, lw=0)
    return mean


def mean_curves_by_side(c: Curves, *, n_boot: int = 1000, seed: int = 0) -> plt.Figure:
    """F2: mean reading position over normalised time, overall and per mode/pane; gaze and mouse."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True, layout="constrained")
    ends = {}
    for ax, m in zip(axes, ("gaze", "mouse")):
        cm = c.where(modality=m)
        ends[m] = _band(ax, cm, SIDE_COLOURS["all"], "all", n_boot, seed)[-1]
        for side in ("pointwise", "pairwise left", "pairwise right"):
            _band(ax, cm.where(side=side), SIDE_COLOURS[side], side, n_boot, seed)
        ax.set_xlabel("normalised time on the answer (% of the looking span)")
        ax.set_ylabel("mean position in the answer (%)")
        ax.set_title(m, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Reading moves down the answer: at the end of the span the gaze is at {ends['gaze']:.0%} "
                 f"on average (95 % bands: bootstrap over workers)", fontweight="bold", fontsize=10)
    return fig


def mean_curves_by_tertile(c: Curves, *, n_boot: int = 1000, seed: int = 0) -> plt.Figure:
    """F3: mean reading position over normalised time by answer-length tertile; gaze and mouse."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True, layout="constrained")
    ends = {}
    for ax, m in zip(axes, ("gaze", "mouse")):
        for t in ("short", "medium", "long"):
            ct = c.where(modality=m, tertile=t)
            e = _band(ax, ct, TERTILE_COLOURS[t], f"{t} answers", n_boot, seed)
            if m == "gaze":
                ends[t] = e[-1]
        ax.set_xlabel("normalised time on the answer (% of the looking span)")
        ax.set_ylabel("mean position in the answer (%)")
        ax.set_title(m, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    verb = "end further from the bottom" if ends["long"] < ends["short"] else "end at least as deep"
    fig.suptitle(f"Long answers {verb} (gaze at the end: short {ends['short']:.0%}, long {ends['long']:.0%})",
                 fontweight="bold", fontsize=10)
    return fig


# -- F4 ----------------------------------------------------------------------------------------
def position_histograms(c: Curves) -> plt.Figure:
    """F4: average 100-bin position histogram per mode/pane and per length tertile (gaze)."""
    g = c.where(modality="gaze")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True, layout="constrained")
    x = np.arange(100) + 0.5
    firsts = {}
    for side in ("pointwise", "pairwise left", "pairwise right"):
        h = mean_hist(g.where(side=side).hist) * 100
        axes[0].plot(x, h, color=SIDE_COLOURS[side], label=f"{side} (n = {len(g.where(side=side))})")
    for t in ("short", "medium", "long"):
        h = mean_hist(g.where(tertile=t).hist) * 100
        firsts[t] = h[:33].sum()
        axes[1].plot(x, h, color=TERTILE_COLOURS[t], label=f"{t} (n = {len(g.where(tertile=t))})")
    for ax, title in zip(axes, ("by mode and pane", "by answer length")):
        ax.set_xlabel("position in the answer (%)")
        ax.set_ylabel("share of gaze samples per 1 % bin (%)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(f"Gaze dwells on the first third: {firsts['long']:.0f} % of samples on long answers, "
                 f"{firsts['short']:.0f} % on short ones", fontweight="bold", fontsize=10)
    return fig


def character_heatmap(texts: dict, lengths: dict, hists: dict, query_id: int, tertile: str,
                      width: int = 60, sigma: float = 2.0) -> plt.Figure:
    """F4: average histogram of a length tertile as a smoothed character-level heat map over one answer pair."""
    from scipy.ndimage import gaussian_filter

    from ..behaviour.replay import wrap_grid

    n_lines = max(len(texts[1]), len(texts[2]))
    fig, axes = plt.subplots(1, 2, figsize=(11, max(3.0, 0.15 * n_lines + 1.2)), layout="constrained")
    grids = {}
    for p in (1, 2):
        text = "\n".join(texts[p])
        grid = np.full((n_lines, width), np.nan)
        lines, col, line = wrap_grid(text, width)
        L = len(col)
        # share of the samples per character: a bin's share spread over the characters it covers
        w = hists[p][np.minimum((np.arange(L) / max(L, 1) * 100).astype(int), 99)] * 100 / max(L, 1)
        heat = np.zeros((n_lines, width))
        np.add.at(heat, (line, col), w)
        heat = gaussian_filter(heat, sigma=sigma / 2)
        mask = np.zeros((n_lines, width), dtype=bool)
        for i, ln in enumerate(lines):
            for j, ch in enumerate(ln[:width]):
                mask[i, j] = not ch.isspace()
        grid[mask] = heat[mask]
        grids[p] = grid
    top = max(np.nanmax(g) for g in grids.values())
    for ax, p in zip(axes, (1, 2)):
        im = ax.imshow(grids[p] / top, cmap="magma_r", aspect="auto", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xlabel(f"column (text wrapped at {width} characters)")
        ax.set_ylabel("line")
        ax.set_title(f"{'left' if p == 1 else 'right'} answer ({lengths[p]} characters)", fontsize=9)
        ax.grid(False)
    cb = fig.colorbar(im, ax=axes, label="relative gaze density (max of the pair = 1)", shrink=0.7)
    cb.ax.set_xlabel("0-1", fontsize=8)
    fig.suptitle(f"Where gaze lands on {tertile} answers, drawn over query {query_id}", fontweight="bold",
                 fontsize=10)
    return fig


# -- F5 ----------------------------------------------------------------------------------------
def k_selection(table: pd.DataFrame, k_data: int, paper_k: int = PAPER_K) -> plt.Figure:
    """F5: silhouette and bootstrap stability of bisecting k-means against k."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
    ax.plot(table["k"], table["silhouette"], "o-", color=OKABE_ITO[0], label="silhouette")
    ax.plot(table["k"], table["stability"], "s-", color=OKABE_ITO[1], label="stability (mean ARI, bootstrap)")
    ax.axvline(k_data, color=OKABE_ITO[2], ls="--", label=f"data-driven k = {k_data}")
    ax.axvline(paper_k, color="grey", ls=":", label=f"paper k = {paper_k}")
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("score (silhouette or ARI, 0-1)")
    ax.set_title(f"The data support about {k_data} clusters, not {paper_k}")
    ax.legend(fontsize=8)
    return fig


def cluster_centres(centers: np.ndarray, sizes: np.ndarray, families: np.ndarray, names: list[str],
                    examples: dict, curves: np.ndarray) -> plt.Figure:
    """F5: each cluster's centre with example member curves, coloured by shape family."""
    k = len(centers)
    cols = 5
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows + 0.6), sharex=True, sharey=True, squeeze=False,
                             layout="constrained")
    x = np.linspace(0, 100, centers.shape[1])
    for i in range(rows * cols):
        ax = axes.flat[i]
        if i >= k:
            ax.axis("off")
            continue
        colour = OKABE_ITO[families[i] % len(OKABE_ITO)]
        for j in examples.get(i, []):
            ax.plot(x, curves[j] * 100, color=colour, alpha=0.25, lw=0.7)
        ax.plot(x, centers[i] * 100, color=colour, lw=2.2)
        ax.set_title(f"C{i + 1}: n = {sizes[i]} · family {families[i] + 1}", fontsize=8)
        ax.set_xlabel("normalised time (%)")
        ax.set_ylabel("position (%)")
    handles = [plt.Line2D([], [], color=OKABE_ITO[f % len(OKABE_ITO)], lw=2, label=f"family {f + 1}: {names[f]}")
               for f in range(families.max() + 1)]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(f"{k} clusters of left-pane gaze curves fall into {families.max() + 1} shape families "
                 f"(thin lines: up to 10 random members)", fontweight="bold", fontsize=10)
    return fig


def bisection_tree_plot(tree: pd.DataFrame) -> plt.Figure:
    """F5: the bisection tree (node size = curves), leaves labelled with the clusters."""
    fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    leaves = tree[tree["leaf"] >= 0]
    xpos = {}
    order = []

    def visit(nid):
        kids = tree[tree["parent"] == nid]["node"].tolist()
        if not kids:
            xpos[nid] = len(order)
            order.append(nid)
        else:
            for k in kids:
                visit(k)
            xpos[nid] = np.mean([xpos[k] for k in kids])

    visit(0)
    for _, r in tree.iterrows():
        if r["parent"] >= 0:
            pr = tree.loc[tree["node"] == r["parent"]].iloc[0]
            ax.plot([xpos[pr["node"]], xpos[r["node"]]], [pr["depth"], r["depth"]], color="0.6", lw=1)
    ax.scatter([xpos[n] for n in tree["node"]], tree["depth"], s=np.sqrt(tree["size"]) * 6,
               color=OKABE_ITO[0], zorder=3)
    for _, r in leaves.iterrows():
        ax.annotate(f"C{r['leaf'] + 1}\n{r['size']}", (xpos[r["node"]], r["depth"]), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=7)
    ax.set_ylim(tree["depth"].max() + 1, -0.5)
    ax.set_xticks([])
    ax.set_xlabel("clusters (leaves; number = curves)")
    ax.set_ylabel("bisection depth")
    first = tree[tree["parent"] == 0]["size"].tolist()
    ax.set_title(f"The first split separates {first[0]} curves from {first[1]}; "
                 f"{len(leaves)} leaves at depths {leaves['depth'].min()}-{leaves['depth'].max()}")
    return fig


# -- F6 ----------------------------------------------------------------------------------------
def gaze_mouse_agreement(r: pd.DataFrame) -> plt.Figure:
    """F6: distribution of gaze-mouse Pearson r per answer, overall, by tertile and by pane."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=False, layout="constrained")
    bins = np.linspace(-1, 1, 41)
    axes[0].hist(r["pearson"], bins=bins, color=OKABE_ITO[0], alpha=0.8, label=f"Pearson (n = {len(r)})")
    axes[0].hist(r["spearman"], bins=bins, histtype="step", color=OKABE_ITO[5], lw=1.5,
                 label=f"Spearman (n = {len(r)})")
    for ax, col, colours in ((axes[1], "tertile", TERTILE_COLOURS), (axes[2], "side", SIDE_COLOURS)):
        for k, colour in colours.items():
            d = r.loc[r[col] == k, "pearson"]
            if len(d) == 0:
                continue
            ax.hist(d, bins=bins, density=True, histtype="step", lw=1.5, color=colour,
                    label=f"{k} (n = {len(d)}, median {d.median():.2f})")
        ax.set_title(f"by {'answer length' if col == 'tertile' else 'mode and pane'}", fontsize=10)
    for ax in axes:
        ax.set_xlabel("correlation of gaze and mouse curves (r)")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("answers (count)")
    axes[1].set_ylabel("density")
    axes[2].set_ylabel("density")
    fig.suptitle(f"Gaze and mouse curves of the same answer mostly agree: median Pearson r = "
                 f"{r['pearson'].median():.2f}", fontweight="bold", fontsize=10)
    return fig


def per_worker_agreement_plot(w: pd.DataFrame, threshold: float) -> plt.Figure:
    """F6: median gaze-mouse r per worker, sorted, with the 'reads with the cursor' threshold."""
    fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    y = w["median_r"].to_numpy()
    ax.bar(np.arange(len(y)), y, color=np.where(w["with_cursor"], OKABE_ITO[2], OKABE_ITO[7]))
    ax.axhline(threshold, color=OKABE_ITO[5], ls="--", label=f"r = {threshold}")
    ax.set_xlabel(f"workers, sorted (n = {len(w)} with >= 5 answers)")
    ax.set_ylabel("median gaze-mouse r")
    ax.set_title(f"{int(w['with_cursor'].sum())} of {len(w)} workers read with the cursor (median r >= {threshold})")
    ax.legend(fontsize=8)
    return fig


# -- diversity and events ------------------------------------------------------------------------
def worker_distributions(meta: pd.DataFrame, measures: dict, top: int = 20) -> plt.Figure:
    """Per-worker box plots of each measure (the ``top`` workers with the most gaze curves)."""
    heavy = meta["worker"].value_counts().sort_index().sort_values(ascending=False, kind="stable")
    keep = heavy.index[:top].tolist()
    fig, axes = plt.subplots(1, len(measures), figsize=(12, 3.8), sharey=True, layout="constrained")
    for ax, (m, (label, how)) in zip(axes, measures.items()):
        data = [meta.loc[meta["worker"] == w, m].dropna().to_numpy() for w in keep]
        ax.boxplot(data, orientation="horizontal", showfliers=False, widths=0.6)
        if how == "log":
            ax.set_xscale("log")
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("worker (gaze curves)" if ax is axes[0] else "worker", fontsize=8)
        ax.set_yticks(np.arange(1, len(keep) + 1), [f"W{i + 1} ({heavy[w]})" for i, w in enumerate(keep)],
                      fontsize=6)
    fig.suptitle(f"Workers differ in how much, how fast and how deep they read ({len(keep)} workers with "
                 f"the most curves)", fontweight="bold", fontsize=10)
    return fig


def rate_support(rates: dict, min_rate: float) -> plt.Figure:
    """Distribution of per-session and per-query median sampling rates with the event-detection cut."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
    bins = np.arange(0, 41, 1.0)
    for unit, colour in (("session", OKABE_ITO[0]), ("query", OKABE_ITO[1])):
        r = rates[unit].dropna().clip(upper=40)
        ax.hist(r, bins=bins, histtype="step", lw=1.5, color=colour, density=True,
                label=f"per {unit} (n = {len(r)})")
    ax.axvline(min_rate, color=OKABE_ITO[5], ls="--", label=f"{min_rate:g} Hz cut")
    share = float((rates["session"] >= min_rate).mean())
    ax.set_xlabel("median sampling rate (Hz)")
    ax.set_ylabel("density")
    ax.set_title(f"{share:.0%} of page sessions reach {min_rate:g} Hz")
    ax.legend(fontsize=8)
    return fig


def fixation_durations(fix: pd.DataFrame) -> plt.Figure:
    """Histogram of I-DT fixation durations."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
    d = fix["duration_ms"].clip(upper=3000)
    ax.hist(d, bins=np.arange(200, 3050, 50), color=OKABE_ITO[0])
    ax.set_xlabel("fixation duration (ms, capped at 3000)")
    ax.set_ylabel("fixations (count)")
    ax.set_title(f"Median webcam fixation: {fix['duration_ms'].median():.0f} ms (n = {len(fix)})")
    return fig
