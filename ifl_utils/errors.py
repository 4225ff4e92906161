"""Exception hierarchy: every error names the file, the line and what was expected."""
from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with control characters (C0, DEL, C1, e.g. newline or ESC) escaped as ``\\xNN``
    / ``\\uNNNN``, so a hostile file or member name prints as one inert line."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in str(text))


class IFLError(Exception):
    """Base class of all errors raised by ``ifl_utils``."""


class IFLDataError(IFLError):
    """The IFLLM data are malformed in a way the loader does not know how to repair.

    Parameters
    ----------
    message
        What was expected and what was found.
    path
        File (relative to the dataset root where possible) in which the problem was found.
    line
        1-based line number, when the problem is tied to one line.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        self.detail = message
        where = ""
        if path is not None:
            where = printable(f"{path}") + (f", line {line}" if line is not None else "") + ": "
        super().__init__(where + message)


class IFLManifestError(IFLDataError):
    """A file is missing, extra, or differs from the shipped manifest."""


class IFLArchiveError(IFLDataError):
    """An archive member is unsafe (absolute path, ``..``, link, device) or the archive is broken."""


class IFLFetchError(IFLError):
    """Downloading the release failed (network, HTTP status, truncated or corrupted transfer)."""


class IFLCacheError(IFLError):
    """The Parquet cache is unusable (corrupted, wrong version) and could not be rebuilt."""
