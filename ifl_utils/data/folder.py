"""Join the behaviour streams of one folder into one row per WebGazer callback.

A folder ``user_behavior/<worker>/<task_id>/`` holds the streams of one conversation:
``abs_gaze``, ``abs_mouse`` and the pane-relative ``rel_*`` streams (4 in pairwise folders, 2 in
pointwise ones). Every callback writes one row to each stream, but the streams cannot be joined by
row number (12 callbacks lack rel rows, §3 #8) nor by ``epoch`` (read separately per stream,
§3 #12). The join key is ``(page_time, occurrence index of that page_time in the file)`` (data
reference §1.5); the occurrence index separates callbacks that repeat ``page_time`` while the tab
is hidden (§3 #11).

``abs_mouse`` is the spine: one callback per ``abs_mouse`` row. Pairwise ``abs_gaze`` holds every
batch twice (§3 #7) and is de-duplicated first; then it joins 1 : 1. Every rel row must find its
callback; anything else is unknown corruption and raises :class:`~ifl_utils.errors.IFLDataError`.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import IFLDataError
from . import parse as _parse
from .parse import parse_columns
from .schema import (CALLBACKS, MODALITIES, PAIRWISE_STREAMS, PANES, POINTWISE_STREAMS,
                     REL_STREAM_PANE, expand)

#: Every key of the Counters of :func:`assemble_callbacks` and :func:`parse_folder` (which also
#: holds the :func:`~ifl_utils.data.parse.parse_stream` keys) -> (defect # of the data reference
#: §3 or None, description). Keys meaning the same thing are the same in both modules.
DEFECT_KEYS: dict[str, tuple[int | None, str]] = {
    **_parse.DEFECT_KEYS,
    "folders": (None, "behaviour folders assembled"),
    "folders_pairwise": (None, "pairwise folders (6-file set)"),
    "folders_pointwise": (None, "pointwise folders (4-file set)"),
    "folders_7col": (4, "folders whose rel files are in the 7-column format"),
    "folders_6col": (4, "folders whose rel files are in the 6-column format"),
    "callbacks": (None, "callbacks (= abs_mouse rows = de-duplicated abs_gaze rows)"),
    "callbacks_pairwise": (None, "callbacks of pairwise folders"),
    "callbacks_pointwise": (None, "callbacks of pointwise folders"),
    "rel_rows": (None, "rel rows joined to a callback (all rel streams)"),
    "abs_gaze_duplicates": (7, "pairwise abs_gaze rows dropped as exact duplicates"),
    "callbacks_without_rel": (8, "callbacks missing from every rel stream (has_rel False)"),
    "folders_without_rel": (8, "folders with at least one callback missing from the rel streams"),
    "backward_steps": (9, "backward epoch steps in abs_mouse file order (out-of-order batches)"),
    "folders_backward_steps": (9, "folders with at least one backward epoch step"),
    "repeated_page_time": (11, "callbacks whose page_time repeats an earlier one (occ > 0)"),
    "folders_repeated_page_time": (11, "folders with a repeated page_time"),
    "rel_epoch_mismatch": (12, "rel rows whose epoch differs from abs_mouse's by more than 1 ms"),
    "gaze_x_offscreen": (26, "callbacks with gaze x < 0"),
    "gaze_y_offscreen": (26, "callbacks with gaze y < 0"),
    "mouse_before_move": (27, "callbacks with abs_mouse (-1, -1): no mouse move yet (NaN)"),
    "valid_zero": (28, "callbacks with valid == 0 (face box not green)"),
    "valid_absent": (28, "callbacks with rel rows but no valid flag (6-column format)"),
}

#: Columns of the callback table, in order, with their dtypes.
CALLBACK_COLUMNS = expand(CALLBACKS)

_MODES = {"pairwise": PAIRWISE_STREAMS, "pointwise": POINTWISE_STREAMS}


class Masked(NamedTuple):
    """A nullable integer column as plain arrays: ``values`` and ``mask`` (True = missing)."""

    values: np.ndarray
    mask: np.ndarray


def callbacks_frame(cols: dict) -> pd.DataFrame:
    """The columns of :func:`assemble_columns` as a frame of the :data:`CALLBACKS` schema."""
    data = {}
    for c in CALLBACK_COLUMNS:
        v = cols[c.name]
        if isinstance(v, Masked):
            v = pd.arrays.IntegerArray(v.values, v.mask)
        elif isinstance(v, (pa.Array, pa.ChunkedArray)):
            v = pd.arrays.ArrowStringArray(v)
        data[c.name] = v
    return pd.DataFrame(data, copy=False)


def callbacks_arrow(cols: dict, names: list[str]) -> pa.Table:
    """The columns ``names`` of :func:`assemble_columns` as an Arrow table, built without pandas.

    Types are those ``pyarrow.Table.from_pandas(callbacks_frame(cols))`` gives (windows as
    ``large_string``), so both paths write the same Parquet.
    """
    arrays = []
    for name in names:
        v = cols[name]
        if isinstance(v, Masked):
            arrays.append(pa.array(v.values, mask=v.mask))
        elif isinstance(v, (pa.Array, pa.ChunkedArray)):
            arrays.append(v.cast(pa.large_string()))
        else:
            # NaN -> null, as from_pandas does: the cache stores missing floats as nulls
            arrays.append(pa.array(v, from_pandas=True))
    return pa.Table.from_arrays(arrays, names=list(names))


def empty_callbacks() -> pd.DataFrame:
    """Return an empty callback table with exactly the :data:`CALLBACKS` columns and dtypes."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in CALLBACK_COLUMNS})


def _mode_of(names, path: str, suffix: str = "") -> str:
    """'pairwise' or 'pointwise' from a set of stream names (file names with ``suffix``)."""
    found = set(names)
    for mode, streams in _MODES.items():
        if found == {s + suffix for s in streams}:
            return mode
    raise IFLDataError(f"unexpected set of behaviour files {sorted(names)}; expected the pairwise "
                       f"set {sorted(s + suffix for s in PAIRWISE_STREAMS)} or the pointwise set "
                       f"{sorted(s + suffix for s in POINTWISE_STREAMS)}", path)


def _occurrence(pt: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Occurrence index of every value of ``pt`` among the earlier rows (file order).

    Returns ``(occ, order)``, ``order`` sorting the rows by (page_time, occ), or None when
    ``pt`` is strictly increasing already (most files: the fast path skips the sort).
    """
    n = len(pt)
    if n < 2 or bool((pt[1:] > pt[:-1]).all()):
        return np.zeros(n, dtype=np.int32), None
    order = np.argsort(pt, kind="stable")   # stable: equal values keep file order = occ order
    s = pt[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    occ = np.empty(n, dtype=np.int32)
    occ[order] = np.arange(n) - start
    return occ, order


class _Spine:
    """The abs_mouse keys, sorted for look-ups by (page_time, occurrence)."""

    def __init__(self, pt: np.ndarray):
        self.occ, self.order = _occurrence(pt)
        self.sorted_pt = pt if self.order is None else pt[self.order]
        self.n = len(pt)

    def match(self, pt: np.ndarray) -> np.ndarray:
        """abs_mouse row of every row with page times ``pt`` (file order), or -1 if none."""
        occ, _ = _occurrence(pt)
        pos = np.searchsorted(self.sorted_pt, pt, side="left") + occ
        ok = pos < self.n
        pos = np.where(ok, pos, 0)
        if self.n:
            ok &= self.sorted_pt[pos] == pt
        idx = pos if self.order is None else self.order[pos]
        return np.where(ok, idx, -1)


def _no_join(rows: dict, miss: np.ndarray, file: str, what: str) -> IFLDataError:
    i = int(np.flatnonzero(miss)[0])
    return IFLDataError(f"row (page_time {float(rows['page_time'][i])!r}) {what}; every row must "
                        "match one abs_mouse callback on (page_time, occurrence)",
                        file, int(rows["line"][i]))


def _columns(rows: pd.DataFrame) -> dict:
    """The columns of a parsed stream frame as the arrays the assembly works on."""
    cols = {c: rows[c].to_numpy() for c in ("x", "y", "page_time", "epoch", "line")}
    if "window" in rows.columns:
        cols["window"] = pa.array(rows["window"].array, type=pa.string())
        cols["char_idx"] = pd.array(rows["char_idx"], dtype="Int32")
        cols["valid"] = pd.array(rows["valid"], dtype="Int8")
    return cols


def assemble_callbacks(streams: dict[str, pd.DataFrame], path: str) -> tuple[pd.DataFrame, Counter]:
    """Join the parsed streams of one folder into one row per callback.

    Parameters
    ----------
    streams
        Stream name (file stem) -> rows as returned by
        :func:`~ifl_utils.data.parse.parse_stream`. The key set decides the mode: the 6 pairwise
        or the 4 pointwise streams.
    path
        The folder (relative to the dataset root) for error messages.

    Returns
    -------
    callbacks : pandas.DataFrame
        Exactly the columns and dtypes of ``expand(CALLBACKS)``, one row per ``abs_mouse`` row,
        sorted by (``epoch``, ``file_row``). Mouse ``(-1, -1)`` is NaN; pane-2 columns are NA in
        pointwise folders; rel columns are NA where ``has_rel`` is False.
    counts : collections.Counter
        Folder, callback and repair counts; keys in :data:`DEFECT_KEYS`.

    Raises
    ------
    IFLDataError
        Wrong stream set; an ``abs_gaze`` or rel row that joins no ``abs_mouse`` callback; a
        callback without ``abs_gaze``; a callback present in some rel streams but not all; rel
        files mixing the 6- and 7-column formats.
    """
    _mode_of(streams, path)
    cols, counts = assemble_columns({s: _columns(rows) for s, rows in streams.items()}, path)
    return callbacks_frame(cols), counts


def _duplicate_rows(cols: dict, keys: tuple[str, ...]) -> np.ndarray:
    """True for every row equal on ``keys`` to an earlier row (``DataFrame.duplicated``).

    A stable lexsort puts equal rows next to each other in file order, so every row equal to
    its predecessor in that order repeats an earlier one. Values are finite (the parser rejects
    NaN), so ``==`` is exact equality.
    """
    n = len(cols[keys[0]])
    if n < 2:
        return np.zeros(n, dtype=bool)
    order = np.lexsort([cols[k] for k in reversed(keys)])
    same = np.ones(n - 1, dtype=bool)
    for k in keys:
        v = cols[k][order]
        same &= v[1:] == v[:-1]
    dup = np.zeros(n, dtype=bool)
    dup[order[1:][same]] = True
    return dup


def assemble_columns(streams: dict[str, dict], path: str) -> tuple[dict, Counter]:
    """:func:`assemble_callbacks` on the column dicts of :func:`~.parse.parse_columns`.

    Returns the columns as plain arrays (NumPy, :class:`Masked`, Arrow strings; see
    :func:`callbacks_frame` and :func:`callbacks_arrow`) so the cache build never makes a
    DataFrame.
    """
    mode = _mode_of(streams, path)
    counts: Counter = Counter({"folders": 1, f"folders_{mode}": 1})
    mouse = streams["abs_mouse"]
    n = len(mouse["line"])
    counts["callbacks"] += n
    counts[f"callbacks_{mode}"] += n
    m_pt = mouse["page_time"]
    m_ep = mouse["epoch"]
    spine = _Spine(m_pt)

    # §3 #9: batches out of order -> output sorted by epoch; count the backward steps
    back = int((m_ep[1:] < m_ep[:-1]).sum())
    counts["backward_steps"] += back
    counts["folders_backward_steps"] += int(back > 0)
    # §3 #11: page_time repeats while the tab is hidden -> occurrence index in the join key
    rep = int((spine.occ > 0).sum())
    counts["repeated_page_time"] += rep
    counts["folders_repeated_page_time"] += int(rep > 0)

    order = np.argsort(m_ep, kind="stable") if back else np.arange(n)   # by (epoch, file_row)
    pos = np.empty(n, dtype=np.int64)          # abs_mouse row -> output row
    pos[order] = np.arange(n)

    # abs_gaze: pairwise holds every batch twice (§3 #7); then it must join 1 : 1
    gaze = streams["abs_gaze"]
    if mode == "pairwise":
        dup = _duplicate_rows(gaze, ("x", "y", "page_time", "epoch"))
        counts["abs_gaze_duplicates"] += int(dup.sum())
        if dup.any():
            gaze = {k: v[~dup] for k, v in gaze.items()}
    g_idx = spine.match(gaze["page_time"])
    if (g_idx < 0).any():
        raise _no_join(gaze, g_idx < 0, f"{path}/abs_gaze.csv", "has no abs_mouse callback")
    if len(g_idx) != n:
        has = np.zeros(n, dtype=bool)
        has[g_idx] = True
        raise _no_join(mouse, ~has, f"{path}/abs_mouse.csv", "has no abs_gaze row")
    gaze_x = np.empty(n)
    gaze_y = np.empty(n)
    gaze_x[pos[g_idx]] = gaze["x"]
    gaze_y[pos[g_idx]] = gaze["y"]
    counts["gaze_x_offscreen"] += int((gaze_x < 0).sum())     # §3 #26: kept as is
    counts["gaze_y_offscreen"] += int((gaze_y < 0).sum())

    mx = mouse["x"][order]
    my = mouse["y"][order]
    before = (mx == -1) & (my == -1)                           # §3 #27
    counts["mouse_before_move"] += int(before.sum())

    out: dict[str, object] = {
        "page_time": m_pt[order], "occ": spine.occ[order], "epoch": m_ep[order],
        "file_row": order.astype(np.int32), "gaze_x": gaze_x, "gaze_y": gaze_y,
        "mouse_x": np.where(before, np.nan, mx), "mouse_y": np.where(before, np.nan, my),
    }
    ep_sorted = out["epoch"]

    # rel streams
    rel_names = [s for s in _MODES[mode] if s.startswith("rel_")]
    present: dict[str, np.ndarray] = {}
    formats: dict[str, bool] = {}              # stream -> has valid (7-column format)
    cols: dict[str, object] = {}
    valid = Masked(np.zeros(n, dtype=np.int8), np.ones(n, dtype=bool))
    for s in rel_names:
        rel = streams[s]
        modality, pane = REL_STREAM_PANE[s]
        pre = f"{modality}{pane}"
        idx = spine.match(rel["page_time"])
        if (idx < 0).any():
            raise _no_join(rel, idx < 0, f"{path}/{s}.csv", "joins no abs_mouse callback")
        dest = pos[idx]
        here = np.zeros(n, dtype=bool)
        here[dest] = True
        present[s] = here
        n_rel = len(idx)
        counts["rel_rows"] += n_rel
        r_ep = rel["epoch"]
        counts["rel_epoch_mismatch"] += int((np.abs(r_ep - ep_sorted[dest]) > 1).sum())  # §3 #12
        if n_rel:
            formats[s] = not bool(rel["valid"].isna().any())

        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        x[dest] = rel["x"]
        y[dest] = rel["y"]
        ci = rel["char_idx"]
        c_val = np.zeros(n, dtype=np.int32)
        c_na = np.ones(n, dtype=bool)
        c_val[dest] = ci.to_numpy(dtype=np.int32, na_value=0)
        c_na[dest] = ci.isna()
        src = np.full(n, -1, dtype=np.int64)
        src[dest] = np.arange(n_rel)
        win = rel["window"].take(pa.array(src, mask=src < 0))
        e_val = np.zeros(n, dtype=np.int64)
        e_val[dest] = r_ep
        cols[f"{pre}_x"] = x
        cols[f"{pre}_y"] = y
        cols[f"{pre}_char"] = Masked(c_val, c_na)
        cols[f"{pre}_window"] = win
        cols[f"{pre}_epoch"] = Masked(e_val, ~here)
        if pane == 1 and modality == "gaze":
            v = rel["valid"]
            v_val = np.zeros(n, dtype=np.int8)
            v_na = np.ones(n, dtype=bool)
            v_val[dest] = v.to_numpy(dtype=np.int8, na_value=0)
            v_na[dest] = v.isna()
            valid = Masked(v_val, v_na)

    # §3 #8: callbacks missing from the rel streams must be missing from all of them
    first = rel_names[0]
    for s in rel_names[1:]:
        if not np.array_equal(present[s], present[first]):
            i = int(order[np.flatnonzero(present[s] != present[first])[0]])
            a, b = (s, first) if present[s][pos[i]] else (first, s)
            raise IFLDataError(f"callback (page_time {float(m_pt[i])!r}) is in {a} but not in {b}; "
                               "expected in all rel streams or in none",
                               f"{path}/abs_mouse.csv", int(mouse["line"][i]))
    has_rel = present[first]
    missing = int((~has_rel).sum())
    counts["callbacks_without_rel"] += missing
    counts["folders_without_rel"] += int(missing > 0)

    # §3 #4: one row format per folder
    fmts = set(formats.values())
    if len(fmts) > 1:
        raise IFLDataError(f"rel files mix the 7-column and 6-column formats: "
                           f"{sorted(s for s, f in formats.items() if f)} have valid, "
                           f"{sorted(s for s, f in formats.items() if not f)} do not", path)
    if fmts:
        counts["folders_7col" if fmts.pop() else "folders_6col"] += 1

    out["valid"] = valid
    out["has_rel"] = has_rel
    counts["valid_zero"] += int(((valid.values == 0) & ~valid.mask).sum())   # §3 #28
    counts["valid_absent"] += int((valid.mask & has_rel).sum())
    for m in MODALITIES:
        for p in PANES:
            pre = f"{m}{p}"
            if f"{pre}_x" in cols:
                for k in ("x", "y", "char", "window", "epoch"):
                    out[f"{pre}_{k}"] = cols[f"{pre}_{k}"]
            else:                                                # pane 2 of a pointwise folder
                out[f"{pre}_x"] = np.full(n, np.nan)
                out[f"{pre}_y"] = np.full(n, np.nan)
                out[f"{pre}_char"] = Masked(np.zeros(n, dtype=np.int32), np.ones(n, dtype=bool))
                out[f"{pre}_window"] = pa.nulls(n, pa.string())
                out[f"{pre}_epoch"] = Masked(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    return out, counts


def parse_folder(folder: Path, relpath: str) -> tuple[pd.DataFrame, Counter, str]:
    """Read, parse and assemble one behaviour folder.

    A top-level function of plain arguments, so it can run in a process pool.

    Parameters
    ----------
    folder
        The folder ``user_behavior/<worker>/<task_id>/`` on disk.
    relpath
        The same folder relative to the dataset root, used in error messages.

    Returns
    -------
    callbacks : pandas.DataFrame
        One row per callback (see :func:`assemble_callbacks`).
    counts : collections.Counter
        The parser's and the assembly's counts summed; keys in :data:`DEFECT_KEYS`.
    mode : str
        ``'pairwise'`` (6 files) or ``'pointwise'`` (4 files).

    Raises
    ------
    IFLDataError
        A file set other than the pairwise or pointwise one (naming the files found), or any
        error of :func:`~ifl_utils.data.parse.parse_stream` / :func:`assemble_callbacks`.
    """
    cols, counts, mode = parse_folder_columns(folder, relpath)
    return callbacks_frame(cols), counts, mode


def parse_folder_columns(folder: Path, relpath: str) -> tuple[dict, Counter, str]:
    """:func:`parse_folder` returning the columns of :func:`assemble_columns` (no DataFrame)."""
    folder = Path(folder)
    from .junk import listdir_clean

    mode = _mode_of([p.name for p in listdir_clean(folder)], relpath, suffix=".csv")
    counts: Counter = Counter()
    streams = {}
    for s in _MODES[mode]:
        try:
            data = (folder / f"{s}.csv").read_bytes()
        except OSError as err:
            raise IFLDataError(f"cannot read the file ({err.strerror}); expected a readable "
                               "behaviour file", f"{relpath}/{s}.csv") from None
        if not data:
            raise IFLDataError("empty file (0 bytes); expected one line per tracker callback",
                               f"{relpath}/{s}.csv")
        cols, c = parse_columns(data, s, f"{relpath}/{s}.csv")
        streams[s] = cols
        counts.update(c)
    cols, c = assemble_columns(streams, relpath)
    counts.update(c)
    return cols, counts, mode
