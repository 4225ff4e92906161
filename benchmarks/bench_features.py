"""Feature benchmark: per-query gaze, mouse, cross and text features of every query from the warm
cache (sample loading included). Prints one JSON object.

Run: ``ifl bench features`` (or ``python -m benchmarks.bench_features``), with ``IFLLM_DATA`` set.
The cache is built first if needed (not timed). Medians over ``repeat`` runs; target 5 s.
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
    from ifl_utils.data.api import Dataset
    from ifl_utils.features import load_query_features

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    ds = Dataset(data, verify="fast", progress=False)
    ds.ensure()
    runs, load = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f = load_query_features(ds)
        runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ds.samples(columns=["query_id"])
        load.append(time.perf_counter() - t0)
    med = statistics.median(runs)
    return {
        "benchmark": "features",
        "machine": machine_description(),
        "repeat": repeat,
        "queries": int(len(f)),
        "queries_with_behaviour": int((f["callbacks"].fillna(0) > 0).sum()),
        "features": int(f.shape[1] - 1),
        "seconds": round(med, 3),
        "runs_s": [round(x, 3) for x in runs],
        "targets": {"seconds": 5.0},
        "meets_target": med <= 5.0,
    }


if __name__ == "__main__":
    json.dump(main(os.environ.get("IFLLM_DATA")), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
