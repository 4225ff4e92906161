"""Time line of a conversation: page sessions, display times of the turns, sample -> turn rule.

Everything here is a pure function of DataFrames in the schemas of :mod:`ifl_utils.data.schema`
(one folder's ``CALLBACKS``) and :func:`ifl_utils.data.tables.read_query_logs` (turns). The
rules are those of ``ifllm-data.md``:

* **page sessions** (§1.7): order callbacks by ``epoch``; a callback continues the session whose
  last ``page_time`` is <= its own + 5 s and whose origin ``epoch - page_time`` is closest,
  otherwise it opens a new session. Origin ``O`` = min(``epoch - page_time``) of the session.
* **display time** ``T_q`` (§2, §3 #13, #14): ``query_timestamp`` read as UTC, in ms; minus 4 h in
  conversations where that brings more turns inside the recording (+-10 min); a timestamp that is
  unparsable or still outside the recording is imputed as the epoch of the first rel sample whose
  window matches that turn's answer and nothing else, minus 1 s.
* **turn rule** (§2): a callback at ``epoch`` e in session s belongs to the turn with the largest
  ``T_q`` such that ``T_q + 1000 <= e``; -1 if there is none or ``T_q + 1000 < O_s`` (the page
  was reloaded after that answer appeared, so the placeholder is on screen).
* **text check** (§2): a window matches a text at ``char_idx`` c iff it is a substring of
  ``text[max(0, c-10):c+10]``, indexed in UTF-16 code units, with the placeholder standing for
  turn -1.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .schema import MODALITIES, PANES

#: Text the panes show before the first answer of a page load (turn -1).
PLACEHOLDER = ("After you type your question, please wait patiently. It might take up to 1 minute "
               "for AI to finish generating their answer. The AI's response will show up here.")
#: The +4 h offset of the shifted conversations (§3 #13).
SHIFT_MS = 4 * 3600 * 1000
#: Margin around a recording within which a display time counts as inside it (§3 #13, #14).
SPAN_MARGIN_MS = 10 * 60 * 1000
#: A turn owns the samples from ``T_q + BOUNDARY_MS`` on (timestamps are truncated to the second).
BOUNDARY_MS = 1000
#: ``page_time`` may step back this much and still continue a page session (§1.7).
SESSION_TOLERANCE_MS = 5000
#: An imputed display time lies this much before the first exclusive text match (§3 #14).
IMPUTE_LEAD_MS = 1000
#: Half-width of the text span searched around ``char_idx`` (the window holds <= 10 each side).
MATCH_HALF_WIDTH = 10

Key = tuple[str, int]


def _floats(values: object) -> np.ndarray:
    """Return ``values`` (Series, nullable array, list) as a writable float64 array, NA -> NaN."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64)        # astype copies: the result is writable
    if isinstance(values, pd.Series) and values.dtype.kind in "fiu":   # numpy or masked numbers
        return values.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    s = pd.to_numeric(pd.Series(values), errors="coerce")
    return s.astype("float64").to_numpy(copy=True)



# --------------------------------------------------------------------------------------------
# page sessions


def page_sessions(callbacks: pd.DataFrame,
                  tolerance_ms: float = SESSION_TOLERANCE_MS) -> tuple[np.ndarray, np.ndarray]:
    """Return the page session of every callback of one folder and each session's origin.

    Parameters
    ----------
    callbacks
        One folder's callbacks with ``epoch`` and ``page_time`` (``file_row``, when present,
        breaks ties of ``epoch``); any row order.
    tolerance_ms
        How far ``page_time`` may step back and still continue a session.

    Returns
    -------
    session : numpy.ndarray of int32
        Session id per row of ``callbacks`` (0, 1, ... in the order the sessions open).
    origin : numpy.ndarray of float64
        Per session id, ``O`` = min(``epoch - page_time``) in ms (about the page-load time).

    Examples
    --------
    >>> cb = pd.DataFrame({"epoch": [100_000, 100_100, 200_000, 200_100],
    ...                    "page_time": [90_000, 90_100, 50, 150]})  # reload at epoch ~199,950
    >>> s, o = page_sessions(cb)
    >>> s.tolist(), o.tolist()
    ([0, 0, 1, 1], [10000.0, 199950.0])
    """
    n = len(callbacks)
    if n == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
    epoch = _floats(callbacks["epoch"])
    pt = _floats(callbacks["page_time"])
    if "file_row" in callbacks:
        order = np.lexsort((callbacks["file_row"].to_numpy(), epoch))
    else:
        order = np.argsort(epoch, kind="stable")
    pts = pt[order]
    orig = epoch[order] - pts
    session = np.empty(n, dtype=np.int32)
    if n == 1 or np.all(np.diff(pts) >= -tolerance_ms):
        # a single page load: every step keeps page_time (within the tolerance)
        session[:] = 0
        return session, np.array([orig.min()])

    sess_sorted = np.empty(n, dtype=np.int32)
    last_pt: list[float] = []
    s_origin: list[float] = []
    for i in range(n):
        p, o = pts[i], orig[i]
        best, best_d = -1, np.inf
        for s in range(len(last_pt)):
            if last_pt[s] <= p + tolerance_ms:
                d = abs(s_origin[s] - o)
                if d < best_d:
                    best, best_d = s, d
        if best < 0:
            best = len(last_pt)
            last_pt.append(p)
            s_origin.append(o)
        else:
            last_pt[best] = p
            s_origin[best] = min(s_origin[best], o)
        sess_sorted[i] = best
    session[order] = sess_sorted
    origin = np.full(len(last_pt), np.inf)
    np.minimum.at(origin, sess_sorted, orig)
    return session, origin


# --------------------------------------------------------------------------------------------
# UTF-16 text matching


def utf16_units(text: str) -> str:
    """Return ``text`` with every character above U+FFFF split into its two UTF-16 surrogates.

    Indexing the result indexes ``text`` in UTF-16 code units, as the browser's ``char_idx`` does.

    >>> len(utf16_units("a\\U0001F600b")), utf16_units("a\\U0001F600b")[3]
    (4, 'b')
    """
    if text.isascii() or max(text, default="\0") <= "\uffff":
        return text
    out = []
    for ch in text:
        c = ord(ch)
        if c > 0xFFFF:
            c -= 0x10000
            out.append(chr(0xD800 + (c >> 10)) + chr(0xDC00 + (c & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out)


def text_match(windows: Sequence[object], chars: Sequence[object] | np.ndarray,
               text: str, half_width: int = MATCH_HALF_WIDTH) -> np.ndarray:
    """Return, per sample, whether its window occurs in ``text`` around its caret offset.

    Window *w* matches at offset *c* iff *w* is a substring of
    ``text[max(0, c - half_width) : c + half_width]``, with ``text`` indexed in UTF-16 code units.

    Parameters
    ----------
    windows
        Text windows (``str``; ``None``/NA for samples without one, which never match).
    chars
        Caret offsets in UTF-16 units (NA/negative for none).
    text
        Candidate text (a response with ``\\r\\n`` removed, or :data:`PLACEHOLDER`).
    half_width
        Characters searched either side of the offset.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> text_match(["lo wo", "xyz", None], [4, 4, 4], "hello world").tolist()
    [True, False, False]
    >>> text_match(["\\U0001F600 b"], [3], "a \\U0001F600 b").tolist()  # emoji = 2 units
    [True]
    """
    ws, cs = _clean_samples(windows, chars)
    t = utf16_units(text)
    h = half_width
    return np.fromiter(
        ((w is not None and c >= 0 and w in t[max(0, c - h):c + h]) for w, c in zip(ws, cs)),
        dtype=bool, count=len(ws))


def _clean_samples(windows: Sequence[object], chars: Sequence[object] | np.ndarray
                   ) -> tuple[list[str | None], list[int]]:
    """Return windows as UTF-16-unit strings (None when absent) and offsets as ints (-1 absent)."""
    w = pd.Series(windows, dtype="string")
    c = pd.to_numeric(pd.Series(chars), errors="coerce")
    absent = (w.isna() | c.isna()).to_numpy()
    ws: list[str | None] = [None if a else utf16_units(x)
                            for x, a in zip(w.fillna("").tolist(), absent)]
    cs = np.where(absent, -1, c.fillna(-1).to_numpy()).astype(np.int64).tolist()
    return ws, cs


def match_matrix(windows: Sequence[object], chars: Sequence[object] | np.ndarray,
                 texts: Sequence[str], half_width: int = MATCH_HALF_WIDTH) -> np.ndarray:
    """Return an (n samples x n texts) boolean matrix of :func:`text_match` results.

    Identical (window, offset) pairs are checked once.
    """
    w = pd.Series(windows, dtype="string")
    c = pd.to_numeric(pd.Series(chars), errors="coerce")
    out = np.zeros((len(w), len(texts)), dtype=bool)
    if not len(w) or not texts:
        return out
    absent = (w.isna() | c.isna()).to_numpy()
    keys = pd.MultiIndex.from_arrays([w.fillna("").to_numpy(dtype=object),
                                      c.fillna(-1).to_numpy(dtype=np.int64)])
    codes, uniq = pd.factorize(keys)
    uw, uc = _clean_samples(uniq.get_level_values(0).tolist(), uniq.get_level_values(1))
    # an absent sample shares its key only with other absent samples or ("", -1): never matches
    uc = [ci if ci >= 0 else -1 for ci in uc]
    h = half_width
    for j, text in enumerate(texts):
        t = utf16_units(text)
        hit = np.fromiter(
            ((a is not None and b >= 0 and a in t[max(0, b - h):b + h]) for a, b in zip(uw, uc)),
            dtype=bool, count=len(uw))
        out[:, j] = hit[codes]
    out[absent] = False
    return out


# --------------------------------------------------------------------------------------------
# turn assignment


def turn_at(times: np.ndarray, session: np.ndarray, origin: np.ndarray,
            display_ms: np.ndarray, query_ids: np.ndarray, *,
            boundary_ms: float = BOUNDARY_MS, reset_at_reload: bool = True) -> np.ndarray:
    """Return the turn shown at each time: the §2 rule on plain arrays.

    Parameters
    ----------
    times
        Epoch (ms) per sample.
    session
        Page session id per sample (index into ``origin``).
    origin
        Session origin ``O`` per session id (ms).
    display_ms
        Display time ``T_q`` per turn of the conversation (NaN for an unknown time: ignored).
    query_ids
        Query id per turn.
    boundary_ms
        A turn owns samples from ``T_q + boundary_ms`` on.
    reset_at_reload
        Give -1 when the owning turn was displayed before the session's page load
        (``T_q + boundary_ms < O``).

    Returns
    -------
    numpy.ndarray of int64
        Query id per sample, -1 before the first turn / after a reload.
    """
    times = np.asarray(times, dtype=np.float64)
    t = np.asarray(display_ms, dtype=np.float64)
    q = np.asarray(query_ids, dtype=np.int64)
    ok = ~np.isnan(t)
    t, q = t[ok], q[ok]
    order = np.lexsort((q, t))
    start = t[order] + boundary_ms
    q = q[order]
    idx = np.searchsorted(start, times, side="right") - 1
    out = np.where(idx >= 0, q[np.clip(idx, 0, None)] if len(q) else -1, -1).astype(np.int64)
    if reset_at_reload and len(q):
        o = np.asarray(origin, dtype=np.float64)[np.asarray(session)]
        shown = start[np.clip(idx, 0, None)]
        out[(idx >= 0) & (shown < o)] = -1
    return out


def assign_turns(callbacks: pd.DataFrame, conv_turns: pd.DataFrame,
                 sessions: tuple[np.ndarray, np.ndarray] | None = None, *,
                 times: np.ndarray | pd.Series | None = None,
                 boundary_ms: float = BOUNDARY_MS,
                 reset_at_reload: bool = True) -> np.ndarray:
    """Return the query id each callback of one folder belongs to (-1: placeholder on screen).

    Parameters
    ----------
    callbacks
        One folder's callbacks (``CALLBACKS`` schema; ``epoch`` is the abs_mouse epoch).
    conv_turns
        The conversation's turns with ``query_id`` and ``display_ms`` (repaired ``T_q``; NA
        times are ignored).
    sessions
        ``(session, origin)`` from :func:`page_sessions`; computed when omitted.
    times
        Epochs to place instead of ``callbacks["epoch"]`` (e.g. a rel row's own ``epoch``;
        NA entries get -1).
    boundary_ms, reset_at_reload
        See :func:`turn_at`; the defaults are the §2 rule.

    Returns
    -------
    numpy.ndarray of int64, one entry per row of ``callbacks``.

    Examples
    --------
    >>> cb = pd.DataFrame({"epoch": [500, 1999, 2000, 5000], "page_time": [0, 1499, 1500, 4500]})
    >>> turns = pd.DataFrame({"query_id": [7, 8], "display_ms": [1000, 4000]})
    >>> assign_turns(cb, turns).tolist()
    [-1, -1, 7, 8]
    """
    if sessions is None:
        sessions = page_sessions(callbacks)
    session, origin = sessions
    if times is None:
        e = _floats(callbacks["epoch"])
    else:
        e = _floats(times)
    disp = _floats(conv_turns["display_ms"])
    out = turn_at(np.nan_to_num(e, nan=-np.inf), session, origin, disp,
                  conv_turns["query_id"].to_numpy(), boundary_ms=boundary_ms,
                  reset_at_reload=reset_at_reload)
    out[np.isnan(e)] = -1
    return out


def normalised_positions(callbacks: pd.DataFrame, turn: np.ndarray,
                         conv_turns: pd.DataFrame) -> pd.DataFrame:
    """Return ``char_idx / len_utf16(answer of the assigned turn on that pane)`` per callback.

    Parameters
    ----------
    callbacks
        One folder's callbacks (``{m}{p}_char`` columns).
    turn
        Assigned query id per callback (from :func:`assign_turns`; -1 gives NaN).
    conv_turns
        The conversation's turns with ``query_id``, ``len_utf16_1``, ``len_utf16_2``.

    Returns
    -------
    pandas.DataFrame
        Columns ``{m}{p}_pos`` (float64; NaN without a caret or a turn). Values above 1 occur
        (samples on the placeholder or a later answer) and mean "not on that answer".
    """
    turn = np.asarray(turn, dtype=np.int64)
    out = {}
    ids = conv_turns["query_id"].to_numpy(dtype=np.int64)
    for p in PANES:
        lens = _floats(conv_turns[f"len_utf16_{p}"])
        lookup = pd.Series(lens, index=ids)
        length = _floats(lookup.reindex(turn))
        length[length <= 0] = np.nan
        for m in MODALITIES:
            col = f"{m}{p}_char"
            if col in callbacks:
                c = _floats(callbacks[col])
            else:
                c = np.full(len(callbacks), np.nan)
            out[f"{m}{p}_pos"] = c / length
    return pd.DataFrame(out, index=callbacks.index)


# --------------------------------------------------------------------------------------------
# per-sample text checks


#: Columns of :func:`text_checks`.
TEXT_CHECK_COLUMNS = {
    "row": "row position of the callback in the folder's callbacks frame",
    "modality": "'gaze' or 'mouse'",
    "pane": "1 (left / only) or 2 (right)",
    "epoch": "epoch used for the time rule (the rel row's own epoch by default)",
    "turn": "query id by the time rule (-1 = placeholder)",
    "n_match": "number of candidate texts (turns of the conversation on that pane + placeholder) the window matches",
    "agree": "the time-assigned turn's text (placeholder for -1) is among the matches",
    "exclusive": "query id of the only matching text (-1 placeholder); NA when 0 or >= 2 match",
}


def text_checks(callbacks: pd.DataFrame, conv_turns: pd.DataFrame,
                sessions: tuple[np.ndarray, np.ndarray] | None = None, *,
                rel_epoch: bool = True, boundary_ms: float = BOUNDARY_MS,
                reset_at_reload: bool = True) -> pd.DataFrame:
    """Return one row per rel sample with a non-empty window: time-rule turn vs text match.

    Parameters
    ----------
    callbacks
        One folder's callbacks (``CALLBACKS`` schema).
    conv_turns
        The conversation's turns: ``query_id``, ``display_ms``, ``llm_response_1``,
        ``llm_response_2`` (``\\r\\n`` already removed, as :func:`read_query_logs` gives them).
    sessions
        From :func:`page_sessions`; computed when omitted.
    rel_epoch
        Place each sample at its rel row's own ``epoch`` (as §2's figures do) instead of the
        callback's abs_mouse ``epoch``.
    boundary_ms, reset_at_reload
        The time rule's variants (:func:`turn_at`).

    Returns
    -------
    pandas.DataFrame with columns :data:`TEXT_CHECK_COLUMNS`.
    """
    if sessions is None:
        sessions = page_sessions(callbacks)
    turns = conv_turns.sort_values("query_id")
    qids = turns["query_id"].to_numpy(dtype=np.int64)
    cand_ids = np.concatenate([[-1], qids])
    frames = []
    for p in PANES:
        resp = turns[f"llm_response_{p}"]
        texts = [PLACEHOLDER] + ["" if pd.isna(r) else str(r) for r in resp]
        for m in MODALITIES:
            wcol, ccol, ecol = f"{m}{p}_window", f"{m}{p}_char", f"{m}{p}_epoch"
            if wcol not in callbacks:
                continue
            w = callbacks[wcol]
            sel = (w.notna() & (w.str.len().fillna(0) > 0) & callbacks[ccol].notna()).to_numpy()
            if not sel.any():
                continue
            rows = np.flatnonzero(sel)
            sub = callbacks.iloc[rows]
            if rel_epoch and ecol in sub:
                ep = _floats(sub[ecol])
                ep = np.where(np.isnan(ep), _floats(sub["epoch"]), ep)
            else:
                ep = _floats(sub["epoch"])
            sess = (sessions[0][rows], sessions[1])
            turn = turn_at(ep, sess[0], sess[1], _floats(turns["display_ms"]), qids,
                           boundary_ms=boundary_ms, reset_at_reload=reset_at_reload)
            mm = match_matrix(sub[wcol].tolist(), _floats(sub[ccol]), texts)
            col = np.searchsorted(cand_ids[1:], turn) + 1
            col[turn == -1] = 0
            n_match = mm.sum(axis=1)
            agree = mm[np.arange(len(rows)), col]
            excl = pd.array(np.where(n_match == 1, cand_ids[mm.argmax(axis=1)], 0),
                            dtype="Int64")
            excl[n_match != 1] = pd.NA
            frames.append(pd.DataFrame({
                "row": rows.astype(np.int64), "modality": m, "pane": np.int8(p),
                "epoch": ep.astype(np.int64), "turn": turn, "n_match": n_match.astype(np.int16),
                "agree": agree, "exclusive": excl}))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(
            TEXT_CHECK_COLUMNS, ["int64", "object", "int8", "int64", "int64", "int16", "bool",
                                 "Int64"])})
    return pd.concat(frames, ignore_index=True)


def agreement(checks: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Return the §2 agreement figures of :func:`text_checks` rows, overall or by groups.

    Parameters
    ----------
    checks
        Concatenated :func:`text_checks` output (plus any grouping columns, e.g. ``mode``).
    by
        Grouping columns (``()`` for one overall row).

    Returns
    -------
    pandas.DataFrame
        Columns ``*by``, ``windowed`` (samples with a window), ``matched`` (match >= 1
        candidate), ``multi`` (match >= 2), ``agree`` (matched and the time rule's turn is among
        the matches), ``agreement_pct`` = 100 * agree / matched.
    """
    matched = checks["n_match"] > 0
    d = pd.DataFrame({"windowed": 1, "matched": matched.astype(np.int64),
                      "multi": (checks["n_match"] > 1).astype(np.int64),
                      "agree": (matched & checks["agree"]).astype(np.int64)})
    for b in by:
        d[b] = checks[b].to_numpy()
    if by:
        out = d.groupby(list(by), sort=True)[["windowed", "matched", "multi", "agree"]].sum()
        out = out.reset_index()
    else:
        out = d[["windowed", "matched", "multi", "agree"]].sum().to_frame().T
    out["agreement_pct"] = 100.0 * out["agree"] / out["matched"]
    return out


# --------------------------------------------------------------------------------------------
# display-time repair


def recording_spans(folders: Mapping[Key, pd.DataFrame]) -> pd.DataFrame:
    """Return the first and last callback epoch of every folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``worker``, ``task_id``, ``start_ms``, ``end_ms`` (int64).
    """
    rows = [(w, int(t), int(cb["epoch"].min()), int(cb["epoch"].max()))
            for (w, t), cb in folders.items() if len(cb)]
    return pd.DataFrame(rows, columns=["worker", "task_id", "start_ms", "end_ms"]).astype(
        {"worker": "string", "task_id": "int64", "start_ms": "int64", "end_ms": "int64"})


def _with_span(turns: pd.DataFrame, spans: pd.DataFrame) -> pd.DataFrame:
    return turns[["worker", "task_id"]].astype({"worker": "string", "task_id": "int64"}).merge(
        spans, on=["worker", "task_id"], how="left").set_index(turns.index)


def _inside(t: pd.Series, sp: pd.DataFrame, margin_ms: float) -> pd.Series:
    lo = sp["start_ms"] - margin_ms
    hi = sp["end_ms"] + margin_ms
    return ((t >= lo) & (t <= hi)).fillna(False).astype(bool)


def detect_shifted(turns: pd.DataFrame, spans: pd.DataFrame, *, shift_ms: int = SHIFT_MS,
                   margin_ms: float = SPAN_MARGIN_MS) -> pd.Series:
    """Return, per turn, whether its conversation's timestamps are +4 h off (§3 #13).

    A conversation is shifted when more of its turns fall inside its recording (first to last
    callback, +- ``margin_ms``) after subtracting ``shift_ms`` than before. Conversations without
    a recording are never flagged.

    Parameters
    ----------
    turns
        ``worker``, ``task_id``, ``time_raw_ms`` (raw ``query_timestamp`` in UTC ms, NA invalid).
    spans
        From :func:`recording_spans`.

    Returns
    -------
    pandas.Series of bool, aligned with ``turns``.
    """
    sp = _with_span(turns, spans)
    t = pd.to_numeric(turns["time_raw_ms"], errors="coerce").astype("float64")
    before = _inside(t, sp, margin_ms)
    after = _inside(t - shift_ms, sp, margin_ms)
    key = [turns["worker"].to_numpy(), turns["task_id"].to_numpy()]
    n_before = before.groupby(key).transform("sum")
    n_after = after.groupby(key).transform("sum")
    return (n_after > n_before).astype(bool)


def first_exclusive_matches(checks: pd.DataFrame) -> pd.Series:
    """Return, per query id, the epoch of the first rel sample whose window matches only it.

    Parameters
    ----------
    checks
        :func:`text_checks` rows of one or more folders (``exclusive``, ``epoch``).

    Returns
    -------
    pandas.Series of int64 indexed by query id (placeholder matches excluded).
    """
    ex = checks.loc[checks["exclusive"].notna() & (checks["exclusive"] >= 0),
                    ["exclusive", "epoch"]]
    return ex.groupby(ex["exclusive"].astype("int64"))["epoch"].min().astype("int64")


#: Columns of :func:`repair_display_times`.
DISPLAY_COLUMNS = {
    "display_ms": "repaired display time T_q (UTC ms); NA when it cannot be established",
    "shifted": "the conversation's query_timestamp is +4 h off and was corrected (#13)",
    "invalid": "the timestamp was unparsable or outside the recording after #13 (#14)",
    "imputed": "display_ms was imputed from behaviour (first exclusive text match - 1 s)",
}


def repair_display_times(turns: pd.DataFrame, folders: Mapping[Key, pd.DataFrame], *,
                         shift_ms: int = SHIFT_MS, margin_ms: float = SPAN_MARGIN_MS,
                         lead_ms: int = IMPUTE_LEAD_MS, spans: pd.DataFrame | None = None
                         ) -> tuple[pd.DataFrame, Counter]:
    """Return the repaired display time of every turn (§2, §3 #13, #14) and counts.

    Parameters
    ----------
    turns
        From :func:`ifl_utils.data.tables.read_query_logs` (``query_id``, ``worker``,
        ``task_id``, ``time_raw_ms``, ``llm_response_1``, ``llm_response_2``).
    folders
        ``(worker, task_id) -> callbacks`` of the behaviour folders.
    shift_ms, margin_ms, lead_ms
        The offset of shifted conversations, the margin around a recording, the lead of an
        imputed time before its first exclusive match.
    spans
        :func:`recording_spans` of ``folders`` when already known; ``folders`` is then only
        indexed for the conversations whose display time must be imputed.

    Returns
    -------
    table : pandas.DataFrame
        Aligned with ``turns``: columns :data:`DISPLAY_COLUMNS`.
    counts : collections.Counter
        ``shifted_conversations``, ``shifted_turns``, ``invalid_timestamps``, ``imputed``,
        ``unresolved`` (invalid and not imputable).
    """
    if spans is None:
        spans = recording_spans(folders)
    shifted = detect_shifted(turns, spans, shift_ms=shift_ms, margin_ms=margin_ms)
    raw = pd.to_numeric(turns["time_raw_ms"], errors="coerce").astype("float64")
    t = raw - np.where(shifted, shift_ms, 0)
    sp = _with_span(turns, spans)
    has_rec = sp["start_ms"].notna()
    invalid = raw.isna() | (has_rec & ~_inside(t, sp, margin_ms))
    t[invalid.to_numpy()] = np.nan
    imputed = pd.Series(False, index=turns.index)
    todo = turns.loc[invalid & has_rec, ["worker", "task_id"]].drop_duplicates()
    for w, task in todo.itertuples(index=False):
        key = (str(w), int(task))
        conv = turns[(turns["worker"] == w) & (turns["task_id"] == task)].assign(
            display_ms=t)
        checks = text_checks(folders[key], conv)
        first = first_exclusive_matches(checks)
        for i in conv.index[invalid.loc[conv.index]]:
            q = int(turns.at[i, "query_id"])
            if q in first.index:
                t.loc[i] = float(first[q] - lead_ms)
                imputed.loc[i] = True
    out = pd.DataFrame({"display_ms": t.round().astype("Int64"), "shifted": shifted.to_numpy(),
                        "invalid": invalid.to_numpy(), "imputed": imputed.to_numpy()},
                       index=turns.index)
    conv_key = turns["worker"].astype(str) + "/" + turns["task_id"].astype(str)
    counts = Counter({
        "shifted_conversations": int(conv_key[shifted].nunique()),
        "shifted_turns": int(shifted.sum()),
        "invalid_timestamps": int(invalid.sum()),
        "imputed": int(imputed.sum()),
        "unresolved": int((invalid & ~imputed).sum()),
    })
    return out, counts


# --------------------------------------------------------------------------------------------
# whole-release drivers


def conversation_turns(turns: pd.DataFrame, key: Key) -> pd.DataFrame:
    """Return the turns of conversation ``key = (worker, task_id)``, sorted by query id."""
    w, t = key
    sel = (turns["worker"] == w) & (turns["task_id"] == t)
    return turns[sel.to_numpy()].sort_values("query_id")


def assign_all(turns: pd.DataFrame, folders: Mapping[Key, pd.DataFrame],
               keys: Iterable[Key] | None = None,
               sessions: Mapping[Key, tuple[np.ndarray, np.ndarray]] | None = None
               ) -> dict[Key, pd.DataFrame]:
    """Return, per linked folder, the session and turn of every callback.

    Parameters
    ----------
    turns
        Turns with ``display_ms`` (see :func:`repair_display_times`).
    folders
        ``(worker, task_id) -> callbacks``.
    keys
        Folders to process (default: all folders that have turns).
    sessions
        ``key -> (session, origin)`` of :func:`page_sessions`, when already computed (the cache
        build finds them in its worker processes); computed here otherwise.

    Returns
    -------
    dict
        ``key -> DataFrame`` with columns ``session`` (int32), ``origin_ms`` (float64, the
        callback's session origin) and ``turn`` (int64 query id, -1), aligned with the callbacks.
    """
    groups = {(str(w), int(t)): g for (w, t), g in turns.groupby(["worker", "task_id"])}
    if keys is None:
        keys = [k for k in folders if k in groups]
    out = {}
    for k in keys:
        cb = folders[k]
        sess = sessions[k] if sessions is not None and k in sessions else page_sessions(cb)
        turn = assign_turns(cb, groups[k], sess)
        out[k] = pd.DataFrame({"session": sess[0], "origin_ms": sess[1][sess[0]],
                               "turn": turn}, index=cb.index)
    return out
