"""Atomic writes and inter-process locks: an interrupted run never leaves a half-written file."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    """The process's umask, read without changing it where Linux exposes it (``os.umask`` sets
    it while reading, which would race with files other threads create at that moment)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Mode of files written atomically: what ``open()`` would give (0o666 less the umask at import),
#: not ``mkstemp``'s owner-only 0o600.
FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    The temporary file lives in the same folder so that the final ``os.replace`` is atomic.
    On an exception the temporary file is removed and ``target`` is left untouched. The file gets
    the mode a plain ``open()`` would give it (:data:`FILE_MODE`).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():
            os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_parquet_atomic(target: str | os.PathLike[str], table: Any, **kwargs: Any) -> None:
    """Write a DataFrame to Parquet at ``target`` atomically (``kwargs`` go to ``to_parquet``)."""
    with atomic_path(target) as tmp:
        table.to_parquet(tmp, **kwargs)


def read_parquet(path: str | os.PathLike[str]) -> Any:
    """``pandas.read_parquet`` through Python's ``open``. pyarrow's own file IO raises no audit
    event, so a cache file read this way is seen by the runner's audit hook
    (:func:`ifl_utils.execution.watch_cache_reads`) and its chapter reported warm."""
    import pandas as pd

    with open(path, "rb") as fh:
        return pd.read_parquet(fh)


def write_json_atomic(target: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``target`` atomically."""
    write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def file_lock(lock_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (created if needed) for the block.

    Two processes building the same cache entry serialise on this lock; the second one then
    finds the finished entry and does not rebuild it.
    """
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
