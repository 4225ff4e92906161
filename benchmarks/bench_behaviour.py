"""Behaviour benchmark: every reading curve of the release from the Parquet cache (load + curves,
histograms and summary measures), plus the gaze-mouse correlations and the paper's bisecting
k-means on top. Prints one JSON object.

Run: ``ifl bench behaviour`` (or ``python -m benchmarks.bench_behaviour``), with ``IFLLM_DATA``
set; the cache must be built (``ifl data summary`` builds it). Medians over ``repeat`` runs.
Target: all curves from the cache in <= 5 s.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

from ifl_utils.benchmarks_report import machine_description


def main(data: str | None = None, repeat: int = 3) -> dict:
    """Run the benchmark and return its JSON-ready result (medians over ``repeat`` runs)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from ifl_utils.behaviour import agreement, clustering
    from ifl_utils.behaviour import trajectories as tr
    from ifl_utils.data.api import Dataset

    ds = Dataset(data, verify="fast", progress=False)
    ds.ensure()
    queries = ds.queries()
    load, build, corr, clus, total = [], [], [], [], []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        s = ds.samples(columns=tr.SAMPLE_COLUMNS)
        t1 = time.perf_counter()
        curves = tr.reading_curves(s, queries)
        t2 = time.perf_counter()
        r = agreement.gaze_mouse_correlations(curves)
        t3 = time.perf_counter()
        left = curves.where(modality="gaze", side="pairwise left")
        clustering.bisecting_kmeans(left.curves)
        t4 = time.perf_counter()
        load.append(t1 - t0)
        build.append(t2 - t1)
        corr.append(t3 - t2)
        clus.append(t4 - t3)
        total.append(t2 - t0)
    return {
        "benchmark": "behaviour",
        "machine": machine_description(),
        "repeat": repeat,
        "samples_rows": int(len(s)),
        "curves": int(len(curves)),
        "curves_dropped": curves.dropped,
        "gaze_mouse_pairs": int(len(r)),
        "load_samples_s": round(statistics.median(load), 3),
        "reading_curves_s": round(statistics.median(build), 3),
        "all_curves_from_cache_s": round(statistics.median(total), 3),
        "gaze_mouse_correlations_s": round(statistics.median(corr), 3),
        "bisecting_kmeans_k10_s": round(statistics.median(clus), 3),
        "targets": {"all_curves_from_cache_s": 5.0},
    }


if __name__ == "__main__":
    json.dump(main(os.environ.get("IFLLM_DATA")), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
