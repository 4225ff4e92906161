"""Safe, atomic, once-only extraction of the release's ``dataset/`` subtree from an archive.

Supported: tar (uncompressed, ``.tar.xz``/``.txz``, ``.tar.gz``/``.tgz``, ``.tar.bz2``) and
``.zip``; the kind is recognised from the file's first bytes, not its name.

Where the dataset lies in the archive: the release layout (:data:`DATASET_TABLES` plus the folder
:data:`BEHAVIOUR_DIR`) is looked for at the archive's top, in ``dataset/``, in ``<top>/`` and in
``<top>/dataset/`` (GitHub's tarball of the whole repository, or the shared ``git archive`` of
``dataset/``). Only members that can belong to such a subtree are written: everything under
``dataset/`` or ``<top>/dataset/``, and the tables and ``user_behavior/`` at the top or in ``<top>/``;
the rest of a repository tarball is skipped without being written.

Safety: any member with an absolute name, a ``..`` component, a backslash or a drive letter is
refused, and so is a symbolic link, hard link, device, FIFO or other special member inside the
dataset subtree (links and special members elsewhere in a repository tarball are skipped, never
written). Members are written by this module (never ``extractall``), only as regular files and
folders below a fresh temporary folder, so nothing can land outside the target. A member whose data
ends early, a corrupted compressed stream or checksum, and data after the end of a tar archive are
reported as :class:`~ifl_utils.errors.IFLArchiveError`.

Atomicity: extraction goes into a temporary sibling of the target (``.<name>.<random>.tmp``) which
is renamed onto the target only once complete and checked; an interrupted extraction leaves no
target, and its leftovers are removed by the next extraction of the same target. A lock file
(``<target>.lock``) serialises processes: the second one waits, then reuses the finished result.
"""
from __future__ import annotations

import gzip
import lzma
import os
import re
import shutil
import stat
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import IFLArchiveError, IFLDataError, printable
from ..io import file_lock, write_json_atomic

#: The three tables at the top of the dataset folder.
DATASET_TABLES = ("query_logs_table.csv", "task_table.csv", "record_info_table.csv")
#: The folder of per-worker behaviour logs at the top of the dataset folder.
BEHAVIOUR_DIR = "user_behavior"
#: Name of the metadata file written into every finished extraction target.
EXTRACT_INFO = "extract.json"

_CHUNK = 1 << 20
_DRIVE_RE = re.compile(r"^[A-Za-z]:")

# Errors that mean "the archive's bytes are bad", raised while *reading* the archive.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError, lzma.LZMAError, zlib.error, EOFError, zipfile.BadZipFile, gzip.BadGzipFile,
    OSError, NotImplementedError, RuntimeError, ValueError,
)


#: Environment variables that override the archive limits (for a user's own, bigger study).
ENV_MAX_MEMBERS = "IFLLM_ARCHIVE_MAX_MEMBERS"
ENV_MAX_BYTES = "IFLLM_ARCHIVE_MAX_BYTES"
ENV_MAX_RATIO = "IFLLM_ARCHIVE_MAX_RATIO"
#: Default limits: the release has 2,365 files in about 2,500 members, 0.5 GB, compressed 7:1.
DEFAULT_MAX_MEMBERS = 10_000
DEFAULT_MAX_RATIO = 100.0
#: The ratio is judged only once this many bytes are declared (tiny archives have odd ratios).
_RATIO_FLOOR = 8 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may hold: members (of any kind), total declared bytes of its members, and
    declared bytes per byte of archive. Checked from the archive's index before extraction where
    the format has one (zip's central directory, xz's index), and on every member header as it is
    read (tar), before anything of that member is written."""

    max_members: int = DEFAULT_MAX_MEMBERS
    max_bytes: int | None = None
    max_ratio: float = DEFAULT_MAX_RATIO

    @classmethod
    def from_env(cls, max_bytes: int | None = None) -> "ArchiveLimits":
        """Defaults (``max_bytes`` from the caller), each overridable by its environment variable."""
        def get(name, default, kind):
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            try:
                val = kind(raw)
            except ValueError:
                raise IFLDataError(f"{name}={raw!r} is not a number") from None
            if val <= 0:
                raise IFLDataError(f"{name}={raw!r} must be positive")
            return val
        return cls(get(ENV_MAX_MEMBERS, DEFAULT_MAX_MEMBERS, int), get(ENV_MAX_BYTES, max_bytes, int),
                   get(ENV_MAX_RATIO, DEFAULT_MAX_RATIO, float))

    def check(self, archive: Path, members: int, declared: int, compressed: int | None,
              where: str) -> None:
        """Raise :class:`IFLArchiveError` when a count passes its limit (``where``: how it was read)."""
        if members > self.max_members:
            raise IFLArchiveError(
                f"archive holds more than {self.max_members:,} members ({members:,} {where}); "
                f"limit {self.max_members:,}, set {ENV_MAX_MEMBERS} to allow more", path=archive.name)
        if self.max_bytes is not None and declared > self.max_bytes:
            raise IFLArchiveError(
                f"archive holds {declared:,} bytes of data ({where}); limit {self.max_bytes:,}, "
                f"set {ENV_MAX_BYTES} to allow more", path=archive.name)
        if compressed and declared >= _RATIO_FLOOR and declared / compressed > self.max_ratio:
            raise IFLArchiveError(
                f"archive expands {declared / compressed:,.0f}-fold ({declared:,} bytes from "
                f"{compressed:,}, {where}); limit {self.max_ratio:g}, set {ENV_MAX_RATIO} to allow "
                "more", path=archive.name)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    val = shift = 0
    while True:
        b = buf[pos]
        val |= (b & 0x7F) << shift
        pos += 1
        if not b & 0x80:
            return val, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def xz_uncompressed_size(path: Path) -> int | None:
    """Total uncompressed size of an ``.xz`` file from its index (read backwards, no decompression);
    ``None`` when the file is not xz or its index cannot be read."""
    import struct

    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            end = fh.tell()
            total = 0
            while end > 0:
                fh.seek(end - 4)
                if fh.read(4) == b"\0\0\0\0":  # stream padding
                    end -= 4
                    continue
                if end < 24:
                    return None
                fh.seek(end - 12)
                footer = fh.read(12)
                if footer[10:12] != b"YZ":
                    return None
                index_size = (struct.unpack("<I", footer[4:8])[0] + 1) * 4
                start = end - 12 - index_size
                if start < 12:
                    return None
                fh.seek(start)
                index = fh.read(index_size)
                if not index or index[0] != 0:
                    return None
                n, pos = _varint(index, 1)
                blocks = 0
                for _ in range(n):
                    unpadded, pos = _varint(index, pos)
                    size, pos = _varint(index, pos)
                    total += size
                    blocks += (unpadded + 3) // 4 * 4
                end = start - blocks - 12
                if end < 0:
                    return None
                fh.seek(end)
                if fh.read(6) != b"\xfd7zXZ\x00":
                    return None
            return total
    except (OSError, ValueError, IndexError, struct.error):
        return None


def is_dataset_root(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds the three tables and ``user_behavior/`` (the released layout)."""
    f = Path(folder)
    return all((f / t).is_file() for t in DATASET_TABLES) and (f / BEHAVIOUR_DIR).is_dir()


def archive_kind(path: str | os.PathLike[str]) -> str | None:
    """Return ``"tar"`` or ``"zip"`` from the file's first bytes, or ``None`` for anything else.

    Recognised: xz, gzip and bzip2 streams (taken as compressed tar), POSIX/GNU tar and zip.

    Raises
    ------
    IFLDataError
        When the file cannot be read.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None  # a FIFO or device: never opened (reading one can block forever)
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as err:
        raise IFLDataError(f"cannot read the file ({err.strerror})", path=str(path)) from None
    if head.startswith(b"\xfd7zXZ\x00") or head.startswith(b"\x1f\x8b") or head.startswith(b"BZh"):
        return "tar"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _clean_parts(name: str, archive: Path) -> list[str]:
    """Split a member name into path components, refusing anything that could escape the target."""
    if name.startswith("/") or _DRIVE_RE.match(name):
        raise IFLArchiveError(f"unsafe member {name!r}: absolute path", path=archive.name)
    if "\\" in name or "\0" in name:
        raise IFLArchiveError(f"unsafe member {name!r}: backslash or NUL in the name", path=archive.name)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise IFLArchiveError(f"unsafe member {name!r}: '..' component", path=archive.name)
    return parts


def _dataset_like(rel: list[str]) -> bool:
    if not rel:
        return False
    if rel[0] == BEHAVIOUR_DIR:
        return True
    return len(rel) == 1 and rel[0] in DATASET_TABLES


def _candidate_prefixes(parts: list[str]) -> Iterator[tuple[str, ...]]:
    """Prefixes under which ``parts`` may lie in the dataset subtree.

    Under ``dataset/`` and ``<top>/dataset/`` every member counts (so that a stray file there is
    extracted and reported by the manifest check, and a link or device there is refused); at the
    archive's top and in ``<top>/`` only the tables and ``user_behavior/`` count, because the rest
    of a repository lives there too.
    """
    if _dataset_like(parts):
        yield ()
    if len(parts) > 1 and (parts[0] == "dataset" or _dataset_like(parts[1:])):
        yield (parts[0],)
    if len(parts) > 2 and parts[1] == "dataset":
        yield (parts[0], "dataset")


def _wanted(parts: list[str]) -> bool:
    """True when a member could belong to the dataset subtree (or is one of its parent folders)."""
    if not parts:
        return False
    if any(True for _ in _candidate_prefixes(parts)):
        return True
    # the dataset/ folder entry itself
    return (len(parts) == 1 and parts[0] == "dataset") or (len(parts) == 2 and parts[1] == "dataset")


class _Sink:
    """Writes members as regular files/folders below ``raw`` and keeps count."""

    def __init__(self, archive: Path, raw: Path, max_bytes: int | None):
        self.archive = archive
        self.raw = raw
        self.max_bytes = max_bytes
        self.n_files = 0
        self.n_bytes = 0
        self.files: set[tuple[str, ...]] = set()

    def _dest(self, parts: list[str], name: str) -> Path:
        dest = self.raw.joinpath(*parts)
        # defence in depth: the components were cleaned and no link is ever created, so this holds
        if os.path.commonpath([os.path.abspath(dest), os.path.abspath(self.raw)]) != os.path.abspath(self.raw):
            raise IFLArchiveError(f"unsafe member {name!r}: resolves outside the target", path=self.archive.name)
        return dest

    def mkdir(self, parts: list[str], name: str) -> None:
        dest = self._dest(parts, name)
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise IFLArchiveError(f"member {name!r} conflicts with a file of the same path",
                                  path=self.archive.name) from None

    def write(self, parts: list[str], name: str, src: IO[bytes], size: int, mtime: float | None) -> None:
        if self.max_bytes is not None and self.n_bytes + size > self.max_bytes:
            raise IFLArchiveError(
                f"member {name!r} would take the extracted data past {self.max_bytes} bytes; "
                f"expected the IFLLM release (about 0.5 GB); set {ENV_MAX_BYTES} to allow more",
                path=self.archive.name)
        dest = self._dest(parts, name)
        conflict = IFLArchiveError(f"member {name!r} conflicts with another member of the same path",
                                   path=self.archive.name)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise conflict from None
        try:
            out = open(dest, "xb")
        except FileExistsError:
            if dest.is_dir():
                raise conflict from None
            raise IFLArchiveError(f"duplicate member {name!r}", path=self.archive.name) from None
        except NotADirectoryError:
            raise conflict from None
        written = 0
        with out:
            while True:
                try:
                    chunk = src.read(_CHUNK)
                except _READ_ERRORS as err:
                    raise _corrupt(self.archive, err, name) from None
                if not chunk:
                    break
                written += len(chunk)
                if written > size:
                    raise IFLArchiveError(f"member {name!r} holds more data than its declared {size} bytes",
                                          path=self.archive.name)
                out.write(chunk)
        if written != size:
            raise IFLArchiveError(
                f"member {name!r} is truncated: expected {size} bytes, read {written} "
                "(the archive is corrupted or incomplete)", path=self.archive.name)
        if mtime is not None:
            os.utime(dest, (mtime, mtime))
        self.files.add(tuple(parts))
        self.n_files += 1
        self.n_bytes += size


def _corrupt(archive: Path, err: BaseException, member: str | None = None) -> IFLArchiveError:
    where = f" while reading member {member!r}" if member else ""
    return IFLArchiveError(
        f"archive is corrupted or truncated{where} ({type(err).__name__}: {err}); "
        "download it again or point IFLLM_DATA at an intact copy", path=archive.name)


class _Progress:
    def __init__(self, total: int, enabled: bool, desc: str):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="B", unit_scale=True, desc=desc, file=sys.stderr,
                        disable=not enabled, leave=False)
        self.pos = 0

    def to(self, pos: int) -> None:
        if pos > self.pos:
            self.bar.update(pos - self.pos)
            self.pos = pos

    def close(self) -> None:
        self.bar.close()


def _tar_into(archive: Path, sink: _Sink, progress: bool, limits: ArchiveLimits | None = None) -> None:
    special = {tarfile.SYMTYPE: "symbolic link", tarfile.LNKTYPE: "hard link",
               tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device",
               tarfile.FIFOTYPE: "FIFO"}
    bar = _Progress(archive.stat().st_size, progress, "extracting")
    n_members = declared = 0
    try:
        with open(archive, "rb") as raw:
            try:
                tf = tarfile.open(fileobj=raw, mode="r:*")
            except _READ_ERRORS as err:
                raise _corrupt(archive, err) from None
            with tf:
                while True:
                    try:
                        member = tf.next()
                    except _READ_ERRORS as err:
                        raise _corrupt(archive, err) from None
                    if member is None:
                        break
                    bar.to(raw.tell())
                    if limits is not None:
                        n_members += 1
                        declared += member.size if member.isreg() else 0
                        limits.check(archive, n_members, declared, raw.tell(), "counted so far")
                    parts = _clean_parts(member.name, archive)
                    if not _wanted(parts):
                        continue
                    if member.isdir():
                        sink.mkdir(parts, member.name)
                    elif member.isreg():
                        try:
                            src = tf.extractfile(member)
                        except _READ_ERRORS as err:
                            raise _corrupt(archive, err, member.name) from None
                        assert src is not None  # regular members always have a file object
                        with src:
                            sink.write(parts, member.name, src, member.size, float(member.mtime))
                    else:
                        kind = special.get(member.type, f"special member (type {member.type!r})")
                        raise IFLArchiveError(
                            f"unsafe member {member.name!r}: {kind} inside the dataset subtree "
                            "(expected only regular files and folders)", path=archive.name)
                # Read to the end of the stream: this checks the compressed stream's checksum and
                # catches a damaged header that made tarfile stop early (data after the end marker).
                try:
                    while chunk := tf.fileobj.read(_CHUNK):  # type: ignore[union-attr]
                        if chunk.strip(b"\0"):
                            raise IFLArchiveError(
                                "archive has data after its end-of-archive marker: a member header "
                                "is damaged (the archive is corrupted)", path=archive.name)
                except _READ_ERRORS as err:
                    raise _corrupt(archive, err) from None
                bar.to(raw.tell())
    finally:
        bar.close()


def _zip_into(archive: Path, sink: _Sink, progress: bool, limits: ArchiveLimits | None = None) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except _READ_ERRORS as err:
        raise _corrupt(archive, err) from None
    with zf:
        infos = zf.infolist()
        if limits is not None:  # the central directory lists every member: checked up front
            limits.check(archive, len(infos), sum(i.file_size for i in infos), archive.stat().st_size,
                         "from the archive's index")
        bar = _Progress(sum(i.compress_size for i in infos), progress, "extracting")
        try:
            for info in infos:
                parts = _clean_parts(info.filename, archive)
                if not _wanted(parts):
                    continue
                mode = info.external_attr >> 16
                if info.create_system == 3 and stat.S_IFMT(mode):  # Unix file type recorded
                    if stat.S_ISLNK(mode):
                        raise IFLArchiveError(f"unsafe member {info.filename!r}: symbolic link inside the "
                                              "dataset subtree (expected only regular files and folders)",
                                              path=archive.name)
                    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                        raise IFLArchiveError(f"unsafe member {info.filename!r}: special file (mode "
                                              f"{oct(mode)}) inside the dataset subtree", path=archive.name)
                if info.is_dir():
                    sink.mkdir(parts, info.filename)
                    continue
                try:
                    src = zf.open(info)
                except _READ_ERRORS as err:
                    raise _corrupt(archive, err, info.filename) from None
                with src:
                    mtime = time.mktime(info.date_time + (0, 0, -1))
                    sink.write(parts, info.filename, src, info.file_size, mtime)
                bar.to(bar.pos + info.compress_size)
        finally:
            bar.close()


def _choose_prefix(archive: Path, files: set[tuple[str, ...]], raw: Path) -> tuple[str, ...]:
    candidates: set[tuple[str, ...]] = set()
    for parts in files:
        for prefix in _candidate_prefixes(list(parts)):
            candidates.add(prefix)
    complete = [p for p in candidates
                if all(p + (t,) in files for t in DATASET_TABLES) and raw.joinpath(*p, BEHAVIOUR_DIR).is_dir()]
    if not complete:
        expected = ", ".join(DATASET_TABLES) + f" and {BEHAVIOUR_DIR}/"
        found = sorted({"/".join(p[:2]) for p in files})[:8]
        raise IFLDataError(
            f"expected the IFLLM release layout ({expected}) at the archive's top, in dataset/, in "
            f"<top>/ or in <top>/dataset/; found no such folder"
            + (f" (dataset-like members: {printable(', '.join(found))})" if found else ""), path=archive.name)
    if len(complete) > 1:
        raise IFLDataError("ambiguous input: the archive holds more than one release folder ("
                           + ", ".join(printable("/".join(p) + "/") for p in sorted(complete, key=len))
                           + "); expected one", path=archive.name)
    return complete[0]


def extract_into(archive: str | os.PathLike[str], dest: str | os.PathLike[str], *, progress: bool = False,
                 max_bytes: int | None = None,
                 limits: ArchiveLimits | None = None) -> tuple[Path, dict[str, Any]]:
    """Extract the dataset subtree of ``archive`` into the new folder ``dest/dataset``.

    This is the unlocked, non-atomic step: use :func:`extract_dataset` to build a cache entry.

    Parameters
    ----------
    archive
        The archive file (tar, possibly compressed, or zip).
    dest
        An existing, empty folder; ``dest/raw`` is used as scratch space and removed.
    progress
        Show a progress bar on stderr.
    max_bytes
        Refuse to write more than this many bytes in total (``None``: no limit).
    limits
        Member count, declared bytes and compression ratio allowed (default
        :meth:`ArchiveLimits.from_env` with ``max_bytes``); checked before anything is written
        where the archive has an index, else on each member header.

    Returns
    -------
    (Path, dict)
        The dataset root ``dest/dataset`` and facts about the extraction (member prefix, files,
        bytes, seconds).

    Raises
    ------
    IFLArchiveError
        For an unsafe member (named), a corrupted or truncated archive, an unsupported format.
    IFLDataError
        When the archive holds no folder in the release layout.
    """
    archive = Path(archive)
    dest = Path(dest)
    kind = archive_kind(archive)
    if kind is None:
        raise IFLArchiveError("not a supported archive: expected tar (.tar, .tar.xz, .tar.gz, .tgz) or zip",
                              path=archive.name)
    t0 = time.perf_counter()
    if limits is None:
        limits = ArchiveLimits.from_env(max_bytes)
    if kind == "tar":
        # an xz stream's index gives the tar's size without decompressing: bombs are refused at once
        size = xz_uncompressed_size(archive)
        if size is not None:
            limits.check(archive, 0, size, archive.stat().st_size, "from the xz index")
    raw = dest / "raw"
    raw.mkdir()
    sink = _Sink(archive, raw, limits.max_bytes)
    (_tar_into if kind == "tar" else _zip_into)(archive, sink, progress, limits)
    prefix = _choose_prefix(archive, sink.files, raw)
    root = dest / "dataset"
    os.rename(raw.joinpath(*prefix), root)
    shutil.rmtree(raw, ignore_errors=True)
    n_files = sum(1 for p in sink.files if p[:len(prefix)] == prefix)
    return root, {
        "archive_name": archive.name,
        "archive_kind": kind,
        "member_prefix": "/".join(prefix) + ("/" if prefix else ""),
        "n_files": n_files,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def target_complete(target: str | os.PathLike[str]) -> bool:
    """True when ``target`` is a finished extraction (published by rename, with its info file)."""
    t = Path(target)
    return (t / EXTRACT_INFO).is_file() and (t / "dataset").is_dir()


@contextmanager
def _tmp_sibling(target: Path) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_target(target: str | os.PathLike[str]) -> None:
    """Delete a finished or broken extraction target under its lock (e.g. one that failed a check)."""
    t = Path(target)
    with file_lock(t.parent / f"{t.name}.lock"):
        if t.exists():
            _discard(t)


def _discard(path: Path) -> None:
    """Move ``path`` aside (atomic) then delete it, so no half-deleted entry is ever visible."""
    trash = path.parent / f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def extract_dataset(archive: str | os.PathLike[str], target: str | os.PathLike[str], *,
                    check: Callable[[Path], None] | None = None, progress: bool = False,
                    max_bytes: int | None = None, info: Mapping[str, Any] | None = None) -> Path:
    """Extract the dataset subtree of ``archive`` once into ``target``; return the dataset root.

    A finished ``target`` (see :func:`target_complete`) is reused without reading the archive.
    Otherwise, under the lock ``<target>.lock``, the subtree is extracted into a temporary sibling,
    ``check`` is called on its dataset root, an info file (:data:`EXTRACT_INFO`) is written and the
    sibling is renamed onto ``target``. On any error, the temporary folder is removed and no target
    is left.

    Parameters
    ----------
    archive
        The archive (tar, possibly compressed, or zip).
    target
        The folder to create; the dataset root will be ``target/dataset``.
    check
        Called with the extracted dataset root before publishing; raise to reject it.
    progress
        Show a progress bar on stderr.
    max_bytes
        Refuse archives that would expand the dataset past this many bytes.
    info
        Extra facts stored in the info file (for example the archive's sha256).

    Returns
    -------
    Path
        ``target/dataset``.

    Raises
    ------
    IFLArchiveError
        Unsafe member, corrupted or truncated archive.
    IFLDataError
        No release layout in the archive, or whatever ``check`` raises.
    """
    target = Path(target)
    if target_complete(target):
        return target / "dataset"
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f"{target.name}.lock"):
        if target_complete(target):
            return target / "dataset"
        # leftovers of an interrupted extraction of this target (nobody else holds the lock)
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        from .cache import sweep_stale

        sweep_stale(target.parent)  # and of other targets, where their process is gone
        if target.exists():  # broken entry without its info file
            _discard(target)
        with _tmp_sibling(target) as tmp:
            root, facts = extract_into(archive, tmp, progress=progress, max_bytes=max_bytes)
            if check is not None:
                check(root)
            facts.update(info or {})
            facts["extracted_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            write_json_atomic(tmp / EXTRACT_INFO, facts)
            os.chmod(tmp, 0o755)  # mkdtemp makes it private; the entry is an ordinary folder
            os.chmod(tmp / EXTRACT_INFO, 0o644)
            os.rename(tmp, target)
    return target / "dataset"
