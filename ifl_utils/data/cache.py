"""Parquet cache of the parsed release: built once, atomically, under a lock; read column by column.

Layout: ``<cache_root>/parsed/<key>/`` with one ``<table>.parquet`` (zstd) per table and
``meta.json`` (cache version, parser version, manifest hash, tables, build seconds). ``key`` combines
the manifest hash (what the source is) and :data:`CACHE_VERSION` (what the parser makes of it), so a
changed source or parser gets a fresh entry. An entry is published by renaming a finished temporary
folder, so an interrupted build leaves no half cache; an entry whose files cannot be read is removed
and rebuilt.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import IFLCacheError
from ..io import file_lock, write_json_atomic

#: Large tables are split into this many files, written in parallel.
PARTS = 2

#: Bump when the parser, repairs or table layout change: old entries are then ignored.
CACHE_VERSION = "8"


def entry_dir(cache_root: Path, manifest_hash: str) -> Path:
    """Return the cache folder for a source identified by ``manifest_hash``."""
    return Path(cache_root) / "parsed" / f"{manifest_hash[:16]}-v{CACHE_VERSION}"


def _complete(entry: Path) -> bool:
    meta = entry / "meta.json"
    if not meta.is_file():
        return False
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False
    return info.get("cache_version") == CACHE_VERSION and all(
        (entry / f"{t}.parquet").exists() for t in info.get("tables", []))


def write_tables(folder: Path, tables: dict[str, pd.DataFrame | pa.Table]) -> None:
    """Write ``tables`` as Parquet (zstd) into ``folder``; large ones as parts, in parallel.

    A table of 100,000 rows or more becomes a folder ``<name>.parquet/`` of :data:`PARTS` files
    (pyarrow releases the GIL, so the parts are written concurrently); a folder of Parquet files
    reads back as one table.
    """
    from concurrent.futures import ThreadPoolExecutor

    jobs = []
    for name, df in tables.items():
        table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
        parts = PARTS if table.num_rows >= 100_000 else 1
        if parts == 1:
            jobs.append((table, folder / f"{name}.parquet"))
        else:
            (folder / f"{name}.parquet").mkdir()
            step = -(-table.num_rows // parts)
            jobs += [(table.slice(i * step, step), folder / f"{name}.parquet" / f"part-{i}.parquet")
                     for i in range(parts)]
    with ThreadPoolExecutor(max_workers=PARTS) as pool:
        list(pool.map(lambda job: pq.write_table(job[0], job[1], compression="zstd",
                                                 compression_level=1), jobs))


Builder = Callable[[Path], tuple[dict[str, pd.DataFrame | pa.Table], dict]]


def write_entry(entry: Path, build: Builder) -> float:
    """Build a cache entry in a temporary sibling folder and rename it onto ``entry``.

    ``build(tmp)`` returns ``(tables, meta)``; it may also write tables of its own into ``tmp``
    and name them in ``meta["prewritten"]``. Nothing appears at ``entry`` unless everything
    succeeded. Returns the build's seconds.
    """
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        t0 = time.perf_counter()
        tables, meta = build(tmp)
        meta = dict(meta)
        prewritten = meta.pop("prewritten", [])
        write_tables(tmp, tables)
        seconds = round(time.perf_counter() - t0, 2)
        info = dict(meta, cache_version=CACHE_VERSION, tables=sorted(set(tables) | set(prewritten)),
                    build_seconds=seconds)
        write_json_atomic(tmp / "meta.json", info)
        if entry.exists():  # a stale or broken entry: replace it
            shutil.rmtree(entry)
        os.replace(tmp, entry)
        return seconds
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def ensure_entry(entry: Path, build: Builder) -> Path:
    """Return ``entry`` after building it with ``build(tmp)`` if it is missing or broken.

    ``build`` gets the temporary folder being filled and returns ``(tables, meta)`` (see
    :func:`write_entry`). Two processes calling this at once serialise on a lock file; the
    second finds the finished entry and does not rebuild.
    """
    if _complete(entry):
        return entry
    with file_lock(entry.parent / f"{entry.name}.lock"):
        if _complete(entry):
            return entry
        write_entry(entry, build)
    return entry


def read_table(entry: Path, name: str, columns: Sequence[str] | None = None,
               filters: list | None = None) -> pd.DataFrame:
    """Read table ``name`` of a cache entry, only ``columns`` when given.

    Raises
    ------
    IFLCacheError
        When the file is missing or unreadable (the caller may rebuild), or a column is unknown.
    """
    path = entry / f"{name}.parquet"
    try:
        first = sorted(path.glob("*.parquet"))[0] if path.is_dir() else path
        schema = pq.read_schema(first)
    except (OSError, IndexError, pa.ArrowException) as err:
        raise IFLCacheError(f"cache table {name!r} unreadable ({err}); rebuild the cache") from err
    if columns is not None:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise IFLCacheError(f"table {name!r} has no column(s) {unknown}; it has {schema.names}")
    try:
        table = pq.read_table(path, columns=list(columns) if columns is not None else None,
                              filters=filters)
    except (OSError, pa.ArrowException) as err:
        raise IFLCacheError(f"cache table {name!r} unreadable ({err}); rebuild the cache") from err
    return table.to_pandas()


def read_meta(entry: Path) -> dict:
    """Return the ``meta.json`` of a cache entry."""
    return json.loads((entry / "meta.json").read_text())


def invalidate(entry: Path) -> None:
    """Remove a cache entry (used when a table turns out to be unreadable)."""
    shutil.rmtree(entry, ignore_errors=True)
