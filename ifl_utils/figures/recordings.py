"""Figures of the "Your own recordings" page. Each returns a matplotlib Figure in the book's style."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..plots import OKABE_ITO

MOD_COLOURS = {"gaze": OKABE_ITO[0], "mouse": OKABE_ITO[5]}

#: Sample columns :func:`query_traces` reads.
TRACE_COLUMNS = ["query_id", "epoch", "gaze_x", "gaze_y", "mouse_x", "mouse_y", "gaze1_pos", "mouse1_pos"]


def query_traces(samples: pd.DataFrame, query_id: int, display_ms: float) -> plt.Figure:
    """Gaze and mouse of one query: on the screen (left) and through the answer over time (right).

    Parameters
    ----------
    samples
        Callbacks with :data:`TRACE_COLUMNS` (``Dataset.samples(columns=TRACE_COLUMNS)``).
    query_id
        The query to draw (its callbacks by the time rule).
    display_ms
        When its answer appeared (``queries()["display_ms"]``), the zero of the time axis.

    Returns
    -------
    matplotlib.figure.Figure
        Left: viewport positions of gaze and mouse (screen y grows downwards).
        Right: position in the pane-1 answer (0 = start, 1 = end) of the samples on its text
        against seconds since the answer appeared.
    """
    d = samples[samples["query_id"] == query_id].sort_values("epoch")
    t = (d["epoch"].to_numpy(float) - float(display_ms)) / 1000.0
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    ax0.scatter(d["gaze_x"], d["gaze_y"], s=4, alpha=0.35, color=MOD_COLOURS["gaze"],
                label=f"gaze (n = {int(d['gaze_x'].notna().sum())})")
    ax0.scatter(d["mouse_x"], d["mouse_y"], s=4, alpha=0.35, color=MOD_COLOURS["mouse"],
                label=f"mouse (n = {int(d['mouse_x'].notna().sum())})")
    ax0.invert_yaxis()
    ax0.set_xlabel("viewport x (CSS px)")
    ax0.set_ylabel("viewport y (CSS px, down)")
    ax0.set_title("on the screen", fontsize=10)
    ax0.legend(loc="upper right", fontsize=8, markerscale=2)
    for m in ("gaze", "mouse"):
        pos = d[f"{m}1_pos"].to_numpy(float)
        on = np.isfinite(pos) & (pos >= 0) & (pos <= 1)
        ax1.scatter(t[on], pos[on], s=5, alpha=0.6, color=MOD_COLOURS[m],
                    label=f"{m} on the answer (n = {int(on.sum())})")
    ax1.set_ylim(1.02, -0.02)
    ax1.set_xlabel("time since the answer appeared (s)")
    ax1.set_ylabel("position in the answer (0 = start, 1 = end)")
    ax1.set_title("through the answer", fontsize=10)
    ax1.legend(loc="upper right", fontsize=8, markerscale=2)
    fig.suptitle(f"Query {query_id}: the reader moves down the answer as time passes", fontweight="bold")
    return fig
