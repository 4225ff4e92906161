"""Readers of the three relational tables of the release, with the repairs of the data reference.

The three files are proper RFC-4180 CSV, so :func:`pandas.read_csv` reads them; every cell is
read as text first and converted here, so that an unexpected value raises
:class:`~ifl_utils.errors.IFLDataError` naming the file, the physical line and what was expected
instead of silently turning a column into ``object`` or ``NaN``.

Repairs (numbers refer to ``ifllm-data.md`` §3) are applied and counted in a
:class:`collections.Counter` returned alongside the table:

* #15 spurious ``\\r\\n`` inside answers is deleted;
* #16 whitespace inside model names is removed;
* #17 answer lengths are given in UTF-16 code units (what the browser's ``char_idx`` counts);
* #18 LLM-error answers, #19 repeated submissions, #20 unrated turns, #23 short conversations are
  flagged (rows are kept);
* #22 the mode is taken from ``llm_response_2``, never from the parity of ``task_id``;
* #24 duplicated rows of ``task_table`` / ``record_info_table`` are dropped;
* #25 HTML entities in the copied sentence / answer of ``task_table`` are unescaped;
* #30 questions are stripped.

Display-time repairs (#13, #14) need the behaviour streams and live in
:mod:`ifl_utils.data.timeline`.
"""
from __future__ import annotations

import csv
import html
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import IFLDataError

QUERY_LOGS = "query_logs_table.csv"
TASK_TABLE = "task_table.csv"
RECORD_INFO = "record_info_table.csv"

#: Format of ``query_timestamp`` / ``finished`` / ``inserted_at``.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The one invalid timestamp token known in the release (§3 #14); any other unparsable value raises.
INVALID_TIMESTAMP = "0000-00-00 00:00:00"
#: Start of an answer that is an error message of the website instead of an LLM answer (§3 #18).
LLM_ERROR_PREFIX = "AI Error"
#: A conversation needs at least this many turns by the study's instructions (§3 #23).
MIN_TURNS = 3

_QUERY_COLUMNS = ("query_ID", "user_id", "task_id", "user_query", "llm_response_1",
                  "llm_response_2", "llm_name_1", "llm_name_2", "likert_1", "likert_2",
                  "preference", "adjustment", "query_timestamp")
_TASK_COLUMNS = ("user_id", "task_id", "copy_sentence", "summary", "feedback",
                 "understand_before", "understand_after", "query_copy", "llm_response_copy",
                 "accuracy", "finished", "domain")
_RECORD_COLUMNS = ("user_id", "consent", "age", "location", "education", "race", "gender",
                   "inserted_at")
#: task_table columns holding text copied from the page's HTML (entities not decoded, §3 #25).
_HTML_COLUMNS = ("copy_sentence", "query_copy", "llm_response_copy")


# --------------------------------------------------------------------------------------------
# helpers


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units (characters above U+FFFF count 2).

    >>> utf16_len("ab"), utf16_len("a\\U0001F600")
    (2, 3)
    """
    # encoding is C-speed; surrogatepass keeps lone surrogates countable instead of raising
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _record_lines(path: Path) -> np.ndarray:
    """Return the 1-based physical line on which each data record of a CSV file starts."""
    starts = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader, None)  # header
        line = reader.line_num + 1
        for _ in reader:
            starts.append(line)
            line = reader.line_num + 1
    return np.asarray(starts, dtype=np.int64)


def _read_text_csv(root: str | os.PathLike[str], name: str, columns: tuple[str, ...],
                   require_rows: bool = True) -> tuple[pd.DataFrame, Path]:
    """Read ``name`` under ``root`` with every cell as text; check the header."""
    path = Path(root) / name
    if not path.is_file():
        raise IFLDataError(f"file not found (expected the release's {name})", name)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                         encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise IFLDataError(f"empty file; expected a CSV header {list(columns)} and rows", name) from None
    except OSError as exc:
        raise IFLDataError(f"cannot read the file ({exc.strerror or exc}); expected a readable "
                           "CSV file", name) from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise IFLDataError(f"not a readable UTF-8 CSV file: {exc}", name) from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise IFLDataError(f"header lacks column(s) {missing}; expected {list(columns)}",
                           name, 1)
    if require_rows and df.empty:
        raise IFLDataError("has a header but no rows; expected at least one row", name, 2)
    return df, path


def _fail_row(path: Path, row: int, message: str) -> IFLDataError:
    """Build an error for data record ``row`` (0-based) of ``path`` with its physical line."""
    try:
        line = int(_record_lines(path)[row])
    except (IndexError, OSError, csv.Error):  # pragma: no cover - fall back to the record number
        line = row + 2
    return IFLDataError(message, path.name, line)


def _numeric(df: pd.DataFrame, column: str, path: Path, *, integer: bool = False,
             allowed: set[float] | None = None, lo: float | None = None,
             hi: float | None = None, required: bool = False) -> pd.Series:
    """Convert a text column to numbers; raise on any cell that is not a number as expected."""
    raw = df[column]
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & num.isna()
    if required:
        bad |= raw.isna()
    if integer:
        bad |= num.notna() & (num != np.round(num))
    if allowed is not None:
        bad |= num.notna() & ~num.isin(sorted(allowed))
    if lo is not None:
        bad |= num.notna() & (num < lo)
    if hi is not None:
        bad |= num.notna() & (num > hi)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        what = "an integer" if integer else "a number"
        if allowed is not None:
            what += f" in {sorted(allowed)}"
        elif lo is not None or hi is not None:
            what += f" in [{lo}, {hi}]"
        if required:
            what += " (required)"
        raise _fail_row(path, i, f"column {column!r}: expected {what}, found {raw.iloc[i]!r}")
    return num


def _times_ms(df: pd.DataFrame, column: str, path: Path, *,
              invalid_token: str | None = None) -> pd.Series:
    """Parse ``YYYY-MM-DD HH:MM:SS`` (read as UTC) to Int64 milliseconds; NA for empty cells.

    A cell equal to ``invalid_token`` becomes NA; any other unparsable cell raises.
    """
    raw = df[column]
    parsed = pd.to_datetime(raw, format=TIME_FORMAT, errors="coerce", utc=True)
    bad = raw.notna() & parsed.isna()
    if invalid_token is not None:
        bad &= raw != invalid_token
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail_row(path, i, f"column {column!r}: expected a time 'YYYY-MM-DD HH:MM:SS', "
                                 f"found {raw.iloc[i]!r}")
    ms = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "ms")
    return ms.astype("Int64")


def _require(df: pd.DataFrame, column: str, path: Path) -> None:
    """Raise if ``column`` has an empty cell."""
    empty = df[column].isna()
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise _fail_row(path, i, f"column {column!r}: expected a value, found an empty cell")


# --------------------------------------------------------------------------------------------
# query_logs_table.csv

#: Columns of :func:`read_query_logs` (name -> meaning), in output order.
QUERY_LOG_COLUMNS: dict[str, str] = {
    "query_id": "query_ID (database id; increasing in time within a conversation)",
    "worker": "user_id",
    "task_id": "topic id",
    "turn": "1-based position of the turn in its conversation (ordered by query_id)",
    "n_turns": "number of turns of the conversation",
    "mode": "'pairwise' if llm_response_2 is filled, else 'pointwise' (never from task_id parity)",
    "user_query": "question, stripped of leading/trailing whitespace (#30)",
    "llm_response_1": "left / only answer, spurious \\r\\n deleted (#15)",
    "llm_response_2": "right answer (NA in pointwise turns), \\r\\n deleted (#15)",
    "model_1": "model of pane 1, whitespace removed (#16)",
    "model_2": "model of pane 2 (NA in pointwise turns)",
    "len_utf16_1": "length of llm_response_1 in UTF-16 code units (#17)",
    "len_utf16_2": "length of llm_response_2 in UTF-16 code units (NA in pointwise turns)",
    "likert_1": "Likert 1-5 of pane 1 (NA when unrated)",
    "likert_2": "Likert 1-5 of pane 2 (NA in pointwise or unrated turns)",
    "right_preferred": "pairwise only: 1 if the right answer (pane 2) was preferred, 0 if the left; NA otherwise",
    "better_than_previous": "pointwise only: 1 if this answer beat the previous turn's answer, 0 if worse; NA otherwise",
    "adjustment": "1 if ' respond using bullet points' was appended to the question sent to the models",
    "query_timestamp": "raw query_timestamp text",
    "time_raw_ms": "query_timestamp read as UTC, in ms (NA when invalid); not yet repaired (#13, #14)",
    "llm_error_1": "llm_response_1 is a website error message (#18)",
    "llm_error_2": "llm_response_2 is a website error message (#18)",
    "llm_error": "llm_error_1 or llm_error_2",
    "repeated_submission": "same question as the previous turn of the conversation (#19)",
    "labels_from": "query_id whose ratings apply to this question: itself if rated; for a run of repeated submissions the last rated copy of the run; NA if none is rated",
    "unrated": "likert_1 empty (#20)",
    "short_conversation": f"the conversation has fewer than {MIN_TURNS} turns (#23)",
}


def read_query_logs(root: str | os.PathLike[str]) -> tuple[pd.DataFrame, Counter]:
    """Return the turns of ``query_logs_table.csv`` (one row per turn) and the repair counts.

    Parameters
    ----------
    root
        Dataset root (the folder holding ``query_logs_table.csv``).

    Returns
    -------
    turns : pandas.DataFrame
        Columns :data:`QUERY_LOG_COLUMNS`, sorted by ``query_id``, with a default index.
    counts : collections.Counter
        How many cells/rows each repair or flag touched (``question_whitespace``,
        ``answers_crlf``, ``model_name_whitespace``, ``answers_non_bmp``, ``llm_error_turns``,
        ``repeated_submissions``, ``repeated_submission_conversations``,
        ``repeated_earlier_unrated``, ``unrated``, ``short_conversations``,
        ``pointwise_odd_task_conversations``, ``invalid_timestamps``, ``turns``,
        ``conversations``, ``workers``, ``pairwise_turns``, ``pointwise_turns``).

    Raises
    ------
    IFLDataError
        A missing column, an unparsable or out-of-range number or time, a duplicated
        ``query_ID``, a conversation mixing modes, or ratings inconsistent with the mode.
    """
    raw, path = _read_text_csv(root, QUERY_LOGS, _QUERY_COLUMNS)
    counts: Counter = Counter()
    for col in ("user_id", "user_query", "llm_response_1", "llm_name_1", "query_timestamp"):
        _require(raw, col, path)

    qid = _numeric(raw, "query_ID", path, integer=True, required=True)
    dup = qid.duplicated(keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise _fail_row(path, i, f"query_ID {int(qid.iloc[i])} occurs twice; expected unique ids")
    task = _numeric(raw, "task_id", path, integer=True, required=True)
    lik1 = _numeric(raw, "likert_1", path, integer=True, lo=1, hi=5)
    lik2 = _numeric(raw, "likert_2", path, integer=True, lo=1, hi=5)
    pref = _numeric(raw, "preference", path, allowed={0.0, 1.0, 2.0})
    adj = _numeric(raw, "adjustment", path, allowed={0.0, 1.0}, required=True)
    t_ms = _times_ms(raw, "query_timestamp", path, invalid_token=INVALID_TIMESTAMP)
    counts["invalid_timestamps"] = int((raw["query_timestamp"] == INVALID_TIMESTAMP).sum())

    pairwise = raw["llm_response_2"].notna()
    # ratings must fit the mode: pane-2 ratings only in pairwise turns, preference codes 1/2 vs 0/1
    checks = [
        (~pairwise & lik2.notna(), "likert_2 filled in a pointwise turn (llm_response_2 empty)"),
        (pairwise & (pref == 0), "preference 0 in a pairwise turn (expected 1 or 2)"),
        (~pairwise & (pref == 2), "preference 2 in a pointwise turn (expected 0 or 1)"),
        (pairwise & raw["llm_name_2"].isna(), "llm_name_2 empty in a pairwise turn"),
    ]
    for bad, msg in checks:
        if bad.any():
            raise _fail_row(path, int(np.flatnonzero(bad.to_numpy())[0]), msg)

    query = raw["user_query"].astype("string")
    stripped = query.str.strip()
    counts["question_whitespace"] = int((stripped != query).sum())

    resp1 = raw["llm_response_1"].astype("string")
    resp2 = raw["llm_response_2"].astype("string")
    counts["answers_crlf"] = int(resp1.str.contains("\r\n", regex=False).sum()
                                 + resp2.str.contains("\r\n", regex=False).fillna(False).sum())
    resp1 = resp1.str.replace("\r\n", "", regex=False)
    resp2 = resp2.str.replace("\r\n", "", regex=False)

    models = []
    for col in ("llm_name_1", "llm_name_2"):
        s = raw[col].astype("string")
        clean = s.str.replace(r"\s+", "", regex=True)
        counts["model_name_whitespace"] += int((clean != s).fillna(False).sum())
        models.append(clean)

    len1 = resp1.map(utf16_len).astype("Int32")
    len2 = resp2.map(utf16_len, na_action="ignore").astype("Int32")
    counts["answers_non_bmp"] = int((len1 != resp1.str.len()).sum()
                                    + (len2 != resp2.str.len()).fillna(False).sum())

    df = pd.DataFrame({
        "query_id": qid.astype("int64"),
        "worker": raw["user_id"].astype("string"),
        "task_id": task.astype("int64"),
        "user_query": stripped,
        "llm_response_1": resp1,
        "llm_response_2": resp2,
        "model_1": models[0],
        "model_2": models[1],
        "len_utf16_1": len1,
        "len_utf16_2": len2,
        "likert_1": lik1.astype("Int8"),
        "likert_2": lik2.astype("Int8"),
        "_pref": pref,
        "_pairwise": pairwise,
        "adjustment": adj.astype("int8"),
        "query_timestamp": raw["query_timestamp"].astype("string"),
        "time_raw_ms": t_ms,
        "_row": np.arange(len(raw)),
    })
    df = df.sort_values("query_id", kind="stable").reset_index(drop=True)
    conv = df.groupby(["worker", "task_id"], sort=False)

    mixed = conv["_pairwise"].transform("nunique") > 1
    if mixed.any():
        r = df.loc[mixed.idxmax()]
        raise _fail_row(path, int(r["_row"]),
                        f"conversation {r['worker']}/{r['task_id']} mixes pairwise and pointwise "
                        "turns; expected llm_response_2 filled in all or none of its turns")

    df["mode"] = pd.Series(np.where(df["_pairwise"], "pairwise", "pointwise"),
                           index=df.index, dtype="string")
    pw = df["_pairwise"]
    p = df["_pref"]
    df["right_preferred"] = pd.Series((p == 2).astype("float"), index=df.index).where(
        pw & p.notna()).astype("Int8")
    df["better_than_previous"] = p.where(~pw & p.notna()).astype("Int8")
    df["turn"] = (conv.cumcount() + 1).astype("int16")
    df["n_turns"] = conv["query_id"].transform("size").astype("int16")

    df["llm_error_1"] = df["llm_response_1"].str.startswith(LLM_ERROR_PREFIX).astype(bool)
    df["llm_error_2"] = df["llm_response_2"].str.startswith(LLM_ERROR_PREFIX).fillna(False) \
        .astype(bool)
    df["llm_error"] = df["llm_error_1"] | df["llm_error_2"]
    df["unrated"] = df["likert_1"].isna().to_numpy()
    df["short_conversation"] = (df["n_turns"] < MIN_TURNS).to_numpy()

    prev_q = conv["user_query"].shift(1)
    df["repeated_submission"] = (df["user_query"] == prev_q).fillna(False).astype(bool)
    df["labels_from"] = _labels_from(df)

    odd_pointwise = df.loc[(df["mode"] == "pointwise") & (df["task_id"] % 2 == 1),
                           ["worker", "task_id"]].drop_duplicates()
    counts["pointwise_odd_task_conversations"] = len(odd_pointwise)
    counts["llm_error_turns"] = int(df["llm_error"].sum())
    counts["llm_error_answers"] = int(df["llm_error_1"].sum() + df["llm_error_2"].sum())
    counts["repeated_submissions"] = int(df["repeated_submission"].sum())
    counts["repeated_submission_conversations"] = int(
        df.loc[df["repeated_submission"], ["worker", "task_id"]].drop_duplicates().shape[0])
    prev_unrated = conv["unrated"].shift(1).astype("boolean").fillna(False).astype(bool)
    counts["repeated_earlier_unrated"] = int((df["repeated_submission"] & prev_unrated).sum())
    counts["unrated"] = int(df["unrated"].sum())
    counts["short_conversations"] = int(
        df.loc[df["short_conversation"], ["worker", "task_id"]].drop_duplicates().shape[0])
    counts["turns"] = len(df)
    counts["conversations"] = int(conv.ngroups)
    counts["workers"] = int(df["worker"].nunique())
    counts["pairwise_turns"] = int(pw.sum())
    counts["pointwise_turns"] = int((~pw).sum())
    return df[list(QUERY_LOG_COLUMNS)], counts


def _labels_from(df: pd.DataFrame) -> pd.Series:
    """Return, per turn, the query_id whose ratings apply to its question (see QUERY_LOG_COLUMNS).

    ``df`` must be sorted by query_id and hold ``worker``, ``task_id``, ``query_id``,
    ``repeated_submission`` and ``unrated``.
    """
    # a run = a turn that is not a repeat plus the repeats that follow it directly
    run = (~df["repeated_submission"]).cumsum()
    rated_id = df["query_id"].where(~df["unrated"])
    last_rated = rated_id.groupby(run).transform("last")  # last non-NA of the run
    own = rated_id
    in_run = run.map(run.value_counts()) > 1
    return own.where(~in_run, last_rated).astype("Int64")


# --------------------------------------------------------------------------------------------
# task_table.csv

#: Columns of :func:`read_task_table` (name -> meaning), in output order.
TASK_TABLE_COLUMNS: dict[str, str] = {
    "worker": "user_id",
    "task_id": "topic id",
    "domain": "topic label chosen at login (NA when empty)",
    "accuracy": "WebGazer calibration precision, % (Float64)",
    "copy_sentence": "sentence copied from an answer (attention check), HTML entities decoded (#25)",
    "summary": "free-text summary after the task",
    "feedback": "optional free-text feedback",
    "understand_before": "self-rated understanding before the task, 1-5",
    "understand_after": "self-rated understanding after the task, 1-5",
    "query_copy": "one question of the conversation (reservoir sample), entities decoded",
    "llm_response_copy": "its left/only answer, entities decoded (#25)",
    "finished": "raw finished text",
    "finished_ms": "finished read as UTC, in ms (NA when the task was not finished)",
}


def read_task_table(root: str | os.PathLike[str],
                    last_display_ms: pd.DataFrame | None = None) -> tuple[pd.DataFrame, Counter]:
    """Return ``task_table.csv`` with one row per (worker, task_id) and the repair counts.

    Parameters
    ----------
    root
        Dataset root.
    last_display_ms
        Optional table with columns ``worker``, ``task_id``, ``last_display_ms`` (the repaired
        display time of the conversation's last turn, e.g. from
        :func:`ifl_utils.data.timeline.repair_display_times`). Used to pick, among duplicated
        rows (#24), the one whose ``finished`` is consistent with the turns: the smallest
        non-negative ``finished - last display`` (pressing Finish comes after the last answer).
        Without it the raw ``query_timestamp`` of ``query_logs_table.csv`` is used, which is
        correct wherever the conversation is not +4 h shifted (true for the one duplicate of the
        release, an April-2025 pilot conversation without behaviour data).

    Returns
    -------
    table : pandas.DataFrame
        Columns :data:`TASK_TABLE_COLUMNS`, in file order of the kept rows.
    counts : collections.Counter
        ``duplicate_rows`` dropped, ``html_entities_<column>`` cells unescaped, ``rows``.

    Raises
    ------
    IFLDataError
        Missing column, unparsable number or time, or a duplicate that cannot be resolved.
    """
    raw, path = _read_text_csv(root, TASK_TABLE, _TASK_COLUMNS)
    counts: Counter = Counter()
    _require(raw, "user_id", path)
    task = _numeric(raw, "task_id", path, integer=True, required=True)
    acc = _numeric(raw, "accuracy", path, lo=0, hi=100)
    ub = _numeric(raw, "understand_before", path, integer=True, lo=1, hi=5)
    ua = _numeric(raw, "understand_after", path, integer=True, lo=1, hi=5)
    fin = _times_ms(raw, "finished", path)
    df = pd.DataFrame({
        "worker": raw["user_id"].astype("string"),
        "task_id": task.astype("int64"),
        "domain": raw["domain"].astype("string"),
        "accuracy": acc.astype("Float64"),
        "summary": raw["summary"].astype("string"),
        "feedback": raw["feedback"].astype("string"),
        "understand_before": ub.astype("Int8"),
        "understand_after": ua.astype("Int8"),
        "finished": raw["finished"].astype("string"),
        "finished_ms": fin,
    })
    for col in _HTML_COLUMNS:
        s = raw[col].astype("string")
        un = s.map(html.unescape, na_action="ignore").astype("string")
        counts[f"html_entities_{col}"] = int((un != s).fillna(False).sum())
        df[col] = un

    dup = df.duplicated(["worker", "task_id"], keep=False)
    if dup.any():
        if last_display_ms is None:
            turns, _ = read_query_logs(root)
            last_display_ms = (turns.groupby(["worker", "task_id"], as_index=False)
                               ["time_raw_ms"].max()
                               .rename(columns={"time_raw_ms": "last_display_ms"}))
        keep = _resolve_task_duplicates(df, last_display_ms, path)
        counts["duplicate_rows"] = int(len(df) - keep.sum())
        df = df[keep]
    counts["rows"] = len(df)
    return df[list(TASK_TABLE_COLUMNS)].reset_index(drop=True), counts


def _resolve_task_duplicates(df: pd.DataFrame, last: pd.DataFrame, path: Path) -> np.ndarray:
    """Return a keep-mask leaving one row per duplicated (worker, task_id) key (#24)."""
    need = {"worker", "task_id", "last_display_ms"}
    if not need <= set(last.columns):
        raise ValueError(f"last_display_ms needs columns {sorted(need)}")
    keep = np.ones(len(df), dtype=bool)
    lookup = {(w, int(t)): v for w, t, v in
              zip(last["worker"], last["task_id"], last["last_display_ms"])}
    dup = df.duplicated(["worker", "task_id"], keep=False).to_numpy()
    for (w, t), idx in df[dup].groupby(["worker", "task_id"]).groups.items():
        pos = [df.index.get_loc(i) for i in idx]
        ref = lookup.get((w, int(t)))
        gaps = []
        for i in pos:
            f = df["finished_ms"].iloc[i]
            ok = ref is not None and not pd.isna(ref) and not pd.isna(f) and f >= ref
            gaps.append(float(f - ref) if ok else np.inf)
        if not np.isfinite(min(gaps)):
            raise _fail_row(path, pos[1], f"duplicated key ({w}, {t}) and no row's 'finished' "
                                          "comes after the conversation's last turn; cannot "
                                          "tell which row to keep")
        best = pos[int(np.argmin(gaps))]
        for i in pos:
            keep[i] = i == best
    return keep


# --------------------------------------------------------------------------------------------
# record_info_table.csv

#: Columns of :func:`read_record_info` (name -> meaning), in output order.
RECORD_INFO_COLUMNS: dict[str, str] = {
    "worker": "user_id",
    "consent": "1 consented, 0 declined",
    "age": "age in years (NA when not given)",
    "location": "free text",
    "education": "highest education",
    "race": "multi-select joined by ','",
    "gender": "gender",
    "inserted_at": "raw row creation time (time zone not documented)",
    "inserted_at_ms": "inserted_at read as UTC, in ms (time zone not documented)",
}


def read_record_info(root: str | os.PathLike[str]) -> tuple[pd.DataFrame, Counter]:
    """Return ``record_info_table.csv`` with one row per worker and the repair counts.

    A worker with several rows (#24: identical but for ``inserted_at``) keeps the row created
    first (smallest ``inserted_at``); rows differing in any other field raise.

    Parameters
    ----------
    root
        Dataset root.

    Returns
    -------
    table : pandas.DataFrame
        Columns :data:`RECORD_INFO_COLUMNS`.
    counts : collections.Counter
        ``duplicate_rows`` dropped, ``rows``.

    Raises
    ------
    IFLDataError
        Missing column, unparsable number or time, or conflicting duplicated rows.
    """
    raw, path = _read_text_csv(root, RECORD_INFO, _RECORD_COLUMNS)
    counts: Counter = Counter()
    _require(raw, "user_id", path)
    df = pd.DataFrame({
        "worker": raw["user_id"].astype("string"),
        "consent": _numeric(raw, "consent", path, allowed={0.0, 1.0}, required=True)
        .astype("int8"),
        "age": _numeric(raw, "age", path, integer=True, lo=0, hi=130).astype("Int16"),
        "location": raw["location"].astype("string"),
        "education": raw["education"].astype("string"),
        "race": raw["race"].astype("string"),
        "gender": raw["gender"].astype("string"),
        "inserted_at": raw["inserted_at"].astype("string"),
        "inserted_at_ms": _times_ms(raw, "inserted_at", path),
    })
    dup = df.duplicated("worker", keep=False)
    if dup.any():
        other = [c for c in df.columns if c not in ("inserted_at", "inserted_at_ms")]
        conflict = dup & ~df.duplicated(other, keep=False)
        if conflict.any():
            i = int(np.flatnonzero(conflict.to_numpy())[0])
            raise _fail_row(path, i, f"worker {df['worker'].iloc[i]} has several rows that "
                                     "differ in more than inserted_at; expected one row per worker")
        order = df.assign(_pos=np.arange(len(df))).sort_values(
            ["inserted_at_ms", "_pos"], na_position="last", kind="stable")
        first = order.drop_duplicates("worker", keep="first")["_pos"]
        keep = np.zeros(len(df), dtype=bool)
        keep[first.to_numpy()] = True
        counts["duplicate_rows"] = int(len(df) - keep.sum())
        df = df[keep]
    counts["rows"] = len(df)
    return df.reset_index(drop=True), counts
