"""Fast content hashes: of one file (cache integrity) and of a whole folder (cache key of inputs that
are not the published release).

The hash is xxHash XXH3-128 when the ``xxhash`` package is installed (about 10 GB/s), else BLAKE2b
(128-bit digest, about 1 GB/s); the name of the algorithm is part of every digest string
(``xxh3_128:...`` / ``blake2b:...``), so digests of the two never compare equal by accident.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

try:  # pragma: no cover - depends on the environment
    import xxhash as _xxhash
except ImportError:  # pragma: no cover
    _xxhash = None

_BLOCK = 1 << 20

#: Name of the hash in use (prefix of every digest).
ALGORITHM = "xxh3_128" if _xxhash is not None else "blake2b"


def _new():
    return _xxhash.xxh3_128() if _xxhash is not None else hashlib.blake2b(digest_size=16)


def file_digest(path: str | os.PathLike[str]) -> str:
    """``"<algorithm>:<hex>"`` of a file's bytes, read in 1 MiB blocks."""
    h = _new()
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(_BLOCK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            h.update(view[:n])
    return f"{ALGORITHM}:{h.hexdigest()}"


def bytes_digest(data: bytes) -> str:
    """``"<algorithm>:<hex>"`` of ``data``."""
    h = _new()
    h.update(data)
    return f"{ALGORITHM}:{h.hexdigest()}"


def content_fingerprint(root: str | os.PathLike[str], files: Iterable[str] | None = None) -> str:
    """SHA-256 (hex) over the relative path, size and content digest of every file under ``root``.

    Two folders get the same fingerprint only when they hold the same files with the same bytes:
    modification times play no part (archives made with fixed timestamps, ``tar --mtime`` or
    ``SOURCE_DATE_EPOCH``, differ only in content). Every file is read once.

    Parameters
    ----------
    root
        The folder.
    files
        Relative paths to hash (default: every regular file under ``root``, links followed).

    Raises
    ------
    IFLDataError
        When a file cannot be read (named, with the reason).
    """
    from ..errors import IFLDataError

    root = Path(root)
    if files is None:
        found = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            found += [f if rel_dir == "." else f"{rel_dir}/{f}" for f in filenames]
        files = found
    h = hashlib.sha256(f"content-fingerprint-v1 {ALGORITHM}\n".encode())
    for rel in sorted(files):
        p = root / rel
        try:
            st = os.stat(p)
            if not _is_regular(st.st_mode):  # a FIFO would block the parser forever
                raise IFLDataError("not a regular file (a FIFO, socket or device); expected a "
                                   "data file", path=rel)
            digest = file_digest(p)
        except OSError as err:
            raise IFLDataError(f"cannot read the file ({err.strerror or err}); expected a readable "
                               "regular file", path=rel) from None
        h.update(f"{rel}\0{st.st_size}\0{digest}\n".encode())
    return h.hexdigest()


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)
