"""One rule for operating-system clutter (``.DS_Store``, ``Thumbs.db``, ``desktop.ini``,
``__MACOSX/``, ``._*``): the manifest check, the layout check and the parser all ignore it, and the
build counts it (``os_junk_files``, shown in the quality report when there is any)."""
from __future__ import annotations

import os
from pathlib import Path

#: File names written by file managers, never part of a recording.
JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
#: Folder names written by archivers (macOS resource forks), ignored with everything inside.
JUNK_DIRS = frozenset({"__MACOSX"})
#: Prefix of AppleDouble files (``._name``).
JUNK_PREFIX = "._"


def is_junk_name(name: str) -> bool:
    """True for a file name of operating-system clutter (not a folder name; see :func:`is_junk`)."""
    return name in JUNK_NAMES or name.startswith(JUNK_PREFIX)


def is_junk(rel: str) -> bool:
    """True when the relative path ``rel`` (``/`` separators) is clutter or lies in a clutter folder."""
    parts = [p for p in rel.split("/") if p]
    if not parts:
        return False
    return any(p in JUNK_DIRS for p in parts) or is_junk_name(parts[-1])


def junk_files(root: str | os.PathLike[str]) -> list[str]:
    """Relative paths (sorted) of every clutter file or folder under ``root`` (folders end in ``/``).

    A clutter folder is listed once, not file by file.
    """
    out: list[str] = []
    root_s = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(root_s):
        rel_dir = os.path.relpath(dirpath, root_s).replace(os.sep, "/")
        pre = "" if rel_dir == "." else rel_dir + "/"
        for d in [d for d in dirnames if d in JUNK_DIRS]:
            out.append(pre + d + "/")
            dirnames.remove(d)
        out += [pre + f for f in filenames if is_junk_name(f)]
    return sorted(out)


def listdir_clean(folder: Path) -> list[Path]:
    """The entries of ``folder`` that are not clutter (files and folders), sorted by name."""
    return sorted(p for p in Path(folder).iterdir()
                  if not (is_junk_name(p.name) or p.name in JUNK_DIRS))
