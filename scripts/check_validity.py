"""Independent re-derivation of two headline numbers of the validity chapter (analysis practice §9).

Plain pandas/numpy on ``Dataset.samples()``; nothing from ``ifl_utils.validity``. It recomputes

1. ``validity/distance/idle_vs_moving``: per worker, the median gaze-cursor distance (px) at
   callbacks with a cursor move less than 0.25 s before minus that at callbacks with no move for
   2 s or more; the mean over workers;
2. ``validity/r2_gaze_on_cursor/median``: per worker, R² of the gaze (x, y) on the cursor (x, y)
   by least squares with an intercept, pooled over x and y; the median over workers.

and prints them next to the chapter's values from ``results/03_validity.json``.

Usage::

    python scripts/check_validity.py [--results results/03_validity.json]

Differences to expect: none beyond rounding if the definitions match; this script writes its own
move detection (pandas ``diff`` per page session, ``groupby().ffill``), clipping and regression.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ifl_utils.data.api import Dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results/03_validity.json")
    args = ap.parse_args()
    ds = Dataset(progress=False)
    s = ds.samples(columns=["worker", "task_id", "session", "row", "query_id", "epoch", "gaze_x", "gaze_y",
                            "mouse_x", "mouse_y"], exclude="paper")
    s["worker"] = s["worker"].astype(str)
    s = s.sort_values(["worker", "task_id", "session", "epoch", "row"]).reset_index(drop=True)
    sess = s.groupby(["worker", "task_id", "session"], sort=False)
    dx = sess["mouse_x"].diff()
    dy = sess["mouse_y"].diff()
    moved = ((dx != 0) | (dy != 0)) & dx.notna() & dy.notna()
    s["last_move"] = s["epoch"].where(moved)
    s["last_move"] = s.groupby(["worker", "task_id", "session"], sort=False)["last_move"].ffill()
    s["since"] = (s["epoch"] - s["last_move"]) / 1000.0
    s = s[s["mouse_x"].notna() & s["mouse_y"].notna()]
    # clip gaze to the worker's cursor range +- 200 px (the chapter's rule, written again here)
    for a in ("x", "y"):
        lo = s.groupby("worker")[f"mouse_{a}"].transform("min") - 200
        hi = s.groupby("worker")[f"mouse_{a}"].transform("max") + 200
        s[f"g{a}"] = s[f"gaze_{a}"].clip(lo, hi)
    s = s[s["query_id"] >= 0]
    s["dist"] = np.sqrt((s["gx"] - s["mouse_x"]) ** 2 + (s["gy"] - s["mouse_y"]) ** 2)

    moving = s[s["since"] < 0.25].groupby("worker")["dist"].agg(["median", "size"])
    idle = s[s["since"] >= 2.0].groupby("worker")["dist"].agg(["median", "size"])
    both = moving.merge(idle, left_index=True, right_index=True, suffixes=("_m", "_i"))
    both = both[(both["size_m"] >= 20) & (both["size_i"] >= 20)]
    diff = float((both["median_i"] - both["median_m"]).mean())

    r2s = []
    for _, g in s.groupby("worker"):
        if len(g) < 200:
            continue
        X = np.c_[np.ones(len(g)), g["mouse_x"], g["mouse_y"]]
        Y = g[["gx", "gy"]].to_numpy()
        beta = np.linalg.lstsq(X, Y, rcond=None)[0]
        res = Y - X @ beta
        r2s.append(1 - (res ** 2).sum() / ((Y - Y.mean(axis=0)) ** 2).sum())
    r2_med = float(np.median(r2s))

    ours = {}
    p = Path(args.results)
    if p.is_file():
        nums = json.loads(p.read_text())["numbers"]
        ours = {k: nums[k]["value"] for k in ("validity/distance/idle_vs_moving", "validity/r2_gaze_on_cursor/median")
                if k in nums}
    print(json.dumps({"idle_vs_moving_px": {"independent": round(diff, 3), "workers": int(len(both)),
                                            "chapter": ours.get("validity/distance/idle_vs_moving")},
                      "r2_median": {"independent": round(r2_med, 3), "workers": len(r2s),
                                    "chapter": ours.get("validity/r2_gaze_on_cursor/median")}}, indent=2))


if __name__ == "__main__":
    main()
