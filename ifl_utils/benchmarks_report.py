"""Benchmark results: saved by ``ifl bench NAME --save``, read back and rendered by the benchmarks page.

Each benchmark (``benchmarks/bench_<name>.py``) returns one JSON object with its figures and a
``targets`` mapping (figure name -> the largest acceptable value). :func:`save_result` writes it to
``benchmarks/records/<name>.json`` with the time, the git commit, a fingerprint of the code and a
description of the machine; the page never reruns a benchmark (too slow for CI): it loads those
files (:func:`load_results`), checks every target (:func:`target_checks`), says how far each
measurement is from the current commit and code (:func:`freshness`) and draws the measured/target
ratios (:func:`ratio_figure`). A missing or unreadable file is reported as such, never an error.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import IFLError
from .io import write_json_atomic
from .paper import PAPER

#: The benchmarks, in the order of the page and of ``ifl bench all``.
BENCHMARKS: tuple[str, ...] = ("ingest", "behaviour", "features", "reward", "dpo")

#: Where ``ifl bench NAME --save`` writes, relative to the repository root.
RESULTS_DIR = Path("benchmarks") / "records"

#: The command that reruns every benchmark and saves the results.
ALL_COMMAND = "make bench"

#: The code a benchmark result depends on (relative to the repository root), for :func:`code_hash`.
CODE_PATHS: tuple[str, ...] = ("ifl_utils", "benchmarks", "pyproject.toml", "requirements.txt",
                               "requirements-nodeps.txt")

#: Packages whose versions are part of the machine description.
PACKAGES: tuple[str, ...] = ("numpy", "pandas", "pyarrow", "scikit-learn", "torch")

#: What each benchmark measures (one line each, for the page).
MEASURES: dict[str, str] = {
    "ingest": "cold parse of the raw release into the Parquet cache (fresh process, empty cache), "
              "warm load of the analysis columns, peak memory, against a naive pandas.read_csv floor",
    "behaviour": "every reading curve of the release from the warm cache (load + curves), gaze-mouse "
                 "correlations and the paper's bisecting k-means "
                 f"(k = {PAPER['behaviour/f5/k'].value:g})",
    "features": "the per-query gaze, mouse, cross and text features of every query from the warm cache",
    "reward": "one fit + predict of each pairwise reward model (text-only, implicit feedback, text + "
              "implicit feedback) on the full pairwise design, and one seed of the worker-grouped "
              "protocol over all of them",
    "dpo": "one rDPO + NLL LoRA step of SmolLM2-135M on 4 real pairs, greedy generation throughput, "
           "peak memory",
}

#: Headline figures of each benchmark, shown in the table besides its targeted ones.
HEADLINE: dict[str, tuple[str, ...]] = {
    "ingest": ("cold_ingest_s", "warm_load_s", "cold_over_floor", "peak_rss_mb", "integrity_check_s"),
    "behaviour": ("all_curves_from_cache_s", "bisecting_kmeans_k10_s"),
    "features": ("seconds",),
    "reward": ("slowest_fit_predict_s", "grouped_protocol_s", "all_models_fit_predict_s"),
    "dpo": ("dpo_step_s", "generation_tokens_per_s", "peak_rss_mb"),
}

#: Readable names of figures (the unit follows from the key's suffix, see :func:`unit`).
LABELS: dict[str, str] = {
    "cold_ingest_s": "cold ingest",
    "warm_load_s": "warm load",
    "cold_over_floor": "cold ingest / naive floor",
    "integrity_check_s": "cache integrity check (every load)",
    "integrity_record_s": "recording the cache digests (cold build)",
    "content_key_release_s": "content key of an unverified input, release-sized",
    "content_key_synth_s": "content key of ifl synth output",
    "synth_cold_build_s": "cold build of ifl synth output",
    "peak_rss_mb": "peak memory",
    "all_curves_from_cache_s": "all reading curves",
    "bisecting_kmeans_k10_s": "bisecting k-means",
    "seconds": "all features",
    "slowest_fit_predict_s": "slowest model fit + predict",
    "grouped_protocol_s": "grouped protocol, 1 seed",
    "all_models_fit_predict_s": "all models fit + predict",
    "dpo_step_s": "DPO step",
    "generation_tokens_per_s": "generation",
}

#: Status of a result that could be read and validated.
OK = "ok"
#: Status of a benchmark without a results file.
MISSING = "not measured"
#: Status of a results file that could not be read or validated.
INVALID = "unreadable"


class BenchmarkResultError(IFLError):
    """A benchmark results file is not valid JSON or lacks what the page needs."""


# --------------------------------------------------------------------------- saving


def _git(root: Path, *args: str) -> str | None:
    """Output of ``git <args>`` in ``root`` (stripped), or None when git fails or is missing."""
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit(root: str | os.PathLike[str]) -> str | None:
    """Short hash of ``HEAD`` in ``root``, with ``+dirty`` when the tree has uncommitted changes.

    Changes under ``benchmarks/records/`` do not count (saving a result must not make the next
    one dirty). Returns None when ``root`` is not a git checkout or git is unavailable.
    """
    root = Path(root)
    head = _git(root, "rev-parse", "--short", "HEAD")
    if not head:
        return None
    status = _git(root, "status", "--porcelain", "--", ".", f":(exclude){RESULTS_DIR.as_posix()}")
    return head + "+dirty" if status else head


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "cpu model") and value.strip():
            return value.strip()
    return platform.processor() or None


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (AttributeError, ValueError, OSError):
        return None


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine_description() -> dict[str, Any]:
    """The machine a benchmark ran on: CPU model and count, memory, OS, Python, key packages.

    Returns
    -------
    dict
        ``cpu_model`` (from ``/proc/cpuinfo`` when present), ``cpus``, ``memory_gb`` (total),
        ``platform``, ``python``, ``omp_wait_policy`` and ``packages`` (name -> version or None).
    """
    return {
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "packages": {p: _version(p) for p in PACKAGES},
    }


def utc_now() -> str:
    """The current UTC time as ISO 8601 to the second, e.g. ``2026-05-01T12:00:00Z``."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def result_path(name: str, results_dir: str | os.PathLike[str]) -> Path:
    """``<results_dir>/<name>.json``."""
    return Path(results_dir) / f"{name}.json"


def save_result(result: dict[str, Any], results_dir: str | os.PathLike[str], commit: str | None,
                measured_at: str | None = None, machine: dict[str, Any] | None = None,
                code: str | None = None) -> Path:
    """Write a benchmark's result atomically to ``<results_dir>/<benchmark>.json``.

    Parameters
    ----------
    result
        What the benchmark's ``main`` returned (must name its ``benchmark``).
    results_dir
        Folder of the results files (``benchmarks/records`` of the repository).
    commit
        :func:`git_commit` of the tree the benchmark ran on (taken before it ran), or None.
    measured_at
        UTC ISO time of the measurement (default: now).
    machine
        Machine description (default: :func:`machine_description`); the benchmark's own
        ``machine`` entries are kept where the description has no value of the same name.
    code
        :func:`code_hash` of the tree the benchmark ran on (taken before it ran), or None.

    Returns
    -------
    Path
        The file written.
    """
    name = result.get("benchmark")
    if not isinstance(name, str) or not name:
        raise BenchmarkResultError("a benchmark result must name its 'benchmark'")
    out = dict(result)
    mach = dict(result.get("machine") or {})
    mach.update(machine if machine is not None else machine_description())
    out["machine"] = mach
    out["measured_at"] = measured_at or utc_now()
    out["git_commit"] = commit
    out["code_hash"] = code
    path = result_path(name, results_dir)
    write_json_atomic(path, out)
    return path


# --------------------------------------------------------------------------- loading


@dataclass
class BenchmarkResult:
    """One benchmark's saved result, or why there is none.

    Attributes
    ----------
    name
        Benchmark name (``ingest``, ...).
    path
        The results file (present or not).
    status
        :data:`OK`, :data:`MISSING` or :data:`INVALID`.
    data
        The parsed JSON when ``status`` is :data:`OK`.
    error
        What is wrong with the file when ``status`` is :data:`INVALID`.
    """

    name: str
    path: Path
    status: str
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file was read and validated."""
        return self.status == OK


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate_result(data: Any, name: str) -> dict[str, Any]:
    """Check that ``data`` is a usable result of benchmark ``name`` and return it.

    Raises
    ------
    BenchmarkResultError
        When it is not an object, names another benchmark, has no ``targets`` mapping, or a target
        or its measured figure is missing or not a finite number.
    """
    if not isinstance(data, dict):
        raise BenchmarkResultError(f"{name}: expected a JSON object, got {type(data).__name__}")
    if data.get("benchmark") != name:
        raise BenchmarkResultError(f"{name}: the file is for benchmark {data.get('benchmark')!r}")
    targets = data.get("targets")
    if not isinstance(targets, dict) or not targets:
        raise BenchmarkResultError(f"{name}: no 'targets' mapping")
    for key, target in targets.items():
        if not _is_number(target):
            raise BenchmarkResultError(f"{name}: target {key!r} is not a number: {target!r}")
        if not _is_number(data.get(key)):
            raise BenchmarkResultError(f"{name}: figure {key!r} (which has a target) is missing or "
                                       f"not a number: {data.get(key)!r}")
    return data


def load_result(path: str | os.PathLike[str], name: str) -> BenchmarkResult:
    """Read and validate one results file; a missing or broken file gives a status, not an error."""
    path = Path(path)
    if not path.is_file():
        return BenchmarkResult(name, path, MISSING)
    try:
        data = validate_result(json.loads(path.read_text(encoding="utf-8")), name)
    except (OSError, ValueError, BenchmarkResultError) as err:
        return BenchmarkResult(name, path, INVALID, error=str(err))
    return BenchmarkResult(name, path, OK, data=data)


def load_results(results_dir: str | os.PathLike[str],
                 names: tuple[str, ...] = BENCHMARKS) -> dict[str, BenchmarkResult]:
    """:func:`load_result` of ``<results_dir>/<name>.json`` for every benchmark in ``names``."""
    return {n: load_result(result_path(n, results_dir), n) for n in names}


# --------------------------------------------------------------------------- rendering


def unit(key: str) -> str:
    """The unit of a figure from its key's suffix (``_s`` seconds, ``_mb`` MB, ``_per_s`` rate)."""
    if key.endswith("tokens_per_s"):
        return "tokens/s"
    if key.endswith("_s") or key == "seconds":
        return "s"
    if key.endswith("_mb"):
        return "MB"
    if "_over_" in key:
        return "×"
    return ""


def label(key: str) -> str:
    """A readable name of a figure (its key when there is none)."""
    return LABELS.get(key, key.replace("_", " "))


def fmt(value: Any, key: str) -> str:
    """``value`` with its unit, to a precision that suits its size (e.g. ``0.31 s``, ``2048 MB``)."""
    if not _is_number(value):
        return "—"
    u = unit(key)
    v = float(value)
    text = f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
    if u == "×":
        return f"{text}×"
    return f"{text} {u}".strip()


def rerun_command(name: str, repeat: int = 3) -> str:
    """The command that reruns benchmark ``name`` and saves its result."""
    return f"ifl bench {name} --repeat {repeat} --save"


def target_checks(results: dict[str, BenchmarkResult]) -> pd.DataFrame:
    """One row per targeted figure of every readable result.

    Returns
    -------
    pandas.DataFrame
        ``benchmark``, ``figure`` (key), ``label``, ``value``, ``target``, ``ratio``
        (value / target; at most 1 meets the target) and ``meets`` (bool).
    """
    rows = []
    for name, r in results.items():
        if not r.ok:
            continue
        for key, target in r.data["targets"].items():
            value = float(r.data[key])
            rows.append({"benchmark": name, "figure": key, "label": label(key), "value": value,
                         "target": float(target), "ratio": value / float(target) if target else math.inf,
                         "meets": value <= float(target)})
    return pd.DataFrame(rows, columns=["benchmark", "figure", "label", "value", "target", "ratio", "meets"])


def _commit_base(commit: str | None) -> str | None:
    if not commit:
        return None
    return commit.split("+", 1)[0] or None


def code_hash(root: str | os.PathLike[str]) -> str:
    """A fingerprint of the code the benchmarks exercise, as it is on disk (uncommitted edits included).

    SHA-256 (first 16 hex digits) over the path and bytes of every ``.py`` and ``.tsv`` file under
    :data:`CODE_PATHS` folders and of the listed files (saved results are not part of it). Two
    trees with the same fingerprint run the same benchmark code.
    """
    root = Path(root)
    files: list[Path] = []
    for entry in CODE_PATHS:
        p = root / entry
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files += [f for f in p.rglob("*") if f.is_file() and f.suffix in (".py", ".tsv")
                      and "__pycache__" not in f.parts]
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.relative_to(root).as_posix()):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def freshness(commit: str | None, root: str | os.PathLike[str], code: str | None = None,
              current_code: str | None = None) -> dict[str, Any]:
    """How a measurement relates to the current ``HEAD`` and code of ``root``.

    Parameters
    ----------
    commit
        The result's ``git_commit`` (short hash, maybe with ``+dirty``), or None.
    root
        The repository root.
    code
        The result's ``code_hash`` (:func:`code_hash` when it was measured), or None for results
        saved without one.
    current_code
        :func:`code_hash` of ``root`` (computed when None and needed).

    Returns
    -------
    dict
        ``commits_behind`` (commits from the measured commit to HEAD; None when unknown),
        ``code_changed`` (whether the benchmarked code differs from this tree: by fingerprint when
        ``code`` is given, else whether ``ifl_utils/``, ``benchmarks/`` or the requirements differ
        between that commit and HEAD; None when unknown), ``dirty`` (measured with uncommitted
        changes) and ``text``, one line for the page.
    """
    base = _commit_base(commit)
    dirty = bool(commit and commit.endswith("+dirty"))
    out: dict[str, Any] = {"commits_behind": None, "code_changed": None, "dirty": dirty}
    root = Path(root)
    if base is None:
        where = "commit not recorded"
    elif _git(root, "rev-parse", "--verify", "--quiet", "HEAD") is None:
        where = f"{base}; no git history here to compare with"
    else:
        behind = _git(root, "rev-list", "--count", f"{base}..HEAD")
        if behind is None or not behind.isdigit():
            where = f"{base} is not in this checkout's history"
        else:
            n = out["commits_behind"] = int(behind)
            where = "at HEAD" if n == 0 else f"{n} commit{'s' if n != 1 else ''} before HEAD"
            if code is None and n:
                changed = _git(root, "diff", "--name-only", base, "HEAD", "--", *CODE_PATHS,
                               f":(exclude){RESULTS_DIR.as_posix()}")
                out["code_changed"] = None if changed is None else bool(changed)
                if changed is not None:
                    where += "; code changed since" if changed else "; code unchanged since"
            if code is None and dirty:
                where += " (measured with uncommitted changes)"
    if code is not None:
        out["code_changed"] = code != (current_code or code_hash(root))
        where += "; code differs from this build" if out["code_changed"] else "; same code as this build"
    out["text"] = where
    return out


def _when(iso: Any) -> str:
    if not isinstance(iso, str):
        return "—"
    try:
        t = _dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def summary_table(results: dict[str, BenchmarkResult], root: str | os.PathLike[str]) -> pd.DataFrame:
    """The page's table: one row per benchmark, whether measured or not.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``benchmark``; columns ``key figures``, ``target``, ``meets target``
        (``yes``, ``no: <figures>``, ``not measured`` or ``unreadable: <why>``), ``measured at``,
        ``commit`` and ``relative to HEAD``.
    """
    checks = target_checks(results)
    current = code_hash(root)
    rows = []
    for name, r in results.items():
        row = {"benchmark": name}
        if not r.ok:
            row.update({"key figures": "—", "target": "—",
                        "meets target": r.status if r.status == MISSING else f"{r.status}: {r.error}",
                        "measured at": "—", "commit": "—", "relative to HEAD": "—"})
            rows.append(row)
            continue
        d = r.data
        keys = list(dict.fromkeys([*HEADLINE.get(name, ()), *d["targets"]]))
        row["key figures"] = "; ".join(f"{label(k)} {fmt(d.get(k), k)}" for k in keys if k in d)
        row["target"] = "; ".join(f"{label(k)} ≤ {fmt(t, k)}" for k, t in d["targets"].items())
        c = checks[checks["benchmark"] == name]
        missed = c.loc[~c["meets"], "label"].tolist()
        row["meets target"] = "yes" if not missed else "no: " + ", ".join(missed)
        row["measured at"] = _when(d.get("measured_at"))
        row["commit"] = d.get("git_commit") or "—"
        row["relative to HEAD"] = freshness(d.get("git_commit"), root, d.get("code_hash"), current)["text"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("benchmark")


#: The ingest record's integrity figures (#21), in the order of :func:`integrity_table`.
INTEGRITY_FIGURES: tuple[str, ...] = ("integrity_check_s", "integrity_record_s", "content_key_release_s",
                                      "content_key_synth_s", "synth_cold_build_s")


def integrity_table(results: dict[str, BenchmarkResult]) -> pd.DataFrame:
    """What the data layer's self-checks cost, from the ingest record: one row per figure.

    Columns ``figure``, ``value`` (with its unit; "not measured" for a record saved before the
    figure existed) and ``share`` (of the warm load for the check, of the cold ingest for the
    recording and the release's content key, of the synthetic build for its content key).
    """
    r = results.get("ingest")
    d = r.data if r is not None and r.ok else {}
    base = {"integrity_check_s": "warm_load_s", "integrity_record_s": "cold_ingest_s",
            "content_key_release_s": "cold_ingest_s", "content_key_synth_s": "synth_cold_build_s"}
    rows = []
    for k in INTEGRITY_FIGURES:
        v, b = d.get(k), d.get(base.get(k, ""))
        share = f"{100 * v / b:.0f} % of the {label(base[k])}" if _is_number(v) and _is_number(b) and b else "—"
        rows.append({"figure": label(k), "value": fmt(v, k) if _is_number(v) else "not measured",
                     "share": share})
    return pd.DataFrame(rows).set_index("figure")


def machine_table(results: dict[str, BenchmarkResult]) -> pd.DataFrame:
    """The machine of each readable result: one column per benchmark, one row per property.

    Benchmarks with identical descriptions share one column, named by all of them. Properties a
    result does not record show ``—`` (results saved before ``--save`` existed carry only the CPU
    count and the Python version).
    """
    props = ("cpu_model", "cpus", "memory_gb", "platform", "python", "omp_wait_policy")
    cols = {}
    for name, r in results.items():
        if not r.ok:
            continue
        m = r.data.get("machine") or {}
        col = {p: m.get(p) for p in props}
        col["threads"] = m.get("threads")
        for pkg in PACKAGES:
            col[pkg] = (m.get("packages") or {}).get(pkg) or (m.get(pkg) if pkg == "torch" else None)
        cols[name] = {k: "—" if v is None else str(v) for k, v in col.items()}
    # benchmarks measured on an identical machine share one column ("features, reward")
    merged: dict[str, dict[str, str]] = {}
    for name, col in cols.items():
        same = next((k for k, c in merged.items() if c == col), None)
        if same is None:
            merged[name] = col
        else:
            merged[f"{same}, {name}"] = merged.pop(same)
    table = pd.DataFrame(merged)
    if len(table):
        table = table[~(table == "—").all(axis=1)]
        table.index.name = "property"
    return table


def same_machine(results: dict[str, BenchmarkResult]) -> bool:
    """True when every readable result records the same CPU model, CPU count and memory."""
    keys = {(str((r.data.get("machine") or {}).get("cpu_model")), (r.data.get("machine") or {}).get("cpus"),
             (r.data.get("machine") or {}).get("memory_gb")) for r in results.values() if r.ok}
    return len(keys) <= 1


def ratio_figure(results: dict[str, BenchmarkResult]):
    """Horizontal bars of measured / target for every targeted figure (log scale, target at 1).

    Bars left of the target line meet it (green), bars right of it miss it (vermillion); a
    benchmark without a readable result gets a labelled empty row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from .plots import OKABE_ITO

    checks = target_checks(results)
    labels, ratios, notes, colours = [], [], [], []
    for name, r in results.items():
        c = checks[checks["benchmark"] == name]
        if c.empty:
            labels.append(f"{name}")
            ratios.append(math.nan)
            notes.append(r.status)
            colours.append(OKABE_ITO[7])
            continue
        for _, row in c.iterrows():
            labels.append(f"{name}: {row['label']}")
            ratios.append(row["ratio"])
            notes.append(f"{fmt(row['value'], row['figure'])} of ≤ {fmt(row['target'], row['figure'])}")
            colours.append(OKABE_ITO[2] if row["meets"] else OKABE_ITO[5])
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(labels) + 1.2))
    y = list(range(len(labels)))[::-1]
    finite = [v for v in ratios if math.isfinite(v) and v > 0]
    lo = min([*finite, 0.1]) / 2.5
    hi = max([*finite, 1.0]) * 4
    ax.set_xscale("log")
    # bars start at the left edge of the (log) axis; a row without a result has no bar
    ax.barh(y, [v - lo if math.isfinite(v) and v > 0 else 0 for v in ratios], left=lo, color=colours,
            height=0.6)
    ax.set_xlim(lo, hi)
    ax.axvline(1.0, color=OKABE_ITO[7], ls="--", lw=1)
    ax.text(1.0, len(labels) - 0.4, " target", va="bottom", ha="left", fontsize=8)
    for yi, v, note in zip(y, ratios, notes):
        x = v if math.isfinite(v) and v > 0 else lo
        ax.text(x * 1.08, yi, note, va="center", ha="left", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, len(labels) - 0.1)
    ax.set_xlabel("measured / target (ratio, log scale; below 1 meets the target)")
    ax.set_ylabel("benchmark: figure")
    ax.set_title("Benchmarks against their targets")
    ax.grid(axis="y", visible=False)
    return fig
