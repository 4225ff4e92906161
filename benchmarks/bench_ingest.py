"""Ingest benchmark: cold parse + cache build, warm load of the analysis columns, peak memory, and
a naive ``pandas.read_csv`` pass over the same files as a floor. Prints one JSON object.

Run: ``ifl bench ingest`` (or ``python -m benchmarks.bench_ingest``), with ``IFLLM_DATA`` set.
Each cold build runs in a fresh subprocess with an empty cache, so its peak RSS is its own; the
page cache is warm (the files are read once before timing). ``cold_ingest_s`` is timed from after
the imports (the floor runs with pandas already imported); ``cold_process_s`` includes interpreter
start and imports. Medians over ``repeat`` runs.

Integrity (#21): ``warm_load_s`` includes the check of the cache entry that every load does
(:func:`ifl_utils.data.cache.check_entry`: file list, sizes, XXH3 digests, row counts), which is
also timed alone (``integrity_check_s``); ``integrity_record_s`` is what recording the digests adds
to a cold build. ``content_key_release_s`` / ``content_key_synth_s`` time the content key an
unverified input gets (every file hashed; the verified release keeps its manifest key), on the
release and on ``ifl synth`` output, beside ``synth_cold_build_s``, the synthetic release's build.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ifl_utils.benchmarks_report import machine_description

_CHILD = r"""
import json, os, resource, sys, time
t00 = time.perf_counter()
import pandas, pyarrow.parquet  # the naive floor runs with these already imported
from ifl_utils.data.api import Dataset
t0 = time.perf_counter()
ds = Dataset(sys.argv[1], verify="fast", progress=False)
ds.ensure()
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "process_seconds": t1 - t00,
                  "build_seconds": ds.meta()["build_seconds"],
                  "record_seconds": ds.meta().get("record_seconds"),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def naive_floor(root: Path) -> dict:
    """Read every behaviour file with ``pandas.read_csv(header=None)``; time it and count failures.

    Files the naive reader cannot read are counted (``raises``), and files it reads with a row
    count different from the line count are counted as ``loses_rows`` — none is skipped silently.
    """
    import pandas as pd

    files = sorted((root / "user_behavior").rglob("*.csv"))
    raises = loses = rows = 0
    t0 = time.perf_counter()
    for f in files:
        try:
            df = pd.read_csv(f, header=None)
        except Exception:  # noqa: BLE001 - counting every way the naive reader fails is the point
            raises += 1
            continue
        rows += len(df)
        with open(f, "rb") as fh:
            n_lines = sum(1 for _ in fh)
        loses += len(df) != n_lines
    return {"seconds": time.perf_counter() - t0, "files": len(files), "raises": raises,
            "loses_rows": loses, "rows_read": rows}


def _warm_page_cache(root: Path) -> int:
    total = 0
    for f in sorted(root.rglob("*.csv")):
        total += len(f.read_bytes())
    return total


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main(data: str | None = None, repeat: int = 3) -> dict:
    """Run the benchmark and return its JSON-ready result (medians over ``repeat`` runs)."""
    from ifl_utils.data import cache as cache_mod
    from ifl_utils.data.api import ANALYSIS_COLUMNS, Dataset, folder_fingerprint
    from ifl_utils.data.locate import resolve_root
    from ifl_utils.data.synth import SynthConfig, make_release

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    root = resolve_root(data, progress=False)
    nbytes = _warm_page_cache(root)

    cold, build, rss, proc, record = [], [], [], [], []
    floor = []
    for _ in range(repeat):
        floor.append(naive_floor(root))
        with tempfile.TemporaryDirectory(prefix="ifl-bench-") as cache:
            env = dict(os.environ, IFLLM_CACHE=cache)
            out = subprocess.run([sys.executable, "-c", _CHILD, str(root)], env=env, text=True,
                                 capture_output=True, check=False)
            if out.returncode != 0:
                raise RuntimeError(f"cold build failed:\n{out.stderr[-4000:]}")
            res = json.loads(out.stdout.strip().splitlines()[-1])
            cold.append(res["seconds"])
            proc.append(res["process_seconds"])
            build.append(res["build_seconds"])
            record.append(res.get("record_seconds") or 0.0)
            rss.append(res["peak_rss_mb"])

    ds = Dataset(root, verify="fast", progress=False)
    entry = ds.ensure()
    warm, check = [], []
    for _ in range(max(repeat, 5)):
        t0 = time.perf_counter()
        problem = cache_mod.check_entry(entry)  # what every load does before reading
        t1 = time.perf_counter()
        df = ds.samples(columns=ANALYSIS_COLUMNS)
        warm.append(time.perf_counter() - t0)
        check.append(t1 - t0)
        if problem is not None:
            raise RuntimeError(f"the warm cache entry fails its check: {problem}")
    cache_bytes = sum(f["size"] for f in cache_mod.read_meta(entry)["files"].values())
    key_release = [_timed(folder_fingerprint, root) for _ in range(repeat)]
    with tempfile.TemporaryDirectory(prefix="ifl-bench-synth-") as tmp:
        synth = make_release(Path(tmp) / "release", SynthConfig())
        key_synth = [_timed(folder_fingerprint, synth) for _ in range(repeat)]
        os.environ["IFLLM_CACHE"], old_cache = str(Path(tmp) / "cache"), os.environ.get("IFLLM_CACHE")
        try:
            synth_build = _timed(Dataset(synth, verify="none", progress=False).ensure)
        finally:
            if old_cache is None:
                os.environ.pop("IFLLM_CACHE", None)
            else:
                os.environ["IFLLM_CACHE"] = old_cache
    floor_s = statistics.median(f["seconds"] for f in floor)
    cold_s = statistics.median(cold)
    return {
        "benchmark": "ingest",
        "machine": machine_description(),
        "repeat": repeat,
        "input": {"files": floor[0]["files"] + 3, "bytes": nbytes},
        "cold_ingest_s": round(cold_s, 2),
        "cold_build_s": round(statistics.median(build), 2),
        "cold_ingest_runs_s": [round(x, 2) for x in cold],
        "cold_process_s": round(statistics.median(proc), 2),
        "naive_read_floor_s": round(floor_s, 2),
        "cold_over_floor": round(cold_s / floor_s, 2),
        "naive_files_raise": floor[0]["raises"],
        "naive_files_lose_rows": floor[0]["loses_rows"],
        "warm_load_s": round(statistics.median(warm), 3),
        "integrity_check_s": round(statistics.median(check), 3),
        "integrity_record_s": round(statistics.median(record), 3),
        "cache_bytes": int(cache_bytes),
        "content_key_release_s": round(statistics.median(key_release), 3),
        "content_key_synth_s": round(statistics.median(key_synth), 4),
        "synth_cold_build_s": round(synth_build, 3),
        "warm_rows": int(len(df)),
        "warm_columns": len(ANALYSIS_COLUMNS),
        "peak_rss_mb": round(max(rss), 1),
        "targets": {"cold_ingest_s": 15, "cold_over_floor": 2.0, "warm_load_s": 0.5, "peak_rss_mb": 3072},
    }


if __name__ == "__main__":
    json.dump(main(os.environ.get("IFLLM_DATA")), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
