"""Figures of the measurement-validity chapter (is it the eyes or the mouse?). Each returns a Figure
in the book's style; titles that state a finding are computed from the data they show."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plots import OKABE_ITO

GAZE, BASE, MOUSE, GREY = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[5], OKABE_ITO[7]


def _bins(ax, tab: pd.DataFrame, colour, label, offset=0.0, marker="o"):
    x = np.arange(len(tab)) + offset
    y = tab["mean"].to_numpy(float)
    err = np.vstack([y - tab["lo"].to_numpy(float), tab["hi"].to_numpy(float) - y])
    ax.errorbar(x, y, yerr=err, color=colour, marker=marker, ms=5, lw=1.5, capsize=3, label=label)


def distance_by_time(px: pd.DataFrame, base_px: pd.DataFrame, share: pd.DataFrame, base_share: pd.DataFrame,
                     idle_s: float) -> plt.Figure:
    """Item 1: gaze-cursor distance (left: CSS px; right: share of the pane width) by time since the
    cursor last moved, with the baseline (another query's cursor at the same relative time)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for ax, t, b, unit in ((axes[0], px, base_px, "px"), (axes[1], share, base_share, "share of the pane width")):
        n = int(t["workers"].max())
        _bins(ax, t, GAZE, f"gaze to its own cursor ({n} workers)", -0.08)
        _bins(ax, b, BASE, "gaze to another query's cursor (baseline)", 0.08, marker="s")
        ax.set_xticks(np.arange(len(t)), t["label"], rotation=30)
        ax.set_xlabel("time since the cursor last moved (s)")
        ax.set_ylabel(f"gaze-cursor distance ({unit})")
        k = int(np.searchsorted(t["lower_s"].to_numpy(float), idle_s))
        ax.axvline(k - 0.5, color=GREY, ls="--", lw=1)
        ax.set_ylim(bottom=0)
    axes[0].legend(loc="lower right", fontsize=8)
    m0, m_end = float(px["mean"].iloc[0]), float(px["mean"].iloc[-1])
    fig.suptitle(f"The gaze estimate sits on a moving cursor ({m0:.0f} px) and drifts away once it rests "
                 f"({m_end:.0f} px after 10 s)", fontweight="bold")
    return fig


def leadlag_curves(position: dict, velocity: dict) -> plt.Figure:
    """Item 2: mean cross-correlation of gaze with cursor over lags (positive: gaze follows)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), layout="constrained")
    for ax, r, what in ((axes[0], position, "positions"), (axes[1], velocity, "changes per 50 ms")):
        ax.fill_between(r["lags"], r["lo"], r["hi"], color=GAZE, alpha=0.25, lw=0)
        ax.plot(r["lags"], r["mean"], color=GAZE, lw=1.5,
                label=f"{r['workers']} workers, {r['queries']} queries")
        ax.axvline(0, color=GREY, lw=0.8)
        ax.axvline(r["peak_lag_s"], color=MOUSE, ls="--", lw=1, label=f"peak at {r['peak_lag_s']:+.2f} s")
        ax.axhline(0, color=GREY, lw=0.5)
        ax.set_xlabel("lag τ (s): gaze at t + τ against the cursor at t")
        ax.set_ylabel(f"cross-correlation r of {what}")
        ax.legend(loc="upper left", fontsize=8)
    lag = position["peak_lag_s"]
    verb = "follows" if lag > 0 else ("precedes" if lag < 0 else "coincides with")
    fig.suptitle(f"The gaze estimate {verb} the cursor (peak at {lag:+.2f} s)", fontweight="bold")
    return fig


def agreement_idle_moving(answers: pd.DataFrame, workers: pd.DataFrame) -> plt.Figure:
    """Item 3: gaze-mouse agreement (Pearson r of positions in the answer over 1-s windows) on
    windows where the cursor moved vs windows where it rested, per answer and per worker."""
    both = answers.dropna(subset=["r_idle", "r_moving"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    bins = np.linspace(-1, 1, 41)
    axes[0].hist(both["r_moving"], bins=bins, color=MOUSE, alpha=0.55,
                 label=f"cursor moving (median {both['r_moving'].median():.2f})")
    axes[0].hist(both["r_idle"], bins=bins, color=GAZE, alpha=0.55,
                 label=f"cursor resting (median {both['r_idle'].median():.2f})")
    axes[0].set_xlabel("Pearson r, gaze vs mouse position in the answer")
    axes[0].set_ylabel(f"answers (of {len(both)})")
    axes[0].legend(loc="upper left", fontsize=8)
    ax = axes[1]
    ax.scatter(workers["r_moving"], workers["r_idle"], s=12 + 3 * workers["answers"].clip(upper=30), color=GAZE,
               alpha=0.7, label=f"{len(workers)} workers (size: answers)")
    lo = float(min(workers[["r_idle", "r_moving"]].min().min(), 0))
    ax.plot([lo, 1], [lo, 1], color=GREY, ls="--", lw=1, label="equal agreement")
    ax.set_xlabel("median r, cursor moving")
    ax.set_ylabel("median r, cursor resting")
    ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Gaze and mouse positions in the answer: median r {both['r_moving'].median():.2f} while the "
                 f"cursor moves, {both['r_idle'].median():.2f} while it rests", fontweight="bold")
    return fig


def r2_per_worker(r2: pd.DataFrame, accuracy: pd.Series) -> plt.Figure:
    """Item 4: per-worker R² of gaze on the cursor (several models) and its relation to the
    calibration precision score."""
    cols = [("r2_moving", "cursor, while it moves"), ("r2_cursor", "cursor, all callbacks"),
            ("r2_trajectory", "cursor trajectory (last 2 s)"), ("r2_idle", "cursor, while it rests"),
            ("r2_baseline", "another query's cursor")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained", width_ratios=(1.4, 1))
    ax = axes[0]
    rng = np.random.default_rng(0)
    for i, (c, lab) in enumerate(cols):
        v = r2[c].dropna().to_numpy()
        ax.scatter(rng.uniform(-0.18, 0.18, len(v)) + i, v, s=10, color=OKABE_ITO[i], alpha=0.7)
        ax.hlines(np.median(v), i - 0.3, i + 0.3, color="black", lw=2)
    ax.set_xticks(range(len(cols)), [lab for _, lab in cols], rotation=20, ha="right")
    ax.set_xlabel("what the gaze position is regressed on")
    ax.set_ylabel("R² per worker (x and y pooled)")
    ax = axes[1]
    d = r2.set_index("worker").join(accuracy.rename("acc")).dropna(subset=["acc", "r2_cursor"])
    ax.scatter(d["acc"], d["r2_cursor"], s=14, color=GAZE, alpha=0.8, label=f"{len(d)} workers")
    ax.set_xlabel("calibration precision score (%, WebGazer's demo score)")
    ax.set_ylabel("R² of gaze on the cursor")
    ax.legend(loc="upper left", fontsize=8)
    med = float(r2["r2_cursor"].median())
    fig.suptitle(f"The cursor explains a median {med:.0%} of a worker's gaze variance "
                 f"({r2['r2_moving'].median():.0%} while it moves)", fontweight="bold")
    return fig


def model_differences(diffs: pd.DataFrame) -> plt.Figure:
    """Item 5: paired accuracy differences (points) with worker-bootstrap CIs."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(diffs) + 1.4), layout="constrained")
    y = np.arange(len(diffs))[::-1]
    d = 100 * diffs["diff"].to_numpy(float)
    ax.errorbar(d, y, xerr=[d - 100 * diffs["lo"].to_numpy(float), 100 * diffs["hi"].to_numpy(float) - d],
                fmt="o", color=GAZE, capsize=3)
    ax.axvline(0, color=GREY, lw=1)
    ax.set_yticks(y, diffs["contrast"])
    ax.set_xlabel("accuracy difference (points), same pairs and folds")
    ax.set_ylabel("model a − model b")
    ax.set_title("What gaze adds to a reward model, raw and with the cursor removed")
    return fig
