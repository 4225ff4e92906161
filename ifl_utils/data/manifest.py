"""The shipped manifest of the IFLLM release and the check of a release folder against it.

``manifest.tsv`` (beside this module) lists every file of the release's ``dataset/`` folder at the
pinned commit: its path relative to ``dataset/``, its size in bytes and its SHA-256. It is generated
by ``scripts/make_manifest.py`` and cross-checked against the ``SHA256SUMS`` published with the
shared copy of the release.

File format (UTF-8, ``\\n`` line ends): lines starting with ``#`` are comments; the first other line
is the header ``path<TAB>size<TAB>sha256``; then one line per file, sorted by path, paths with ``/``
separators.

:func:`verify` compares a folder with a manifest:

``full``
    every file is read and hashed in a few threads (about 0.5 GB for the release: 0.25 s on two
    cores with a warm page cache; reading a cold disk dominates). A full pass that finds nothing
    wrong is recorded in a marker file in the cache (``<cache_root>/verified/``, keyed by the
    folder's path and the manifest hash) together with the size and modification time of every
    file. Nothing is ever written into the checked folder.
``fast``
    allowed only for a folder that already passed a full check under the same manifest: every
    file's presence and size are checked, and a file whose modification time changed since the
    full pass is hashed again. A folder without a marker gets a full check instead
    (:attr:`VerifyReport.mode` says which check ran). A same-size edit that also restores the old
    modification time is not detected by ``fast``; use ``full`` for an audit.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IFLManifestError
from ..io import write_json_atomic, write_text_atomic
from .junk import JUNK_DIRS, JUNK_NAMES, is_junk_name

#: The manifest shipped with the package (paths relative to the release's ``dataset/`` folder).
MANIFEST_PATH = Path(__file__).with_name("manifest.tsv")

#: Header line of the manifest's table.
HEADER = ("path", "size", "sha256")

#: Names of operating-system clutter that :func:`verify` ignores (reported in ``ignored``); the
#: whole rule (``__MACOSX/``, ``._*`` too) is :mod:`ifl_utils.data.junk`.
IGNORED_NAMES = JUNK_NAMES

#: Version of the verification marker format (bump to invalidate all markers).
MARKER_VERSION = 1

_SHA_RE = re.compile(r"[0-9a-f]{64}")
_READ_SIZE = 1 << 20


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the release.

    Attributes
    ----------
    path
        Path relative to the dataset root, ``/``-separated.
    size
        Size in bytes.
    sha256
        Lower-case hexadecimal SHA-256 of the file's bytes.
    """

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """An ordered, path-unique list of :class:`ManifestEntry` plus the hash of its text.

    Attributes
    ----------
    entries
        Mapping from relative path to entry, sorted by path.
    sha256
        SHA-256 of the manifest's serialised bytes (what :func:`to_tsv` writes, or the bytes of the
        file it was loaded from): identifies the release content exactly.
    comments
        Comment lines (without the leading ``#``) kept from the file.
    """

    entries: dict[str, ManifestEntry]
    sha256: str
    comments: tuple[str, ...] = ()

    @property
    def n_files(self) -> int:
        """Number of files listed."""
        return len(self.entries)

    @property
    def total_bytes(self) -> int:
        """Sum of the listed file sizes."""
        return sum(e.size for e in self.entries.values())

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def to_tsv(self) -> str:
        """Serialise to the manifest file format (comments, header, rows sorted by path)."""
        return render_tsv(self.entries.values(), self.comments)


def render_tsv(entries: Iterable[ManifestEntry], comments: Iterable[str] = ()) -> str:
    """Return the manifest text for ``entries`` (sorted by path) preceded by ``comments``.

    Parameters
    ----------
    entries
        Files to list.
    comments
        Lines written first, each prefixed with ``# ``; they must not contain newlines.

    Returns
    -------
    str
        The file content, ending with a newline.
    """
    lines = []
    for c in comments:
        if "\n" in c or "\r" in c:
            raise ValueError(f"manifest comment must be one line, got {c!r}")
        lines.append(f"# {c}".rstrip())
    lines.append("\t".join(HEADER))
    for e in sorted(entries, key=lambda e: e.path):
        lines.append(f"{e.path}\t{e.size}\t{e.sha256}")
    return "\n".join(lines) + "\n"


def _check_rel_path(path: str) -> str | None:
    """Return why ``path`` is not a clean relative ``/`` path, or ``None`` when it is."""
    if not path:
        return "empty path"
    if path.startswith("/") or "\\" in path or "\0" in path:
        return "path must be relative, '/'-separated"
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "path has an empty, '.' or '..' component"
    return None


def parse_manifest(data: bytes, source: str = "manifest.tsv") -> Manifest:
    """Parse manifest bytes.

    Parameters
    ----------
    data
        The file's bytes (UTF-8).
    source
        Name used in error messages.

    Returns
    -------
    Manifest
        With :attr:`Manifest.sha256` the hash of ``data``.

    Raises
    ------
    IFLManifestError
        Naming the line and what was expected, for a bad header, a row without three fields, a
        size that is not a non-negative integer, a hash that is not 64 lower-case hex digits, an
        unclean or duplicate path.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise IFLManifestError(f"manifest is not UTF-8 ({err})", path=source) from None
    comments: list[str] = []
    entries: dict[str, ManifestEntry] = {}
    header_seen = False
    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            raise IFLManifestError("expected '\\n' line ends, found '\\r\\n'", path=source, line=lineno)
        if not line:
            continue
        if line.startswith("#"):
            comments.append(line[1:].strip())
            continue
        fields = line.split("\t")
        if not header_seen:
            if tuple(fields) != HEADER:
                raise IFLManifestError(
                    f"expected the header {'<TAB>'.join(HEADER)!r}, found {line[:80]!r}",
                    path=source, line=lineno)
            header_seen = True
            continue
        if len(fields) != 3:
            raise IFLManifestError(f"expected 3 tab-separated fields (path, size, sha256), found {len(fields)}",
                                   path=source, line=lineno)
        rel, size_s, sha = fields
        why = _check_rel_path(rel)
        if why:
            raise IFLManifestError(f"{why}: {rel!r}", path=source, line=lineno)
        if not size_s.isdigit():
            raise IFLManifestError(f"expected a size in bytes (non-negative integer), found {size_s!r}",
                                   path=source, line=lineno)
        if not _SHA_RE.fullmatch(sha):
            raise IFLManifestError(f"expected a sha256 of 64 lower-case hex digits, found {sha!r}",
                                   path=source, line=lineno)
        if rel in entries:
            raise IFLManifestError(f"duplicate path {rel!r}", path=source, line=lineno)
        entries[rel] = ManifestEntry(rel, int(size_s), sha)
    if not header_seen:
        raise IFLManifestError(f"no header line {'<TAB>'.join(HEADER)!r} found", path=source)
    ordered = dict(sorted(entries.items()))
    return Manifest(ordered, hashlib.sha256(data).hexdigest(), tuple(comments))


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Manifest:
    p = Path(path)
    return parse_manifest(p.read_bytes(), source=p.name)


def load_manifest(manifest: Manifest | str | os.PathLike[str] | None = None) -> Manifest:
    """Return a :class:`Manifest`.

    Parameters
    ----------
    manifest
        ``None`` for the shipped manifest (:data:`MANIFEST_PATH`), a path to a manifest file, or a
        :class:`Manifest` (returned unchanged; lets callers and tests pass their own).

    Raises
    ------
    IFLManifestError
        When the file is missing or malformed.
    """
    if isinstance(manifest, Manifest):
        return manifest
    path = Path(manifest) if manifest is not None else MANIFEST_PATH
    try:
        st = path.stat()
    except OSError as err:
        raise IFLManifestError(f"cannot read the manifest ({err.strerror})", path=str(path)) from None
    return _load_cached(str(path.resolve()), st.st_mtime_ns, st.st_size)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hexadecimal SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(_READ_SIZE)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _try_hash(path: Path) -> str | None:
    """SHA-256 of ``path``; ``None`` when it vanished; ``"!<reason>"`` when it cannot be read."""
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the reader forever
            return "!not a regular file"
        return sha256_file(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"!{err.strerror or type(err).__name__}"


def _hash_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _hash_many(files: list[tuple[str, Path, int]], progress: bool, desc: str) -> Iterator[tuple[str, str]]:
    """Hash ``(rel, path, size)`` items in a small thread pool (hashlib releases the GIL).

    Yields ``(rel, sha256 or None for an unreadable file)`` in input order, with a byte-counting
    tqdm bar on stderr.
    """
    from tqdm import tqdm

    total = sum(s for _, _, s in files)
    with tqdm(total=total, unit="B", unit_scale=True, desc=desc, file=sys.stderr,
              disable=not progress, leave=False) as bar:
        if len(files) < 8:
            for rel, p, size in files:
                yield rel, _try_hash(p)
                bar.update(size)
            return
        with ThreadPoolExecutor(max_workers=_hash_workers()) as pool:
            sizes = {rel: size for rel, _, size in files}
            for rel, digest in pool.map(lambda it: (it[0], _try_hash(it[1])), files):
                bar.update(sizes[rel])
                yield rel, digest


def scan_folder(root: Path) -> tuple[dict[str, os.stat_result], list[str]]:
    """List the files under ``root``.

    Returns
    -------
    files
        ``relative path -> stat`` for every file (symbolic links to files count as files; links to
        folders are not followed).
    ignored
        Relative paths of operating-system clutter (:data:`IGNORED_NAMES`).
    """
    files: dict[str, os.stat_result] = {}
    ignored: list[str] = []
    root_s = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(root_s):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root_s)
        for d in [d for d in dirnames if d in JUNK_DIRS]:
            ignored.append(d + "/" if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{d}/")
            dirnames.remove(d)
        for name in sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
            if is_junk_name(name):
                ignored.append(rel)
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except OSError:  # dangling link: the file is effectively absent
                continue
            files[rel] = st
    return files, ignored


def build_manifest(root: str | os.PathLike[str], *, comments: Iterable[str] = (),
                   progress: bool = False) -> Manifest:
    """Hash every file under ``root`` and return the manifest describing it.

    Parameters
    ----------
    root
        Dataset root folder (paths are recorded relative to it).
    comments
        Comment lines to put at the top of the serialised manifest.
    progress
        Show a byte-counting progress bar on stderr.

    Returns
    -------
    Manifest
        Whose :attr:`Manifest.sha256` is the hash of :meth:`Manifest.to_tsv`.
    """
    root = Path(root)
    stats, _ = scan_folder(root)
    items = [(rel, root / rel, st.st_size) for rel, st in stats.items()]
    digests = dict(_hash_many(items, progress, "hashing"))
    unreadable = sorted(rel for rel, d in digests.items() if d is None or d.startswith("!"))
    if unreadable:
        raise IFLManifestError(f"cannot read {len(unreadable)} file(s): {', '.join(unreadable[:5])}",
                               path=str(root))
    entries = [ManifestEntry(rel, stats[rel].st_size, digests[rel]) for rel in sorted(stats)]
    text = render_tsv(entries, tuple(comments))
    return parse_manifest(text.encode("utf-8"))


def write_manifest(manifest: Manifest, path: str | os.PathLike[str]) -> Path:
    """Write ``manifest`` to ``path`` atomically and return the path."""
    write_text_atomic(path, manifest.to_tsv())
    return Path(path)


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`.

    Attributes
    ----------
    root
        The checked folder.
    mode
        The check that actually ran: ``"full"`` or ``"fast"`` (a requested ``fast`` becomes
        ``full`` for a folder never fully verified).
    manifest_hash
        SHA-256 of the manifest checked against.
    n_expected
        Number of files in the manifest.
    n_ok
        Files present with the right size (and, in a full check, the right hash).
    missing
        Manifest paths absent from the folder.
    unreadable
        ``(path, reason)`` of manifest paths present but not readable (permissions, not a
        regular file).
    extra
        Files in the folder that the manifest does not list.
    size_mismatch
        ``(path, expected size, found size)``.
    hash_mismatch
        ``(path, expected sha256, found sha256)``.
    n_hashed
        Files read and hashed by this check.
    ignored
        Operating-system clutter that was skipped (:data:`IGNORED_NAMES`).
    seconds
        Wall time of the check.
    """

    root: str
    mode: str
    manifest_hash: str
    n_expected: int
    n_ok: int = 0
    missing: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    size_mismatch: list[tuple[str, int, int]] = field(default_factory=list)
    hash_mismatch: list[tuple[str, str, str]] = field(default_factory=list)
    n_hashed: int = 0
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every listed file is present and intact and there is no extra file."""
        return not (self.missing or self.unreadable or self.extra or self.size_mismatch
                    or self.hash_mismatch)

    @property
    def n_problems(self) -> int:
        """Number of files that differ from the manifest."""
        return (len(self.missing) + len(self.unreadable) + len(self.extra) + len(self.size_mismatch)
                + len(self.hash_mismatch))

    def problems(self) -> list[str]:
        """One human-readable line per differing file (missing, wrong size, wrong hash, extra)."""
        out = [f"missing: {p}" for p in self.missing]
        out += [f"unreadable: {p} ({why})" for p, why in self.unreadable]
        out += [f"wrong size: {p} (expected {e} bytes, found {f})" for p, e, f in self.size_mismatch]
        out += [f"wrong sha256: {p} (expected {e[:12]}..., found {f[:12]}...)" for p, e, f in self.hash_mismatch]
        out += [f"extra file: {p}" for p in self.extra]
        from ..errors import printable

        return [printable(line) for line in out]

    def summary(self, limit: int = 5) -> str:
        """Counts plus the first ``limit`` problems, for messages."""
        if self.ok:
            return f"{self.n_ok} of {self.n_expected} files match the manifest ({self.mode} check)"
        head = (f"{self.n_problems} file(s) differ from the manifest ({self.mode} check): "
                f"{len(self.missing)} missing, {len(self.unreadable)} unreadable, "
                f"{len(self.size_mismatch)} wrong size, "
                f"{len(self.hash_mismatch)} wrong sha256, {len(self.extra)} extra")
        lines = self.problems()
        shown = "\n  ".join(lines[:limit])
        more = f"\n  ... and {len(lines) - limit} more" if len(lines) > limit else ""
        return f"{head}\n  {shown}{more}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (what ``ifl data verify`` prints)."""
        return {
            "root": self.root,
            "mode": self.mode,
            "ok": self.ok,
            "manifest_hash": self.manifest_hash,
            "n_expected": self.n_expected,
            "n_ok": self.n_ok,
            "n_hashed": self.n_hashed,
            "missing": list(self.missing),
            "unreadable": [{"path": p, "reason": r} for p, r in self.unreadable],
            "extra": list(self.extra),
            "size_mismatch": [{"path": p, "expected": e, "found": f} for p, e, f in self.size_mismatch],
            "hash_mismatch": [{"path": p, "expected": e, "found": f} for p, e, f in self.hash_mismatch],
            "ignored": list(self.ignored),
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------------------------------
# verification markers (in the cache, never in the dataset folder)


def _default_cache_root() -> Path:
    from .locate import cache_root

    return cache_root()


def marker_path(root: str | os.PathLike[str], manifest_hash: str, cache: Path | None = None) -> Path:
    """Where the record of a full pass of ``root`` under ``manifest_hash`` is kept.

    ``<cache>/verified/<sha256(resolved root path, manifest hash)[:32]>.json``; ``cache`` defaults to
    :func:`ifl_utils.data.locate.cache_root`.
    """
    cache = Path(cache) if cache is not None else _default_cache_root()
    key = hashlib.sha256(f"{Path(root).resolve()}\0{manifest_hash}".encode()).hexdigest()[:32]
    return cache / "verified" / f"{key}.json"


def _read_marker(path: Path, root: Path, manifest_hash: str) -> dict[str, list[int]] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("version") != MARKER_VERSION:
        return None
    if info.get("root") != str(root) or info.get("manifest_hash") != manifest_hash:
        return None
    files = info.get("files")
    return files if isinstance(files, dict) else None


def _write_marker(path: Path, root: Path, manifest_hash: str, stats: dict[str, os.stat_result]) -> None:
    write_json_atomic(path, {
        "version": MARKER_VERSION,
        "root": str(root),
        "manifest_hash": manifest_hash,
        "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": {rel: [st.st_size, st.st_mtime_ns] for rel, st in stats.items()},
    })


def is_verified(root: str | os.PathLike[str], manifest: Manifest | str | os.PathLike[str] | None = None,
                *, cache: Path | None = None) -> bool:
    """True when a full pass of ``root`` under ``manifest`` is on record (``fast`` is then allowed)."""
    m = load_manifest(manifest)
    r = Path(root).resolve()
    return _read_marker(marker_path(r, m.sha256, cache), r, m.sha256) is not None


def forget_verified(root: str | os.PathLike[str], manifest: Manifest | str | os.PathLike[str] | None = None,
                    *, cache: Path | None = None) -> None:
    """Delete the record of a full pass of ``root`` (the next ``fast`` check becomes ``full``)."""
    m = load_manifest(manifest)
    marker_path(Path(root).resolve(), m.sha256, cache).unlink(missing_ok=True)


def verify(root: str | os.PathLike[str], mode: str = "full", *,
           manifest: Manifest | str | os.PathLike[str] | None = None, progress: bool = False,
           cache: Path | None = None, record: bool = True,
           record_as: str | os.PathLike[str] | None = None) -> VerifyReport:
    """Check every file of ``root`` against the manifest.

    Parameters
    ----------
    root
        Dataset root folder (the one holding ``query_logs_table.csv``).
    mode
        ``"full"``: read and hash every file. ``"fast"``: presence and sizes, plus a hash of any
        file modified since the last full pass; only for a folder with a full pass on record,
        otherwise a full check runs (see the module docstring).
    manifest
        ``None`` for the shipped manifest, a path, or a :class:`Manifest`.
    progress
        Show a progress bar (tqdm, stderr) while hashing.
    cache
        Cache root holding the markers (default :func:`ifl_utils.data.locate.cache_root`).
    record
        Record a successful full pass so that later ``fast`` checks are allowed.
    record_as
        Record the pass under this folder instead of ``root`` (used when a freshly extracted folder
        is checked before being renamed into place; the rename keeps modification times).

    Returns
    -------
    VerifyReport
        Never raises for differences; see :attr:`VerifyReport.ok`.

    Raises
    ------
    IFLManifestError
        When ``root`` is not a folder or ``mode`` is unknown.
    """
    if mode not in ("full", "fast"):
        raise IFLManifestError(f"verify mode must be 'full' or 'fast', got {mode!r}")
    t0 = time.perf_counter()
    m = load_manifest(manifest)
    root_p = Path(root).resolve()
    if not root_p.is_dir():
        raise IFLManifestError("expected a dataset folder to verify, found none", path=str(root))
    record_root = Path(record_as).resolve() if record_as is not None else root_p

    marker = None
    if mode == "fast":
        marker = _read_marker(marker_path(root_p, m.sha256, cache), root_p, m.sha256)
        if marker is None:
            mode = "full"

    stats, ignored = scan_folder(root_p)
    rep = VerifyReport(root=str(root_p), mode=mode, manifest_hash=m.sha256, n_expected=m.n_files,
                       ignored=ignored)
    rep.extra = sorted(set(stats) - set(m.entries))
    to_hash: list[tuple[str, Path, int]] = []
    for rel, entry in m.entries.items():
        st = stats.get(rel)
        if st is None:
            rep.missing.append(rel)
        elif st.st_size != entry.size:
            rep.size_mismatch.append((rel, entry.size, st.st_size))
        elif mode == "full":
            to_hash.append((rel, root_p / rel, st.st_size))
        else:
            seen = marker.get(rel) if marker is not None else None
            if seen is None or list(seen) != [st.st_size, st.st_mtime_ns]:
                to_hash.append((rel, root_p / rel, st.st_size))
            else:
                rep.n_ok += 1
    for rel, digest in _hash_many(to_hash, progress and mode == "full", "verify"):
        expected = m.entries[rel].sha256
        if digest is None:  # vanished since the folder was listed
            rep.missing.append(rel)
        elif digest.startswith("!"):
            rep.unreadable.append((rel, digest[1:]))
        elif digest == expected:
            rep.n_ok += 1
        else:
            rep.hash_mismatch.append((rel, expected, digest))
    rep.hash_mismatch.sort()
    rep.missing.sort()
    rep.unreadable.sort()
    rep.n_hashed = len(to_hash)
    if record and rep.ok and (mode == "full" or rep.n_hashed):
        _write_marker(marker_path(record_root, m.sha256, cache), record_root, m.sha256,
                      {rel: stats[rel] for rel in m.entries})
    rep.seconds = time.perf_counter() - t0
    return rep


def read_sha256sums(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a ``sha256sum``-format file (``<hash>  <path>`` per line) into ``path -> hash``.

    Raises
    ------
    IFLManifestError
        Naming the line, for a line that is not in that format or a duplicate path.
    """
    out: dict[str, str] = {}
    p = Path(path)
    with io.open(p, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\n")
            if not line:
                continue
            digest, sep, rel = line.partition("  ")
            if not sep:
                digest, sep, rel = line.partition(" *")
            if not sep or not _SHA_RE.fullmatch(digest) or not rel:
                raise IFLManifestError("expected '<sha256>  <path>'", path=p.name, line=lineno)
            if rel in out:
                raise IFLManifestError(f"duplicate path {rel!r}", path=p.name, line=lineno)
            out[rel] = digest
    return out


def compare_with_sums(manifest: Manifest, sums: dict[str, str]) -> list[str]:
    """Differences between a manifest and ``sha256sum`` hashes (empty when they agree exactly)."""
    diffs = [f"only in the manifest: {p}" for p in sorted(set(manifest.entries) - set(sums))]
    diffs += [f"only in the sums file: {p}" for p in sorted(set(sums) - set(manifest.entries))]
    diffs += [f"different sha256: {p}" for p, e in manifest.entries.items() if p in sums and sums[p] != e.sha256]
    return diffs

