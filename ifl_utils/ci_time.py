"""Time ``make test`` on a clean clone, step by step, for the execution report.

``scripts/time_clean_ci.py`` clones the repository's committed ``HEAD`` into a fresh folder,
runs ``make test`` there with an empty pip cache (so the virtual environment is built from the
package index, as on a new CI machine), timestamps every line of its output, and writes
``benchmarks/records/ci.json``. The book's *Execution report* page renders that file with the
commit it was measured on.

Steps are found from the commands ``make`` echoes before running them (:data:`STEPS`): a step
lasts from its first command to the first command of the next step (the last one to the end of
the run); ``install`` is everything before the first step (creating ``.venv``).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .io import write_json_atomic

#: Where the measurement is saved, relative to the repository root.
RECORD = Path("benchmarks") / "records" / "ci.json"

#: The project's targets for a clean clone (issue #22): all of ``make test``, and the chapters.
TARGET_TOTAL_S = 600.0
TARGET_CHAPTERS_S = 180.0

#: The steps of ``make test`` in order, each with the pattern of its first echoed command. The
#: first step runs the unit tests and the quick-mode chapters side by side (:mod:`ifl_utils.together`).
STEPS: tuple[tuple[str, str], ...] = (
    ("unit tests ‖ quick chapters + book", r"ifl_utils\.together .*/ifl run --mode quick"),
    ("nbval", r"-m pytest --nbval"),
    ("browser tests", r"ensure_chromium\.sh|-m pytest tests/browser"),
)
INSTALL = "install"
#: Steps of ``make test`` before the unit tests and chapters ran side by side (records measured
#: before commit ade0783): they ran one after the other, in this order, before ``nbval``.
FORMER_STEPS: tuple[str, ...] = ("unit tests", "quick chapters + book")

#: A summary line of :mod:`ifl_utils.together`: the name, exit status and seconds of one side.
_SIDE = re.compile(r"^\[together\] (?P<name>.+): exit (?P<code>-?\d+) after (?P<s>[\d.]+) s$")


def step_times(lines: Iterable[tuple[float, str]], start: float, end: float) -> dict[str, float]:
    """Seconds per step of a timestamped ``make test`` log.

    Parameters
    ----------
    lines
        ``(time, line)`` pairs in order, times on the same clock as ``start`` and ``end``.
    start, end
        When the command started and ended.

    Returns
    -------
    dict
        ``install`` then every step of :data:`STEPS` that was reached, in order, rounded to 0.1 s.
        A step never reached is left out (the run failed before it).
    """
    starts: list[tuple[str, float]] = []
    todo = list(STEPS)
    for t, line in lines:
        for k, (name, pattern) in enumerate(todo):
            if re.search(pattern, line):
                starts.append((name, t))
                todo = todo[k + 1:]
                break
    out = {INSTALL: round((starts[0][1] if starts else end) - start, 1)}
    for (name, t), nxt in zip(starts, [*starts[1:], (None, end)]):
        out[name] = round(nxt[1] - t, 1)
    return out


def side_times(lines: Iterable[tuple[float, str]]) -> dict[str, float]:
    """Seconds of each command that ran side by side, from :mod:`ifl_utils.together`'s summary
    lines (``[together] <name>: exit <code> after <s> s``), in the order printed; empty when none."""
    out: dict[str, float] = {}
    for _, line in lines:
        m = _SIDE.match(line.strip())
        if m:
            out[m["name"]] = float(m["s"])
    return out


def _run_logged(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[int, list[tuple[float, str]], float, float]:
    """Run ``cmd``, copy its merged output to ``log`` and return (code, timed lines, start, end)."""
    lines: list[tuple[float, str]] = []
    t0 = time.monotonic()
    with open(log, "w", encoding="utf-8") as fh:
        with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace") as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                now = time.monotonic()
                lines.append((now, line.rstrip("\n")))
                fh.write(f"{now - t0:9.1f} {line}")
            code = proc.wait()
    return code, lines, t0, time.monotonic()


def time_clean_clone(repo: str | os.PathLike[str], workdir: str | os.PathLike[str] | None = None,
                     command: tuple[str, ...] = ("make", "test"), cold_data_cache: bool = False,
                     env: dict[str, str] | None = None) -> dict[str, Any]:
    """Clone ``repo``'s committed ``HEAD`` into a fresh folder and time ``command`` there.

    Parameters
    ----------
    repo
        The repository to measure (its uncommitted changes are not part of the clone).
    workdir
        Folder for the clone, the empty pip cache and the log (default: a new temporary folder,
        kept so that the log can be read).
    command
        What CI runs (default ``make test``).
    cold_data_cache
        Also start from an empty IFLLM data cache (``IFLLM_CACHE`` in ``workdir``): the release is
        then verified, extracted and parsed again. Default: the user's cache, as on a CI machine
        that has built the book before.
    env
        Environment of the run (default: this process's), before the pip and cache settings.

    Returns
    -------
    dict
        The record :func:`save` writes: ``command``, ``commit``, ``measured_at``, ``returncode``,
        ``total_s``, ``steps_s`` (:func:`step_times`), ``side_by_side_s`` (:func:`side_times`:
        each command of the side-by-side step on its own), ``chapters_s`` (from the clone's
        execution records), ``chapters_total_s``, ``clean`` (what started empty), ``targets_s``,
        ``machine`` and ``log`` (the log's file name inside ``workdir``).
    """
    from .benchmarks_report import git_commit, machine_description, utc_now
    from .execution import load_records

    work = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="ifl-ci-time-"))
    work.mkdir(parents=True, exist_ok=True)
    clone = work / "clone"
    if clone.exists():
        raise FileExistsError(f"{clone} exists: time_clean_clone needs a fresh folder")
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(Path(repo).resolve()), str(clone)],
                   check=True)
    run_env = dict(os.environ if env is None else env)
    run_env["PIP_CACHE_DIR"] = str(work / "pip-cache")       # empty: every wheel downloaded
    run_env.pop("PYTHONPATH", None)                          # the clone's own ifl_utils only
    clean = ["clone", "venv", "pip cache", "build outputs"]
    if cold_data_cache:
        run_env["IFLLM_CACHE"] = str(work / "ifllm-cache")
        clean.append("data cache")
    commit = git_commit(clone)      # before the run writes anything into the clone
    measured_at = utc_now()
    code, lines, t0, t1 = _run_logged(list(command), clone, run_env, work / "make-test.log")
    records = load_records(clone / "results", "quick")
    chapters = {name: r.get("wall_s") for name, r in records.items()}
    return {
        "benchmark": "ci",
        "command": " ".join(command),
        "commit": commit,
        "measured_at": measured_at,
        "returncode": code,
        "total_s": round(t1 - t0, 1),
        "steps_s": step_times(lines, t0, t1),
        "side_by_side_s": side_times(lines),
        "chapters_s": chapters,
        "chapters_total_s": round(sum(v for v in chapters.values() if v), 1),
        "clean": clean,
        "targets_s": {"total": TARGET_TOTAL_S, "chapters": TARGET_CHAPTERS_S},
        "machine": machine_description(),
        "log": "make-test.log",
    }


def save(record: dict[str, Any], root: str | os.PathLike[str]) -> Path:
    """Write ``record`` atomically to ``<root>/benchmarks/records/ci.json``."""
    path = Path(root) / RECORD
    write_json_atomic(path, record)
    return path


def load(root: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The saved clean-clone measurement, or None when there is none.

    Raises
    ------
    ValueError
        When the file exists but is not a JSON object with ``total_s`` and ``steps_s``.
    """
    path = Path(root) / RECORD
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "total_s" not in data or "steps_s" not in data:
        raise ValueError(f"{path}: expected a JSON object with 'total_s' and 'steps_s'")
    return data
