"""Download of the pinned commit's GitHub archive (the only network access of the package).

Integrity: GitHub builds repository archives on the fly and does not promise byte-stable output
(compression settings change), so the download is **not** checked against a known archive hash.
Integrity comes afterwards, per file: the extracted ``dataset/`` folder is checked against the
shipped manifest (size and SHA-256 of all 2,365 files) by :func:`ifl_utils.data.locate.resolve_root`,
and a download that fails that check is deleted.

Atomicity: ``pooch.retrieve`` has the body streamed (by :class:`_Downloader`) into a temporary file
in the destination folder and moves it onto the final name only when the transfer finished; a
failed, interrupted or truncated transfer (the server closing before ``Content-Length`` bytes)
leaves no file under the final name, and the temporary file is removed (leftovers of a killed
process are removed by the next download into the cache).
Downloads into one folder are serialised by a lock file, so two processes do not fetch twice.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from ..errors import IFLFetchError
from ..io import file_lock

#: Upstream repository of the release.
REPOSITORY = "themehulpatwari/llm-implicit-feedback"
#: The commit whose ``dataset/`` folder the book reproduces (see the data card).
PINNED_COMMIT = "923bac0d194a9ec13ebd712df2e217aaebb82134"
#: GitHub's tarball of the whole repository at :data:`PINNED_COMMIT` (about 120 MB).
ARCHIVE_URL = f"https://github.com/{REPOSITORY}/archive/{PINNED_COMMIT}.tar.gz"
#: Extra attempts after a connection error, timeout or broken transfer (not after an HTTP error).
DOWNLOAD_RETRIES = 2
#: Seconds to wait for the connection and between received bytes.
TIMEOUT_S = 60

_POOCH_TMP = re.compile(r"tmp[a-z0-9_]{8}")  # tempfile.NamedTemporaryFile's names, as pooch uses
_sleep = time.sleep  # between retries (tests replace it)

_HINT = ("Set IFLLM_DATA to a local copy of the release (a folder, or a .tar.xz/.tar.gz/.zip "
         "archive of it) to work without downloading.")


def download_name(url: str) -> str:
    """File name under which ``url`` is stored: ``<sha256(url)[:8]>-<last path component>``.

    The URL hash keeps downloads of different URLs with the same file name apart.
    """
    base = Path(urlparse(url).path).name or "download"
    if url.startswith("https://github.com/") and "/archive/" in url:
        repo = urlparse(url).path.strip("/").split("/")[1]
        base = f"{repo}-{base}"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:8]}-{base}"


class _Downloader:
    """A pooch downloader: streams with requests and closes the connection on every path.

    pooch's own ``HTTPDownloader`` leaves the connection of a failed streamed response to the
    garbage collector; this one closes it, checks that the body has the announced
    ``Content-Length`` (a short body raises ``ChunkedEncodingError``, treated as an interrupted
    transfer) and shows a byte-counting tqdm bar on stderr.
    """

    def __init__(self, progress: bool, timeout: float):
        self.progress = progress
        self.timeout = timeout

    def __call__(self, url: str, output_file: str, pooch_obj: object, check_only: bool = False) -> bool | None:
        import requests
        from tqdm import tqdm

        with requests.Session() as session:
            if check_only:
                with session.head(url, timeout=self.timeout, allow_redirects=True) as r:
                    return r.status_code == 200
            with session.get(url, stream=True, timeout=self.timeout) as response:
                response.raise_for_status()
                announced = response.headers.get("Content-Length")
                total = int(announced) if announced and announced.isdigit() else None
                received = 0
                with open(output_file, "wb") as out, tqdm(
                        total=total, unit="B", unit_scale=True, desc="download", file=sys.stderr,
                        disable=not self.progress, leave=False) as bar:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                if total is not None and "Content-Encoding" not in response.headers and received != total:
                    raise requests.exceptions.ChunkedEncodingError(
                        f"received {received} of the {total} bytes announced")
        return None


def _default_dest() -> Path:
    from .locate import cache_root

    return cache_root() / "download"


def _is_transient(err: BaseException) -> bool:
    import requests

    if isinstance(err, requests.exceptions.HTTPError):
        status = err.response.status_code if err.response is not None else 0
        return status >= 500
    return isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                            requests.exceptions.ChunkedEncodingError))


def _describe(err: BaseException) -> str:
    import requests

    if isinstance(err, requests.exceptions.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code} {err.response.reason}"
    if isinstance(err, requests.exceptions.ChunkedEncodingError):
        return f"the transfer was interrupted before the end of the file ({err})"
    return f"{type(err).__name__}: {err}"


def download_release(url: str = ARCHIVE_URL, dest: str | os.PathLike[str] | None = None, *,
                     progress: bool = True, retries: int | None = None) -> Path:
    """Download ``url`` with pooch into ``dest`` (once) and return the local file.

    An existing complete file is returned without any network access. There is deliberately no
    known archive hash: GitHub archives are not byte-stable, so integrity is checked per file
    against the shipped manifest after extraction (see the module docstring).

    Parameters
    ----------
    url
        Archive to fetch; default: GitHub's tarball of :data:`PINNED_COMMIT`.
    dest
        Folder to store it in; default ``<cache_root>/download``.
    progress
        Show pooch's download progress bar (stderr).
    retries
        Extra attempts after a connection error, timeout, broken transfer or HTTP 5xx;
        default :data:`DOWNLOAD_RETRIES`.

    Returns
    -------
    Path
        The downloaded file, ``dest/<download_name(url)>``.

    Raises
    ------
    IFLFetchError
        Naming the URL, on a network error, an HTTP error status, an interrupted transfer, or when
        the file cannot be written; nothing is left under the final name.
    """
    import pooch
    import requests

    dest_p = Path(dest) if dest is not None else _default_dest()
    fname = download_name(url)
    final = dest_p / fname
    attempts = 1 + (DOWNLOAD_RETRIES if retries is None else max(0, retries))
    try:
        dest_p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise IFLFetchError(f"cannot create the download folder {dest_p} ({err.strerror}). {_HINT}") from None
    with file_lock(dest_p / ".download.lock"):
        if final.is_file():
            return final
        if dest is None:
            # pooch's temporary files left by a killed process in our own cache folder (nobody
            # else downloads now); a folder given by the caller is not cleaned
            for stale in dest_p.glob("tmp*"):
                if _POOCH_TMP.fullmatch(stale.name) and stale.is_file():
                    stale.unlink(missing_ok=True)
        logger = pooch.get_logger()
        level = logger.level
        logger.setLevel(logging.WARNING)  # pooch's INFO advice to pin a known_hash does not apply
        try:
            for attempt in range(1, attempts + 1):
                if progress:
                    print(f"downloading the IFLLM release from {url} (attempt {attempt}/{attempts})",
                          file=sys.stderr)
                downloader = _Downloader(progress, TIMEOUT_S)
                try:
                    path = pooch.retrieve(url, known_hash=None, fname=fname, path=dest_p,
                                          downloader=downloader, progressbar=progress)
                    return Path(path)
                except requests.exceptions.RequestException as err:
                    if attempt < attempts and _is_transient(err):
                        _sleep(min(attempt, 5))
                        continue
                    raise IFLFetchError(f"download of {url} failed: {_describe(err)}. {_HINT}") from None
                except OSError as err:
                    raise IFLFetchError(f"download of {url} failed: cannot write into {dest_p} "
                                        f"({err}). {_HINT}") from None
        finally:
            logger.setLevel(level)
    raise AssertionError("unreachable")  # pragma: no cover
