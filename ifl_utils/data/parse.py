"""Vectorised parser of one IFLLM behaviour file (``user_behavior/<worker>/<task>/<stream>.csv``).

The behaviour files are not CSV (data reference §1.5, §3): no header, every line written as
``','.join(values)`` with no escaping, so the free-text ``window`` field of the ``rel_*`` streams
may hold commas and quotes (§3 #2, #3), may lack its enclosing quotes (#5), and three files went
through a CSV writer once (#6). Rows are cut by *positions of delimiters*, never by a quote-aware
reader: numeric fields are fixed in number and contain neither ``,`` nor ``"``, so a ``rel`` line is
2 fields from the left, 4 (7-column format) or 3 (6-column format) from the right, and the window is
whatever lies between.

Speed: the whole release (10.6 M lines, ~500 MB) has to parse in a few seconds, so nothing loops
over lines in Python. Delimiter positions come from NumPy on the raw bytes; the numeric fields of a
file are gathered into one Arrow string array (offsets into the original buffer, no copy of the
file) and converted by one Arrow cast; the windows become an Arrow string array the same way.
Only when validation fails is the offending line located (bisection), so the error path may be
slow but the normal path never is.

Everything unexpected raises :class:`~ifl_utils.errors.IFLDataError` with the file, the 1-based
line and what was expected; no line is ever skipped.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import IFLDataError
from .schema import ABS_STREAMS, REL_STREAMS

_COMMA, _LF, _QUOTE = 0x2C, 0x0A, 0x22
_ZERO, _ONE = 0x30, 0x31

#: A file is taken as CSV-re-escaped (§3 #6) when at least this many windows hold ``""`` inside
#: their quotes. The three affected files have 182-198 such windows; no other file has more than 1.
CSV_REWRITE_MIN = 10

#: Largest exactly representable integer of a float64; epochs and offsets must stay below it.
_F64_INT_MAX = 2.0 ** 53

#: Every key :func:`parse_stream` puts in its Counter -> (defect # of the data reference §3 or
#: None, description). Per-stream keys exist for every stream name of the schema.
DEFECT_KEYS: dict[str, tuple[int | None, str]] = {
    "files": (None, "behaviour files parsed"),
    "lines": (None, "lines (rows) parsed, all streams"),
    "empty_files": (None, "files with no line at all (parsed to an empty table)"),
    **{f"files_{s}": (None, f"{s} files parsed") for s in ABS_STREAMS + REL_STREAMS},
    **{f"lines_{s}": (None, f"{s} lines (raw rows) parsed") for s in ABS_STREAMS + REL_STREAMS},
    "rel_files_7col": (4, "rel files in the 7-column format (with valid)"),
    "rel_files_6col": (4, "rel files in the 6-column format (no valid column)"),
    "rel_windows": (None, "rel lines with a non-empty window field"),
    "window_quote": (2, "rel lines whose window (enclosing quotes removed) contains a '\"'"),
    "window_comma": (2, "rel lines whose window contains a ','"),
    "window_quote_end": (3, "rel lines whose window text ends in '\"' (field reads '...\"\"')"),
    "window_unquoted": (5, "rel lines whose non-empty window lacks enclosing '\"' (kept as is)"),
    "csv_rewritten_files": (6, "rel files passed through a CSV writer (window '\"\"' -> '\"')"),
    "csv_doubled_quotes": (6, "windows with '\"\"' inside their quotes in those files"),
    "csv_trailing_quote": (6, "lines of those files with a stray '\"' after the epoch (dropped)"),
}


# --------------------------------------------------------------------------------------------
# empty tables of the schemas
# --------------------------------------------------------------------------------------------

def _empty_columns(stream: str) -> dict:
    """The columns of :func:`parse_columns` for a file without lines."""
    f8, i4 = np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int32)
    cols = {"x": f8, "y": f8.copy(), "page_time": f8.copy(), "epoch": np.empty(0, dtype=np.int64),
            "line": i4}
    if stream in ABS_STREAMS:
        return cols
    none = np.empty(0, dtype=bool)
    return {"x": cols["x"], "y": cols["y"], "window": pa.array([], type=pa.string()),
            "char_idx": pd.arrays.IntegerArray(i4.copy(), none),
            "page_time": cols["page_time"],
            "valid": pd.arrays.IntegerArray(np.empty(0, dtype=np.int8), none.copy()),
            "epoch": cols["epoch"], "line": i4.copy()}


def empty_rows(stream: str) -> pd.DataFrame:
    """Return an empty table of the schema of ``stream`` (:data:`ABS_ROWS` or :data:`REL_ROWS`)."""
    return rows_frame(_empty_columns(stream))


# --------------------------------------------------------------------------------------------
# byte-level checks and tokenisation
# --------------------------------------------------------------------------------------------

def _line_of(data: bytes, pos: int) -> int:
    """1-based line number of byte offset ``pos``."""
    return data.count(b"\n", 0, pos) + 1


def _check_bytes(data: bytes, path: str) -> None:
    """Reject encodings and line ends the writer never produced (§1.1: UTF-8, LF, final LF)."""
    cr = data.find(b"\r")
    if cr >= 0:
        raise IFLDataError("carriage return (CR) found; behaviour files have LF line ends only",
                           path, _line_of(data, cr))
    # isascii() is a fast C scan; only files with non-ASCII bytes (text windows) are decoded.
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise IFLDataError(f"invalid UTF-8 ({e.reason}) at byte {e.start} of the file; "
                               "expected UTF-8 text", path, _line_of(data, e.start)) from None
    if not data.endswith(b"\n"):
        # The server appends whole lines; a missing final LF means a cut (truncated) file.
        raise IFLDataError("last line does not end with a line feed (truncated file?)",
                           path, data.count(b"\n") + 1)


def _tokenise(data: bytes):
    """Positions of the delimiters (``,`` and LF) of ``data``.

    Returns
    -------
    arr : numpy.ndarray of uint8
        The bytes (a view, no copy).
    dpad : numpy.ndarray of int64
        ``[-1, d0, d1, ...]``: delimiter positions with a sentinel in front, so that token ``j``
        (the bytes before delimiter ``j``) spans ``[dpad[j] + 1, dpad[j + 1])``.
    nl : numpy.ndarray of int64
        Index into the delimiters (= token index of the last field) of every line end.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    isd = arr == _COMMA
    isd |= arr == _LF
    delim = np.flatnonzero(isd)
    nl = np.flatnonzero(arr[delim] == _LF)
    dpad = np.empty(len(delim) + 1, dtype=np.int64)
    dpad[0] = -1
    dpad[1:] = delim
    return arr, dpad, nl


def _gather(buf: pa.Buffer, starts: np.ndarray, ends: np.ndarray, null: np.ndarray | None = None
            ) -> pa.Array:
    """Arrow string array of the byte ranges ``[starts, ends)`` of ``buf`` (ranges in order).

    The ranges and the gaps between them form one contiguous Arrow array over the original buffer
    (no copy); taking every second element then copies just the wanted bytes. ``null`` marks
    elements that become null.
    """
    m = len(starts)
    offsets = np.empty(2 * m + 2, dtype=np.int32)
    offsets[0] = 0
    offsets[1:-1:2] = starts
    offsets[2:-1:2] = ends
    offsets[-1] = buf.size
    whole = pa.StringArray.from_buffers(2 * m + 1, pa.py_buffer(offsets), buf)
    idx = np.arange(1, 2 * m, 2, dtype=np.int32)
    return whole.take(pa.array(idx, mask=null) if null is not None and null.any() else idx)


def _bad_token(tokens: pa.Array, typ: pa.DataType) -> int:
    """Index of the first element of ``tokens`` that Arrow cannot cast to ``typ`` (bisection)."""
    lo, hi = 0, len(tokens)
    while hi - lo > 1:  # invariant: the cast fails somewhere in [lo, hi)
        mid = (lo + hi) // 2
        try:
            pc.cast(tokens.slice(lo, mid - lo), typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
        else:
            lo = mid
    return lo


def _to_float(tokens: pa.Array, names: tuple[str, ...], path: str,
              null: np.ndarray | None = None) -> np.ndarray:
    """Cast line-major numeric tokens to a ``(lines, len(names))`` float64 matrix.

    Nulls (empty optional fields) become NaN. Non-numeric tokens and non-finite values (Arrow
    accepts ``nan``/``inf``, the writer never produces them) raise with the line and field.
    """
    k = len(names)
    try:
        vals = pc.cast(tokens, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        i = _bad_token(tokens, pa.float64())
        raise IFLDataError(f"field {names[i % k]!r} is {tokens[i].as_py()!r}; expected a number",
                           path, i // k + 1) from None
    vals = vals.reshape(-1, k)
    bad = ~np.isfinite(vals)
    if null is not None:
        bad &= ~null.reshape(-1, k)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise IFLDataError(f"field {names[i % k]!r} is {tokens[i].as_py()!r}; expected a finite "
                           "number", path, i // k + 1)
    return vals


def _as_int(vals: np.ndarray, name: str, path: str, lo: float, hi: float, dtype) -> np.ndarray:
    """Check that the non-NaN ``vals`` are integers in ``[lo, hi)`` and convert them."""
    ok = np.isnan(vals) | ((vals == np.floor(vals)) & (vals >= lo) & (vals < hi))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise IFLDataError(f"field {name!r} is {vals[i]!r}; expected an integer in "
                           f"[{lo:g}, {hi:g})", path, i + 1)
    return np.nan_to_num(vals, nan=0).astype(dtype)


def _fields_error(ncom: np.ndarray, bad: np.ndarray, expected: str, path: str):
    i = int(np.flatnonzero(bad)[0])
    return IFLDataError(f"line has {int(ncom[i]) + 1} comma-separated fields; expected {expected}",
                        path, i + 1)


# --------------------------------------------------------------------------------------------
# abs_* files: x, y, page_time, epoch
# --------------------------------------------------------------------------------------------

_ABS_NAMES = ("x", "y", "page_time", "epoch")


def _parse_abs(data: bytes, path: str) -> dict:
    """Columns of an ``abs_*`` file: exactly 4 numeric fields per line."""
    arr, dpad, nl = _tokenise(data)
    n = len(nl)
    ncom = np.diff(nl, prepend=-1) - 1
    if (ncom != 3).any():
        raise _fields_error(ncom, ncom != 3, "4 (x, y, page_time, epoch)", path)
    # every token is numeric and lines are regular (4 tokens), so the tokens are gathered in order
    tok = np.arange(4 * n)
    tokens = _gather(pa.py_buffer(data), dpad[tok] + 1, dpad[tok + 1])
    vals = _to_float(tokens, _ABS_NAMES, path)
    epoch = _as_int(vals[:, 3], "epoch", path, 0, _F64_INT_MAX, np.int64)
    return {"x": vals[:, 0].copy(), "y": vals[:, 1].copy(), "page_time": vals[:, 2].copy(),
            "epoch": epoch, "line": np.arange(1, n + 1, dtype=np.int32)}


# --------------------------------------------------------------------------------------------
# rel_* files: x, y, window, char_idx, page_time[, valid], epoch
# --------------------------------------------------------------------------------------------

_REL7 = ("x", "y", "char_idx", "page_time", "valid", "epoch")
_REL6 = ("x", "y", "char_idx", "page_time", "epoch")


def _n_true(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)


def _parse_rel(data: bytes, path: str, counts: Counter, repaired: bool = False) -> dict:
    """Columns of a ``rel_*`` file; ``repaired`` is the second pass over a CSV-rewritten file."""
    arr, dpad, nl = _tokenise(data)
    n = len(nl)
    ncom = np.diff(nl, prepend=-1) - 1
    if (ncom < 5).any():
        raise _fields_error(ncom, ncom < 5, "at least 6 (x, y, window, char_idx, page_time, "
                            "[valid,] epoch)", path)

    # §3 #4: the 7-column format has valid (0/1) as 2nd-to-last field on every line.
    s2, e2 = dpad[nl - 1] + 1, dpad[nl]
    b2 = arr[np.minimum(s2, len(arr) - 1)]
    is01 = (e2 - s2 == 1) & ((b2 == _ZERO) | (b2 == _ONE))
    seven = bool(is01.all())
    if not seven and is01.any():
        i = int(np.flatnonzero(is01 != is01[0])[0])
        fmt = ("7-column (2nd-to-last field 0/1)", "6-column") if is01[0] else \
              ("6-column", "7-column (2nd-to-last field 0/1)")
        raise IFLDataError(f"mixed row formats: line 1 is {fmt[0]}, this line is {fmt[1]} "
                           "(or a truncated line)", path, i + 1)
    if seven and (ncom < 6).any():
        raise _fields_error(ncom, ncom < 6, "7 (x, y, window, char_idx, page_time, valid, epoch) "
                            "as the file is in the 7-column format", path)
    k = 4 if seven else 3            # fields right of the window
    names = _REL7 if seven else _REL6

    # window = bytes between the 2nd comma and the comma before char_idx (§3 #2)
    prev = np.empty(n, dtype=np.int64)
    prev[0] = -1
    prev[1:] = nl[:-1]
    ws, we = dpad[prev + 3] + 1, dpad[nl - k + 1]
    wl = we - ws
    last = len(arr) - 1
    quoted = (wl >= 2) & (arr[np.minimum(ws, last)] == _QUOTE) & (arr[we - 1] == _QUOTE)
    empty = wl == 0
    buf = pa.py_buffer(data)
    win = _gather(buf, ws + quoted, we - quoted, null=empty)

    if repaired:
        # §3 #6: undo the writer's quote doubling inside the window text only. Doing it on the
        # whole line would turn the legitimate empty window '""' into '"'.
        win = pc.replace_substring(win, '""', '"')
    else:
        # window counts on the raw text; commas beyond the 2 + k fixed ones are the window's
        counts["rel_windows"] += int((~empty).sum())
        counts["window_unquoted"] += int((~empty & ~quoted).sum())        # §3 #5: kept as is
        counts["window_comma"] += int((ncom > 2 + k).sum())               # §3 #2
        counts["window_quote"] += _n_true(pc.match_substring(win, '"'))  # §3 #2
        ce = we - quoted
        counts["window_quote_end"] += int(((ce > ws + quoted) & (arr[ce - 1] == _QUOTE)).sum())
        doubled = _n_true(pc.match_substring(win, '""'))
        if doubled >= CSV_REWRITE_MIN:
            # §3 #6: the file went through a CSV writer: drop the stray quote after the epoch and
            # parse again, un-doubling the quotes of the windows. Window counts stay those of the
            # raw file. The text stays approximate: the round trip displaced some quotes.
            counts["csv_rewritten_files"] += 1
            counts["csv_doubled_quotes"] += doubled
            counts["csv_trailing_quote"] += data.count(b'"\n')
            return _parse_rel(data.replace(b'"\n', b"\n"), path, counts, repaired=True)

    # numeric fields, line-major: x, y, then the k fields right of the window
    tok = np.empty((n, 2 + k), dtype=np.int64)
    tok[:, 0] = prev + 1
    tok[:, 1] = prev + 2
    for j in range(k):
        tok[:, 2 + j] = nl - k + 1 + j
    tok = tok.ravel()
    starts, ends = dpad[tok] + 1, dpad[tok + 1]
    char_empty = (ends - starts).reshape(n, 2 + k)[:, 2] == 0
    if (char_empty != empty).any():
        i = int(np.flatnonzero(char_empty != empty)[0])
        raise IFLDataError("char_idx is empty exactly when the window is empty; here one is empty "
                           "and the other is not", path, i + 1)
    null = np.zeros((n, 2 + k), dtype=bool)
    null[:, 2] = char_empty
    null = null.ravel()
    vals = _to_float(_gather(buf, starts, ends, null=null), names, path, null)

    x, y = vals[:, 0], vals[:, 1]
    out = (x == -1) & (y == -1)
    bad = ~out & ((x < 0) | (y < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IFLDataError(f"x, y = {float(x[i])!r}, {float(y[i])!r}; expected both -1 (outside the pane) or "
                           "both >= 0", path, i + 1)
    ci = _as_int(vals[:, 2], "char_idx", path, 0, 2.0 ** 31, np.int32)
    epoch = _as_int(vals[:, -1], "epoch", path, 0, _F64_INT_MAX, np.int64)
    if seven:
        valid = pd.arrays.IntegerArray(vals[:, 4].astype(np.int8), np.zeros(n, dtype=bool))
    else:
        valid = pd.arrays.IntegerArray(np.zeros(n, dtype=np.int8), np.ones(n, dtype=bool))
    counts["rel_files_7col" if seven else "rel_files_6col"] += 1
    return {"x": np.where(out, np.nan, x), "y": np.where(out, np.nan, y), "window": win,
            "char_idx": pd.arrays.IntegerArray(ci, char_empty), "page_time": vals[:, 3].copy(),
            "valid": valid, "epoch": epoch, "line": np.arange(1, n + 1, dtype=np.int32)}


# --------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------

def parse_stream(data: bytes, stream: str, path: str) -> tuple[pd.DataFrame, Counter]:
    """Parse the bytes of one behaviour file.

    Parameters
    ----------
    data
        The file's raw bytes.
    stream
        The file stem: one of :data:`~ifl_utils.data.schema.ABS_STREAMS` or
        :data:`~ifl_utils.data.schema.REL_STREAMS`.
    path
        Name of the file for error messages (relative to the dataset root where possible).

    Returns
    -------
    rows : pandas.DataFrame
        One row per line in file order, with exactly the columns and dtypes of
        :data:`~ifl_utils.data.schema.ABS_ROWS` (``abs_*``) or
        :data:`~ifl_utils.data.schema.REL_ROWS` (``rel_*``). In rel rows, ``(-1, -1)`` becomes
        NaN, the window loses one enclosing pair of quotes (NA when the field is empty, ``""``
        becomes the empty string), ``char_idx`` is NA when empty, ``valid`` NA in 6-column files.
    counts : collections.Counter
        Files, lines and every repair applied; keys in :data:`DEFECT_KEYS`.

    Raises
    ------
    IFLDataError
        On anything the repairs of the data reference do not cover: unknown stream, CR line ends,
        invalid UTF-8, missing final line feed, wrong number of fields, non-numeric or
        non-finite numbers, non-integer epochs or offsets, x/y with only one of them -1, a file
        mixing the 6- and 7-column formats, a window without char_idx or vice versa. The error
        names ``path`` and the 1-based line.
    """
    cols, counts = parse_columns(data, stream, path)
    return rows_frame(cols), counts


def rows_frame(cols: dict) -> pd.DataFrame:
    """Wrap the columns of :func:`parse_columns` into a frame of the ABS_ROWS/REL_ROWS schema."""
    if "window" in cols:
        cols = dict(cols, window=pd.arrays.ArrowStringArray(cols["window"]))
    return pd.DataFrame(cols, copy=False)


def parse_columns(data: bytes, stream: str, path: str) -> tuple[dict, Counter]:
    """Like :func:`parse_stream`, but return the columns as a dict of arrays.

    The folder assembly works on these directly: building and taking apart a DataFrame per file
    costs ~0.15 ms, a tenth of the whole parse of the release. Columns as in the schema; ``window``
    is a :class:`pyarrow.StringArray`, ``char_idx``/``valid`` pandas masked integer arrays.
    """
    if stream not in ABS_STREAMS and stream not in REL_STREAMS:
        raise IFLDataError(f"unknown behaviour stream {stream!r}; expected one of "
                           f"{ABS_STREAMS + REL_STREAMS}", path)
    if len(data) >= 2 ** 31:
        # Arrow string offsets are int32; no behaviour file comes near (largest ~2 MB)
        raise IFLDataError(f"file of {len(data)} bytes; expected less than 2 GiB", path)
    counts: Counter = Counter({"files": 1, f"files_{stream}": 1})
    if not data:
        counts["empty_files"] += 1
        return _empty_columns(stream), counts
    _check_bytes(data, path)
    cols = _parse_abs(data, path) if stream in ABS_STREAMS else _parse_rel(data, path, counts)
    n = len(cols["line"])
    counts["lines"] += n
    counts[f"lines_{stream}"] += n
    return cols, counts
