"""Find the IFLLM release: a folder, an archive (extracted once into the cache) or a download.

Cache layout (root: :func:`cache_root`)::

    <cache_root>/
      download/<sha256(url)[:8]>-<name>     downloaded archive (kept; deleted if it fails the checks)
      download/.download.lock
      release/<key>/dataset/                extracted dataset root (what resolve_root returns)
      release/<key>/extract.json            archive name/sha256, member prefix, files, seconds
      release/<key>.lock                    extraction lock
      verified/<hash>.json                  record of a full manifest check of one folder
      parsed/...                            Parquet cache (ifl_utils.data.cache)

``<key>`` is the first 16 hex digits of the **archive file's SHA-256** (not the manifest hash):
two different archives never share an entry, and the same archive found under another path reuses
its entry. Hashing the 71 MB shared archive takes about 0.05 s.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import IFLDataError, IFLManifestError
from . import extract as _extract
from . import manifest as _manifest
from .extract import BEHAVIOUR_DIR, DATASET_TABLES, archive_kind, is_dataset_root

#: Environment variable naming the release (folder or archive).
ENV_DATA = "IFLLM_DATA"
#: Environment variable naming the cache root.
ENV_CACHE = "IFLLM_CACHE"
#: Accepted values of ``verify``.
VERIFY_MODES = ("full", "fast", "none")

_LAYOUT = ", ".join(DATASET_TABLES) + f" and {BEHAVIOUR_DIR}/"


def cache_root() -> Path:
    """Root of every cache of the package.

    Returns
    -------
    Path
        ``$IFLLM_CACHE`` when set (``~`` expanded), else the platform's user cache folder for
        ``ifllm`` (platformdirs' ``user_cache_dir``, the folder ``pooch.os_cache("ifllm")`` names).
        Not created.
    """
    env = os.environ.get(ENV_CACHE, "").strip()
    if env:
        return Path(env).expanduser().absolute()
    # platformdirs directly: importing pooch here would import tqdm.auto, which warns on stderr
    # in every notebook kernel without ipywidgets (and the warning would show in the book)
    import platformdirs

    return Path(platformdirs.user_cache_dir("ifllm")).absolute()


def manifest_hash(manifest: _manifest.Manifest | str | os.PathLike[str] | None = None) -> str:
    """SHA-256 (hex) of the manifest's bytes; default the shipped ``manifest.tsv``.

    Identifies the release content exactly; the Parquet cache uses it as its key.
    """
    return _manifest.load_manifest(manifest).sha256


def find_dataset_root(folder: str | os.PathLike[str]) -> Path | None:
    """Return the dataset root inside ``folder``, or ``None``.

    Looked for, in order: ``folder`` itself, ``folder/dataset``, then ``folder/<top>/dataset`` and
    ``folder/<top>`` for each non-hidden sub-folder ``<top>``.

    Raises
    ------
    IFLDataError
        When more than one of these holds a release, at any depth ("ambiguous input", listing
        them).
    """
    f = Path(folder)
    found = [cand for cand in (f, f / "dataset") if is_dataset_root(cand)]
    try:
        subdirs = sorted(p for p in f.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        subdirs = []
    for top in subdirs:
        found += [cand for cand in (top / "dataset", top) if is_dataset_root(cand)]
    found = list(dict.fromkeys(found))  # f/dataset is also the sub-folder "dataset"
    if len(found) > 1:
        raise IFLDataError("ambiguous input: the folder holds more than one release (at "
                           + ", ".join(_show(p.relative_to(f).as_posix() + "/") for p in found)
                           + "); pass the one you mean", path=_show(str(f)))
    return found[0] if found else None


def _show(text: str) -> str:
    """``text`` with control characters escaped (safe to print on one line)."""
    from ..errors import printable

    return printable(text)


def _layout_error(p: Path) -> IFLDataError:
    try:
        entries = sorted(x.name + ("/" if x.is_dir() else "") for x in p.iterdir())
    except OSError:
        entries = []
    shown = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "")
    return IFLDataError(
        f"not an IFLLM release folder: expected {_LAYOUT} in this folder, in dataset/ or in "
        f"<top>/dataset/; found {shown or 'an empty folder'}", path=str(p))


def _mismatch_error(where: str, report: _manifest.VerifyReport, hint: str) -> IFLManifestError:
    return IFLManifestError(
        f"the release differs from the manifest (sha256 {report.manifest_hash[:12]}...): "
        f"{report.summary(limit=5)}\n{hint}", path=where)


def _check_folder(root: Path, verify: str, manifest: _manifest.Manifest, progress: bool, hint: str) -> None:
    if verify == "none":
        return
    rep = _manifest.verify(root, verify, manifest=manifest, progress=progress)
    if not rep.ok:
        raise _mismatch_error(str(root), rep, hint)


def _from_archive(archive: Path, verify: str, manifest: _manifest.Manifest, progress: bool) -> Path:
    digest = _manifest.sha256_file(archive)
    key = digest[:16]
    target = cache_root() / "release" / key
    fresh = False

    def check(tmp_root: Path) -> None:
        nonlocal fresh
        fresh = True
        if verify == "none":
            return
        rep = _manifest.verify(tmp_root, "full", manifest=manifest, progress=progress,
                               record_as=target / "dataset")
        if not rep.ok:
            raise _mismatch_error(archive.name, rep,
                                  "The archive does not hold the pinned release (or is damaged); "
                                  "nothing was kept in the cache.")

    # the dataset subtree of the release is 0.5 GB: refuse archives that expand far beyond it
    limit = 2 * manifest.total_bytes + (64 << 20)
    info = {"archive_sha256": digest, "manifest_sha256": manifest.sha256}
    for attempt in (1, 2):
        root = _extract.extract_dataset(archive, target, check=check, progress=progress, max_bytes=limit,
                                        info=info)
        if fresh or verify == "none":
            return root
        rep = _manifest.verify(root, verify, manifest=manifest, progress=progress)
        if rep.ok:
            return root
        if attempt == 2:  # pragma: no cover - a fresh extraction that passed its check then failed
            raise _mismatch_error(str(root), rep, "The cache entry is damaged; delete it and retry.")
        # our own cache entry was altered after extraction: throw it away and extract again
        _extract.remove_target(target)
        _manifest.forget_verified(root, manifest)
    raise AssertionError("unreachable")  # pragma: no cover


def _from_download(verify: str, manifest: _manifest.Manifest, progress: bool) -> Path:
    from . import fetch

    path = fetch.download_release(fetch.ARCHIVE_URL, progress=progress)
    try:
        return _from_archive(path, verify, manifest, progress)
    except IFLDataError:
        # a download that is not the release (corrupted, truncated, wrong content) is useless:
        # delete it so that the next call downloads again
        path.unlink(missing_ok=True)
        raise


def resolve_root(source: str | os.PathLike[str] | None = None, *, verify: str = "fast",
                 progress: bool = True,
                 manifest: _manifest.Manifest | str | os.PathLike[str] | None = None) -> Path:
    """Return the dataset root folder of the IFLLM release, checked against the manifest.

    The dataset root is the folder holding ``query_logs_table.csv``, ``task_table.csv``,
    ``record_info_table.csv`` and ``user_behavior/``.

    Parameters
    ----------
    source
        A folder in the released layout, a folder holding ``dataset/`` or ``<top>/dataset/``, or an
        archive (``.tar.xz``, ``.tar.gz``/``.tgz``, ``.tar``, ``.zip``; recognised by content) whose
        top holds the tables, ``dataset/``, ``<top>/`` or ``<top>/dataset/``. Archives are extracted
        once into ``<cache_root>/release/<key>/`` and reused; nothing is written beside the source.
        ``None``: ``$IFLLM_DATA``; when that is unset too, the pinned commit's GitHub archive is
        downloaded into the cache (:func:`ifl_utils.data.fetch.download_release`).
    verify
        ``"fast"`` (default): sizes (and a re-hash of modified files) for a folder already fully
        verified, otherwise a full check; ``"full"``: hash every file; ``"none"``: no check.
        A freshly extracted archive is always fully checked before it is published in the cache,
        unless ``"none"``.
    progress
        Progress bars and messages on stderr (download, extraction, hashing).
    manifest
        Manifest to check against: ``None`` for the shipped one, a path, or a
        :class:`~ifl_utils.data.manifest.Manifest`.

    Returns
    -------
    Path
        The dataset root (absolute).

    Raises
    ------
    IFLDataError
        The source does not exist, is neither a folder nor a supported archive, or holds no
        release layout (the message says what was expected).
    IFLArchiveError
        The archive has an unsafe member or is corrupted/truncated.
    IFLManifestError
        Files differ from the manifest (the first few are listed).
    IFLFetchError
        The download failed.
    """
    if verify not in VERIFY_MODES:
        raise IFLDataError(f"verify must be one of {', '.join(VERIFY_MODES)}, got {verify!r}")
    m = _manifest.load_manifest(manifest)
    if source is None:
        env = os.environ.get(ENV_DATA, "").strip()
        source = env or None
    if source is None:
        return _from_download(verify, m, progress)
    p = Path(source).expanduser().absolute()
    if not p.exists():
        raise IFLDataError(
            f"IFLLM release not found: no such file or folder (expected a release folder with {_LAYOUT}, "
            "or a .tar.xz/.tar.gz/.zip archive of it; set IFLLM_DATA or pass the path)", path=str(p))
    try:
        mode = p.stat().st_mode
    except OSError as err:
        raise IFLDataError(f"cannot read the release ({err.strerror})", path=str(p)) from None
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise IFLDataError("not a regular file nor a folder (a FIFO, socket or device); expected a "
                           f"release folder with {_LAYOUT}, or an archive of it", path=str(p))
    if p.is_dir():
        root = find_dataset_root(p)
        if root is None:
            raise _layout_error(p)
        root = root.resolve()
        _check_folder(root, verify, m, progress,
                      "Point IFLLM_DATA at an intact copy of the release (or its archive), or restore "
                      "the files listed.")
        return root
    if archive_kind(p) is None:
        raise IFLDataError(
            f"not a release folder nor a supported archive: expected a folder with {_LAYOUT}, or a "
            ".tar.xz/.tar.gz/.tgz/.tar/.zip archive of it", path=str(p))
    return _from_archive(p, verify, m, progress)
