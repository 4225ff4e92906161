"""``ifl data verify``: check every file of a release folder or archive against the manifest."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..errors import IFLDataError
from .extract import BEHAVIOUR_DIR, DATASET_TABLES, archive_kind
from .locate import ENV_DATA, find_dataset_root, resolve_root
from .manifest import verify


def verify_command(path: str | None, full: bool = True, manifest=None) -> int:
    """Verify ``path`` (or ``$IFLLM_DATA``); print the JSON report on stdout.

    ``manifest`` (default: the shipped one) is a path or :class:`~ifl_utils.data.manifest.Manifest`.

    Returns
    -------
    int
        0 when every file matches the manifest and no file is extra or missing, 1 otherwise.
    """
    source = path or os.environ.get(ENV_DATA)
    if not source:
        raise IFLDataError(f"no release given: pass a folder or archive, or set {ENV_DATA}")
    src = Path(source).expanduser()
    if not src.exists():
        raise IFLDataError(f"{source}: no such file or folder (expected a release folder or archive)")
    if src.is_dir():
        root = find_dataset_root(src)
        if root is None and any((src / n).exists() for n in (*DATASET_TABLES, BEHAVIOUR_DIR)):
            root = src  # a damaged release: report its missing files rather than refuse it
        if root is None:
            raise IFLDataError(f"{source}: no IFLLM release layout found (expected query_logs_table.csv, "
                               "task_table.csv, record_info_table.csv and user_behavior/)")
    elif archive_kind(src) is not None:
        # extraction into the cache; the extracted copy is then checked file by file below
        root = resolve_root(src, verify="none", progress=True, manifest=manifest)
    else:
        raise IFLDataError(f"{source}: neither a folder nor a supported archive (.tar.xz, .tar.gz, .zip)")
    report = verify(root, mode="full" if full else "fast", progress=True, manifest=manifest)
    json.dump(report.to_dict(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    print(report.summary(limit=20), file=sys.stderr)
    return 0 if report.ok else 1
