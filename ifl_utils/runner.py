"""Execute the chapters in order and build the book.

``notebooks/NN_name.py`` (jupytext percent format) -> ``build-nb/NN_name.ipynb`` (kernel set) ->
papermill -> ``book/executed/NN_name.ipynb`` (what the book renders and nbval re-checks) ->
``jupyter-book build . -W --keep-going`` (execution off: the book never runs code itself).

Conversion takes the parameters and setup cells off the rendered page (:func:`tag_opening_cells`),
and every executed chapter leaves a record for the execution report (:mod:`ifl_utils.execution`):
``results/execution/<mode>/<chapter>.json``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import execution

NOTEBOOK_DIR = "notebooks"
CONVERTED_DIR = "build-nb"
EXECUTED_DIR = "book/executed"
RESULTS_DIR = "results"
MODES = ("quick", "full")


class NotebookFailed(RuntimeError):
    """A chapter raised: carries the notebook, the failing cell's index, source and traceback."""

    def __init__(self, notebook: str, cell_index: int | None, source: str, traceback: str):
        self.notebook = notebook
        self.cell_index = cell_index
        self.source = source
        self.traceback = traceback
        where = f"cell {cell_index}" if cell_index is not None else "an unknown cell"
        super().__init__(f"{notebook}: {where} failed\n--- cell source ---\n{source}\n"
                         f"--- traceback ---\n{traceback}")


def project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """Return the repository root: the first folder at or above ``start`` holding ``_toc.yml``.

    Notebooks call this so that relative parameters (``results_dir``) mean the same under
    papermill (run from the root) and nbval (run from ``book/executed``).
    """
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / NOTEBOOK_DIR).is_dir():
            return folder
    raise FileNotFoundError(f"no project root (a folder with _toc.yml and {NOTEBOOK_DIR}/) at or "
                            f"above {here.name!r}; run from inside the repository")


def chapters(root: Path, only: str | None = None) -> list[Path]:
    """Return the chapter sources ``notebooks/NN_*.py`` in order, optionally one by prefix/name.

    Parameters
    ----------
    root
        Repository root.
    only
        ``"02"``, ``"02_behaviour"`` or ``"behaviour"``: keep the chapter(s) whose stem starts with
        it or whose name part equals it. ``None`` keeps all.
    """
    found = sorted(p for p in (root / NOTEBOOK_DIR).glob("[0-9][0-9]_*.py"))
    if only is None:
        return found
    keep = [p for p in found if p.stem.startswith(only) or p.stem.split("_", 1)[1] == only]
    if not keep:
        raise ValueError(f"--only {only!r} matches no chapter; chapters: {[p.stem for p in found]}")
    return keep


def convert(source: Path, target: Path) -> Path:
    """Convert a percent-format chapter to ``.ipynb`` with the python3 kernel set, and tag its
    parameters and setup cells ``remove-cell`` (:func:`tag_opening_cells`)."""
    import jupytext

    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata.pop("jupytext", None)  # the executed copy is not paired with the source
    tag_opening_cells(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, target, fmt="ipynb")
    return target


def _failure(notebook: str, executed: Path, err: Exception) -> NotebookFailed:
    """Build a :class:`NotebookFailed` from papermill's error and the partly executed notebook."""
    import nbformat

    cell_index, source, tb = None, "", str(err)
    exec_count = getattr(err, "exec_count", None)
    try:
        nb = nbformat.read(executed, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors or (exec_count is not None and cell.get("execution_count") == exec_count):
                cell_index, source = i, cell.source
                if errors:
                    tb = "\n".join(errors[0].get("traceback", [])) or tb
                break
    except Exception as read_err:  # the failure report must never hide the original error
        tb = f"{tb}\n(could not read {executed.name}: {read_err})"
    return NotebookFailed(notebook, cell_index, source, _strip_ansi(tb))


#: Tags that take a cell off the rendered page (myst-nb); the executed notebook keeps it.
REMOVE_CELL, REMOVE_INPUT = "remove-cell", "remove-input"
_TOGGLES = ("hide-input", "hide-cell", "hide-output")
#: The setup cell: the first code cell with a line (not a comment) that calls ``setup(``.
SETUP_CALL = re.compile(r"^[^#\n]*(?<![\w.])setup\(", re.MULTILINE)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _set_tags(cell, tags: list[str]) -> None:
    cell.setdefault("metadata", {})["tags"] = list(dict.fromkeys(tags))


def setup_cell_index(nb) -> int | None:
    """Index of the chapter's setup cell: the first code cell that calls ``setup(`` on a line
    that is not a comment (``ch = setup(...)``, ``setup(...)``; not ``x.setup(...)``)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and SETUP_CALL.search(cell.source):
            return i
    return None


def tag_opening_cells(nb) -> list[int]:
    """Take the parameters cell(s) and the setup cell off the rendered page.

    Adds ``remove-cell`` to every cell tagged ``parameters`` or ``injected-parameters`` and to
    the setup cell (:func:`setup_cell_index`), and drops their ``hide-*`` toggles, so that each
    chapter opens with its prose. The cells stay in the notebook (executed copy, nbval).
    Returns the indices of the tagged cells.
    """
    tagged = []
    setup_at = setup_cell_index(nb)
    for i, cell in enumerate(nb.cells):
        tags = _tags(cell)
        if i == setup_at or "parameters" in tags or "injected-parameters" in tags:
            _set_tags(cell, [t for t in tags if t not in _TOGGLES] + [REMOVE_CELL])
            tagged.append(i)
    return tagged


def _visible(output) -> bool:
    """Whether an output shows something a reader must see: a result other than glued values
    (``application/papermill.record/...``), a stderr stream, or an error."""
    kind = output.get("output_type")
    if kind == "error":
        return True
    if kind == "stream":
        return output.get("name") == "stderr"
    data = output.get("data", {})
    return any(not key.startswith("application/papermill.record/") for key in data)


def tag_executed_opening(nb) -> list[int]:
    """After execution: tag papermill's injected cell like the parameters cell, and keep what the
    setup cell shows (a table, a warning on stderr, an error) on the page without its code:
    ``remove-input`` instead of ``remove-cell``. Returns the indices of the opening cells."""
    changed = tag_opening_cells(nb)
    setup_at = setup_cell_index(nb)
    if setup_at is not None:
        cell = nb.cells[setup_at]
        if any(_visible(o) for o in cell.get("outputs", [])):
            _set_tags(cell, [t for t in _tags(cell) if t != REMOVE_CELL] + [REMOVE_INPUT])
    return changed


def _tag_executed(executed: Path) -> None:
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    tag_executed_opening(nb)
    nbformat.write(nb, executed)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@dataclass
class RunReport:
    """What :func:`run_chapters` did: per chapter, its seconds."""

    mode: str
    seconds: dict[str, float] = field(default_factory=dict)


def run_chapters(root: Path | None = None, mode: str = "quick", seed: int = 0,
                 only: str | None = None, data: str | None = None,
                 results_dir: str = RESULTS_DIR, progress: bool = True) -> RunReport:
    """Convert and execute the chapters in order with papermill; stop at the first failure.

    Parameters
    ----------
    root
        Repository root (default: found from the working directory).
    mode
        ``"quick"`` (CI, a few minutes) or ``"full"`` (the book).
    seed
        Seed passed to every chapter.
    only
        Run just this chapter (see :func:`chapters`).
    data
        Dataset location passed to the chapters (default: ``IFLLM_DATA`` or the pinned download).
    results_dir
        Results folder, relative to the repository root.
    progress
        Show papermill's per-cell progress bar and one line per chapter on stderr.

    Raises
    ------
    NotebookFailed
        With the failing cell's source and traceback.
    """
    import papermill as pm

    from .data.locate import cache_root

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    root = root or project_root()
    report = RunReport(mode=mode)
    todo = chapters(root, only)
    params = {"mode": mode, "seed": int(seed), "results_dir": results_dir}
    if data is not None:
        params["data"] = str(data)
    env_before = {k: os.environ.get(k) for k in ("IFL_MODE", execution.ENV_CACHE_LOG)}
    os.environ["IFL_MODE"] = mode
    env = execution.environment(root)
    try:
        for k, src in enumerate(todo, 1):
            converted = convert(src, root / CONVERTED_DIR / f"{src.stem}.ipynb")
            executed = root / EXECUTED_DIR / f"{src.stem}.ipynb"
            executed.parent.mkdir(parents=True, exist_ok=True)
            if progress:
                print(f"[{k}/{len(todo)}] {src.stem} ({mode} mode) ...", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory(prefix="ifl-cache-log-") as tmp:
                log = Path(tmp) / "reads.txt"
                os.environ[execution.ENV_CACHE_LOG] = str(log)
                cache = cache_root()
                before = execution.cache_snapshot(cache)
                memory = execution.KernelMemory()
                started = execution.utc_now()
                t0 = time.perf_counter()
                try:
                    pm.execute_notebook(str(converted), str(executed), parameters=params,
                                        cwd=str(root), progress_bar=progress, kernel_name="python3",
                                        log_output=False, on_cell_executed=memory.on_cell_executed)
                except pm.PapermillExecutionError as err:
                    raise _failure(src.stem, executed, err) from None
                dt = time.perf_counter() - t0
                used = execution.read_cache_log(log, cache) if log.exists() else None
                state = execution.cache_state(before, execution.cache_snapshot(cache), used)
            _tag_executed(executed)
            report.seconds[src.stem] = round(dt, 1)
            execution.write_record(root / results_dir, {
                "chapter": src.stem, "mode": mode, "seed": int(seed), "executed_at": started,
                "wall_s": round(dt, 1), "peak_rss_mb": memory.peak_mb,
                "peak_memory_method": memory.method, "cache": state,
                "cache_reads_observed": used is not None, **env})
            if progress:
                print(f"[{k}/{len(todo)}] {src.stem} done in {dt:.1f} s", file=sys.stderr, flush=True)
    finally:
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return report


def build_book(root: Path | None = None) -> Path:
    """Build the HTML book with warnings as errors; return ``_build/html/index.html``.

    Raises
    ------
    RuntimeError
        When Sphinx reports a warning or an error (the build log is printed).
    """
    root = root or project_root()
    cmd = [sys.executable, "-m", "jupyter_book.cli.main", "build", str(root), "-W", "--keep-going"]
    jb = Path(sys.executable).with_name("jupyter-book")
    if jb.exists():
        cmd = [str(jb), "build", str(root), "-W", "--keep-going"]
    proc = subprocess.run(cmd, cwd=root, text=True, capture_output=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-20000:] + proc.stderr[-20000:])
        raise RuntimeError(f"jupyter-book build failed (exit {proc.returncode}); see the log above")
    index = root / "_build" / "html" / "index.html"
    if not index.exists():
        raise RuntimeError("jupyter-book reported success but _build/html/index.html is missing")
    return index
