"""Timing probe of the behaviour-file parser: parse and assemble every folder of the release.

Prints one JSON object with medians over ``--repeat`` runs (page cache warm) of

* ``naive_read_csv_s``: ``pandas.read_csv(header=None)`` over every behaviour file, one process
  (the floor; it raises on 259 files and silently loses rows in others, §4 of the data reference);
* ``parse_streams_1proc_s`` / ``parse_streams_2proc_s``: :func:`~ifl_utils.data.parse.parse_stream`
  over every file (file read included), in 1 process / a pool of 2 (rows stay in the workers);
* ``parse_folders_1proc_s`` / ``parse_folders_2proc_s``: :func:`~ifl_utils.data.folder.parse_folder`
  over every folder (parse + assemble, callback tables returned to the parent as a cache build
  does), in 1 and 2 processes (pool start included).

Each measurement runs in a fresh interpreter; imports are not timed.

Run: ``IFLLM_DATA=<release> OMP_WAIT_POLICY=PASSIVE python -m benchmarks.parse_probe``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _folder_job(job: tuple[str, str]):
    from ifl_utils.data.folder import parse_folder

    return parse_folder(Path(job[0]), job[1])


def naive_read_csv(files: list[Path]) -> float:
    """Seconds for ``pandas.read_csv(header=None)`` over ``files`` (its failures are ignored)."""
    import pandas as pd

    t0 = time.perf_counter()
    for f in files:
        try:
            pd.read_csv(f, header=None)
        except Exception:  # noqa: BLE001 - the naive reader's failures are part of the floor
            pass
    return time.perf_counter() - t0


def parse_streams(root: Path, files: list[Path]) -> float:
    """Seconds for :func:`parse_stream` over ``files`` in this process."""
    from ifl_utils.data.parse import parse_stream

    t0 = time.perf_counter()
    for f in files:
        parse_stream(f.read_bytes(), f.stem, f.relative_to(root).as_posix())
    return time.perf_counter() - t0


def _stream_job(job: tuple[str, str]) -> int:
    from ifl_utils.data.parse import parse_stream

    path = Path(job[0])
    return len(parse_stream(path.read_bytes(), path.stem, job[1])[0])


def parse_streams_pool(root: Path, files: list[Path], workers: int) -> float:
    """Seconds for :func:`parse_stream` over ``files`` in a pool (rows stay in the workers)."""
    jobs = [(str(f), f.relative_to(root).as_posix()) for f in files]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        n = sum(pool.map(_stream_job, jobs, chunksize=32))
    dt = time.perf_counter() - t0
    assert n > 0
    return dt


def parse_folders(jobs: list[tuple[str, str]], workers: int) -> float:
    """Seconds for :func:`parse_folder` over ``jobs`` in ``workers`` processes (pool included)."""
    t0 = time.perf_counter()
    if workers == 1:
        out = [_folder_job(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            out = list(pool.map(_folder_job, jobs, chunksize=8))
    dt = time.perf_counter() - t0
    assert sum(len(cb) for cb, _, _ in out) > 0
    return dt


_KINDS = ("naive_read_csv_s", "parse_streams_1proc_s", "parse_streams_2proc_s",
          "parse_folders_1proc_s", "parse_folders_2proc_s")


def _measure(kind: str, root: Path) -> float:
    folders = sorted(p for p in (root / "user_behavior").glob("*/*") if p.is_dir())
    files = sorted(f for d in folders for f in d.glob("*.csv"))
    jobs = [(str(d), d.relative_to(root).as_posix()) for d in folders]
    if kind == "naive_read_csv_s":
        return naive_read_csv(files)
    if kind == "parse_streams_1proc_s":
        return parse_streams(root, files)
    if kind == "parse_streams_2proc_s":
        return parse_streams_pool(root, files, 2)
    return parse_folders(jobs, 2 if kind == "parse_folders_2proc_s" else 1)


def main(argv: list[str] | None = None) -> dict:
    """Run the probe and return the medians (seconds).

    Every measurement runs in a fresh interpreter (imports excluded from the time), so that one
    run's heap does not slow the next one down (forking a process that holds a large heap does).
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("IFLLM_DATA"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=_KINDS, help=argparse.SUPPRESS)   # one measurement
    args = ap.parse_args(argv)
    if not args.data:
        ap.error("set IFLLM_DATA or pass --data")
    from ifl_utils.data.locate import resolve_root

    root = Path(resolve_root(args.data))
    if args.only:
        import pandas  # noqa: F401 - imported before the clock starts
        import ifl_utils.data.folder  # noqa: F401

        return {args.only: _measure(args.only, root)}
    files = sorted((root / "user_behavior").glob("*/*/*.csv"))
    nbytes = sum(len(f.read_bytes()) for f in files)          # warms the page cache too
    runs: dict[str, list[float]] = {k: [] for k in _KINDS}
    for _ in range(args.repeat):
        for kind in _KINDS:
            out = subprocess.run([sys.executable, "-m", "benchmarks.parse_probe", "--data",
                                  str(root), "--only", kind], capture_output=True, text=True,
                                 check=True)
            runs[kind].append(json.loads(out.stdout)[kind])
    res = {"files": len(files), "bytes": nbytes, "repeat": args.repeat,
           "cpus": os.cpu_count(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    res.update({k: round(statistics.median(v), 2) for k, v in runs.items()})
    res["runs"] = {k: [round(x, 2) for x in v] for k, v in runs.items()}
    return res


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=2)
    sys.stdout.write("\n")
