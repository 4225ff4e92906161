"""Parquet cache of the parsed release: built once, atomically, under a lock; read column by column.

Layout: ``<cache_root>/parsed/<key>/`` with one ``<table>.parquet`` (zstd) per table (a folder of
parts for large tables) and ``meta.json`` (cache version, tables, row counts, build seconds, and
``files``: every file's size, content digest and Parquet row count). ``key`` combines the source key
(the manifest hash of the published release, or the content fingerprint of any other folder) and
:data:`CACHE_VERSION` (what the parser makes of it), so a changed source or parser gets a fresh entry.

Integrity: every load (:func:`ensure_entry`) checks the entry against its ``meta.json`` -- the file
list (a deleted or added part), each file's size (truncation) and digest (a swapped or bit-flipped
file), and each table's rows -- and a mismatch rebuilds the entry with a one-line warning on stderr
naming the file. On the release (about 110 MB of Parquet) the check reads every byte once
(XXH3, :mod:`.digest`); ``ifl bench ingest`` reports its cost.

Crash hygiene: an entry is built in a temporary sibling ``.<entry>.<pid>.<random>/`` and published by
renaming it, so an interrupted build leaves no half cache; the temporary folders of builds whose
process is gone are removed by the next load (:func:`sweep_stale`).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
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
CACHE_VERSION = "9"

#: The entry's description (written last; its absence means "no entry").
META = "meta.json"
#: Temporary folders of builds: ``.<entry>.<pid>.<random>``.
_TMP_RE = re.compile(r"^\.(?P<entry>.+?)\.(?P<pid>\d+)\.(?P<rand>[A-Za-z0-9_]+)(?:\.tmp)?$")
#: Temporary folders without an owner pid (made before pids were recorded) older than this are stale.
_ORPHAN_AGE_S = 3600.0


def entry_dir(cache_root: Path, manifest_hash: str) -> Path:
    """Return the cache folder for a source identified by ``manifest_hash``."""
    return Path(cache_root) / "parsed" / f"{manifest_hash[:16]}-v{CACHE_VERSION}"


def _pid_alive(pid: int) -> bool:
    """True unless process ``pid`` certainly does not exist (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell: keep it)
    return True


def sweep_stale(parent: Path) -> list[str]:
    """Remove the temporary build folders under ``parent`` whose owner process is gone.

    Only folders named ``.<entry>.<pid>.<random>`` (optionally ``.tmp``) with a dead ``pid`` are
    removed (and hidden folders without a pid untouched for an hour: those of older versions).
    A pid reused by another process only delays the removal. Returns the names removed.
    """
    removed = []
    try:
        items = list(os.scandir(parent))
    except OSError:
        return removed
    for it in items:
        if not it.name.startswith(".") or not it.is_dir(follow_symlinks=False):
            continue
        m = _TMP_RE.match(it.name)
        if m is not None:
            stale = not _pid_alive(int(m["pid"]))
        else:
            try:
                stale = time.time() - it.stat(follow_symlinks=False).st_mtime > _ORPHAN_AGE_S
            except OSError:
                continue
        if stale:
            shutil.rmtree(it.path, ignore_errors=True)
            removed.append(it.name)
    return removed


def _meta_digest(info: dict) -> str:
    """Digest of ``meta.json``'s content (all but the digest itself), canonical JSON."""
    from .digest import bytes_digest

    body = {k: v for k, v in info.items() if k != "meta_digest"}
    return bytes_digest(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def _write_meta(folder: Path, info: dict) -> None:
    """Write ``meta.json`` atomically, with the digest of its own content (``meta_digest``)."""
    info = dict(info)
    info["meta_digest"] = _meta_digest(info)
    write_json_atomic(Path(folder) / META, info)


def _file_rows(path: Path) -> int | None:
    if path.suffix != ".parquet":
        return None
    return int(pq.read_metadata(path).num_rows)


def describe_files(folder: Path) -> dict[str, dict]:
    """``relative path -> {"size", "digest", "rows"}`` of every file of an entry but ``meta.json``.

    ``rows`` is the Parquet file's row count (``None`` for other files).
    """
    from .digest import file_digest

    out = {}
    folder = Path(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            rel = p.relative_to(folder).as_posix()
            if rel == META or name.endswith(".tmp") or name.startswith("."):
                continue
            out[rel] = {"size": p.stat().st_size, "digest": file_digest(p), "rows": _file_rows(p)}
    return out


def _listing(entry: Path) -> dict[str, int]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(entry):
        for name in filenames:
            if name.startswith(".") or name.endswith(".tmp"):
                continue  # atomic writes in progress
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, entry).replace(os.sep, "/")
            if rel != META:
                out[rel] = os.stat(p).st_size
    return out


def check_entry(entry: Path, *, rows: bool = True) -> str | None:
    """Check a cache entry against its ``meta.json``; return the first problem, or ``None``.

    Checked: the cache version; ``meta.json``'s digest of its own content; that every recorded file
    is present and no other file is; each file's size and content digest; and (``rows``) that the
    rows recorded per file (read from its Parquet footer when the entry was built; the digest
    proves the footer unchanged) add up to each table's recorded row count. The message names the
    file (relative to the cache's ``parsed/``). A missing ``meta.json`` is reported as
    ``"absent"`` when the folder does not exist either.
    """
    try:
        return _check_entry(Path(entry), rows)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        return f"{Path(entry).name}/{META} is malformed ({type(err).__name__}: {err})"


def _check_entry(entry: Path, rows: bool) -> str | None:
    from .digest import file_digest

    entry = Path(entry)
    name = entry.name
    meta = entry / META
    if not meta.is_file():
        return "absent" if not entry.exists() else f"{name}/{META} is missing"
    try:
        info = json.loads(meta.read_text())
        files = info["files"]
        version = info.get("cache_version")
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"{name}/{META} is unreadable ({type(err).__name__})"
    if version != CACHE_VERSION:
        return f"{name}/{META} is of cache version {version!r}, expected {CACHE_VERSION!r}"
    if info.get("meta_digest") != _meta_digest(info):
        return f"{name}/{META} differs from its recorded digest (damaged or edited)"
    try:
        found = _listing(entry)
    except OSError as err:
        return f"{name}: cannot list the entry ({err.strerror})"
    for rel in sorted(set(files) - set(found)):
        return f"{name}/{rel} is missing"
    for rel in sorted(set(found) - set(files)):
        return f"{name}/{rel} is not part of the entry (an extra file)"
    for rel in sorted(files):
        rec = files[rel]
        if found[rel] != rec["size"]:
            return f"{name}/{rel} has {found[rel]} bytes, expected {rec['size']} (truncated or replaced)"
    for rel in sorted(files):
        try:
            digest = file_digest(entry / rel)
        except OSError as err:
            return f"{name}/{rel} is unreadable ({err.strerror})"
        if digest != files[rel]["digest"]:
            return f"{name}/{rel} differs from its recorded digest (damaged or replaced)"
    if rows:
        per_table: dict[str, int] = {}
        for rel, rec in files.items():
            if rec.get("rows") is not None:
                table = rel.split("/")[0].removesuffix(".parquet")
                per_table[table] = per_table.get(table, 0) + int(rec["rows"])
        for table, n in sorted(info.get("rows", {}).items()):
            if table in per_table and per_table[table] != n:
                return f"{name}/{table}.parquet holds {per_table[table]} rows, expected {n}"
    return None


def _complete(entry: Path) -> bool:
    return check_entry(entry) is None


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
    _make_parent(entry.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.{os.getpid()}.", dir=entry.parent))
    try:
        t0 = time.perf_counter()
        tables, meta = build(tmp)
        meta = dict(meta)
        prewritten = meta.pop("prewritten", [])
        write_tables(tmp, tables)
        seconds = round(time.perf_counter() - t0, 2)
        info = dict(meta, cache_version=CACHE_VERSION, tables=sorted(set(tables) | set(prewritten)),
                    build_seconds=seconds)
        t1 = time.perf_counter()
        info["files"] = describe_files(tmp)
        info["record_seconds"] = round(time.perf_counter() - t1, 3)
        _write_meta(tmp, info)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the entry is an ordinary folder
        problem = check_entry(tmp)
        if problem is not None:  # pragma: no cover - the build's own tables disagree with its counts
            raise IFLCacheError(f"the fresh cache entry fails its own check: {problem}")
        if entry.exists():  # a stale or broken entry: replace it
            shutil.rmtree(entry)
        os.replace(tmp, entry)
        return seconds
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _make_parent(parent: Path) -> None:
    """Create the cache folder ``parent``, or raise a one-line :class:`IFLCacheError` with the fix."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise IFLCacheError(f"cache folder {parent} cannot be created: a file is in the way; set "
                            "IFLLM_CACHE to a folder") from None
    except OSError as err:
        raise IFLCacheError(f"cache folder {parent} cannot be created ({err.strerror}); set "
                            "IFLLM_CACHE to a writable folder") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise IFLCacheError(f"cache folder {parent} is not writable; set IFLLM_CACHE to a writable "
                            "folder")


def ensure_entry(entry: Path, build: Builder) -> Path:
    """Return ``entry`` after building it with ``build(tmp)`` if it is missing or damaged.

    ``build`` gets the temporary folder being filled and returns ``(tables, meta)`` (see
    :func:`write_entry`). The entry is checked (:func:`check_entry`) first; a damaged one is rebuilt
    with a one-line warning on stderr naming the file. Two processes calling this at once serialise
    on a lock file; the second finds the finished entry and does not rebuild. Temporary folders of
    dead builds beside the entry are removed (:func:`sweep_stale`).
    """
    entry = Path(entry)
    sweep_stale(entry.parent)
    problem = check_entry(entry)
    if problem is None:
        return entry
    _make_parent(entry.parent)
    with file_lock(entry.parent / f"{entry.name}.lock"):
        problem = check_entry(entry)
        if problem is None:
            return entry
        if problem != "absent":
            print(f"warning: cache file parsed/{problem}; rebuilding the cache entry", file=sys.stderr,
                  flush=True)
        write_entry(entry, build)
    return entry


def add_file(entry: Path, rel: str) -> None:
    """Record the file ``rel`` (already in ``entry``) in the entry's ``meta.json`` (size, digest,
    rows), so that later loads check it too. Call under the entry's lock."""
    from .digest import file_digest

    info = read_meta(entry)
    p = Path(entry) / rel
    info.setdefault("files", {})[rel] = {"size": p.stat().st_size, "digest": file_digest(p),
                                         "rows": _file_rows(p)}
    _write_meta(Path(entry), info)


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
