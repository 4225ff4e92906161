"""Tables of the *Execution report* page, from the runner's records (:mod:`ifl_utils.execution`)
and the clean-clone CI timing (:mod:`ifl_utils.ci_time`). Pure: records in, DataFrames out."""
from __future__ import annotations

from typing import Any

import pandas as pd

from .ci_time import FORMER_STEPS, INSTALL, STEPS
from .execution import CACHE_KINDS, REPORT_PACKAGES

NOT_RUN = "not run in this mode"
CACHE_LABELS = {"data": "data", "embeddings": "embeddings", "fits": "model fits", "dpo": "DPO runs"}


def fmt_seconds(s: float | None) -> str:
    """``"4.2 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``; an em dash for None."""
    if s is None:
        return "—"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        m, r = divmod(round(s), 60)
        return f"{m} min {r:02d} s"
    h, r = divmod(round(s), 3600)
    return f"{h} h {r // 60:02d} min"


def fmt_mb(mb: float | None) -> str:
    """``"812 MB"`` or ``"5.4 GB"``; an em dash for None."""
    if mb is None:
        return "—"
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def fmt_when(iso: str | None, utc: bool = True) -> str:
    """``"2026-12-06 21:55 UTC"`` from ``"2026-12-06T21:55:03Z"`` (without `` UTC`` when
    ``utc`` is False, for a column that says it)."""
    if not iso:
        return "—"
    return iso.replace("T", " ")[:16] + (" UTC" if utc else "")


def fmt_cache(state: dict[str, Any] | None) -> str:
    """``"cold (2 new)"``, ``"warm"``, ``"unused"``."""
    if not state:
        return "—"
    if state["state"] == "cold":
        return f"cold ({state['new']} new)"
    return str(state["state"])


#: The cache column's header: the kinds in :data:`CACHE_KINDS` order.
CACHE_COLUMN = "cache: " + " · ".join(CACHE_LABELS[k] for k in CACHE_KINDS)


#: Columns that :func:`chapter_table` leaves out when every record has the same value.
SHARED = ("seed", "commit")


def shared(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The :data:`SHARED` fields that have one value over all readable records (e.g. one seed,
    one commit), by name; a page states them once instead of in every row."""
    ok = [r for r in records.values() if "error" not in r]
    out = {}
    for key in SHARED:
        values = {str(r.get(key)) for r in ok}
        if ok and len(values) == 1:
            out[key] = ok[0].get(key)
    return out


def chapter_table(records: dict[str, dict[str, Any]], chapters: list[str],
                  drop_shared: bool = False) -> pd.DataFrame:
    """One row per chapter (in ``chapters`` order): when, how long, memory, the cache states
    (:data:`CACHE_COLUMN`), seed, commit; with ``drop_shared``, without the columns whose value
    is the same for every record (:func:`shared`).

    A chapter without a record says :data:`NOT_RUN`; an unreadable record shows its error.
    """
    rows = []
    for name in chapters:
        r = records.get(name)
        if r is None or "error" in r:
            why = NOT_RUN if r is None else r["error"]
            rows.append({"chapter": name, "executed at (UTC)": why})
            continue
        cache = r.get("cache", {})
        rows.append({"chapter": name, "executed at (UTC)": fmt_when(r.get("executed_at"), utc=False),
                     "wall time": fmt_seconds(r.get("wall_s")),
                     "peak memory": fmt_mb(r.get("peak_rss_mb")),
                     CACHE_COLUMN: " · ".join(fmt_cache(cache.get(k)) for k in CACHE_KINDS),
                     "seed": r.get("seed"), "commit": r.get("commit") or "—"})
    columns = ["chapter", "executed at (UTC)", "wall time", "peak memory", CACHE_COLUMN, "seed",
               "commit"]
    if drop_shared:
        columns = [c for c in columns if c not in shared(records)]
    return pd.DataFrame(rows, columns=columns).astype(object).set_index("chapter").fillna("")


def _machine(m: dict[str, Any]) -> str:
    parts = [m.get("cpu_model"), f"{m['cpus']} cores" if m.get("cpus") else None,
             f"{m['memory_gb']:g} GB memory" if m.get("memory_gb") else None, m.get("platform")]
    return ", ".join(p for p in parts if p)


def environment_table(records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The distinct environments the chapters ran in, one column each (usually one): package
    versions, Python, machine, and which chapters ran in it."""
    groups: dict[tuple, list[str]] = {}
    for name, r in records.items():
        if "error" in r:
            continue
        pk = r.get("packages", {})
        m = r.get("machine", {})
        key = (*(pk.get(p) or "not installed" for p in REPORT_PACKAGES), m.get("python") or "—",
               _machine(m) or "—")
        groups.setdefault(key, []).append(name)
    index = [*REPORT_PACKAGES, "Python", "machine", "chapters"]
    ok = sum(len(v) for v in groups.values())
    columns = {}
    for k, (key, names) in enumerate(groups.items(), 1):
        label = "all chapters" if len(groups) == 1 else f"environment {k}"
        columns[label] = [*key, "all" if len(names) == ok and len(groups) == 1 else ", ".join(names)]
    return pd.DataFrame(columns, index=pd.Index(index, name="")).astype(object)


def totals(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Chapters with a record, their summed wall time and the largest peak memory."""
    ok = [r for r in records.values() if "error" not in r]
    walls = [r["wall_s"] for r in ok if r.get("wall_s") is not None]
    peaks = [r["peak_rss_mb"] for r in ok if r.get("peak_rss_mb") is not None]
    return {"chapters": len(ok), "wall_s": round(sum(walls), 1),
            "max_peak_mb": max(peaks) if peaks else None}


def latest(records: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The most recently executed readable record (by ``executed_at``), or None."""
    ok = [r for r in records.values() if "error" not in r and r.get("executed_at")]
    return max(ok, key=lambda r: r["executed_at"]) if ok else None


def ci_table(ci: dict[str, Any]) -> pd.DataFrame:
    """Steps of the clean-clone ``make test`` in the order they run (``ci.json`` stores its keys
    sorted), each with its time and share. Under the side-by-side step come its commands, each on
    its own (their times overlap, so they have no share), and the chapters' summed execution time;
    then the total. Targets where the project set one (total; quick chapters)."""
    total = ci["total_s"]
    targets = ci.get("targets_s", {})
    order = [INSTALL, *FORMER_STEPS, *(name for name, _ in STEPS)]
    steps = sorted(ci["steps_s"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    of_which = [{"step": f"of which, side by side: {name}", "time": fmt_seconds(s), "share": "—",
                 "target": ""} for name, s in ci.get("side_by_side_s", {}).items()]
    chapters_total = ci.get("chapters_total_s")
    if chapters_total is not None:
        of_which.append({"step": "of which: executing the chapters", "time": fmt_seconds(chapters_total),
                         "share": f"{chapters_total / total:.0%}" if total else "—",
                         "target": f"≤ {fmt_seconds(targets['chapters'])}" if "chapters" in targets else ""})
    anchor = STEPS[0][0] if STEPS[0][0] in ci["steps_s"] else None   # the side-by-side step
    rows = []
    for name, s in steps:
        rows.append({"step": name, "time": fmt_seconds(s), "share": f"{s / total:.0%}" if total else "—",
                     "target": ""})
        if name == anchor:
            rows.extend(of_which)
    if anchor is None:
        rows.extend(of_which)
    rows.append({"step": f"total ({ci['command']})", "time": fmt_seconds(total), "share": "100%",
                 "target": f"≤ {fmt_seconds(targets['total'])}" if "total" in targets else ""})
    return pd.DataFrame(rows).set_index("step")
