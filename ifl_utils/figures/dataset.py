"""Figures of the dataset chapter. Each returns a matplotlib Figure in the book's style."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plots import OKABE_ITO


def sampling_rate_by_worker(rate_hz: pd.Series) -> plt.Figure:
    """Histogram of each worker's median WebGazer sampling rate."""
    fig, ax = plt.subplots()
    r = rate_hz.dropna()
    ax.hist(r, bins=np.arange(0, max(30, r.max() + 2), 1.0), color=OKABE_ITO[0], edgecolor="white")
    ax.axvline(r.median(), color=OKABE_ITO[5], ls="--", label=f"median {r.median():.1f} Hz")
    ax.set_xlabel("median sampling rate of the worker (Hz)")
    ax.set_ylabel("workers (count)")
    q1, q3 = r.quantile([0.25, 0.75])
    ax.set_title(f"Half the workers' webcams delivered {q1:.0f}-{q3:.0f} gaze samples per second")
    ax.legend(title=f"n = {len(r)} workers")
    return fig


def callbacks_per_query(callbacks: pd.Series) -> plt.Figure:
    """Histogram (log scale) of tracker callbacks assigned to each query with a folder."""
    fig, ax = plt.subplots()
    c = callbacks[callbacks > 0]
    ax.hist(c, bins=np.logspace(0, np.log10(c.max() + 1), 40), color=OKABE_ITO[2], edgecolor="white")
    ax.set_xscale("log")
    ax.axvline(c.median(), color=OKABE_ITO[5], ls="--", label=f"median {c.median():.0f}")
    ax.set_xlabel("tracker callbacks assigned to the query (count, log scale)")
    ax.set_ylabel("queries (count)")
    p10, p90 = c.quantile([0.1, 0.9])
    ax.set_title(f"Most queries (10th-90th percentile) get {p10:,.0f} to {p90:,.0f} samples")
    ax.legend(title=f"n = {len(c)} queries")
    return fig


def likert_distribution(table: pd.DataFrame) -> plt.Figure:
    """Share of each Likert rating per mode/pane (from :func:`ifl_utils.describe.likert_table`)."""
    fig, ax = plt.subplots()
    ratings = [str(k) for k in range(1, 6)]
    width = 0.8 / len(table)
    for i, (_, row) in enumerate(table.iterrows()):
        x = np.arange(5) + (i - (len(table) - 1) / 2) * width
        ax.bar(x, [row[r] * 100 for r in ratings], width=width, color=OKABE_ITO[i],
               label=f"{row['answers']} (n = {row['n']})")
    ax.set_xticks(range(5), ["1 very\ndissatisfied", "2", "3", "4", "5 very\nsatisfied"])
    ax.set_xlabel("Likert rating")
    ax.set_ylabel("answers (%)")
    top = [(row["4"] + row["5"]) for _, row in table.iterrows()]
    ax.set_title(f"{min(top):.0%}-{max(top):.0%} of ratings are 4 or 5: a ceiling for Likert targets"
                 if len(top) > 1 else f"{top[0]:.0%} of ratings are 4 or 5")
    ax.legend()
    return fig


def model_win_rates(table: pd.DataFrame) -> plt.Figure:
    """Pairwise win rate of each answering model with its 95 % CI over workers."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    t = table.dropna(subset=["win_rate"]).iloc[::-1]
    y = np.arange(len(t))
    ax.errorbar(t["win_rate"] * 100, y, xerr=[(t["win_rate"] - t["ci_lo"]) * 100,
                                              (t["ci_hi"] - t["win_rate"]) * 100],
                fmt="o", color=OKABE_ITO[0], capsize=3)
    ax.axvline(50, color="grey", lw=1, ls=":")
    ax.set_yticks(y, [f"{m} (n = {n})" for m, n in zip(t["model"], t["judged_pairs"])])
    ax.set_xlabel("pairwise win rate (%, 95 % CI over workers)")
    ax.set_ylabel("answering model")
    apart = int(((t["ci_lo"] > 0.5) | (t["ci_hi"] < 0.5)).sum())
    ax.set_title(f"{apart} of {len(t)} models' win rates have a 95 % CI that excludes 50 %")
    return fig


def worker_concentration(per_worker: dict[str, pd.Series]) -> plt.Figure:
    """Lorenz-style curves: cumulative share of each quantity held by the top workers."""
    fig, ax = plt.subplots()
    for i, (name, s) in enumerate(per_worker.items()):
        v = np.sort(s[s > 0].to_numpy(dtype=float))[::-1]
        share = np.cumsum(v) / v.sum() * 100
        ax.plot(np.arange(1, len(v) + 1), share, color=OKABE_ITO[i], marker=".",
                label=f"{name} ({len(v)} workers)")
    ax.set_xlabel("workers, largest contributors first (count)")
    ax.set_ylabel("cumulative share of the data (%)")
    first = next(iter(per_worker.items()), None)
    if first is not None:
        v = np.sort(first[1][first[1] > 0].to_numpy(dtype=float))[::-1]
        k = int(np.searchsorted(np.cumsum(v) / v.sum(), 0.5) + 1)
        ax.set_title(f"{k} of {len(v)} workers hold half of the {first[0]}")
    ax.set_ylim(0, 101)
    ax.legend()
    return fig
