"""Parquet cache: atomic publication, lock against concurrent builds, column reads, corruption."""
from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pandas as pd
import pytest

from ifl_utils.data import cache
from ifl_utils.errors import IFLCacheError


def _tables(tmp=None):
    return {"t": pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, 1.5, 2.5]})}, {"source": "test"}


def test_build_once_then_reuse(tmp_path):
    entry = cache.entry_dir(tmp_path, "ab" * 32)
    calls = []

    def build(tmp):
        calls.append(1)
        return _tables()

    cache.ensure_entry(entry, build)
    cache.ensure_entry(entry, build)
    assert len(calls) == 1
    assert cache.read_meta(entry)["tables"] == ["t"]
    df = cache.read_table(entry, "t", columns=["a", "c"])
    assert list(df.columns) == ["a", "c"] and df["a"].tolist() == [1, 2, 3]


def test_failed_build_leaves_no_entry(tmp_path):
    entry = cache.entry_dir(tmp_path, "cd" * 32)

    def build(tmp):
        (tmp / "half.parquet").write_bytes(b"partial")
        raise KeyboardInterrupt  # an interrupted build

    with pytest.raises(KeyboardInterrupt):
        cache.ensure_entry(entry, build)
    assert not entry.exists()
    assert [p.name for p in entry.parent.iterdir() if not p.name.endswith(".lock")] == []


def test_unknown_column_and_corruption(tmp_path):
    entry = cache.entry_dir(tmp_path, "ef" * 32)
    cache.ensure_entry(entry, _tables)
    with pytest.raises(IFLCacheError, match="no column"):
        cache.read_table(entry, "t", columns=["zzz"])
    (entry / "t.parquet").write_bytes(b"not parquet")
    with pytest.raises(IFLCacheError, match="unreadable"):
        cache.read_table(entry, "t")


def _build_in_process(entry: str, marker: str) -> None:
    import time

    def build(tmp):
        Path(marker).open("a").write("built\n")
        time.sleep(0.5)
        return _tables()

    cache.ensure_entry(Path(entry), build)


def test_two_processes_build_once(tmp_path):
    entry = cache.entry_dir(tmp_path, "12" * 32)
    marker = tmp_path / "marker.txt"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_build_in_process, args=(str(entry), str(marker))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert marker.read_text().count("built") == 1
    assert cache.read_table(entry, "t")["a"].tolist() == [1, 2, 3]
