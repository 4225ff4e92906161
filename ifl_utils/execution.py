"""The execution report: when, how long, with how much memory and on what each chapter ran.

The runner (:func:`ifl_utils.runner.run_chapters`) measures every chapter it executes and writes
one record per chapter and mode, atomically, to ``results/execution/<mode>/<chapter>.json``. The
book's *Execution report* page reads those files (and the clean-clone CI timing in
``benchmarks/records/ci.json``, see :mod:`ifl_utils.ci_time`); nothing on that page is typed.

What a record holds and how each figure is measured:

``executed_at``
    UTC time at which the runner started the chapter's kernel.
``wall_s``
    Wall-clock seconds of papermill's execution (kernel start to kernel shutdown).
``peak_rss_mb``
    Peak resident memory of the chapter's kernel process: Linux's high-water mark ``VmHWM`` from
    ``/proc/<pid>/status``, read after every cell while the kernel is alive (the mark never
    decreases, so the read after the last cell is the kernel's true peak). Processes the kernel
    starts are read the same way and the largest single process is reported. Where ``/proc`` is
    missing, ``resource``'s ``ru_maxrss`` of the runner's children is used (the largest child
    so far: an upper bound), and ``peak_memory_method`` says which.
``cache``
    Per kind of cache (``data``: the verified, extracted and parsed release; ``embeddings``;
    ``fits``: model fits — fine-tuned cross-encoder fold scores, the reward chapter's analysis-space
    cells, the validity chapter's model runs; ``dpo``: the DPO run cache), with *entries* the names
    directly inside that kind's folder(s)
    of the user cache: **cold** when the chapter created at least one entry that did not exist
    before it ran (it had to compute it), **warm** when it read existing entries and created none,
    **unused** when it did neither. What the kernel opens, lists, creates and renames into the
    cache is seen by an audit hook that :func:`watch_cache_reads` installs in the kernel
    (``setup()`` calls it when the runner sets ``IFL_CACHE_LOG``); a new entry counts only if the
    kernel touched it, since other processes may write to the same cache meanwhile.
``commit``, ``packages``, ``machine``
    ``git`` commit (``+dirty`` with uncommitted changes), versions of the packages that change
    results, and the machine (CPU model and count, memory, OS, Python).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .io import write_json_atomic

#: Folder of the records inside the results folder.
EXECUTION_DIR = "execution"

#: Kinds of cache reported, each with its folder(s) under the user cache root.
#: A folder may be nested (``reward/space``): its entries are the names directly inside it.
CACHE_KINDS: dict[str, tuple[str, ...]] = {
    "data": ("download", "release", "verified", "parsed"),
    "embeddings": ("embeddings",),
    "fits": ("finetune", "reward/space", "validity"),
    "dpo": ("dpo",),
}

#: Packages whose versions the report shows.
REPORT_PACKAGES: tuple[str, ...] = ("torch", "transformers", "scikit-learn", "pandas")

#: Environment variable naming the file where the kernel logs the cache entries it reads.
ENV_CACHE_LOG = "IFL_CACHE_LOG"

COLD, WARM, UNUSED = "cold", "warm", "unused"


# --------------------------------------------------------------------------- cache state

def _entry_of(relpath: str) -> str | None:
    """``"parsed/abc-v8"`` for ``"parsed/abc-v8/workers.parquet"``, ``"reward/space/cell-1.parquet"``
    for itself: the entry a cache path is in (the name directly inside the deepest folder of
    :data:`CACHE_KINDS` that holds it; the first folder level for paths outside them)."""
    parts = Path(relpath).parts
    if not parts or parts[0] == "..":
        return None
    depth = max((len(Path(f).parts) for folders in CACHE_KINDS.values() for f in folders
                 if tuple(Path(f).parts) == parts[:len(Path(f).parts)]), default=1)
    if len(parts) <= depth or parts[depth].startswith("."):
        return None
    return "/".join(parts[:depth + 1])


def _kind_folder(entry: str, folders: tuple[str, ...]) -> bool:
    """Whether ``entry`` (``"folder/name"``) lies directly inside one of ``folders``."""
    return entry.rsplit("/", 1)[0] in folders


def cache_snapshot(cache_root: str | os.PathLike[str]) -> dict[str, set[str]]:
    """The entries present in each kind of cache, as ``"folder/name"`` strings.

    Hidden names (temporary files of atomic writes) and ``*.lock`` files are not entries.
    A missing folder has no entries.
    """
    root = Path(cache_root)
    snap: dict[str, set[str]] = {}
    for kind, folders in CACHE_KINDS.items():
        names: set[str] = set()
        for folder in folders:
            try:
                children = os.listdir(root / folder)
            except OSError:
                continue
            names.update(f"{folder}/{c}" for c in children
                         if not c.startswith(".") and not c.endswith(".lock"))
        snap[kind] = names
    return snap


def read_cache_log(log: str | os.PathLike[str], cache_root: str | os.PathLike[str]) -> set[str]:
    """The cache entries (``"folder/name"``) named by the absolute paths in ``log``, one a line."""
    root = os.path.realpath(cache_root)
    used: set[str] = set()
    try:
        lines = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return used
    for line in lines:
        if not line.strip():
            continue
        entry = _entry_of(os.path.relpath(os.path.realpath(line.strip()), root))
        if entry:
            used.add(entry)
    return used


def cache_state(before: dict[str, set[str]], after: dict[str, set[str]],
                used: set[str] | None) -> dict[str, dict[str, Any]]:
    """Cold / warm / unused per kind of cache, from two snapshots and the entries the kernel used.

    Parameters
    ----------
    before, after
        :func:`cache_snapshot` before and after the chapter ran.
    used
        Entries the kernel opened, listed, created or renamed into place (:func:`read_cache_log`).
        An entry that appeared during the chapter counts as the chapter's only if the kernel used
        it: the cache is shared, and another process may fill it meanwhile. None when the kernel's
        use was not observed: then every new entry counts, and a kind without new entries is
        ``warm`` only if it has entries at all.

    Returns
    -------
    dict
        kind -> ``{"state", "new", "read", "present_before"}`` (counts of entries; ``new``: created
        by the chapter; ``read``: existing entries it used, None when not observed).
    """
    out: dict[str, dict[str, Any]] = {}
    for kind, folders in CACHE_KINDS.items():
        old, now = before.get(kind, set()), after.get(kind, set())
        mine = {e for e in (used or set()) if _kind_folder(e, folders)}
        new = (now - old) if used is None else (now - old) & mine
        read = mine & old
        if new:
            state = COLD
        elif read or (used is None and old):
            state = WARM
        else:
            state = UNUSED
        out[kind] = {"state": state, "new": len(new), "read": None if used is None else len(read),
                     "present_before": len(old)}
    return out


def watch_cache_reads(cache_root: str | os.PathLike[str], log: str | os.PathLike[str]) -> bool:
    """Log every path of the cache that this process opens, lists, creates (``os.mkdir``) or
    renames a file onto (atomic writes), once each, to ``log``.

    Installs an audit hook (:func:`sys.addaudithook`; it cannot be removed, so call this once per
    process: the runner's kernels). Returns False when ``log`` cannot be opened.
    """
    prefix = os.path.realpath(cache_root).rstrip(os.sep) + os.sep
    try:
        fh = open(log, "a", encoding="utf-8", buffering=1)  # opened before the hook exists
    except OSError:
        return False
    seen: set[str] = set()
    events = {"open": 0, "os.listdir": 0, "os.scandir": 0, "os.mkdir": 0, "os.rename": 1}

    def hook(event: str, args: tuple) -> None:
        at = events.get(event)
        if at is None or len(args) <= at:
            return
        path = args[at]     # for a rename: where the entry lands
        if isinstance(path, (int, bytes)) or path is None:
            return
        try:
            path = os.fspath(path)
        except TypeError:
            return
        if not os.path.isabs(path):
            path = os.path.abspath(path)
        if path.startswith(prefix) and path not in seen:
            seen.add(path)
            fh.write(path + "\n")

    sys.addaudithook(hook)
    return True


# --------------------------------------------------------------------------- kernel memory

def _children(pid: int) -> set[int]:
    """All descendants of ``pid`` (from ``/proc/*/stat``); empty where ``/proc`` is missing."""
    parents: dict[int, int] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return set()
    for name in names:
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) > 1:
            parents[int(name)] = int(rest[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _vmhwm_mb(pid: int) -> float | None:
    """Peak resident set size (``VmHWM``) of ``pid`` in MB, or None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass
class KernelMemory:
    """Peak memory of the processes a chapter starts (its kernel), read between cells.

    Create it just before the kernel starts (processes alive then are not counted), pass
    :meth:`on_cell_executed` to papermill (nbclient's hook of the same name), and read
    :attr:`peak_mb` afterwards.
    """

    parent: int = field(default_factory=os.getpid)
    ignore: set[int] = field(default_factory=set)
    peaks: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ignore = self.ignore or _children(self.parent)
        self.has_proc = Path("/proc/self/status").exists()

    def sample(self) -> None:
        """Read the high-water mark of every new descendant process."""
        for pid in _children(self.parent) - self.ignore:
            mb = _vmhwm_mb(pid)
            if mb is not None:
                self.peaks[pid] = max(mb, self.peaks.get(pid, 0.0))

    def on_cell_executed(self, **_: Any) -> None:
        """nbclient hook: called after every cell while the kernel still runs."""
        self.sample()

    @property
    def method(self) -> str:
        return "VmHWM of the kernel process" if self.has_proc and self.peaks else \
            "ru_maxrss of the runner's children (upper bound)"

    @property
    def peak_mb(self) -> float | None:
        """Largest peak of one process, in MB (fallback: ``ru_maxrss`` of all children so far)."""
        if self.peaks:
            return round(max(self.peaks.values()), 1)
        try:
            import resource

            kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        except (ImportError, OSError):
            return None
        return round(kb / 1024 / (1024 if sys.platform == "darwin" else 1), 1) or None


# --------------------------------------------------------------------------- records

def utc_now() -> str:
    """The current UTC time as ISO 8601 to the second, e.g. ``2026-05-01T12:00:00Z``."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def record_path(results_dir: str | os.PathLike[str], mode: str, chapter: str) -> Path:
    """``<results_dir>/execution/<mode>/<chapter>.json``."""
    return Path(results_dir) / EXECUTION_DIR / mode / f"{chapter}.json"


def environment(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Commit, package versions and machine of this process, for a record."""
    from .benchmarks_report import _version, git_commit, machine_description

    machine = machine_description()
    return {
        "commit": git_commit(root),
        "packages": {p: _version(p) for p in REPORT_PACKAGES},
        "machine": {k: machine[k] for k in ("cpu_model", "cpus", "memory_gb", "platform", "python")},
    }


def write_record(results_dir: str | os.PathLike[str], record: dict[str, Any]) -> Path:
    """Write one chapter's record atomically; returns its path.

    Raises
    ------
    ValueError
        When ``record`` lacks ``chapter`` or ``mode``.
    """
    for key in ("chapter", "mode"):
        if not record.get(key):
            raise ValueError(f"an execution record needs {key!r}; got keys {sorted(record)}")
    path = record_path(results_dir, record["mode"], record["chapter"])
    write_json_atomic(path, record)
    return path


def load_records(results_dir: str | os.PathLike[str], mode: str) -> dict[str, dict[str, Any]]:
    """Every record of ``mode``, by chapter, in chapter order; unreadable files are skipped
    with a record ``{"chapter", "mode", "error"}`` so that the page shows them."""
    folder = Path(results_dir) / EXECUTION_DIR / mode
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as err:
            data = {"chapter": path.stem, "mode": mode, "error": f"{path.name}: {err}"}
        out[path.stem] = data
    return out
